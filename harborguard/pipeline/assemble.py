"""The ``harborguard.report/v1`` document of a run from its parts' shares.

Each part sends back its repository rows, its long lists (as rows, as JSON, or only their
sizes when it writes them into the report file itself), its counts and what its
repositories' evidence found. The document is the one report/build.py makes of a run held
whole, key for key: a new summary figure is a count a part adds to ``Shared.counts`` (or
to ``Checked``) and a key set here; a new format reads this document (report/).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from harborguard import TOOL
from harborguard.evidence_index import merge
from harborguard.findings import SEVERITY, at_or_above
from harborguard.harborversion import unknown_version_note
from harborguard.model import Incomplete
from harborguard.pipeline.checking import Checked
from harborguard.pipeline.reader import Stream
from harborguard.pipeline.step import ProjectPlan
from harborguard.redact import mask_url
from harborguard.report.build import EVIDENCE_COMMANDS, REPORT_SCHEMA, finding_dicts
from harborguard.report.json import Hole, Items, render_items
from harborguard.retention.outcomes import ProjectOutcome, RepositoryOutcome
from harborguard.simulate import RunResult, pattern_note
from harborguard.storage import Figures, StorageFigures, storage_figures
from harborguard.timeutil import format_nanos

if TYPE_CHECKING:
    from harborguard.pipeline import CommandSpec


class Shared(NamedTuple):
    """What a part sends back."""

    repositories: list[dict[str, Any]]
    # list -> (size in bytes, items, its rows | its JSON array | None: the part writes it)
    lists: dict[str, tuple[int, int, Any]]
    counts: Counter[str]  # actions, severities, "bytes_deleted", "versioned"
    failing: bool
    checked: Checked
    # --dedup: (project number, outcome, diff: the other policy's outcome) of each of the
    # part's repositories.
    outcomes: list[tuple[int, RepositoryOutcome, RepositoryOutcome | None]]


def report(spec: CommandSpec, shares: Sequence[Shared], plans: Sequence[ProjectPlan],
           stream: Stream) -> tuple[dict[str, Any], bool, Checked, StorageFigures | None]:
    """The run's report, whether a finding is at or above --fail-on, what the evidence
    matched, and the --dedup figures (already in the report)."""
    counts: Counter[str] = Counter()
    checked = Checked()
    failing = False
    for share in shares:
        counts.update(share.counts)
        checked.add(share.checked)
        failing = failing or share.failing
    said_first = spec.evidence.findings if spec.evidence is not None else []
    extra = [*merge([*said_first, *checked.findings]), *spec.said, *merge(checked.expiring)]
    for finding in extra:
        counts[SEVERITY[finding.code]] += 1
        failing = failing or at_or_above(finding, spec.fail_on)
    settings = spec.settings
    behaviour = settings.behaviour
    notes = [behaviour.warning] if behaviour.warning and not behaviour.unknown else []
    notes.extend(plan.note for plan in plans if plan.note)
    # Nothing decided (no repository under a policy): nothing can depend on the version.
    decided = any(plan.keep_all is None and plan.assignment for plan in plans)
    if (behaviour.unknown and decided) or counts["version_dependent"]:
        notes.append(unknown_version_note(settings.behaviour, counts["version_dependent"],
                                          len(checked.version_needed)))
    if settings.pattern is not None and counts["versioned"] == 0:
        notes.append(pattern_note(settings.pattern))
    incomplete = [*stream.incomplete, *(plan.missing for plan in plans if plan.missing),
                  *checked.version_needed]
    extra_rows = finding_dicts(extra)
    if spec.locate is not None:
        spec.locate(extra_rows, checked.in_use)
    source = dict(spec.source)
    if source.get("harbor"):
        source["harbor"] = mask_url(source["harbor"])
    document: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "tool": TOOL,
        "command": spec.command,
        "now": format_nanos(settings.now_ns),
        "order": settings.order,
        "harbor_version": settings.behaviour.label,
        "source": source,
        "projects": [plan.row for plan in plans],
        "repositories": [row for share in shares for row in share.repositories],
        "artifacts": _joined(shares, "artifacts", []),
        "findings": _joined(shares, "findings", extra_rows),
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
    if spec.command == "diff":
        document["summary"]["changed"] = checked.changed
    if spec.command in EVIDENCE_COMMANDS:
        # What each evidence source covered; the command fills it. Empty: none was given.
        document["evidence"] = []
    storage = None
    if spec.storage:
        storage = add_storage(document, spec, shares, stream, incomplete)
    return document, failing, checked, storage


def add_storage(document: dict[str, Any], spec: CommandSpec, shares: Sequence[Shared],
                stream: Stream, incomplete: Sequence[Incomplete]) -> StorageFigures:
    """--dedup: the figures in the report's summary, projects and repositories (and a
    diff's ``summary.previous``), from every repository's outcome."""
    known = {item.what for item in incomplete}

    def whole_run(previous: bool) -> RunResult:
        held: list[list[RepositoryOutcome]] = [[] for _ in stream.projects]
        for share in shares:
            for p, outcome, before in share.outcomes:
                held[p].append(before if previous and before is not None else outcome)
        settings = spec.settings
        return RunResult(settings.now_ns, settings.order, settings.behaviour, tuple(
            ProjectOutcome(entry.project, None, tuple(outcomes))
            for entry, outcomes in zip(stream.projects, held, strict=True)), (),
            tuple(incomplete))

    figures = storage_figures(whole_run(False), known_missing=known)
    document["summary"].update(figures.summary.as_report())
    for row in document["projects"]:
        row.update(figures.projects.get(row["project"], Figures()).as_report())
    for row in document["repositories"]:
        row.update(figures.repositories.get((row["project"], row["repository"]),
                                            Figures()).as_report())
    if spec.previous is not None:
        document["summary"]["previous"] = storage_figures(
            whole_run(True), known_missing=known).summary.as_report()
    return figures


def _joined(shares: Sequence[Shared], key: str, extra: list[dict[str, Any]]) -> Any:
    """A long list: the parts' rows one after another, then ``extra`` findings; rows as
    a list, or as Items (JSON arrays, or Holes the parts write)."""
    kept = [share.lists[key] for share in shares]
    if any(isinstance(value, list) for _, _, value in kept):
        rows: list[Any] = [row for _, _, value in kept for row in value]
        rows.extend(extra)
        return rows
    arrays: list[bytes | Hole] = []
    length = 0
    for index, (size, count, value) in enumerate(kept):
        if count:
            arrays.append(Hole(index, (key, 0), size) if value is None else value)
            length += count
    if extra:
        more = render_items(extra)
        arrays.extend(more.arrays)
        length += more.length
    return Items(tuple(arrays), length)
