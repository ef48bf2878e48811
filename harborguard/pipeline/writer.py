"""The report's long lists written as their rows come: each repository's rows are
encoded in one call and appended to a file, never held for the whole run.

A spill file holds the inside of one JSON array (``{...},\\n    {...}``), item per line as
report/json.py lays a list out; joined one after another with its separator, the spills
of the parts of a run are the list of the whole run, byte for byte.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from harborguard.report.json import _SEPARATOR, render_items


class Spill:
    """One report list, spilled to an unnamed temporary file as its rows come."""

    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)
        self.size = 0  # bytes written
        self.length = 0  # items written

    def add(self, rows: list[Any]) -> None:
        if not rows:
            return
        body = render_items(rows).arrays[0]
        assert isinstance(body, bytes)
        write = self._file.write
        if self.length:
            write(_SEPARATOR)
            self.size += len(_SEPARATOR)
        write(memoryview(body)[1:-1])
        self.size += len(body) - 2
        self.length += len(rows)

    def read(self) -> bytes:
        """The array, brackets included (for a report written to a stream)."""
        self._file.flush()
        self._file.seek(0)
        return b"[" + self._file.read() + b"]"

    def share(self, as_bytes: bool) -> tuple[int, int, Any]:
        """(size, items, the array's bytes if ``as_bytes``: else the part writes them)."""
        return self.size, self.length, self.read() if as_bytes else None

    def write_into(self, target: str, offset: int) -> None:
        """Writes the spilled bytes into the file ``target`` at ``offset``."""
        out = os.open(target, os.O_WRONLY)
        try:
            self.copy_to(out, offset)
        finally:
            os.close(out)

    def copy_to(self, fd: int, offset: int) -> None:
        """Writes the spilled bytes into ``fd`` at ``offset``, in the kernel when it can."""
        self._file.flush()
        source = self._file.fileno()
        done = 0
        while done < self.size:
            try:
                copied = os.copy_file_range(source, fd, self.size - done, done, offset + done)
            except OSError:
                copied = 0
            if copied <= 0:
                chunk = os.pread(source, min(self.size - done, 1 << 24), done)
                if not chunk:
                    raise OSError(f"spill file ended after {done} of {self.size} bytes")
                copied = os.pwrite(fd, chunk, offset + done)
            done += copied

    def close(self) -> None:
        self._file.close()


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
