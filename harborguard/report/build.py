"""Turns a RunResult into the ``harborguard.report/v1`` document every formatter reads."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harborguard import TOOL
from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.retention.templates import BuildError, build_evaluator
from harborguard.simulate import RunResult
from harborguard.timeutil import format_nanos, format_seconds

REPORT_SCHEMA = "harborguard.report/v1"


@dataclass(frozen=True, slots=True)
class Source:
    harbor: str | None
    snapshot: str | None
    policy: str  # "harbor" for each project's own policy, else the --policy path


_DAY_TEXT: dict[int, str] = {}
_TWO = [f"{n:02d}" for n in range(60)]


def _time(seconds: int) -> str:
    """RFC 3339 'Z' text for whole seconds; the date part is cached (200,000 calls a run)."""
    if seconds < 0:
        return format_seconds(seconds)
    day, rest = divmod(seconds, 86400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{_TWO[hours]}:{_TWO[minutes]}:{_TWO[secs]}Z"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "severity": f.severity,
        "code": f.code,
        "project": f.project,
        "repository": f.repository,
        "digest": f.digest,
        "tags": None if f.tags is None else list(f.tags),
        "rule": f.rule,
        "related": [{"digest": r.digest, "tags": list(r.tags)} for r in f.related],
        "component": f.component,
        "environment": f.environment,
        "message": f.message,
    }


def _rule_text(template: str, params: Any) -> str:
    try:
        return build_evaluator(template, params).describe()
    except BuildError as exc:
        return f"{template or '(no template)'}: {exc}"


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
    counts = {"retain": 0, "delete": 0, "immutable": 0}
    bytes_deleted = 0
    for outcome in run.projects:
        name = outcome.project.name
        policy = outcome.policy
        projects.append(
            {
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
                "error": outcome.launch_error,
            }
        )
        for repo in outcome.repositories:
            repositories.append(
                {
                    "project": name,
                    "repository": repo.repository.name,
                    "status": repo.status,
                    "rules": list(repo.rules_in_scope),
                    "error": repo.error,
                    "versions": run.fates.get(repo.repository.name),
                }
            )
            for artifact, decision in zip(repo.repository.artifacts, repo.decisions, strict=True):
                counts[decision.action] += 1
                if decision.action == "delete":
                    bytes_deleted += artifact.size
                artifacts.append(
                    {
                        "project": name,
                        "repository": repo.repository.name,
                        "digest": artifact.digest,
                        "tags": list(artifact.tags),
                        "type": artifact.type,
                        "size": artifact.size,
                        "push_time": _time(artifact.push_s),
                        "pull_time": None if artifact.pull_s <= 0 else _time(artifact.pull_s),
                        "action": decision.action,
                        "reason": decision.reason,
                        "retained_by": list(decision.retained_by),
                        "tie": decision.tie,
                        "in_use": [
                            u.as_report()
                            for u in usage_of.get((name, repo.repository.name, artifact.digest), ())
                        ]
                        if usage_of
                        else [],
                    }
                )
    all_findings = [*run.findings, *extra_findings]
    findings = [finding_dict(f) for f in all_findings]
    return {
        "schema": REPORT_SCHEMA,
        "tool": TOOL,
        "command": command,
        "now": format_nanos(run.now_ns),
        "order": run.order,
        "harbor_version": run.behaviour.label,
        "source": {"harbor": source.harbor, "snapshot": source.snapshot, "policy": source.policy},
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
            "errors": sum(1 for f in all_findings if f.severity == "error"),
            "warnings": sum(1 for f in all_findings if f.severity == "warning"),
        },
    }


def add_previous_actions(report: dict[str, Any], previous: RunResult) -> None:
    """``diff``: every artifact gets the action the other (current) policy gives it."""
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
