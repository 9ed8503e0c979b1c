#!/usr/bin/env python3
"""What `gpucluster status` asks each node, as one JSON object built by json.dumps.

Up for how long, systemd's overall state, the failed units, and the restarts or reboots
left to the roll over the GPU nodes (playbooks/roll.yml; one file each in the directory
given as the argument). Changes nothing.
"""

import json
import subprocess
import sys
from pathlib import Path


def systemctl(*args: str) -> str:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False).stdout


def roll_pending(directory: str) -> list[str]:
    try:
        return sorted(entry.name for entry in Path(directory).iterdir() if entry.is_file())
    except OSError:
        return []


failed = [
    line.split()[0]
    for line in systemctl("list-units", "--state=failed", "--no-legend", "--plain").splitlines()
    if line.strip()
]
print(
    json.dumps(
        {
            "uptime_s": int(float(Path("/proc/uptime").read_text().split()[0])),
            "systemd": systemctl("is-system-running").strip(),
            "failed_units": ",".join(failed),
            "roll_pending": ",".join(roll_pending(sys.argv[1]) if len(sys.argv) > 1 else []),
        }
    )
)
