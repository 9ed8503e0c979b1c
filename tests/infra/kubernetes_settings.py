"""Helpers of the Kubernetes roles' test modules.

Their expectations are the roles' settings for the host (`inventory.setting`,
tests/infra/plugin.py): the roles' own defaults, overridden by the inventory,
rendered by Ansible's templating, never one scenario's values.
"""

from __future__ import annotations

from typing import Any


def not_executed(host: Any, binary: str, step: str) -> None:
    """Skip, saying so, when `binary` is not installed on the host."""
    import pytest

    if not host.exists(binary):
        pytest.skip(f"not executed here: {step} (no {binary} in PATH on {host.backend.host})")
