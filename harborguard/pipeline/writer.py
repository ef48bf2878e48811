"""The report's long lists written as their rows come: each repository's rows are
encoded in one call and appended to a file, never held for the whole run.

A spill holds the inside of one JSON array (``{...},\\n    {...}``), item per line as
report/json.py lays a list out; joined one after another with its separator, the spills
of the parts of a run are the list of the whole run, byte for byte.

Findings are most of a large report, and most of a finding is its ``related`` list,
which many findings of a repository share (every version kept that a run of deleted ones
is older than: report/build.py's finding_dicts shares the list). A shared list is
encoded and written once, to a second file, and each finding's row holds a mark in its
place (a NUL byte, which JSON text never holds, and where the list is); the report's bytes
are laid out only when the spill is written into the report. So the report's largest part
is written once, straight into the report file, instead of to a spill first and copied.

A large report is written past the page cache (``Released``): pages written are handed to
the disk and let go a few megabytes behind, so the next ones reuse them. On a virtual
machine whose free memory goes back to the host, every page never used before costs a
fault in the host (3.6 GB: 8.5 s of system time against 1.4 s when let go behind).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any

import msgspec

from harborguard.findings import Finding
from harborguard.jsonio import dumps
from harborguard.pipeline.findingrows import Unencodable, encode_findings
from harborguard.report.build import finding_dicts
from harborguard.report.json import _SEPARATOR, render_items

_MARK = b"\x00"  # never in msgspec's JSON: a control character in a string is escaped
_MARK_LENGTH = 1 + 16 + 8  # the NUL, then the list's offset and length in hexadecimal
_KEY = _MARK_LENGTH - 1  # a mark's bytes after the NUL (the piece a split on NUL begins with)
_BRACKET = 1 << 31  # in a mark's length: the list is `[` and the bytes it names (list_tail)
_SHARED = "related"  # the key of a finding row's list of related artifacts
_SHARED_FROM = 4  # a shorter list is left in its row: its mark would cost more than it saves
_CHUNK = 1 << 22  # bytes of a spill read at a time when it is laid out
_IOV_MAX = 1024  # buffers per pwritev (Linux's IOV_MAX)
_RELEASE_BEHIND = 32 << 20  # bytes written before the ones let go from the page cache
_RELEASE_STEP = 16 << 20  # let go this many at a time
_RELEASE_AGAIN = 256 << 20  # advised again until this far behind: dropped once on the disk


class Spill:
    """One report list, spilled to an unnamed temporary file as its rows come."""

    def __init__(self, directory: str | None = None) -> None:
        self._directory = directory
        self._file = tempfile.TemporaryFile(dir=directory)
        self._shared: IO[bytes] | None = None  # the shared lists, when there are any
        self._shared_size = 0
        self._written = 0  # bytes in the spill file (marks where the shared lists go)
        self.size = 0  # bytes of the list, the shared lists in place
        self.length = 0  # items written

    def add(self, rows: list[Any]) -> None:
        """Appends ``rows``; a finding row's ``related`` list is replaced by its mark (the
        rows are the spill's once added)."""
        if not rows:
            return
        extra = 0  # bytes the marks stand for, beyond their own
        marked = None  # the rows' own related lists, where marks took their place
        if type(rows[0]) is dict and _SHARED in rows[0]:
            marked = [row[_SHARED] for row in rows]
            extra = self._mark_shared(rows)
        try:
            body = render_items(rows).arrays[0]
        except TypeError:
            if marked is None:
                raise
            # msgspec refused a value (a lone surrogate in a tag, say), and the standard
            # encoder that takes it takes no mark: the lists are written in their rows.
            for row, related in zip(rows, marked, strict=True):
                row[_SHARED] = related
            extra = 0
            body = render_items(rows).arrays[0]
        assert isinstance(body, bytes)
        self._append(body, len(rows), extra)

    def add_findings(self, findings: Sequence[Finding]) -> None:
        """``add(finding_dicts(findings))``, byte for byte, without the dictionaries."""
        if not findings:
            return
        try:
            body, extra = encode_findings(findings, self, _SHARED_FROM)
        except Unencodable:
            self.add(finding_dicts(findings))
            return
        self._append(body, len(findings), extra)

    def write_list(self, encoded: bytes) -> tuple[int, msgspec.Raw, int]:
        """Writes a shared list once: where it was written, the mark a row holds in its
        place, and the bytes the mark stands for beyond its own."""
        if self._shared is None:
            self._shared = tempfile.TemporaryFile(dir=self._directory)
        start = self._shared_size
        self._shared.write(encoded)
        self._shared_size += len(encoded)
        return (start, msgspec.Raw(b"\x00%016x%08x" % (start, len(encoded))),
                len(encoded) - _MARK_LENGTH)

    def list_tail(self, start: int, length: int) -> tuple[msgspec.Raw, int]:
        """The mark of a list that is ``[`` and the ``length`` bytes written from ``start``
        (the end of a longer shared list), and the bytes it stands for beyond its own."""
        mark = b"\x00%016x%08x" % (start, length | _BRACKET)
        return msgspec.Raw(mark), 1 + length - _MARK_LENGTH

    def _append(self, body: bytes, length: int, extra: int) -> None:
        """Appends the array ``body`` of ``length`` items (its marks standing for ``extra``
        bytes beyond their own)."""
        write = self._file.write
        if self.length:
            write(_SEPARATOR)
            self._written += len(_SEPARATOR)
            self.size += len(_SEPARATOR)
        write(memoryview(body)[1:-1])
        self._written += len(body) - 2
        self.size += len(body) - 2 + extra
        self.length += length

    def _mark_shared(self, rows: list[dict[str, Any]]) -> int:
        """Puts a mark in place of each ``related`` list of ``rows`` (but short ones), and writes
        each list once (one object shared by several rows is one list); returns the bytes
        the marks stand for beyond their own length."""
        marks: dict[int, tuple[msgspec.Raw, int]] = {}
        get = marks.get
        extra = 0
        for row in rows:
            related = row[_SHARED]
            if len(related) >= _SHARED_FROM:
                known = get(id(related))
                if known is None:
                    known = marks[id(related)] = self.write_list(dumps(related))[1:]
                row[_SHARED] = known[0]
                extra += known[1]
        return extra

    def _chunks(self) -> Iterator[tuple[int, bytes]]:
        """The spill file's bytes, _CHUNK at a time, each with the bytes read so far."""
        self._file.flush()
        source = self._file.fileno()
        done = 0
        while done < self._written:
            chunk = os.pread(source, min(self._written - done, _CHUNK), done)
            if not chunk:
                raise OSError(f"spill file ended after {done} of {self._written} bytes")
            done += len(chunk)
            yield done, chunk

    def _batches(self) -> Iterator[list[bytes | memoryview]]:
        """The list's bytes in order, in batches of at most _IOV_MAX pieces, the shared
        lists in place of their marks."""
        if self._shared is None:
            for _, chunk in self._chunks():
                yield [chunk]
            return
        self._shared.flush()
        shared = self._shared.fileno()
        lists: dict[bytes, bytes] = {}  # mark -> the list (a repository's, mostly)
        carry = b""
        for done, read in self._chunks():
            pieces = (carry + read).split(_MARK)
            # The last mark's piece may go on in the next chunk: kept for it.
            carry = _MARK + pieces.pop() if done < self._written and len(pieces) > 1 else b""
            rest = pieces[1:]
            marks = [piece[:_KEY] for piece in rest]
            missing = set(marks).difference(lists)
            if missing and len(lists) + len(missing) > 4096:
                lists.clear()
                missing = set(marks)
            for mark in missing:
                offset, length = int(mark[:16], 16), int(mark[16:], 16)
                found = os.pread(shared, length & ~_BRACKET, offset)
                if len(found) != length & ~_BRACKET:
                    raise OSError("spill file of shared lists ended early")
                lists[mark] = b"[" + found if length & _BRACKET else found
            # Each piece after a mark: the list the mark names, then the rest of the piece;
            # laid out by C-level maps and slices (a chunk holds thousands of marks).
            laid: list[bytes | memoryview] = [b""] * (2 * len(rest))
            laid[0::2] = map(lists.__getitem__, marks)
            laid[1::2] = [piece[_KEY:] for piece in rest]
            if pieces[0]:
                laid.insert(0, pieces[0])
            for at in range(0, len(laid), _IOV_MAX):
                yield laid[at:at + _IOV_MAX]

    def read(self) -> bytes:
        """The array, brackets included (for a report written to a stream)."""
        return b"".join([b"[", *(piece for batch in self._batches() for piece in batch),
                         b"]"])

    def share(self, as_bytes: bool) -> tuple[int, int, Any]:
        """(size, items, the array's bytes if ``as_bytes``: else the part writes them)."""
        return self.size, self.length, self.read() if as_bytes else None

    def write_into(self, target: str, offset: int) -> None:
        """Writes the list's bytes into the file ``target`` at ``offset``."""
        out = os.open(target, os.O_WRONLY)
        try:
            self.copy_to(out, offset)
        finally:
            os.close(out)

    def copy_to(self, fd: int, offset: int) -> None:
        """Writes the list's bytes into ``fd`` at ``offset``: a spill without shared lists
        is copied in the kernel when it can be."""
        released = Released(fd, offset)
        if self._shared is None:
            self._file.flush()
            _copy(self._file.fileno(), fd, self._written, offset, released)
            released.done()
            return
        end = offset
        for batch in self._batches():
            end = _write_all(fd, batch, end)
            released.written(end)
        released.done()
        if end != offset + self.size:
            raise OSError(f"wrote {end - offset} bytes of a list of {self.size}")

    def close(self) -> None:
        self._file.close()
        if self._shared is not None:
            self._shared.close()


