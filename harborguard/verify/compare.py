"""harborguard's simulation held against Harbor's own dry run, artifact by artifact.

Pure: the simulated repositories (each at its task's `now`), Harbor's answer per
repository (a parsed task log) and a way to re-simulate a repository as Harbor saw it
(``Resimulate``) in; ``harbor_action`` per artifact, findings (``verify-mismatch``,
``verify-changed``), incomplete items, notes and a row per repository out.

Agreement (issue 14): the same action; an ERR row and harborguard's ``immutable`` or
``delete``; no row in a repository no rule covers (Harbor starts no task there); a failed
task where harborguard predicts ``policy-error``. A difference is explained (a warning)
when the artifact is tied at a count rule's cut, or when the repository changed between
the dry run and the fetch and the simulation of what Harbor saw (its rows, their times)
agrees with Harbor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from harborguard.findings import Finding
from harborguard.model import Artifact, Incomplete, Repository
from harborguard.retention.engine import RepositoryOutcome
from harborguard.retention.outcomes import Decision
from harborguard.timeutil import GO_ZERO_SECONDS, format_seconds
from harborguard.verify.tasklog import LogRow, TaskLog

# Statuses in which Harbor starts no task for the repository.
NO_TASK = ("no-policy", "no-rules", "not-in-scope")
# Statuses in which harborguard predicts that Harbor's task (or launch) fails.
FAILS = ("failed", "launch-failed")
# The largest zone offset (UTC+14) and its step (zones are whole quarter hours).
_ZONE_MAX = 14 * 3600
_ZONE_STEP = 900

# Re-simulates one repository of a project (as Harbor saw it) at `now` (UTC seconds).
Resimulate = Callable[[str, Repository, int], RepositoryOutcome]


@dataclass(frozen=True, slots=True)
class Answer:
    """Harbor's answer for one repository: its task log and where it came from."""

    project: str
    repository: str  # the full name, project/repo
    log: TaskLog
    where: str  # the file, or "task 7 of execution 3"
    now_s: int  # the time the repository was simulated at (the task's)
    status: str | None = None  # the task record's status, live


@dataclass
class Verification:
    actions: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    incomplete: list[Incomplete] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repositories: list[dict[str, object]] = field(default_factory=list)


def _time(seconds: int | None) -> str:
    if seconds is None or seconds <= 0:
        return "never"
    return format_seconds(seconds)


def _mark_of(action: str | None) -> str:
    return {"retain": "RETAIN", "delete": "DEL", "immutable": "IMMUTABLE",
            "error": "ERR", None: "no row"}[action]


def agrees(harbor: str | None, ours: str, status: str) -> bool:
    if harbor is None:
        return status in NO_TASK
    if harbor == "error":
        return ours in ("immutable", "delete")
    return harbor == ours


def zone_offset(rows: Sequence[LogRow], artifacts: Mapping[str, Artifact]) -> int | None:
    """The offset (seconds) by which every row's PushedTime differs from the source's, when
    it is the same non-zero whole quarter hour for all: the jobservice's zone."""
    offsets = {row.pushed - artifacts[row.digest].push_s for row in rows
               if row.digest in artifacts and row.pushed is not None}
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    if offset == 0 or offset % _ZONE_STEP or abs(offset) > _ZONE_MAX:
        return None
    return offset


def _shift(row: LogRow, offset: int) -> LogRow:
    def back(value: int | None) -> int | None:
        return None if value is None else value - offset
    return LogRow(row.digest, row.tags, back(row.pushed), back(row.pulled), back(row.created),
                  row.mark, row.line, row.error)


def _zone_text(offset: int) -> str:
    hours, rest = divmod(abs(offset), 3600)
    sign = "+" if offset > 0 else "-"
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


def _changes(rows: Sequence[LogRow], artifacts: Mapping[str, Artifact],
             run_at: int) -> dict[str, str]:
    """What changed per digest between the dry run (the rows) and the fetch (the source)."""
    changed: dict[str, str] = {}
    in_rows = {row.digest for row in rows}
    for row in rows:
        artifact = artifacts.get(row.digest)
        if artifact is None:
            changed[row.digest] = ("Harbor's log has a row for it but the source does not hold "
                                   "it: deleted between the dry run and the fetch")
            continue
        said = []
        if row.pushed is not None and row.pushed != artifact.push_s:
            said.append(f"pushed (or re-tagged) {_time(row.pushed)} in the log, "
                        f"{_time(artifact.push_s)} in the source")
        pulled = row.pulled if row.pulled is not None else GO_ZERO_SECONDS
        if max(pulled, 0) != max(artifact.pull_s, 0):
            said.append(f"pulled {_time(row.pulled)} in the log, {_time(artifact.pull_s)} "
                        "in the source")
        if said:
            changed[row.digest] = "changed between the dry run and the fetch: " + \
                "; ".join(said)
    for digest, artifact in artifacts.items():
        if digest not in in_rows and artifact.push_s > run_at:
            changed[digest] = (f"pushed {_time(artifact.push_s)}, after the task ran "
                               f"({_time(run_at)}): Harbor did not see it")
    return changed


