"""One job in parts, a process per part: for the few runs large enough to pay for it.

Python runs one thread of Python at a time, so a 100,000-artifact simulate uses one core
of the machine. ``start_parts`` forks a child per extra part before any data is read;
every process then reads the input itself (no copy-on-write traffic over a shared heap)
and does its part. A part's work gives two things: a result, sent back to this process
(pickled, over a pipe), and a ``finish`` step run later with a message this process
sends once it has every result; the children wait for it. simulate uses the two steps to
have each part write its own share of the report into the output file, in parallel.

Nothing here knows what a part is: the caller's ``work(index)`` does, and it is the
caller who checks that the parts, joined, are the whole (simulate's parts are, byte for
byte; tests/pipeline/test_parts.py). Any failure of any part (an exception, a child that dies or
sends nothing) makes ``start_parts`` return None or ``Parts.finish`` return False, and the
caller does the job whole, in this process: whatever went wrong is then reported exactly
as a run without parts reports it.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Finish = Callable[[Any], None]

MAX_PARTS = 4  # each process reads the whole input: more parts, more memory, less gain


def available_cpus() -> int:
    """CPUs this process may run on: its affinity, and a cgroup v2 quota if one is set
    (a container limited to one CPU on a large host must not be split)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def can_fork() -> bool:
    return hasattr(os, "fork")


class Parts(Generic[T]):
    """Every part's result; the children wait for ``finish`` (or ``close``)."""

    def __init__(self, results: list[T], own: Finish,
                 children: list[tuple[int, int]]) -> None:
        self.results = results
        self._own = own
        self._children = children  # (pid, message pipe's write end)

    def finish(self, messages: Sequence[Any]) -> bool:
        """Sends ``messages[k]`` to part k, runs this process's own finish with
        ``messages[0]``, and waits for the children's: True when every one succeeded."""
        children, self._children = self._children, []
        waiting = list(children)  # those whose message pipe is still open
        running = [pid for pid, _ in children]  # those not yet waited for
        try:
            for message in messages[1:len(children) + 1]:
                with os.fdopen(waiting[0][1], "wb") as pipe:
                    del waiting[0]  # closed by the with, whatever happens in it
                    pickle.dump(message, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            while waiting:  # no message for it: it reads the end of its pipe and fails
                _close(waiting.pop()[1])
            self._own(messages[0])
            ok = True
            while running:
                ok = _reap(running[0]) and ok
                del running[0]
            return ok
        except BaseException as exc:
            for _, write_end in waiting:
                _close(write_end)
            for pid in running:
                _reap(pid, kill=True)
            if isinstance(exc, Exception):
                return False
            raise

    def close(self) -> None:
        """Stops the children that still wait (the caller gave up on the parts)."""
        children, self._children = self._children, []
        _kill(children)


def flush_before_fork() -> None:
    """What standard output and error buffer, written now: a forked child would write it
    a second time."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def start_parts(work: Callable[[int], tuple[T, Finish]], count: int) -> Parts[T] | None:
    """Runs work(0) here and work(1..count-1) in forked children, and collects their
    results; None when any of them failed (the children are then stopped). The caller
    must end the Parts it gets with ``finish`` or ``close``."""
    flush_before_fork()
    started: list[tuple[int, int, int]] = []  # (pid, result pipe's read end, message's write)
    done = False
    try:
        for index in range(1, count):
            fds: list[int] = []
            try:
                fds.extend(os.pipe())
                fds.extend(os.pipe())
                result_read, result_write, message_read, message_write = fds
                pid = os.fork()
            except OSError:
                for fd in fds:
                    _close(fd)
                return None
            if pid == 0:  # the child: never returns
                os.close(result_read)
                os.close(message_write)
                for _, other_read, other_write in started:
                    os.close(other_read)
                    os.close(other_write)
                _child(work, index, result_write, message_read)
            os.close(result_write)
            os.close(message_read)
            started.append((pid, result_read, message_write))
        try:
            result, own = work(0)
        except Exception:
            return None
        results = [result]
        for _, result_read, _ in started:
            got = _collect(result_read)
            if got is None:
                return None
            results.append(got[0])
        done = True
        return Parts(results, own, [(pid, message_write) for pid, _, message_write in started])
    finally:
        if not done:  # a part failed, or this process was interrupted
            _kill([(pid, message_write) for pid, _, message_write in started])
        for _, result_read, _ in started:
            _close(result_read)


def _child(work: Callable[[int], tuple[T, Finish]], index: int, result_write: int,
           message_read: int) -> None:
    code = 1
    try:
        result, finish = work(index)
        with os.fdopen(result_write, "wb") as pipe:
            pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(message_read, "rb") as pipe:
            message = pickle.load(pipe)  # EOF (the parent gave up): an error, exit 1
        finish(message)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent notices the exit code
        pass
    finally:
        os._exit(code)


def _collect(read_end: int) -> tuple[Any] | None:
    """A child's result (in a 1-tuple: a result may be None), or None if it sent none."""
    try:
        with os.fdopen(read_end, "rb", closefd=False) as pipe:
            return (pickle.load(pipe),)
    except Exception:
        return None


def _kill(children: Sequence[tuple[int, int]]) -> None:
    for pid, write_end in children:
        _close(write_end)
        _reap(pid, kill=True)


def _reap(pid: int, kill: bool = False) -> bool:
    """Waits for a child (stopping it first if ``kill``); True if it exited with 0."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    except OSError:  # already reaped
        return False
    return os.waitstatus_to_exitcode(status) == 0


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
