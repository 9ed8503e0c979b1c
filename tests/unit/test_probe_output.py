"""Probes hand their answers to Ansible through a serializer, never hand-built JSON.

A value printed into a JSON template by printf or echo is not escaped: one quote or
backslash in a path or a name breaks the probe's output, or changes what it says.
Probes print plain lines (read with stdout_lines) or call json.dumps / `ip -j`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAND_BUILT_JSON = re.compile(r"""(printf|echo)\s+['"]?\\?[\[{]""")


def test_no_role_or_playbook_prints_json_by_hand():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("roles", "playbooks")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in {".yml", ".j2", ".sh", ""}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HAND_BUILT_JSON.search(line)
    ]
    assert offenders == []
