"""One job in parts, a process per part: for the few runs large enough to pay for it.

Python runs one thread of Python at a time, so a 100,000-artifact simulate uses one core
of the machine. ``run_in_parts`` forks a child per extra part before any data is read;
every process then reads the input itself (no copy-on-write traffic over a shared heap)
and does its part; the children send their results back pickled over a pipe.

Nothing here knows what a part is: the caller's ``work(index)`` does, and it is the
caller who checks that the parts, joined, are the whole (simulate's parts are, byte for
byte; tests/test_parts.py). Any failure of any part (an exception, a child that dies or
sends nothing) makes ``run_in_parts`` return None, and the caller does the job whole, in
this process: whatever went wrong is then reported exactly as a run without parts
reports it.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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


def run_in_parts(work: Callable[[int], T], count: int) -> list[T] | None:
    """[work(0), ..., work(count - 1)], work(0) in this process, the others in children;
    None when any of them failed. KeyboardInterrupt and SystemExit in this process stop
    the children and go on up."""
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    children: list[tuple[int, int]] = []  # (pid, read end) of those not yet collected
    try:
        for index in range(1, count):
            try:
                read_end, write_end = os.pipe()
                pid = os.fork()
            except OSError:
                return None
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child(work, index, write_end)
            os.close(write_end)
            children.append((pid, read_end))
        try:
            results = [work(0)]
        except Exception:
            return None
        while children:
            pid, read_end = children.pop(0)
            got = _collect(pid, read_end)
            if got is None:
                return None
            results.append(got[0])
        return results
    finally:
        for pid, read_end in children:  # a part failed, or this process was interrupted
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
            try:
                os.close(read_end)
            except OSError:
                pass


def _child(work: Callable[[int], T], index: int, write_end: int) -> None:
    code = 1
    try:
        result = work(index)
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent notices the missing result
        pass
    finally:
        os._exit(code)


def _collect(pid: int, read_end: int) -> tuple[Any] | None:
    """The child's result (in a 1-tuple: a result may be None), or None if it failed."""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            try:
                result = pickle.load(pipe)
                ok = True
            except Exception:
                ok = False
    finally:
        _, status = os.waitpid(pid, 0)
    if not ok or os.waitstatus_to_exitcode(status) != 0:
        return None
    return (result,)
