"""Turns a RunResult into the ``harborguard.report/v1`` document every formatter reads."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import TYPE_CHECKING, Any

import msgspec

from harborguard import TOOL
from harborguard.findings import SEVERITY, Finding
from harborguard.policy import RetentionPolicy
from harborguard.redact import mask_url
from harborguard.retention.engine import Decision, RepositoryOutcome
from harborguard.retention.templates import BuildError, build_evaluator
from harborguard.simulate import RunResult
from harborguard.timeutil import SECONDS_TEXT, format_nanos, format_seconds

if TYPE_CHECKING:
    from harborguard.evidence import Usage

REPORT_SCHEMA = "harborguard.report/v1"
# The commands whose report carries `evidence` (what each evidence source covered).
EVIDENCE_COMMANDS = ("check", "diff", "drift", "protect")


@dataclass(frozen=True, slots=True)
class Source:
    harbor: str | None
    snapshot: str | None
    policy: str  # "harbor" for each project's own policy, else the --policy path


_DAY_TEXT: dict[int, str] = {}
_TWO = [f"{n:02d}" for n in range(60)]


def _time(seconds: int) -> str:
    """RFC 3339 'Z' text for whole seconds; the date part is cached (200,000 calls a run)."""
    known = SECONDS_TEXT.get(seconds)
    if known is not None:
        return known
    if seconds < 0:
        return format_seconds(seconds)
    day, rest = divmod(seconds, 86400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{_TWO[hours]}:{_TWO[minutes]}:{_TWO[secs]}Z"


_NONE: tuple[()] = ()
_CODE = itemgetter(Finding._fields.index("code"))
_ACTION = itemgetter(Decision._fields.index("action"))


def finding_dicts(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The report's finding objects. A related tuple that many findings share (the kept
    older versions of a run of deleted ones) is converted once and shared."""
    memo: dict[int, list[dict[str, Any]]] = {}  # id of a shared related tuple -> rows
    rows: list[dict[str, Any]]
    out: list[dict[str, Any]] = []
    append = out.append
    for code, message, project, repository, digest, tags, rule, rel, component, environment \
            in findings:
        if not rel:
            rows = []
        else:
            known = memo.get(id(rel))
            if known is None:
                known = memo[id(rel)] = [{"digest": r.digest, "tags": r.tags} for r in rel]
            rows = known
        append({
            "severity": SEVERITY[code],
            "code": code,
            "project": project,
            "repository": repository,
            "digest": digest,
            "tags": tags,
            "rule": rule,
            "related": rows,
            "component": component,
            "environment": environment,
            "message": message,
        })
    return out


def _rule_text(template: str, params: Any) -> str:
    try:
        return build_evaluator(template, params).describe()
    except BuildError as exc:
        return f"{template or '(no template)'}: {exc}"


def project_row(name: str, policy: RetentionPolicy | None, error: str | None) -> dict[str, Any]:
    return {
        "project": name,
        "policy": None
        if policy is None
        else {
            "id": policy.id,
            "algorithm": policy.algorithm,
            "rules": [
                {
                    "index": r.index,
                    "disabled": r.disabled,
                    "template": r.template,
                    "description": _rule_text(r.template, r.params),
                }
                for r in policy.rules
            ],
        },
        "error": error,
    }


def repository_row(project: str, repo: RepositoryOutcome, versions: str | None
                   ) -> dict[str, Any]:
    """The report's row for one repository."""
    return {
        "project": project,
        "repository": repo.repository.name,
        "status": repo.status,
        "rules": list(repo.rules_in_scope),
        "error": repo.error,
        "versions": versions,
    }


class ArtifactRow(msgspec.Struct):
    """An artifact's report row as a structure: the keys of artifact_rows's dictionaries,
    in their order (msgspec writes the same bytes for both; a report spilled to a file
    takes these, which cost a third less to make and encode)."""

    project: str
    repository: str
    digest: str
    tags: Any
    type: str
    size: int
    push_time: str
    pull_time: str | None
    action: str
    reason: str
    retained_by: Any
    tie: bool
    in_use: Any


def artifact_rows(
    artifacts: list[Any], project: str, repo: RepositoryOutcome,
    usage_of: Mapping[tuple[str, str, str], Sequence[Usage]] | None = None,
    structures: bool = False,
) -> int:
    """Appends one repository's artifact rows to ``artifacts`` (dictionaries, or
    ArtifactRow structures); returns the bytes its deletions free."""
    bytes_deleted = 0
    repo_name = repo.repository.name
    append = artifacts.append
    text_of = SECONDS_TEXT.get  # _time's answer for the times read (most), without a call
    # This repository's artifacts in use, by digest: most rows have none.
    used = {key[2]: found for key, found in usage_of.items()
            if key[0] == project and key[1] == repo_name} if usage_of else None
    if structures:
        return _artifact_structures(artifacts, project, repo, used)
    # Tuples where the document has arrays: the JSON encoder writes them as arrays,
    # and 100,000 rows make copying them into lists cost a tenth of a second.
    for artifact, decision in zip(repo.repository.artifacts, repo.decisions, strict=True):
        # Unpacked, not read field by field: 100,000 rows a large run.
        digest, tags, kind, size, push_s, pull_s, _, _, _, _ = artifact
        action, reason, retained_by, tie, _ = decision
        if action == "delete":
            bytes_deleted += size
        append(
            {
                "project": project,
                "repository": repo_name,
                "digest": digest,
                "tags": tags,
                "type": kind,
                "size": size,
                "push_time": text_of(push_s) or _time(push_s),
                "pull_time": None if pull_s <= 0 else text_of(pull_s) or _time(pull_s),
                "action": action,
                "reason": reason,
                "retained_by": retained_by,
                "tie": tie,
                "in_use": [u.as_report() for u in found]
                if used and (found := used.get(digest))
                else _NONE,
            }
        )
    return bytes_deleted


