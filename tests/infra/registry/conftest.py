"""The cluster registry as role registry's settings describe it, for the registry tests.

The generated password is read from the controller's secrets file and only
ever travels to a node inside a 0600 file (copy module, which hides its
content); helpers mask it in every output they return.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROBE = (Path(__file__).parent / "registry_login_probe.py").read_text(encoding="utf-8")
"""The client that asks the registry with a user's own stored login (see its docstring)."""


@dataclass
class Registry:
    name: str
    port: int
    username: str
    password_file: Path
    user_password_dir: Path
    users: list[dict[str, Any]]
    ca_file: str
    server: str
    listen_address: str
    inventory: Any = field(repr=False)

    @property
    def active_users(self) -> list[dict[str, Any]]:
        return [user for user in self.users if not user.get("locked", False)]

    def user_password(self, name: str) -> str:
        return (self.user_password_dir / f"{name}.password").read_text().split()[0]

    def as_user(self, host: Any, user: str, method: str, path: str) -> str:
        """The HTTP status the registry answers `user`, who sends their stored login."""
        return host.check_output(
            "runuser -u %s -- python3 -c %s %s %s %s",
            user,
            PROBE,
            f"https://{self.address}{path}",
            method,
            self.ca_file,
        )

    @property
    def address(self) -> str:
        return f"{self.name}:{self.port}"

    def password(self) -> str:
        return self.password_file.read_text().split()[0]

    def host(self, name: str) -> Any:
        return self.inventory.host(name)

    def run(self, host: Any, command: str, *args: Any) -> tuple[int, str]:
        """Run a command; return rc and its output with the password masked."""
        result = host.run(command, *args)
        return result.rc, (result.stdout + result.stderr).replace(self.password(), "***")

    @contextlib.contextmanager
    def credentials(self, host: Any, docker: bool = True) -> Iterator[str]:
        """A private directory on `host` holding a netrc file and a Docker login.

        Yields the directory (use it as DOCKER_CONFIG); removed afterwards.
        """
        directory = host.check_output("mktemp -d /tmp/gpucluster-registry-test.XXXXXX")
        try:
            # One copy (the module hides the content); the password file is cut from it
            # on the node, so the password is never on a command line.
            netrc = f"machine {self.name} login {self.username} password {self.password()}"
            host.ansible("copy", f"content='{netrc}' dest={directory}/netrc mode=0600", check=False)
            host.run("umask 077; awk '{print $6}' %s/netrc > %s/password", directory, directory)
            if not docker:
                yield directory
                return
            rc, output = self.run(
                host,
                "DOCKER_CONFIG=%s docker login --username %s --password-stdin %s < %s/password",
                directory,
                self.username,
                self.address,
                directory,
            )
            assert rc == 0, f"docker login on {host.backend.host} failed: {output}"
            yield directory
        finally:
            host.run("rm -rf %s", directory)


@pytest.fixture
def registry(inventory: Any) -> Registry:
    server = inventory.first_of("management")

    def setting(name: str) -> Any:
        """Role registry's setting as it ran on the registry's host."""
        return inventory.setting(name, of=server)

    return Registry(
        name=setting("cluster_registry_name"),
        port=int(setting("cluster_registry_port")),
        username=setting("registry_username"),
        password_file=Path(setting("registry_password_file")),
        user_password_dir=Path(setting("registry_user_password_dir")),
        users=list(inventory.resolved("cluster_users", [])),
        ca_file=f"{inventory.setting('cluster_ca_dir')}/ca.crt",
        server=server,
        listen_address=str(setting("registry_listen_address")),
        inventory=inventory,
    )