def as_harbor_saw(repository: Repository, rows: Sequence[LogRow]) -> Repository:
    """The repository as Harbor's task listed it: its rows, in their order, with their
    candidate times; what the source holds of each artifact beside that is kept."""
    known = {a.digest: a for a in repository.artifacts}
    artifacts = []
    for row in rows:
        pushed = row.pushed if row.pushed is not None else 0
        pulled = row.pulled if row.pulled is not None else GO_ZERO_SECONDS
        base = known.get(row.digest)
        if base is None:
            artifacts.append(Artifact(row.digest, row.tags, "IMAGE", 0, pushed, pulled,
                                      row.created if row.created is not None else pushed))
        else:
            artifacts.append(base._replace(push_s=pushed, pull_s=pulled))
    return Repository(repository.name, tuple(artifacts), repository.additions)


def _finding(code: str, project: str, repo: str, artifact: Artifact | LogRow,
             rule: int | None, message: str) -> Finding:
    return Finding(code=code, project=project, repository=repo, digest=artifact.digest,
                   tags=tuple(artifact.tags), rule=rule, message=message)


def verify_repository(out: Verification, project: str, outcome: RepositoryOutcome,
                      answer: Answer | None, resimulate: Resimulate, *, live: bool) -> None:
    """Compares one repository; appends to ``out``."""
    repo = outcome.repository
    name = repo.name
    row_info: dict[str, object] = {"project": project, "repository": name,
                                   "source": answer.where if answer else None,
                                   "now": _time(answer.now_s) if answer else None,
                                   "rows": 0, "compared": 0, "agree": 0, "changed": 0,
                                   "mismatch": 0, "state": "compared"}
    out.repositories.append(row_info)
    keys = [(project, name, a.digest) for a in repo.artifacts]
    if answer is None:
        for key in keys:
            out.actions[key] = None
        if outcome.status in NO_TASK or outcome.status == "launch-failed":
            row_info["state"] = "no task (no rule covers it)" \
                if outcome.status in NO_TASK else "no task (the launch fails)"
            row_info["compared"] = row_info["agree"] = len(keys)
            return
        if not live:
            row_info["state"] = "not compared (no log given)"
            return
        row_info["state"] = "no task"
        _no_task(out, row_info, project, outcome)
        return
    log = answer.log
    row_info["rows"] = len(log.rows)
    out.notes.extend(f"{answer.where}: {note}" for note in log.notes)
    if log.failure is not None and not log.rows:
        for key in keys:
            out.actions[key] = None
        if outcome.status in FAILS:
            row_info["state"] = "failed, as harborguard predicts"
            row_info["compared"] = row_info["agree"] = len(keys)
        else:
            row_info["state"] = "failed"
            out.incomplete.append(Incomplete(name, f"{answer.where}: Harbor's task failed "
                                             f"({log.failure[:200]}) where harborguard "
                                             f"predicts {outcome.status}"))
        return
    reason = log.incomplete_reason
    if reason is not None:
        row_info["state"] = "incomplete"
        out.incomplete.append(Incomplete(name, f"{answer.where}: {reason}"))
    artifacts = {a.digest: a for a in repo.artifacts}
    rows = list(log.rows)
    offset = zone_offset(rows, artifacts)
    if offset is not None:
        rows = [_shift(row, offset) for row in rows]
        out.notes.append(
            f"{answer.where}: every time in the table is {offset / 3600:g} h off Harbor's "
            f"data: the jobservice ran in zone {_zone_text(offset)}; its times are read as "
            "such")
    by_digest = {row.digest: row for row in rows}
    changed = _changes(rows, artifacts, answer.now_s)
    # Rows after a cut are unknown: only the rows read are compared then.
    cut = reason is not None
    tie_is_an_order = _tie_is_an_order(repo.artifacts, outcome.decisions, by_digest)
    saw = None
    if changed and rows:
        saw_outcome = resimulate(project, as_harbor_saw(repo, rows), answer.now_s)
        saw = {a.digest: d for a, d in zip(saw_outcome.repository.artifacts,
                                           saw_outcome.decisions, strict=True)}
    for artifact, decision in zip(repo.artifacts, outcome.decisions, strict=True):
        key = (project, name, artifact.digest)
        row = by_digest.get(artifact.digest)
        harbor = row.action if row is not None else None
        out.actions[key] = harbor
        if row is None and cut:
            continue
        row_info["compared"] = int(row_info["compared"]) + 1  # type: ignore[call-overload]
        status = outcome.status if row is None else "evaluated"
        if row is None and artifact.digest in changed:
            # Pushed after the task ran: Harbor did not see it.
            row_info["changed"] = int(row_info["changed"]) + 1  # type: ignore[call-overload]
            out.findings.append(_finding("verify-changed", project, name, artifact, None,
                                         f"Harbor's dry run has no row for it: "
                                         f"{changed[artifact.digest]}"))
            continue
        if row is not None and agrees(harbor, decision.action, status) or \
                row is None and outcome.status in NO_TASK:
            row_info["agree"] = int(row_info["agree"]) + 1  # type: ignore[call-overload]
            continue
        rule = decision.retained_by[0] if decision.retained_by else decision.immutable_rule
        said = (f"Harbor's dry run: {_mark_of(harbor)}; harborguard: {decision.action} "
                f"({decision.reason}); candidate times: Harbor saw "
                + (f"pushed {_time(row.pushed)}, pulled {_time(row.pulled)}" if row else
                   "no row")
                + f"; harborguard saw pushed {_time(artifact.push_s)}, pulled "
                f"{_time(artifact.pull_s)} (task ran {_time(answer.now_s)})")
        explained = None
        if decision.tie and tie_is_an_order:
            explained = ("a tie: equal times straddle a count rule's cut, and Harbor chose "
                         "the order")
        elif saw is not None and artifact.digest in saw and row is not None \
                and agrees(harbor, saw[artifact.digest].action, "evaluated"):
            what = changed.get(artifact.digest) or "other artifacts of the repository " \
                "changed between the dry run and the fetch (" + "; ".join(
                    f"{d[:19]}: {w}" for d, w in list(changed.items())[:3]) + ")"
            explained = (f"{what}; simulated as Harbor saw it, harborguard agrees")
        if explained is not None:
            row_info["changed"] = int(row_info["changed"]) + 1  # type: ignore[call-overload]
            out.findings.append(_finding("verify-changed", project, name, artifact, rule,
                                         f"{said}. Explained: {explained}"))
        else:
            row_info["mismatch"] = int(row_info["mismatch"]) + 1  # type: ignore[call-overload]
            out.findings.append(_finding("verify-mismatch", project, name, artifact, rule,
                                         said))
    for row in rows:
        if row.digest not in artifacts:
            row_info["changed"] = int(row_info["changed"]) + 1  # type: ignore[call-overload]
            out.findings.append(_finding("verify-changed", project, name, row, None,
                                         f"Harbor's dry run: {row.mark}; "
                                         f"{changed[row.digest]} (or the source does not "
                                         "hold it)"))


