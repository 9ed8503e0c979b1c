"""The backup layout as the inventory describes it, for the backup test modules.

Shared by tests/infra/backup_server, tests/infra/backup_client and the backup
scenario's Molecule-only tests; values come from the backup host's inventory
variables (role defaults where unset), never from one scenario.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import testinfra


@dataclass
class Backup:
    """Where the backup host keeps things, read from the inventory (role defaults otherwise)."""

    server: str
    inventory_file: str
    repository_root: str
    config_dir: str
    state_dir: str
    ssh_key: str

    def host(self, name: str) -> Any:
        return testinfra.get_host(f"ansible://{name}", ansible_inventory=self.inventory_file)

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

    def ssh(self) -> str:
        """The ssh command line the pull uses."""
        return (
            f"ssh -i {self.ssh_key} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.config_dir}/known_hosts"
        )


def backup_layout(host: Any, inventory: Any) -> Backup:
    """The Backup seen from the host under test."""
    servers = sorted(host.backend.ansible_runner.get_hosts("backup"))
    assert servers, "the inventory has no backup host"
    server = servers[0]
    server_vars = inventory.vars_of(server)

    def setting(name: str, default: str) -> str:
        value = server_vars.get(name, default)
        return default if "{{" in str(value) else str(value)

    return Backup(
        server=server,
        inventory_file=host.backend.ansible_inventory,
        repository_root=setting("backup_server_repository_root", "/srv/backup/borg"),
        config_dir=setting("backup_server_config_dir", "/etc/gpucluster/backup"),
        state_dir=setting("backup_server_state_dir", "/var/lib/gpucluster-backup"),
        ssh_key=setting("backup_server_ssh_key", "/root/.ssh/gpucluster_backup"),
    )
