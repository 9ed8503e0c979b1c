"""One module per CLI command; each exposes `run(args, console) -> exit code`."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
