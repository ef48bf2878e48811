"""``--kubectl-json`` files read while the snapshot is: in a thread, since reading a
snapshot of 100,000 artifacts (36 MB from the page cache) releases the interpreter for
about 20 ms, as long as reading 5,000 pods takes the interpreter. What a thread read is
what reading in turn gives: each file's evidence, or the error reading it raised, raised
where the file's turn comes (so a snapshot's error still comes first); files after one
that failed are not read."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harborguard.sources.kubectl import KubectlEvidence


class KubectlFiles:
    """The evidence of ``paths``, read in that order by a thread started at once."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self._read: dict[str, KubectlEvidence | BaseException] = {}
        self._thread = threading.Thread(target=self._run, name="kubectl-json", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json

        for path in self.paths:
            try:
                self._read[path] = parse_kubectl_json(load_kubectl_file(path), path)
            except BaseException as exc:  # noqa: BLE001 - raised again in the reader's turn
                self._read[path] = exc
                return

    def evidence(self, path: str) -> KubectlEvidence:
        """``path``'s evidence (one of ``paths``), once the thread has read it; what
        reading it raised is raised here."""
        self._thread.join()
        found = self._read.get(path)
        if found is None:
            raise LookupError(f"{path} was not read ahead")
        if isinstance(found, BaseException):
            raise found
        return found
