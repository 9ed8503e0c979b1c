"""Ansible's `mitogen_linear` strategy, found through the project's strategy_plugins path.

mitogen ships the plugin inside its package; pointing ansible.cfg at site-packages would tie
the configuration to one virtualenv's layout. This module re-exports it, so any environment
where `ansible_mitogen` imports (the project's dependencies) can use it.
"""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
    """The linear strategy, with mitogen's persistent per-host interpreters."""
