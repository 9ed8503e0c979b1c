#!/usr/bin/python3
"""Edits /etc/hosts for the cluster in one pass: one module run per host.

Two edits that lineinfile and blockinfile made as two tasks, each a Python start on every
node: drop the lines that map this node's own name to another address (Debian's installer
writes "127.0.1.1 <name>", container engines add their own), and keep the marked block that
lists every node. add-node runs only this on the existing nodes, so its cost there is one
module run per node (measured with 34 nodes present: the two tasks took 5.9 and 7.6 s).
The file is rewritten in place, not renamed over: container engines bind-mount /etc/hosts,
where a rename cannot work (what blockinfile's `unsafe_writes` did).
"""

from __future__ import annotations

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: cluster_hosts_file
short_description: Keep the cluster's block in /etc/hosts and this node's name on one address
description:
  - Removes lines outside the block that map I(own_name) to an address other than
    I(own_address), and replaces (or appends) the block between the markers.
options:
  path: {type: path, default: /etc/hosts, description: The hosts file.}
  own_name: {type: str, required: true, description: This node's short name.}
  own_address: {type: str, required: true, description: The address its name must map to.}
  block: {type: str, required: true, description: The lines between the markers.}
  marker: {type: str, default: "# {mark} gpucluster nodes", description: "{mark}: BEGIN, END."}
"""


def _maps_name_elsewhere(line: str, name: str, address: str) -> bool:
    fields = line.split("#", 1)[0].split()
    return len(fields) >= 2 and fields[0] != address and name in fields[1:]


def edited(text: str, own_name: str, own_address: str, block: str, marker: str) -> str:
    """The hosts file `text` with both edits made (the same text when nothing changes)."""
    begin, end = marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")
    managed = [begin, *block.rstrip("\n").splitlines(), end]
    kept, inside, placed = [], False, False
    for line in text.splitlines():
        if line == begin:
            inside = True
            continue
        if inside:
            if line == end:
                inside = False
                if not placed:
                    kept += managed
                    placed = True
            continue
        if not _maps_name_elsewhere(line, own_name, own_address):
            kept.append(line)
    if inside or not placed:  # no block yet, or one whose END marker was lost
        kept += managed
    return "\n".join(kept) + "\n"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/hosts"},
            "own_name": {"type": "str", "required": True},
            "own_address": {"type": "str", "required": True},
            "block": {"type": "str", "required": True},
            "marker": {"type": "str", "default": "# {mark} gpucluster nodes"},
        },
        supports_check_mode=True,
    )
    path = Path(module.params["path"])
    try:
        before = path.read_text(encoding="utf-8")
    except OSError as error:
        module.fail_json(msg=f"cannot read {path}: {error}")
    after = edited(
        before,
        module.params["own_name"],
        module.params["own_address"],
        module.params["block"],
        module.params["marker"],
    )
    changed = after != before
    if changed and not module.check_mode:
        try:
            path.write_text(after, encoding="utf-8")  # in place: see the module docstring
        except OSError as error:
            module.fail_json(msg=f"cannot write {path}: {error}")
    mode_changed = path.stat().st_mode & 0o7777 != 0o644
    if mode_changed and not module.check_mode:
        path.chmod(0o644)
    diff = {"before": before, "after": after, "before_header": str(path), "after_header": str(path)}
    module.exit_json(changed=changed or mode_changed, path=str(path), diff=diff)


if __name__ == "__main__":
    main()
