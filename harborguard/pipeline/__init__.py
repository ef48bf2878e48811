"""Every run as a stream of repositories: read, evaluate, report, a repository at a time.

    reader.open_stream   the snapshot file: header and projects checked up front, each
                         repository left as bytes of the file until its turn
                         (reader.stream_of: a snapshot already in memory, read live)
    step.plan_project    a project: its policy, the launcher's selection over all of its
                         repositories' names, its own row and findings
    step.run_repository  one repository: decisions, findings, report rows (pure)
    checking.run_checked the same, with what check and diff add: the evidence of use
                         (evidence_index), the days to come (expiry), the other policy
    writer.Spill         the report's long lists (artifacts, findings), written as rows come
                         (writer.Rows: kept as rows; report.needs: only the rows the
                         table, Markdown and JUnit print, stand-ins for the others)
    assemble.report      the report document from the parts' shares
    run                  all of it for simulate, check, diff and drift (a CommandSpec),
                         over ``jobs`` parts: a StreamedReport

``--jobs N`` is only a partition of the stream (``plan_parts``): part k takes a run of the
file's projects and repositories, in file order, and keeps its rows; the process that
lays out the report places each part's rows one after another, so the report is byte for
byte the one a single process writes (tests/pipeline/). What a run holds whole is only
what its summaries need: the repository and project rows, and check's findings (as many
as the evidence). ``run`` gives None when a part failed or a repository could not be
read: the caller then reads the snapshot whole (which says what is wrong in it, exit 2)
and runs again in one process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from harborguard import parallel
from harborguard.evidence import Usage
from harborguard.findings import RANK, SEVERITY, Finding, Severity
from harborguard.pipeline.assemble import Shared, report
from harborguard.pipeline.checking import Checked, Extras, run_checked
from harborguard.pipeline.reader import Stream, Unreadable, repository
from harborguard.pipeline.step import ProjectPlan, Settings, plan_project, run_repository
from harborguard.pipeline.writer import Rows, Spill
from harborguard.report.build import finding_dicts
from harborguard.report.needs import Keeper, artifact_keeper
from harborguard.retention.engine import RepositoryOutcome
from harborguard.storage import StorageFigures

__all__ = ["CommandSpec", "StreamedReport", "plan_parts", "run"]

# Where each part writes its lists: (list, index) and offset, per part (report/json.py).
Places = dict[int, list[tuple[tuple[str, int], int]]]
Fill = Callable[[str, Places], bool]
# "file": the parts write their rows into the JSON report file; "bytes": they send them
# back as JSON (a report on standard output); "rows": as rows (every other format).
Mode = Literal["file", "bytes", "rows"]
# Finding rows and the usages of the artifacts in use, by (project, repository, digest).
Locate = Callable[[list[dict[str, Any]], Mapping[tuple[str, str, str], Sequence[Usage]]],
                  None]
_SPILLED = ("artifacts", "findings")
_ACTION = itemgetter(0)  # a Decision's action
_CODE = itemgetter(Finding._fields.index("code"))


class CommandSpec(NamedTuple):
    """What a run evaluates every repository with."""

    command: str  # simulate, check, diff, drift
    settings: Settings
    fail_on: Severity
    source: dict[str, Any]  # the report's source
    previous: Settings | None = None  # diff: the policy compared with (Settings.policy)
    evidence: Any = None  # check, diff: an evidence_index.EvidenceIndex
    # check, diff: findings of the evidence sources themselves, said after the matches'
    # and before the days to come's; drift: its findings.
    said: Sequence[Finding] = ()
    # Gives finding rows their `location` in the deployment repository, from the usages
    # of the artifacts they name (commands/locations.py).
    locate: Locate | None = None
    storage: bool = False  # --dedup: the deduplicated storage figures (storage.py)
    # The format the report's rows are read by (mode "rows"): the table, Markdown and
    # JUnit keep only the rows they print (report/needs.py).
    shown_as: str = "json"


class StreamedReport(NamedTuple):
    report: dict[str, Any]  # long lists as rows, or as Items (Holes for a file)
    failing: bool  # a finding at or above fail_on
    checked: Checked  # what the evidence matched (check, diff)
    storage: StorageFigures | None  # --dedup: the figures (set in the report already)
    fill: Fill | None  # how the parts write their rows into the file; None: all is here
    close: Callable[[], None]  # stops the parts if the report is not written


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


class _Part(NamedTuple):
    """What every part evaluates with, fixed before the parts start."""

    plans: Sequence[ProjectPlan]
    extras: Extras | None
    fail_on: Severity
    mode: Mode
    locate: Locate | None
    keep_outcomes: bool  # --dedup: the storage figures need every repository's outcome
    keep: Keeper | None  # which artifact rows the format reads (None: every one)


def run_part(stream: Stream, plans: Sequence[ProjectPlan], settings: Settings,
             plan: Sequence[int], part: tuple[int, int], work: _Part
             ) -> tuple[Shared, dict[str, Spill | Rows]]:
    """Part ``part`` (index, count) of the run as ``plan`` cuts it: its projects' own
    findings and its repositories, in file order, through the step; rows kept as they
    come."""
    lists: dict[str, Spill | Rows] = {
        key: Rows() if work.mode == "rows" else Spill() for key in _SPILLED}
    try:
        return _run_part(stream, plans, settings, plan, part[0], work, lists), lists
    except BaseException:
        for kept in lists.values():
            kept.close()
        raise


def _run_part(stream: Stream, plans: Sequence[ProjectPlan], settings: Settings,
              plan: Sequence[int], index: int, work: _Part,
              lists: dict[str, Spill | Rows]) -> Shared:
    rows: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    checked = Checked()
    outcomes: list[tuple[int, RepositoryOutcome, RepositoryOutcome | None]] = []
    failing = False
    fail_on = work.fail_on

    def found(findings: Sequence[Finding]) -> None:
        nonlocal failing
        if findings:
            kept = lists["findings"]
            if isinstance(kept, Spill) and work.locate is None:
                kept.add_findings(findings)  # no dictionaries: encoded as they are
            else:
                dicts = finding_dicts(findings)
                if work.locate is not None:
                    work.locate(dicts, checked.in_use)
                kept.add(dicts)
            severities = list(map(SEVERITY.__getitem__, map(_CODE, findings)))
            counts.update(severities)  # in C: a large run has a finding per artifact
            failing = failing or any(RANK[severity] >= RANK[fail_on]
                                     for severity in set(severities))

    pos = 0
    for p, (entry, project) in enumerate(zip(stream.projects, plans, strict=True)):
        if plan[pos] == index:
            found(project.findings)
        pos += 1
        for j, raw in enumerate(entry.raws):
            if plan[pos + j] != index:
                continue
            repo = repository(raw, f"projects[{p}].repositories[{j}]")
            before = None
            matched = len(checked.findings)
            if work.extras is None:
                done = run_repository(project, j, repo, settings)
            else:
                done, before = run_checked(project, (p, j), repo, settings, work.extras,
                                           checked)
            if work.keep_outcomes:
                outcomes.append((p, done.outcome, before))
            found(done.findings)
            rows.append(done.row)
            if work.keep is None:
                lists["artifacts"].add(done.artifacts)
            else:
                named = [*done.findings, *(f for _, f, _ in checked.findings[matched:])]
                lists["artifacts"].add(work.keep(done.row, done.artifacts, named))
            counts.update(map(_ACTION, done.outcome.decisions))
            counts["bytes_deleted"] += done.bytes_deleted
            counts["versioned"] += done.versioned
            counts["version_dependent"] += done.differing
        pos += len(entry.raws)
    if work.locate is None:
        # The usages of the artifacts in use are read only to locate findings (assemble):
        # without a locator they are not sent back to the process that lays out the report.
        checked.in_use.clear()
    kept = {key: kept.share(work.mode != "file") for key, kept in lists.items()}
    return Shared(rows, kept, counts, failing, checked, outcomes)


def write_share(target: str, places: list[tuple[tuple[str, int], int]],
                lists: dict[str, Spill | Rows]) -> None:
    """A part's lists written into the report file ``target`` where the layout put them."""
    for (key, _), offset in places:
        lists[key].write_into(target, offset)