def _artifact_structures(artifacts: list[Any], project: str, repo: RepositoryOutcome,
                         used: dict[str, Sequence[Usage]] | None) -> int:
    """artifact_rows as ArtifactRow structures, made column by column by C-level maps."""
    found = repo.repository.artifacts
    if len(found) != len(repo.decisions):
        raise ValueError("a decision for every artifact")
    if not found:
        return 0
    digests, tags, kinds, sizes, pushes, pulls, *_ = zip(*found, strict=True)
    actions, reasons, retained_by, ties, _ = zip(*repo.decisions, strict=True)
    text_of = SECONDS_TEXT.get
    in_use: Any = repeat(_NONE)
    if used:
        found_uses: list[Any] = list(map(used.get, digests))  # None for most, by C maps
        in_use = [_NONE] * len(digests)
        for at in compress(range(len(digests)), found_uses):
            in_use[at] = [u.as_report() for u in found_uses[at]]
    artifacts.extend(map(
        ArtifactRow, repeat(project), repeat(repo.repository.name), digests, tags, kinds,
        sizes, [text_of(s) or _time(s) for s in pushes],
        [None if s <= 0 else text_of(s) or _time(s) for s in pulls], actions, reasons,
        retained_by, ties, in_use))
    return sum(compress(sizes, map(eq, actions, repeat("delete"))))


def build_report(
    run: RunResult,
    source: Source,
    *,
    in_use: Mapping[tuple[str, str, str], Sequence[Usage]] | None = None,
    extra_findings: Sequence[Finding] = (),
    command: str = "simulate",
) -> dict[str, Any]:
    """``in_use`` maps (project, repository, digest) to the evidence a check found."""
    usage_of = in_use or {}
    artifacts: list[dict[str, Any]] = []
    repositories: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    bytes_deleted = 0
    for index, outcome in enumerate(run.projects):
        name = outcome.project.name
        fates = run.fates[index] if index < len(run.fates) else ()
        policy = outcome.policy
        projects.append(project_row(name, policy, outcome.launch_error))
        for number, repo in enumerate(outcome.repositories):
            repositories.append(
                repository_row(name, repo, fates[number] if number < len(fates) else None))
            counts.update(map(_ACTION, repo.decisions))
            bytes_deleted += artifact_rows(artifacts, name, repo, usage_of)
    all_findings = [*run.findings, *extra_findings]
    findings = finding_dicts(all_findings)
    severities: Counter[str] = Counter()
    for code, n in Counter(map(_CODE, all_findings)).items():
        severities[SEVERITY[code]] += n
    report = {
        "schema": REPORT_SCHEMA,
        "tool": TOOL,
        "command": command,
        "now": format_nanos(run.now_ns),
        "order": run.order,
        "harbor_version": run.behaviour.label,
        "source": {"harbor": source.harbor and mask_url(source.harbor),
                   "snapshot": source.snapshot, "policy": source.policy},
        "projects": projects,
        "repositories": repositories,
        "artifacts": artifacts,
        "findings": findings,
        "incomplete": [{"what": i.what, "reason": i.reason} for i in run.incomplete],
        "notes": list(run.notes),
        "summary": {
            "artifacts": len(artifacts),
            "retain": counts["retain"],
            "delete": counts["delete"],
            "immutable": counts["immutable"],
            "bytes_deleted": bytes_deleted,
            "errors": severities["error"],
            "warnings": severities["warning"],
        },
    }
    if command in EVIDENCE_COMMANDS:
        # What each evidence source covered; the CLI fills it. Empty: none was given.
        report["evidence"] = []
    return report


def add_previous_actions(report: dict[str, Any], previous: RunResult) -> None:
    """``protect``: every artifact gets the action the other (current) policy gives it
    (diff does this a repository at a time: pipeline/checking.py)."""
    before = {
        (outcome.project.name, repo.repository.name, artifact.digest): decision.action
        for outcome in previous.projects
        for repo in outcome.repositories
        for artifact, decision in zip(repo.repository.artifacts, repo.decisions, strict=True)
    }
    changed = 0
    for artifact in report["artifacts"]:
        key = (artifact["project"], artifact["repository"], artifact["digest"])
        artifact["previous_action"] = before.get(key, artifact["action"])
        changed += artifact["previous_action"] != artifact["action"]
    report["summary"]["changed"] = changed
