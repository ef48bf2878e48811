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

Only the interpreter's own start (its site module, some 20 ms, before any code of
harborguard runs) is outside this: SIGTERM there ends the process as the default action
does (status 143 in a shell); SIGINT there is Python's own KeyboardInterrupt.

This module imports only what the interpreter has already loaded (os, sys) and the
signal module, so that the handlers are in place a fraction of a millisecond after the
entry point starts.
"""

from __future__ import annotations

# The C module: built in and loaded with the interpreter. `signal` itself builds enums
# on import (half a millisecond in which Ctrl-C would still be a KeyboardInterrupt).
import _signal  # type: ignore[import-not-found]
import os
import sys

from harborguard.errors import Stopped

TYPE_CHECKING = False  # typing itself takes milliseconds to import
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, NoReturn

_NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM"}


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
    for signum in _NAMES:
        _signal.signal(signum, _handler)


class deferred:  # noqa: N801 - used as ``with deferred():``, like a contextmanager
    """A signal that arrives in the block takes effect when it ends."""

    def __enter__(self) -> None:
        _State.deferring += 1

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
            os.unlink(path)
        except OSError:  # already gone
            pass
    _State.temporary.clear()
    try:
        name = _NAMES.get(stop.code - 128, f"signal {stop.code - 128}")
        sys.stderr.write(f"harborguard: stopped ({name})\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed or full
        pass
    return stop.code


def test_point(name: str) -> None:
    """Hooks for the test suite only, so that signal tests do not race the run:
    HARBORGUARD_TEST_SIGNAL=POINT:SIGNAL sends SIGNAL to this process at POINT;
    HARBORGUARD_TEST_PAUSE=POINT:FILE creates FILE at POINT and waits (up to a minute)
    for a signal. Points: start, imported, evidence (the early --kubectl-json reader
    waited for), writing, decided, final."""
    for variable in ("HARBORGUARD_TEST_SIGNAL", "HARBORGUARD_TEST_PAUSE"):
        point, _, argument = os.environ.get(variable, "").partition(":")
        if point != name or not argument:
            continue
        if variable == "HARBORGUARD_TEST_SIGNAL":
            import signal

            os.kill(os.getpid(), signal.Signals[argument])
        else:
            import time

            with open(argument, "a"):
                pass
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.01)


# The stack of the run's conclusion, kept until the process ends: set (to a list) only by
# the console entry point, which ends with os._exit.
_KEPT: list[Any] | None = None


def keep_heap() -> None:
    """Keeps the caller's frames (and so everything they hold) alive until the process
    ends: unwinding the run's SystemExit then frees nothing, and the entry point's
    os._exit returns the memory at once (freeing a large run's objects one by one takes
    about a second at 1,000,000 artifacts and changes nothing). Does nothing outside the
    console entry point (tests invoking the command line keep no memory)."""
    if _KEPT is not None:
        _KEPT.append(sys._getframe(1))


def _exit(code: int) -> NoReturn:
    leave()
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)


def leave() -> None:
    """Before the process exits: no early --kubectl-json reader is left running."""
    ahead = sys.modules.get("harborguard.sources.kubectlahead")
    if ahead is not None:
        ahead.abandon()


def main() -> None:
    """``harborguard``: handlers first, then the command line (harborguard.cli)."""
    global _KEPT
    _KEPT = []
    try:
        install()
        test_point("start")
        # --kubectl-json files read by another process while this one starts (a guess
        # at the command line: used only if it names what click then reads).
        from harborguard.sources.kubectlahead import start_early

        start_early(sys.argv[1:])
        from harborguard import cli

        test_point("imported")
    except Stopped as stop:
        _exit(stopped(stop))
    except KeyboardInterrupt:  # SIGINT before the handler was in place
        _exit(stopped(Stopped(_signal.SIGINT)))
    cli.main()
