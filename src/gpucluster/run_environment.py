"""The process environment an Ansible run gets.

ansible-runner records the whole environment of every run in its artifacts
(`artifacts/<id>/command`). A run must therefore start from an allow-list, not
from the operator's shell, or tokens and passwords that happen to be exported
there would end up on disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TERM",
        "TMPDIR",
        "TZ",
        "SSH_AUTH_SOCK",
        "VIRTUAL_ENV",
        "PYTHONPATH",
    }
)
_ALLOWED_PREFIXES = ("ANSIBLE_", "RUNNER_", "AWX_", "JOB_")
_SECRET_MARKERS = ("PASS", "TOKEN", "SECRET", "CREDENTIAL", "_KEY")


def looks_secret(name: str) -> bool:
    """True for variable names that conventionally carry credentials.

    `PASS` covers PASSWORD, PASSWD, PASSPHRASE and Ansible's own *_PASS settings
    (ANSIBLE_BECOME_PASS, ANSIBLE_SSH_PASS); a `*_FILE` variable names a file and is kept.
    """
    upper = name.upper()
    return any(marker in upper for marker in _SECRET_MARKERS) and not upper.endswith("_FILE")


def clean_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Keep only what Ansible needs to run; drop anything that looks like a secret."""
    kept: dict[str, str] = {}
    for name, value in env.items():
        allowed = name in _ALLOWED_NAMES or name.startswith(_ALLOWED_PREFIXES)
        if allowed and not looks_secret(name):
            kept[name] = value
    return kept


def base_environment() -> dict[str, str]:
    """The allow-listed part of this process's environment."""
    return clean_environment(os.environ)
