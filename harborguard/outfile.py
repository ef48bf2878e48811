"""An output file written whole or not at all: a reader never sees half a report; and
never one the command reads (refuse_overwriting)."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harborguard import console
from harborguard.errors import InputError

if TYPE_CHECKING:
    from harborguard.pipeline import Fill
    from harborguard.report.json import Chunk


# The names of standard output: `-o` naming one writes into standard output as `-o -`
# does (cli/options.py), never a file renamed over the one it names (`exec >>run.log`).
STANDARD_OUTPUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


class PartsFailed(Exception):
    """A part could not write its share of the report: run whole instead."""


def write_atomically(path: str, chunks: Sequence[Chunk], fill: Fill | None = None) -> None:
    """Writes ``chunks`` to a temporary file beside ``path`` and renames it into place, so
    a reader never sees half a report. Holes among the chunks are left for ``fill``
    (the parts of a run write them); if it fails, nothing is written: PartsFailed.
    A symbolic link is followed (the file it names is replaced, the link stays); a path
    that is not a regular file (/dev/null, a named pipe) is written to, never replaced."""
    from harborguard.report.json import layout

    if not path:
        raise InputError("-o/--output: the file name is empty")
    own, holes, size = layout(chunks)
    target = Path(os.path.realpath(path))
    # What the path names, links followed as open() follows them: /dev/stdout on a pipe
    # names the pipe, though its real path (/proc/self/fd/pipe:[...]) is no file.
    existing = existing_mode(Path(path))
    if existing is not None and not stat.S_ISREG(existing):
        if holes:
            raise PartsFailed  # parts write at offsets: only into a regular file
        try:
            with open(path, "wb") as handle:
                handle.writelines(chunk for _, chunk in own)
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc}") from None
        return
    directory = target.parent
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    try:
        with console.deferred():  # a signal now waits until the file is tracked
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
            console.track(tmp)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc}") from None
    try:
        console.test_point("writing")
        with os.fdopen(fd, "wb") as handle:
            if not holes:
                handle.writelines(chunk for _, chunk in own)
            else:
                for offset, chunk in own:
                    handle.seek(offset)
                    handle.write(chunk)
                handle.truncate(size)
                handle.flush()
                if fill is None or not fill(tmp, holes):
                    raise PartsFailed
        # mkstemp makes the file private; give it the mode a plain write would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, existing & 0o777 if existing is not None else 0o666 & ~mask)
        with console.deferred():
            os.replace(tmp, target)
            console.untrack(tmp)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        console.untrack(tmp)
        raise InputError(f"{path}: cannot write: {exc}") from None
    except BaseException:  # PartsFailed, or interrupted: no partial file left behind
        # (should a signal cut this short, console.stopped removes the tracked file)
        Path(tmp).unlink(missing_ok=True)
        console.untrack(tmp)
        raise


def existing_mode(path: Path) -> int | None:
    """The mode of what ``path`` names now; None if nothing is there (or it cannot be
    looked at)."""
    try:
        return path.stat().st_mode
    except OSError:
        return None


def is_regular(path: str) -> bool:
    return stat.S_ISREG(existing_mode(Path(path)) or 0)


# ``--snapshot -``: standard input (every other option reads or writes a file named "-").
STREAM = "-"


@dataclass(frozen=True, slots=True)
class Named:
    """A file the command line names, and the flag that names it (as an error says it)."""

    flag: str
    path: str


@dataclass(frozen=True, slots=True)
class ReadFolder:
    """A folder the command reads files from: ``reads`` tells, from a path relative to
    the folder, whether that file is read; ``what`` says which files are, in words."""

    flag: str
    path: str
    reads: Callable[[str], bool]
    what: str


def refuse_overwriting(outputs: Sequence[Named], inputs: Sequence[Named],
                       folders: Sequence[ReadFolder] = ()) -> None:
    """InputError (one line naming both flags) when an output would replace an input, a
    file one of ``folders`` reads, or another output: the same path once resolved
    (``./x``, a symbolic link), or the same file (a hard link). An input ``-`` is
    standard input: a clash only when it is redirected from the output's file. An
    existing output that is not a regular file (/dev/null, a pipe) is written into, not
    replaced: no clash."""
    for number, output in enumerate(outputs):
        if not _replaced(output.path):
            continue
        for read in inputs:
            if _same_file(output.path, read.path):
                raise InputError(
                    f"{output.flag} {output.path} and {read.flag} {read.path} are the same "
                    "file: harborguard does not write over what it reads; give another file")
        for other in outputs[:number]:
            if _same_file(output.path, other.path):
                raise InputError(f"{output.flag} {output.path} and {other.flag} {other.path} "
                                 "are the same file: one would overwrite the other")
        real = os.path.realpath(output.path)
        for folder in folders:
            root = os.path.realpath(folder.path)
            if os.path.commonpath([root, real]) == root and real != root \
                    and folder.reads(os.path.relpath(real, root)):
                raise InputError(
                    f"{output.flag} {output.path} is inside {folder.flag} {folder.path}, "
                    f"which reads {folder.what}: write it elsewhere")


def _replaced(path: str) -> bool:
    """A path the output would replace: nothing there yet, or a regular file."""
    mode = existing_mode(Path(path))
    return mode is None or stat.S_ISREG(mode)


def _same_file(output: str, read: str) -> bool:
    if read == STREAM:  # standard input: a clash only when redirected from the file
        return _is_standard_input(output)
    if os.path.realpath(output) == os.path.realpath(read):
        return True
    try:
        return os.path.samefile(output, read)
    except OSError:  # one of them is not there (yet)
        return False


def _is_standard_input(path: str) -> bool:
    try:
        given, there = os.fstat(0), os.stat(path)
    except OSError:  # no standard input, or nothing at ``path``
        return False
    return stat.S_ISREG(given.st_mode) and os.path.samestat(given, there)
