"""ARA (the Ansible run recorder) as an optional, browsable second record of every run.

gpucluster's own summaries (run_record) are the record `status` and `runs` read; they cost
nothing. ARA keeps every task result of every host in a database that its `ara` command and
web UI browse. It is not a dependency: when the `ara` package is installed beside gpucluster
(`pip install ara[server]`), its callback records each run that changes something into a
local SQLite database per inventory (`<state>/inventories/<key>/ara/ansible.sqlite`), with
ARA's offline client: no server, nothing on the network. GPUCLUSTER_ARA=0 turns it off.

Measured on this project's 2-core machine (ara 1.8.0, ansible-core 2.19.14), the callback
makes a 505-result local run about three times slower (25 s to 78 s), which is why runs that
only look (status, check) are never recorded in it. Those runs may overlap others, and one
SQLite file has one writer at a time: the runs recorded here all hold the inventory's lock.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from gpucluster import paths

ARA_SWITCH = "GPUCLUSTER_ARA"
DATABASE_DIR = "ara"


def installed() -> bool:
    """True when the `ara` package can be imported by the Python that runs Ansible."""
    return importlib.util.find_spec("ara") is not None


def enabled() -> bool:
    """Installed, and not turned off with GPUCLUSTER_ARA=0."""
    switch = os.environ.get(ARA_SWITCH, "1").strip().lower()
    return switch not in ("0", "no", "false", "off") and installed()


def database_dir(inventory: Path) -> Path:
    """Where this inventory's ARA database lives (ARA_BASE_DIR)."""
    return paths.inventory_state_dir(inventory) / DATABASE_DIR


def callback_dir() -> str:
    """ARA's callback plugin directory (what `python -m ara.setup.callback_plugins` prints)."""
    from ara.setup import callback_plugins  # type: ignore[import-not-found]

    return str(callback_plugins)


def environment(inventory: Path, env: dict[str, str]) -> dict[str, str]:
    """The variables that add ARA's callback to a run's environment `env`; {} when off.

    ansible-runner's own callback directory stays first in ANSIBLE_CALLBACK_PLUGINS: the
    CLI's progress and results come from its events, whatever ARA does.
    """
    if not enabled():
        return {}
    plugins = [entry for entry in env.get("ANSIBLE_CALLBACK_PLUGINS", "").split(":") if entry]
    return {
        "ANSIBLE_CALLBACK_PLUGINS": ":".join([*plugins, callback_dir()]),
        "ARA_API_CLIENT": "offline",
        "ARA_BASE_DIR": str(database_dir(inventory)),
    }
