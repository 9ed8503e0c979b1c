"""The SSH settings Ansible reaches a node with: where its host key is looked up, and how.

Ansible checks host keys (ansible.cfg: host_key_checking) in the known_hosts files ssh itself
uses for the node, and the inventory and the operator's ssh_config decide which: the sandbox
names its own file (`-o UserKnownHostsFile=...` in ansible_ssh_common_args), a real site
usually keeps ssh's default, ~/.ssh/known_hosts, hashed or not. Anything that replaces a host
key must look exactly there, so nothing here is guessed: Ansible computes the node's variables
(`ansible-inventory --host`, which connects to nothing) and ssh its effective configuration
for them (`ssh -G`, which connects to nothing either).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpucluster.runner import ansible_environment
from gpucluster.untrusted import template_marker

SSH_OPTION_VARIABLES = ("ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args")
"""The host variables whose words Ansible adds to every ssh command line, in its order."""
PORT_VARIABLES = ("ansible_port", "ansible_ssh_port")
USER_VARIABLES = ("ansible_user", "ansible_ssh_user")
TOOL_TIMEOUT_S = 60


class SshSettingsError(RuntimeError):
    """The node's SSH settings could not be worked out; the message names host and variable."""


@dataclass(frozen=True)
class SshView:
    """How ssh sees one node: the name its host key is filed under, and the files it reads."""

    address: str
    port: int
    lookup: str
    """`address`, `[address]:port` off port 22, or the HostKeyAlias: what known_hosts lists."""
    user_files: tuple[Path, ...]
    """The user known_hosts files, in ssh's order: the first is the one ssh adds keys to."""
    global_files: tuple[Path, ...]
    """The system-wide known_hosts files: read, never written by gpucluster."""
    hash_names: bool
    """HashKnownHosts: new lines name the host by a salted hash, as ssh would write them."""


def host_variables(inventory: Path, name: str) -> dict[str, object]:
    """The node's variables as Ansible merges them (group_vars, host_vars, the hosts file).

    The values are not templated: they are read as the operator wrote them.
    """
    tool = Path(sys.executable).parent / "ansible-inventory"
    command = [str(tool) if tool.exists() else "ansible-inventory"]
    command += ["-i", str(inventory.resolve()), "--host", name]
    try:
        completed = subprocess.run(
            command,
            env=ansible_environment(inventory),
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SshSettingsError(f"host {name}: ansible-inventory did not answer: {error}") from None
    if completed.returncode != 0:
        reason = " ".join(completed.stderr.split())[-400:]
        raise SshSettingsError(f"host {name}: ansible-inventory --host failed: {reason}")
    try:
        variables = json.loads(completed.stdout)
    except ValueError:
        raise SshSettingsError(f"host {name}: ansible-inventory printed no JSON") from None
    if not isinstance(variables, dict):
        raise SshSettingsError(f"host {name}: ansible-inventory printed no variables")
    return variables


def ssh_words(name: str, variables: Mapping[str, object]) -> list[str]:
    """The ssh command-line words the node's variables give (options, port, user).

    Each value is split into words the way Ansible splits it (shlex) and passed on as data. A
    value holding template syntax is refused: only Ansible could render it, and replace-node
    must not guess which known_hosts file it would name.
    """
    words: list[str] = []
    for variable in SSH_OPTION_VARIABLES:
        value = variables.get(variable)
        if value is None:
            continue
        text = _plain_text(name, variable, value)
        try:
            words += shlex.split(text)
        except ValueError as error:
            raise SshSettingsError(f"host {name}: {variable}: {error}") from None
    port = _first(variables, PORT_VARIABLES)
    if port is not None:
        words += ["-p", _plain_text(name, "ansible_port", port)]
    user = _first(variables, USER_VARIABLES)
    if user is not None:
        words += ["-l", _plain_text(name, "ansible_user", user)]
    return words


def _first(variables: Mapping[str, object], names: Sequence[str]) -> object:
    return next((variables[name] for name in names if variables.get(name) is not None), None)


def _plain_text(name: str, variable: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SshSettingsError(f"host {name}: {variable}: expected text, not {value!r}")
    text = str(value)
    if template_marker(text) is not None:
        raise SshSettingsError(
            f"host {name}: {variable} holds a template ({text!r}): replace-node reads SSH "
            "options as plain text; write the option out in the inventory"
        )
    return text


def ssh_view(name: str, address: str, words: Sequence[str]) -> SshView:
    """What `ssh -G` says about reaching `address` with these words (no connection is made)."""
    try:
        completed = subprocess.run(
            ["ssh", "-G", *words, "--", address],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SshSettingsError(f"host {name}: ssh -G did not answer: {error}") from None
    if completed.returncode != 0:
        reason = " ".join(completed.stderr.split())
        raise SshSettingsError(f"host {name}: ssh -G rejects the node's SSH options: {reason}")
    settings: dict[str, str] = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key.lower(), value.strip())
    try:
        port = int(settings.get("port", "22"))
    except ValueError:
        raise SshSettingsError(f"host {name}: ssh -G gives port {settings['port']!r}") from None
    alias = settings.get("hostkeyalias", "")
    lookup = alias or (address if port == 22 else f"[{address}]:{port}")
    return SshView(
        address=address,
        port=port,
        lookup=lookup,
        user_files=_files(settings.get("userknownhostsfile", "")),
        global_files=_files(settings.get("globalknownhostsfile", "")),
        hash_names=settings.get("hashknownhosts", "no") == "yes",
    )


def _files(value: str) -> tuple[Path, ...]:
    """ssh -G's file lists: space-separated, ~ already expanded; `none` means none."""
    return tuple(Path(word) for word in value.split() if word.lower() != "none")


def node_ssh_view(inventory: Path, name: str, address: str) -> SshView:
    """How ssh sees node `name` at `address` with the inventory's settings for it."""
    return ssh_view(name, address, ssh_words(name, host_variables(inventory, name)))
