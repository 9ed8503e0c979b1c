"""Ctrl-C and SIGTERM end a command cleanly: the run is stopped and recorded as interrupted.

Outside a run, both signals raise (KeyboardInterrupt, Stopped) so the command unwinds: the
lock is released by its `with` block and the edits are atomic anyway. During a run the handlers
only note the signal, and ansible-runner's cancel callback (GracefulStop) stops the run; the
run's summary is then written with outcome "interrupted" before RunInterrupted is raised.

ansible-runner alone would SIGKILL ansible-playbook's process group, but Ansible's workers run
in sessions of their own and would carry on with their tasks, unsupervised. So ansible-playbook
gets SIGINT first, as from a terminal: it stops its workers and exits within seconds. Only if
it has not exited after GRACE_S does ansible-runner's SIGKILL follow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from gpucluster.processes import children

CAUGHT = (signal.SIGINT, signal.SIGTERM)
GRACE_S = 20.0


class Stopped(BaseException):
    """SIGTERM outside a run: unwinds like KeyboardInterrupt does for SIGINT."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class RunInterrupted(Exception):
    """A run stopped by a signal, after its summary was written."""

    def __init__(self, run_dir: Path, signum: int) -> None:
        self.run_dir = run_dir
        self.signum = signum
        super().__init__(f"{signal.Signals(signum).name}: run recorded as interrupted in {run_dir}")

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt and SIGTERM raises Stopped for the `with` block."""
    with _handlers(_raise):
        yield


class SignalNote:
    """Which signal arrived during a run, if any; ansible-runner's cancel callback."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def note(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = signum

    def requested(self) -> bool:
        return self.signum is not None


class GracefulStop:
    """ansible-runner's cancel callback: True (kill it) once SIGINT had GRACE_S to work."""

    def __init__(self, note: SignalNote, grace_s: float = GRACE_S) -> None:
        self._note = note
        self._grace_s = grace_s
        self._asked_at: float | None = None

    def __call__(self) -> bool:
        if not self._note.requested():
            return False
        if self._asked_at is None:
            self._asked_at = time.monotonic()
            for child in children(os.getpid()):  # ansible-playbook, started by ansible-runner
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGINT)
            return False
        return time.monotonic() - self._asked_at > self._grace_s


@contextlib.contextmanager
def signals_noted() -> Iterator[SignalNote]:
    """During the `with` block, SIGINT and SIGTERM are noted instead of raising."""
    note = SignalNote()
    with _handlers(note.note):
        yield note


@contextlib.contextmanager
def _handlers(handler: signal._HANDLER) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    previous = {signum: signal.signal(signum, handler) for signum in CAUGHT}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
