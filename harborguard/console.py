"""The console entry point, and what a signal does to a run.

Ctrl-C (SIGINT) and a polite stop (SIGTERM: a cancelled CI job) end a run with one line
and exit 130 or 143, at any moment. So the handlers are installed here, first, before
the heavy imports (click, rich, httpx take a tenth of a second), and:

- a signal raises :class:`~harborguard.errors.Stopped` once; the run unwinds (parts
  stopped, temporary report file removed) and later signals are ignored, so that no
  second one can interrupt the cleanup or the line that says why the run stopped;
- inside :func:`deferred` (creating and renaming a temporary report file), a signal
  waits until the block ends, so a temporary file is always known to the cleanup;
- once the run's outcome is final (:func:`finishing`: every report written and flushed,
  every line said), signals are ignored and the run exits with its own code. A signal
  before that point exits 130/143; a report already renamed into place is then complete
  (never a partial one), but the exit code says the run was stopped.

Only the window before this module runs (the interpreter starting) is outside this:
SIGTERM there ends the process as the default action does (status 143 in a shell).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from harborguard.errors import Stopped

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    raised = False  # a Stopped was raised: later signals are ignored
    final = False  # the outcome is decided: signals are ignored
    deferring = 0
    pending: int | None = None
    temporary: set[str] = set()  # report files to remove if the run stops


def _handler(signum: int, frame: Any) -> None:
    if _State.raised or _State.final:
        return
    if _State.deferring:
        if _State.pending is None:
            _State.pending = signum
        return
    _State.raised = True
    raise Stopped(signum)


def install() -> None:
    for signum in _SIGNALS:
        signal.signal(signum, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """A signal that arrives in the block takes effect when it ends."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
        pending = _State.pending
        if not _State.deferring and pending is not None and not _State.raised:
            _State.pending = None
            _State.raised = True
            raise Stopped(pending)


def track(path: str) -> None:
    """A temporary file to remove should the run stop (call inside :func:`deferred`)."""
    _State.temporary.add(path)


def untrack(path: str) -> None:
    _State.temporary.discard(path)


def finishing() -> None:
    """The outcome is final: from here on a signal changes nothing."""
    _State.final = True


def stopped(stop: Stopped) -> int:
    """Cleans up after a Stopped run and says so in one line; returns the exit code."""
    _State.final = True
    for path in list(_State.temporary):
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass
    _State.temporary.clear()
    try:
        name = signal.Signals(stop.code - 128).name
        sys.stderr.write(f"harborguard: stopped ({name})\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed or full
        pass
    return stop.code


def test_point(name: str) -> None:
    """Hooks for the test suite only, so that signal tests do not race the run:
    HARBORGUARD_TEST_SIGNAL=POINT:SIGNAL sends SIGNAL to this process at POINT;
    HARBORGUARD_TEST_PAUSE=POINT:FILE creates FILE at POINT and waits (up to a minute)
    for a signal. Points: start, imported, writing, decided, final."""
    for variable in ("HARBORGUARD_TEST_SIGNAL", "HARBORGUARD_TEST_PAUSE"):
        point, _, argument = os.environ.get(variable, "").partition(":")
        if point != name or not argument:
            continue
        if variable == "HARBORGUARD_TEST_SIGNAL":
            os.kill(os.getpid(), signal.Signals[argument])
        else:
            Path(argument).touch()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.01)


def _exit(code: int) -> NoReturn:
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)


def main() -> None:
    """``harborguard``: handlers first, then the command line (harborguard.cli)."""
    try:
        install()
        test_point("start")
        from harborguard import cli

        test_point("imported")
    except Stopped as stop:
        _exit(stopped(stop))
    except KeyboardInterrupt:  # SIGINT before the handler was in place
        _exit(stopped(Stopped(signal.SIGINT)))
    cli.main()
