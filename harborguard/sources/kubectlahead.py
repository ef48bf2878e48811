"""``--kubectl-json`` files read before their turn, while the program starts and reads the
snapshot: reading 5,000 pods takes about 80 ms of the interpreter, as long as reading a
snapshot of 100,000 artifacts.

Two ways, one result. ``start_early``, called as the program starts (console.main),
forks a process that reads the files a ``check`` or ``diff`` command line names while
this one imports its code and reads the snapshot, and sends their evidence back,
pickled. Where it was not started (no fork, one CPU, a test calling the CLI in-process)
or read other files than the command reads, a thread reads them instead, in the
snapshot file read's time (which releases the interpreter). What was read ahead is what
reading in turn gives: each file's evidence, or the error reading it raised, raised where
the file's turn comes (so a snapshot's error still comes first); files after one that
failed are not read. A path given twice is read twice, and each reading is taken in its
turn (a named pipe may give another output each time it is opened). A reader process that
fails or sends nothing leaves the thread to read.

Only regular files are read ahead: a pipe (/dev/stdin, a named pipe, ``<(kubectl ...)``)
is read in its turn, as before, since what it gives depends on when it is read (standard
input shared with ``--snapshot -`` would be split between the two readers)."""

from __future__ import annotations

import os
import pickle
import signal
import stat
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harborguard.sources.kubectl import KubectlEvidence

# Each path's readings, in order; each is taken once, in its turn.
Readings = dict[str, list[Any]]  # KubectlEvidence, or the exception reading raised

_COMMANDS = ("check", "diff")  # the commands that read --kubectl-json ahead (read_ahead)
_OPTION = "--kubectl-json"


class KubectlFiles:
    """The evidence of those of ``paths`` that are regular files (``self.paths``), read in
    that order: by the process ``start_early`` started, if it read those, else by a
    thread started at once."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(path for path in paths if _regular(path))
        self._read: Readings = {}
        self._thread: threading.Thread | None = None
        # The reader's evidence is taken in the first file's turn: the snapshot is read
        # meanwhile (and its error named at once). A reader of other files is stopped.
        self._early = _EARLY is not None and _EARLY[0] == self.paths
        if not self._early:
            abandon()
            self._thread = threading.Thread(target=self._run, name="kubectl-json",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        _read_in_turn(self.paths, self._read)

    def evidence(self, path: str) -> KubectlEvidence:
        """``path``'s evidence (one of ``paths``), once it is read; what reading it
        raised is raised here. A path given twice: its next reading."""
        if self._early:
            self._early = False
            early = _take_early(self.paths)
            if early is None:  # the reader sent nothing: read here, in turn
                _read_in_turn(self.paths, self._read)
            else:
                self._read = early
        if self._thread is not None:
            self._thread.join()
        readings = self._read.get(path)
        if not readings:
            raise LookupError(f"{path} was not read ahead")
        found = readings.pop(0)
        if isinstance(found, BaseException):
            raise found
        return found  # type: ignore[no-any-return]


def _read_in_turn(paths: Sequence[str], read: Readings) -> None:
    from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json

    for path in paths:
        readings = read.setdefault(path, [])
        try:
            readings.append(parse_kubectl_json(load_kubectl_file(path), path))
        except BaseException as exc:  # noqa: BLE001 - raised again in the reader's turn
            readings.append(exc)
            return


def _regular(path: str) -> bool:
    """A regular file (links followed): reading it now gives what reading it later does."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False  # read in its turn, which names what is wrong


# -- a process started with the program -----------------------------------------------------

_EARLY: tuple[tuple[str, ...], int, int] | None = None  # (paths, pid, result's read end)


def named_files(argv: Sequence[str]) -> tuple[str, ...]:
    """The --kubectl-json paths of a ``check`` or ``diff`` command line, as click reads
    them (``--kubectl-json F``, ``--kubectl-json=F``); () for any other command. A guess
    made before click parses the line: KubectlFiles uses what it read only when it read
    exactly the files the parsed command names."""
    if not any(arg in _COMMANDS for arg in argv):
        return ()
    paths = []
    for at, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == _OPTION and at + 1 < len(argv):
            paths.append(argv[at + 1])
        elif arg.startswith(_OPTION + "="):
            paths.append(arg.partition("=")[2])
    return tuple(paths)


def start_early(argv: Sequence[str]) -> None:
    """Forks the process that reads the files ``argv`` names (``named_files``), when they
    are regular files, this machine has another CPU and can fork; does nothing else."""
    global _EARLY
    from harborguard import parallel

    paths = named_files(argv)
    if _EARLY is not None or not paths or not all(map(_regular, paths)) or \
            not parallel.can_fork() or parallel.available_cpus() < 2 or \
            threading.active_count() > 1:  # a fork copies no other thread, nor its locks
        return
    parallel.flush_before_fork()
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return
    if pid == 0:  # the reader: never returns
        code = 1
        try:
            os.close(read_end)
            _detach()
            read: Readings = {}
            _read_in_turn(paths, read)
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(read, out, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        except BaseException:  # noqa: BLE001 - this process reads them itself then
            pass
        finally:
            os._exit(code)
    os.close(write_end)
    _EARLY = (paths, pid, read_end)


def _detach() -> None:
    """The reader writes only to its pipe: its standard output and error, where they are
    not regular files, go to /dev/null, so that it never holds the caller's pipes
    (``$(harborguard ...)``, ``| tee``) open. Standard input, and a regular file, stay:
    ``--kubectl-json /dev/stdin < pods.json`` reads the file, as in its turn."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                continue
        except OSError:  # closed
            pass
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def abandon() -> None:
    """Stops and waits for the early reader if nothing took what it read (the run ended
    before the files' turn, or its command does not read them): no process is left
    running after the program ends. Called as the program exits."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is None:
        return
    _, pid, read_end = early
    if read_end >= 0:  # -1: closed by _take_early, which a signal interrupted
        try:
            os.close(read_end)
        except OSError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def _take_early(paths: tuple[str, ...]) -> Readings | None:
    """What the early reader read, if it read ``paths`` (and said so); it is waited for
    either way."""
    global _EARLY
    early = _EARLY
    if early is None:
        return None
    named, pid, read_end = early
    got: Any = None
    try:
        from harborguard import console

        console.test_point("evidence")  # the program waits for the reader from here
        with os.fdopen(read_end, "rb") as pipe:
            got = pickle.load(pipe)  # EOF or a broken pickle: read here instead
    except Exception:  # noqa: BLE001
        got = None
    except BaseException:  # a signal (Stopped): the exit stops the reader (abandon)
        _EARLY = (named, pid, -1)
        raise
    _EARLY = None
    try:
        _, status = os.waitpid(pid, 0)
    except OSError:
        return None
    if os.waitstatus_to_exitcode(status) != 0 or named != paths or not isinstance(got, dict):
        return None
    return got