class Released:
    """Lets go of the page cache behind a writer of ``fd`` from ``start``: what was written
    more than _RELEASE_BEHIND bytes ago is handed to the disk (POSIX_FADV_DONTNEED starts
    its write-back) and, once written, dropped, so new pages come from the ones let go.
    Only advice: the file's bytes are the same whether it is taken or not."""

    def __init__(self, fd: int, start: int) -> None:
        self._fd = fd
        self._start = start
        self._from = start  # bytes before it were advised once
        self._end = start

    def written(self, end: int) -> None:
        self._end = end
        upto = end - _RELEASE_BEHIND
        if upto - self._from >= _RELEASE_STEP:
            # Dirty pages are only sent to the disk here; the calls of the next steps
            # find them clean and drop them.
            start = max(self._from - _RELEASE_AGAIN, self._start)
            self._from = upto
            self._advise(start, upto - start)

    def done(self) -> None:
        """Starts the write-back of the rest, and drops what is on the disk by now."""
        if self._end - self._from >= _RELEASE_STEP:
            start = max(self._from - _RELEASE_AGAIN, self._start)
            self._advise(start, self._end - start)

    def _advise(self, start: int, length: int) -> None:
        try:
            os.posix_fadvise(self._fd, start, length, os.POSIX_FADV_DONTNEED)
        except (AttributeError, OSError):  # not on this system, or not on this file
            self._from = 1 << 62  # not asked again


