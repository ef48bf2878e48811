"""``--kubectl-json`` files read while the snapshot is: in a thread, since reading a
snapshot of 100,000 artifacts (36 MB from the page cache) releases the interpreter for
about 20 ms, as long as reading 5,000 pods takes the interpreter. What a thread read is
what reading in turn gives: each file's evidence, or the error reading it raised, raised
where the file's turn comes (so a snapshot's error still comes first); files after one
that failed are not read. A path given twice is read twice, and each reading is taken in
its turn (a named pipe may give another output each time it is opened).

Only regular files are read ahead: a pipe (/dev/stdin, a named pipe, ``<(kubectl ...)``)
is read in its turn, as before, since what it gives depends on when it is read (standard
input shared with ``--snapshot -`` would be split between the two readers)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harborguard.sources.kubectl import KubectlEvidence


class KubectlFiles:
    """The evidence of those of ``paths`` that are regular files (``self.paths``), read in
    that order by a thread started at once."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(path for path in paths if _regular(path))
        # Each path's readings, in order; each is taken once, in its turn.
        self._read: dict[str, list[KubectlEvidence | BaseException]] = {}
        self._thread = threading.Thread(target=self._run, name="kubectl-json", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json

        for path in self.paths:
            readings = self._read.setdefault(path, [])
            try:
                readings.append(parse_kubectl_json(load_kubectl_file(path), path))
            except BaseException as exc:  # noqa: BLE001 - raised again in the reader's turn
                readings.append(exc)
                return

    def evidence(self, path: str) -> KubectlEvidence:
        """``path``'s evidence (one of ``paths``), once the thread has read it; what
        reading it raised is raised here. A path given twice: its next reading."""
        self._thread.join()
        readings = self._read.get(path)
        if not readings:
            raise LookupError(f"{path} was not read ahead")
        found = readings.pop(0)
        if isinstance(found, BaseException):
            raise found
        return found


def _regular(path: str) -> bool:
    """A regular file (links followed): reading it now gives what reading it later does."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False  # read in its turn, which names what is wrong
