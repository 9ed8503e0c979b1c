"""One module per CLI command; each exposes `run(args, console) -> exit code`.

Every exit code the CLI uses is defined here (the README's table mirrors this list).
"""

EXIT_OK = 0
"""Done: the edit was made and every host succeeded."""
EXIT_FAILED = 1
"""A run failed: a host the command was for failed or was unreachable, or the run broke."""
EXIT_BAD_INPUT = 2
"""Refused before anything ran: a bad argument, an invalid inventory, a conflicting repeat."""
EXIT_PARTIAL = 3
"""The command did its job, but other nodes lag (unreachable, or failed where they only had
to follow): `gpucluster status` lists them and the command that catches them up."""
EXIT_LOCKED = 4
"""--no-wait, and another command holds the inventory's lock."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGTERM gives 143: 128 + the signal's number); the run is recorded as interrupted."""
