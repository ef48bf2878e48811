"""What the changed policy does, proven by simulation: the report's ``protect`` section.

Pure: the simulations of the policy as it is (``previous``), without harborguard's rule
(``base``) and changed (``changed``), the plans, what the evidence needs and the check's
findings on the changed policy in; one entry per project out, and the artifacts the change
would delete although the policy without harborguard's rule keeps them (never expected: an
``always`` rule only adds, in repositories where a rule already runs; a guard).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from harborguard.findings import Finding
from harborguard.model import Artifact
from harborguard.protect.plan import ProjectPlan
from harborguard.retention.engine import Decision
from harborguard.simulate import RunResult

Key = tuple[str, str, str]  # (project, repository, digest)
KEPT = ("retain", "immutable")


def _decisions(result: RunResult) -> Iterator[tuple[Key, Artifact, Decision]]:
    for project in result.projects:
        for repo in project.repositories:
            for artifact, decision in zip(repo.repository.artifacts, repo.decisions,
                                          strict=True):
                yield (project.project.name, repo.repository.name, artifact.digest), \
                    artifact, decision


def _row(key: Key, artifact: Artifact) -> dict[str, Any]:
    return {"repository": key[1], "digest": key[2], "tags": list(artifact.tags)}


def unsafe(base: RunResult, changed: RunResult) -> list[Key]:
    """Artifacts the policy without harborguard's rule keeps and the changed one deletes."""
    kept = {key for key, _, d in _decisions(base) if d.action in KEPT}
    return [key for key, _, d in _decisions(changed) if d.action == "delete" and key in kept]


def sections(plans: Sequence[ProjectPlan], previous: RunResult, changed: RunResult,
             needed: Collection[Key], findings: Sequence[Finding],
             applied: Mapping[str, bool]) -> list[dict[str, Any]]:
    before = {key: d.action for key, _, d in _decisions(previous)}
    by_project: dict[str, dict[str, list[dict[str, Any]]]] = {}
    index_of = {p.project: p.rule_index for p in plans if p.rule is not None}
    for key, artifact, decision in _decisions(changed):
        lists = by_project.setdefault(key[0], {"keeps": [], "beyond": [], "dropped": []})
        index = index_of.get(key[0])
        if index is not None and index in decision.retained_by:
            lists["keeps"].append(_row(key, artifact))
            if key not in needed:
                lists["beyond"].append(_row(key, artifact))
        if decision.action == "delete" and before.get(key) in KEPT:
            lists["dropped"].append({**_row(key, artifact), "previous_action": before[key]})
    out = []
    for plan in plans:
        lists = by_project.get(plan.project, {"keeps": [], "beyond": [], "dropped": []})
        errors = {code: sum(1 for f in findings if f.project == plan.project and f.code == code)
                  for code in ("in-use-deleted", "rollback-deleted")}
        out.append({
            "project": plan.project,
            "status": "applied" if applied.get(plan.project) else plan.status,
            "policy_id": None if plan.changed is None else plan.changed.id,
            "rule_index": plan.rule_index,
            "rule": plan.rule,
            "repositories": list(plan.repositories),
            "tags": list(plan.tags),
            "keeps": lists["keeps"],
            "beyond_evidence": lists["beyond"],
            "untagged": [{"repository": r, "digest": d} for r, d in plan.untagged],
            "unprotected": [{"repository": u.repository, "digest": u.digest,
                             "tags": list(u.tags), "reason": u.reason}
                            for u in plan.unprotected],
            "kept_to_deleted": lists["dropped"],
            "check": errors,
            "protected": not any(errors.values()),
        })
    return out
