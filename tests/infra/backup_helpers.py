"""The backup layout as the inventory describes it, for the backup test modules.

Shared by tests/infra/backup_server, tests/infra/backup_client and the backup
scenario's Molecule-only tests; values are role backup_server's settings for the
backup host (its defaults, overridden by the inventory), never from one scenario.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

# Where role backup_client keeps a source's path list and rsync daemon configuration.
SOURCE_CONFIG_DIR = "/etc/gpucluster/backup"


def module_of(path: str) -> str:
    """The source's rsync module for a backed-up directory: /var/backups/x -> data:var:backups:x."""
    return "data:" + path.strip("/").replace("/", ":")


def source_modules(source_host: Any) -> dict[str, dict[str, str]]:
    """{module: {parameter: value}} of the source's rsync daemon configuration."""
    text = source_host.file(f"{SOURCE_CONFIG_DIR}/rsyncd.conf").content_string
    modules: dict[str, dict[str, str]] = {"": {}}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            modules[current] = {}
        elif "=" in line:
            name, value = (part.strip() for part in line.split("=", 1))
            modules[current][name] = value
    return modules


def source_excludes(source_host: Any) -> list[str]:
    """Absolute patterns of the files the source's daemon never sends."""
    return [
        settings["path"] + pattern
        for settings in source_modules(source_host).values()
        if "path" in settings
        for pattern in settings.get("exclude", "").split()
    ]


@dataclass
class Backup:
    """Where the backup host keeps things: role backup_server's settings for it."""

    server: str
    repository_root: str
    config_dir: str
    state_dir: str
    ssh_key: str
    inventory: Any = field(repr=False)

    def host(self, name: str) -> Any:
        return self.inventory.host(name)

    @property
    def server_host(self) -> Any:
        return self.host(self.server)

    def borg(self, arguments: str) -> Any:
        """Run borg on the backup host the way its pull script does."""
        environment = (
            f"BORG_PASSCOMMAND={shlex.quote('cat ' + self.config_dir + '/borg-passphrase')} "
            f"BORG_BASE_DIR={shlex.quote(self.state_dir)} BORG_RELOCATED_REPO_ACCESS_IS_OK=no"
        )
        return self.server_host.run(f"{environment} borg {arguments}")

    def archives(self) -> dict[str, list[dict[str, str]]]:
        return json.loads(self.server_host.check_output("/usr/local/sbin/gpucluster-backup-list"))

    def sources(self) -> dict[str, str]:
        """{source host: address it is pulled from}, as the backup host has them."""
        text = self.server_host.file(f"{self.config_dir}/sources").content_string
        pairs = (line.split() for line in text.splitlines() if line and not line.startswith("#"))
        return {name: address for name, address in pairs}

    def rsync(self, arguments: str) -> RsyncResult:
        """Run rsync on the backup host with the pull key, as the pull does.

        rsync's exit status travels in its output: a refused remote shell makes rsync exit
        255, which testinfra's SSH backend (`gpucluster verify`) would read as its own
        connection failure and raise on.
        """
        marker = "gpucluster-rsync-exit="
        result = self.server_host.run(
            f"rsync -e {shlex.quote(self.ssh())} {arguments}; echo {marker}$? >&2"
        )
        stderr, _, code = result.stderr.rpartition(marker)
        return RsyncResult(int(code.strip()), result.stdout, stderr)

    def ssh(self) -> str:
        """The ssh command line the pull uses."""
        return (
            f"ssh -i {self.ssh_key} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.config_dir}/known_hosts"
        )


@dataclass(frozen=True)
class RsyncResult:
    """What one rsync call printed and how it ended."""

    rc: int
    stdout: str
    stderr: str


def backup_layout(inventory: Any) -> Backup:
    """The Backup seen from the host under test (`inventory`: its fixture)."""
    server = inventory.first_of("backup")

    def setting(name: str) -> str:
        return str(inventory.setting(name, of=server))

    return Backup(
        server=server,
        repository_root=setting("backup_server_repository_root"),
        config_dir=setting("backup_server_config_dir"),
        state_dir=setting("backup_server_state_dir"),
        ssh_key=setting("backup_server_ssh_key"),
        inventory=inventory,
    )
