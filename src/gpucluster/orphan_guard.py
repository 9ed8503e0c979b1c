"""Run a command that stops when gpucluster dies: `python orphan_guard.py COMMAND [ARGS...]`.

ansible-playbook runs in a session of its own (ansible-runner starts it on a pty). If the
gpucluster process that drives it is killed outright (SIGKILL, a lost terminal), nothing would
stop it: it would go on converging nodes, unsupervised, while the lock it ran under is already
free for the next command. Started through this module, it gets SIGINT when its parent dies
(Linux's parent-death signal), which makes Ansible stop its workers and exit, as Ctrl-C does.
It is run by path, not as a module, and imports only the standard library, so it works with
whatever PYTHONPATH the run has.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` when the parent exits; False where that is unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python orphan_guard.py COMMAND [ARGS...]", file=sys.stderr)
        return 2
    parent = os.getppid()
    _set_parent_death_signal(signal.SIGINT)
    if os.getppid() != parent:  # the parent died before the request took effect
        return 130
    os.execvp(argv[0], argv)  # the signal setting survives exec


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
