"""One run as a stream of repositories: read, evaluate, report, a repository at a time.

    reader.open_stream   the snapshot file: header and projects checked up front, each
                         repository left as bytes of the file until its turn
    step.plan_project    a project: its policy, the launcher's selection over all of its
                         repositories' names, its own row and findings
    step.run_repository  one repository: decisions, findings, report rows (pure)
    writer.Spill         the report's long lists (artifacts, findings), written as rows come
    simulate_in_parts    all of it for ``simulate --format json``, over ``jobs`` processes

``--jobs N`` is only a partition of the stream (``plan_parts``): part k takes a run of the
file's projects and repositories, in file order, and spills its rows; the process that
lays out the report places each part's spills one after another, so the report is byte
for byte the one a single process writes (tests/test_parts.py). Anything this path does
not take (a file only the hand-written reader reads, a bad repository, a part that
fails) gives None: the caller runs whole, in memory, and says what is wrong as always.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from harborguard import TOOL, parallel
from harborguard.errors import InputError
from harborguard.findings import SEVERITY, Finding, Severity, at_or_above
from harborguard.harborversion import Behaviour
from harborguard.model import Snapshot
from harborguard.pipeline.reader import Stream, open_stream, repository
from harborguard.pipeline.step import ProjectPlan, Settings, plan_project, run_repository
from harborguard.pipeline.writer import Spill
from harborguard.policy import RetentionPolicy
from harborguard.redact import mask_url
from harborguard.report.build import REPORT_SCHEMA, finding_dicts
from harborguard.report.json import Hole, Items, render_items
from harborguard.retention.semver_order import SemverRanker
from harborguard.simulate import pattern_note
from harborguard.timeutil import format_nanos
from harborguard.versions import VersionPattern

__all__ = ["Parted", "Run", "plan_parts", "simulate_in_parts"]

# Where each part writes its lists: (list, index) and offset, per part (report/json.py).
Places = dict[int, list[tuple[tuple[str, int], int]]]
Fill = Callable[[str, Places], bool]
_SPILLED = ("artifacts", "findings")
_ACTION = itemgetter(0)  # a Decision's action


class Parted(NamedTuple):
    report: dict[str, Any]  # the whole report; spilled lists as Items (Holes for a file)
    failing: bool  # a finding at or above fail_on
    fill: Fill | None  # how the parts write their spills into the file; None: all is here
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


class _Share(NamedTuple):
    """What a part sends back: its repository rows, its spills' sizes (or bytes, for a
    report on a stream), its counts."""

    repositories: list[dict[str, Any]]
    # list -> (size, length, the array when the report goes to a stream)
    spilled: dict[str, tuple[int, int, bytes | None]]
    counts: Counter[str]  # actions, severities, "bytes_deleted", "versioned"
    failing: bool


def plan_parts(weights: Sequence[Sequence[int]], count: int) -> list[int]:
    """Cuts a snapshot into ``count`` parts. ``weights``: per project, the weight of each
    of its repositories. Every project and every repository, in file order, gets a part
    number, non-decreasing, so each part is a run of the file's order and the parts'
    rows, one after another, are the whole run's; parts are balanced by weight."""
    flat: list[int] = []
    for repositories in weights:
        flat.append(1)
        flat.extend(repositories)
    total = sum(flat) or 1
    plan = []
    done = 0
    for weight in flat:
        plan.append(min(count - 1, done * count // total))
        done += weight
    return plan


def read_whole(fd: int, size: int) -> bytes:
    """The file's first ``size`` bytes, read without moving the descriptor's offset."""
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def run_part(stream: Stream, plans: Sequence[ProjectPlan], settings: Settings,
             plan: Sequence[int], part: tuple[int, int], fail_on: Severity, to_file: bool
             ) -> tuple[_Share, dict[str, Spill]]:
    """Part ``part`` (index, count) of the run as ``plan`` cuts it: its projects' own
    findings and its repositories, in file order, through step; rows spilled as they
    come."""
    spills = {key: Spill() for key in _SPILLED}
    try:
        return _run_part(stream, plans, settings, plan, part[0], fail_on, to_file, spills)
    except BaseException:
        for spill in spills.values():
            spill.close()
        raise


def _run_part(stream: Stream, plans: Sequence[ProjectPlan], settings: Settings,
              plan: Sequence[int], index: int, fail_on: Severity, to_file: bool,
              spills: dict[str, Spill]) -> tuple[_Share, dict[str, Spill]]:
    rows: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    failing = False

    def found(findings: Sequence[Finding]) -> None:
        nonlocal failing
        if findings:
            spills["findings"].add(finding_dicts(findings))
            for finding in findings:
                counts[SEVERITY[finding.code]] += 1
                failing = failing or at_or_above(finding, fail_on)

    pos = 0
    for p, (entry, project) in enumerate(zip(stream.projects, plans, strict=True)):
        if plan[pos] == index:
            found(project.findings)
        pos += 1
        for j, raw in enumerate(entry.raws):
            if plan[pos + j] != index:
                continue
            repo = repository(raw, f"projects[{p}].repositories[{j}]")
            done = run_repository(project, j, repo, settings)
            found(done.findings)
            rows.append(done.row)
            spills["artifacts"].add(done.artifacts)
            counts.update(map(_ACTION, done.outcome.decisions))
            counts["bytes_deleted"] += done.bytes_deleted
            counts["versioned"] += done.versioned
        pos += len(entry.raws)
    spilled = {key: (spill.size, spill.length, None if to_file else spill.read())
               for key, spill in spills.items()}
    return _Share(rows, spilled, counts, failing), spills


def write_share(target: str, places: list[tuple[tuple[str, int], int]],
                spills: dict[str, Spill]) -> None:
    """A part's spills written into the report file ``target`` where the layout put them."""
    out = os.open(target, os.O_WRONLY)
    try:
        for (key, _), offset in places:
            spills[key].copy_to(out, offset)
    finally:
        os.close(out)


def simulate_in_parts(path: str, fd: int, size: int, jobs: int, run: Run, *,
                      to_file: bool) -> Parted | None:
    """The report of ``simulate`` over the snapshot file ``path`` (open as ``fd``, ``size``
    bytes) streamed in ``jobs`` parts (1: in this process); None if this path does not
    take the file or any part failed. ``to_file``: the parts keep their spills and write
    them into the output file (Parted.fill); otherwise they come back here."""
    stream = open_stream(read_whole(fd, size), path)
    if stream is None:
        return None
    header = Snapshot(stream.harbor, stream.harbor_version, stream.taken_at, (),
                      stream.incomplete)
    try:
        now_ns, behaviour = run.settings(header)
    except InputError:
        return None
    settings = Settings(now_ns, behaviour, run.policy, run.order, run.ranker, run.pattern)
    unreadable = {item.what: item.reason for item in stream.incomplete
                  if item.reason.startswith("retention policy")}
    plans = [plan_project(entry.project, entry.names, settings,
                          unreadable.get(entry.project.name)) for entry in stream.projects]
    plan = plan_parts([[len(raw) for raw in entry.raws] for entry in stream.projects], jobs)

    opened: list[Spill] = []  # this process's spills, closed whatever happens

    def work(index: int) -> tuple[_Share, parallel.Finish]:
        share, spills = run_part(stream, plans, settings, plan, (index, jobs), run.fail_on,
                                 to_file)
        opened.extend(spills.values())

        def finish(message: tuple[str, list[tuple[tuple[str, int], int]]] | None) -> None:
            if message is not None:
                write_share(*message, spills)
            for spill in spills.values():
                spill.close()

        return share, finish

    def close_spills() -> None:
        for spill in opened:
            spill.close()

    if jobs == 1:
        try:
            share, own = work(0)
        except Exception:
            return None
        shares = [share]

        def finish_all(messages: Sequence[Any]) -> bool:
            try:
                own(messages[0])
            except Exception:
                return False
            finally:
                close_spills()
            return True

        close = close_spills
    else:
        parts = parallel.start_parts(work, jobs)
        if parts is None:
            close_spills()
            return None
        shares = parts.results

        def finish_all(messages: Sequence[Any]) -> bool:
            try:
                return parts.finish(messages)
            finally:
                close_spills()

        def close() -> None:
            parts.close()
            close_spills()
    report = _report(shares, plans, stream, settings, path, run.source_policy)
    failing = any(share.failing for share in shares)
    if not to_file:
        if not finish_all([None] * jobs):
            return None
        return Parted(report, failing, None, lambda: None)

    def fill(target: str, places: Places) -> bool:
        return finish_all([(target, places.get(index, [])) for index in range(jobs)])

    return Parted(report, failing, fill, close)


def _report(shares: Sequence[_Share], plans: Sequence[ProjectPlan], stream: Stream,
            settings: Settings, path: str, source_policy: str) -> dict[str, Any]:
    """The run's report from its parts' shares, in order, spilled lists as Holes (the
    parts write them) or as the arrays they sent."""
    counts: Counter[str] = Counter()
    for share in shares:
        counts.update(share.counts)
    spilled: dict[str, Items] = {}
    for key in _SPILLED:
        arrays: list[bytes | Hole] = []
        length = 0
        for index, share in enumerate(shares):
            size, count, array = share.spilled[key]
            if count:
                arrays.append(Hole(index, (key, 0), size) if array is None else array)
                length += count
        spilled[key] = Items(tuple(arrays), length)
    notes = [settings.behaviour.warning] if settings.behaviour.warning else []
    notes.extend(plan.note for plan in plans if plan.note)
    if settings.pattern is not None and counts["versioned"] == 0:
        notes.append(pattern_note(settings.pattern))
    incomplete = [*stream.incomplete, *(plan.missing for plan in plans if plan.missing)]
    return {
        "schema": REPORT_SCHEMA,
        "tool": TOOL,
        "command": "simulate",
        "now": format_nanos(settings.now_ns),
        "order": settings.order,
        "harbor_version": settings.behaviour.label,
        "source": {"harbor": stream.harbor and mask_url(stream.harbor), "snapshot": path,
                   "policy": source_policy},
        "projects": [plan.row for plan in plans],
        "repositories": render_items([row for share in shares for row in share.repositories]),
        "artifacts": spilled["artifacts"],
        "findings": spilled["findings"],
        "incomplete": [{"what": i.what, "reason": i.reason} for i in incomplete],
        "notes": notes,
        "summary": {
            "artifacts": counts["retain"] + counts["delete"] + counts["immutable"],
            "retain": counts["retain"],
            "delete": counts["delete"],
            "immutable": counts["immutable"],
            "bytes_deleted": counts["bytes_deleted"],
            "errors": counts["error"],
            "warnings": counts["warning"],
        },
    }
