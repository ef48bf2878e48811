"""simulate's JSON report computed in parts, one process per part (harborguard.parallel).

Each part reads the snapshot file (the same open descriptor in every process), evaluates
a contiguous run of its repositories (snapshot.plan_parts), builds and renders its share
of the report, and later writes that share into the output file at the offsets this
process lays out (report/json.py's Holes). Joined, the parts are the whole run's report
byte for byte (tests/test_parts.py). No printing, no exiting: the CLI decides when a run
is one for parts, and runs whole whenever this returns None or a part cannot write.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

from harborguard import parallel
from harborguard.findings import Severity, at_or_above
from harborguard.harborversion import Behaviour
from harborguard.model import Snapshot
from harborguard.policy import RetentionPolicy
from harborguard.report.build import Source, build_report
from harborguard.report.json import hollow, join_parts, render_part, write_array
from harborguard.retention.semver_order import SemverRanker
from harborguard.simulate import pattern_note, simulate
from harborguard.snapshot import read_part
from harborguard.versions import VersionPattern

# Where each part writes its arrays: report list and index -> offset, per part.
Places = dict[int, list[tuple[tuple[str, int], int]]]
Fill = Callable[[str, Places], bool]


class Parted(NamedTuple):
    report: dict[str, Any]  # the whole report, long lists as Items (Holes for a file)
    failing: bool  # a finding at or above fail_on
    fill: Fill | None  # how the parts write their shares of a file; None: all is here
    close: Callable[[], None]  # stops the parts if the report is not written


class Run(NamedTuple):
    """What every part evaluates with."""

    policy: RetentionPolicy | None  # --policy, else each project's own
    source_policy: str  # the report's source.policy
    order: str
    ranker: SemverRanker | None
    pattern: VersionPattern | None
    fail_on: Severity
    # The snapshot's `now` and Harbor behaviour, from the options and the snapshot read.
    settings: Callable[[Snapshot], tuple[int, Behaviour]]


def read_whole(fd: int, size: int) -> bytes:
    """The file's first ``size`` bytes, read without moving the descriptor's offset (the
    parts share it)."""
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def simulate_in_parts(path: str, fd: int, size: int, jobs: int, run: Run, *,
                      to_file: bool) -> Parted | None:
    """The report of ``simulate`` over the snapshot file ``path`` (open as ``fd``, ``size``
    bytes) in ``jobs`` parts; None if any part failed. ``to_file``: the parts keep their
    shares and write them into the output file (Parted.fill); otherwise the shares come
    back here (standard output)."""

    def work(index: int) -> tuple[tuple[dict[str, Any], bool, int], parallel.Finish]:
        snapshot = read_part(read_whole(fd, size), path, (index, jobs))
        now_ns, behaviour = run.settings(snapshot)
        result = simulate(snapshot, now_ns, behaviour, policy=run.policy, order=run.order,
                          ranker=run.ranker, pattern=run.pattern)
        report = render_part(build_report(result, Source(
            harbor=snapshot.harbor, snapshot=path, policy=run.source_policy)))
        failing = any(at_or_above(f, run.fail_on) for f in result.findings)
        arrays = hollow(report, index) if to_file else {}

        def finish(message: tuple[str, list[tuple[tuple[str, int], int]]] | None) -> None:
            if message is None:
                return
            target, places = message
            out = os.open(target, os.O_WRONLY)
            try:
                for key, offset in places:
                    write_array(out, arrays[key], offset)
            finally:
                os.close(out)

        return (report, failing, result.versioned), finish

    parts = parallel.start_parts(work, jobs)
    if parts is None:
        return None
    results = parts.results
    versioned = sum(count for _, _, count in results)
    # Run-wide: known only from every part.
    notes = [pattern_note(run.pattern)] if run.pattern is not None and versioned == 0 else []
    report = join_parts([part for part, _, _ in results], notes)
    failing = any(f for _, f, _ in results)
    if not to_file:
        if not parts.finish([None] * jobs):
            return None
        return Parted(report, failing, None, lambda: None)

    def fill(target: str, places: Places) -> bool:
        return parts.finish([(target, places.get(index, [])) for index in range(jobs)])

    return Parted(report, failing, fill, parts.close)