def _tie_is_an_order(artifacts: Sequence[Artifact], decisions: Sequence[Decision],
                     rows: Mapping[str, LogRow]) -> bool:
    """Whether Harbor's answers on the tied artifacts are another order of the same tie.

    A count rule keeps as many of the tied artifacts whatever their order (RETENTION.md
    2.1, 2.8): the order decides which, never how many. So a tie explains differences
    only when Harbor kept as many of the tied artifacts as harborguard did; keeping more
    or fewer means Harbor ran another policy or saw other data.
    """
    tied = [(a, d) for a, d in zip(artifacts, decisions, strict=True) if d.tie]
    if any(a.digest not in rows or rows[a.digest].action not in ("retain", "delete")
           for a, _ in tied):
        return False  # IMMUTABLE or ERR is about immutability, which no order changes
    ours = sum(d.action != "delete" for _, d in tied)
    theirs = sum(rows[a.digest].action in ("retain", "immutable") for a, _ in tied)
    return ours == theirs


def _no_task(out: Verification, row_info: dict[str, object], project: str,
             outcome: RepositoryOutcome) -> None:
    """A live execution started no task for a repository harborguard thinks is covered."""
    for artifact, decision in zip(outcome.repository.artifacts, outcome.decisions,
                                  strict=True):
        row_info["compared"] = int(row_info["compared"]) + 1  # type: ignore[call-overload]
        row_info["mismatch"] = int(row_info["mismatch"]) + 1  # type: ignore[call-overload]
        out.findings.append(_finding(
            "verify-mismatch", project, outcome.repository.name, artifact,
            decision.retained_by[0] if decision.retained_by else None,
            f"Harbor's dry run started no task for this repository; harborguard: "
            f"{decision.action} ({decision.reason}), with rules {list(outcome.rules_in_scope)} "
            f"in scope; harborguard saw pushed {_time(artifact.push_s)}, pulled "
            f"{_time(artifact.pull_s)}"))