def _copy(source: int, fd: int, size: int, offset: int,
          released: Released | None = None) -> None:
    """Copies the first ``size`` bytes of ``source`` into ``fd`` at ``offset``, in the
    kernel when it can."""
    done = 0
    while done < size:
        try:
            copied = os.copy_file_range(source, fd, min(size - done, _RELEASE_STEP), done,
                                         offset + done)
        except OSError:
            copied = 0
        if copied <= 0:
            chunk = os.pread(source, min(size - done, _CHUNK), done)
            if not chunk:
                raise OSError(f"spill file ended after {done} of {size} bytes")
            copied = os.pwrite(fd, chunk, offset + done)
        done += copied
        if released is not None:
            released.written(offset + done)


def _write_all(fd: int, batch: list[bytes | memoryview], offset: int) -> int:
    """Writes ``batch`` one piece after another into ``fd`` from ``offset``, in one system
    call when it can (a write may take only part of it); returns the offset after it."""
    left = sum(map(len, batch))
    while True:
        written = os.pwritev(fd, batch, offset)
        if written <= 0:
            raise OSError("the report file took no more bytes")
        offset += written
        left -= written
        if not left:
            return offset
        while written >= len(batch[0]):  # drop what was written, cut the one half written
            written -= len(batch[0])
            del batch[0]
        batch[0] = memoryview(batch[0])[written:]


class Rows:
    """One report list kept as its rows (a format other than JSON reads them)."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def add(self, rows: list[Any]) -> None:
        self.rows.extend(rows)

    def share(self, as_bytes: bool) -> tuple[int, int, Any]:
        return 0, len(self.rows), self.rows

    def write_into(self, target: str, offset: int) -> None:
        raise AssertionError("rows are not written into a file")

    def close(self) -> None:
        pass