def run(stream: Stream, spec: CommandSpec, jobs: int, mode: Mode) -> StreamedReport | None:
    """The report of ``spec`` over ``stream`` in ``jobs`` parts (1: in this process); None
    if a part failed or a repository could not be read (read the snapshot whole)."""
    settings = spec.settings
    if mode != "rows" and spec.previous is None:
        # Rows only encoded as JSON (diff adds each row's previous action to it).
        settings = settings._replace(structures=True)
    unreadable = {item.what: item.reason for item in stream.incomplete
                  if item.reason.startswith("retention policy")}
    plans = [plan_project(entry.project, entry.names, settings,
                          unreadable.get(entry.project.name)) for entry in stream.projects]
    extras = None
    if spec.previous is not None or spec.evidence is not None:
        previous = None
        if spec.previous is not None:
            previous = (spec.previous, [
                plan_project(entry.project, entry.names, spec.previous,
                             unreadable.get(entry.project.name))
                for entry in stream.projects])
        owners = {name: (p, j) for p, entry in enumerate(stream.projects)
                  for j, name in enumerate(entry.names)}
        extras = Extras(spec.evidence, owners, previous)
    keep = None
    if mode == "rows":
        said = [*spec.said, *(f for plan in plans for f in plan.findings)]
        if spec.evidence is not None:
            said.extend(f for _, f, _ in spec.evidence.findings)
        keep = artifact_keeper(spec.shown_as, sum(len(e.names) for e in stream.projects),
                               said)
    work = _Part(plans, extras, spec.fail_on, mode, spec.locate, spec.storage, keep)
    plan = plan_parts([[_weight(raw) for raw in entry.raws] for entry in stream.projects],
                      jobs)
    opened: list[Spill | Rows] = []  # this process's lists, closed whatever happens

    def part(index: int) -> tuple[Shared, parallel.Finish]:
        share, lists = run_part(stream, plans, settings, plan, (index, jobs), work)
        opened.extend(lists.values())

        def finish(message: tuple[str, list[tuple[tuple[str, int], int]]] | None) -> None:
            if message is not None:
                write_share(*message, lists)
            for kept in lists.values():
                kept.close()

        return share, finish

    def close_lists() -> None:
        for kept in opened:
            kept.close()

    if jobs == 1:
        try:
            share, own = part(0)
        except Unreadable:
            close_lists()
            return None
        shares = [share]

        def finish_all(messages: Sequence[Any]) -> bool:
            try:
                own(messages[0])
            except Exception:
                return False
            finally:
                close_lists()
            return True

        close = close_lists
    else:
        parts = parallel.start_parts(part, jobs)
        if parts is None:
            close_lists()
            return None
        shares = parts.results

        def finish_all(messages: Sequence[Any]) -> bool:
            try:
                return parts.finish(messages)
            finally:
                close_lists()

        def close() -> None:
            parts.close()
            close_lists()
    document, failing, checked, storage = report(spec, shares, plans, stream)
    if mode != "file":
        if not finish_all([None] * jobs):
            return None
        return StreamedReport(document, failing, checked, storage, None, lambda: None)

    def fill(target: str, places: Places) -> bool:
        return finish_all([(target, places.get(index, [])) for index in range(jobs)])

    return StreamedReport(document, failing, checked, storage, fill, close)


def _weight(raw: Any) -> int:
    """A repository's share of the work: its bytes in the file, or its artifacts."""
    artifacts = getattr(raw, "artifacts", None)
    return len(raw) if artifacts is None else 100 * len(artifacts) + 1
