"""In use and kept today, deleted by a run soon: what day-based rules do as time passes.

A rule that keeps what was pushed (or pulled) in the last N days keeps an artifact only
until it turns N days old; the policy's next run after that deletes it, though nothing was
pushed. `check` judges the policy at ``now``; this module judges the same artifacts a day
and a week later. Pure: it compares simulations the caller made at the later times.

- Deleted by a run within a day (Harbor's retention usually runs daily, so the next run):
  ``in-use-deleted`` or ``rollback-deleted`` (error), as if deleted now.
- Deleted by a run within a week: ``in-use-expiring`` (warning), with the day it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.retention.engine import ProjectOutcome
from harborguard.simulate import RunResult

DAY_TEMPLATES = frozenset({"nDaysSinceLastPush", "nDaysSinceLastPull", "lastXDays"})
NS = 1_000_000_000
NEXT_RUN_NS = 24 * 3600 * NS
WEEK_NS = 7 * 24 * 3600 * NS

ArtifactKey = tuple[str, str, str]
Later = Callable[[Sequence[str], int], RunResult]  # (project names, now_ns) -> result


def _has_day_rules(project: ProjectOutcome) -> bool:
    policy = project.policy
    return policy is not None and any(
        rule.template in DAY_TEMPLATES and not rule.disabled for rule in policy.rules)


def _kept(result: RunResult) -> dict[ArtifactKey, tuple[bool, tuple[str, ...]]]:
    """Each artifact's key -> (kept outright, with no tie?, its tags)."""
    out: dict[ArtifactKey, tuple[bool, tuple[str, ...]]] = {}
    for project in result.projects:
        for repo in project.repositories:
            for artifact, decision in zip(repo.repository.artifacts, repo.decisions,
                                          strict=True):
                out[(project.project.name, repo.repository.name, artifact.digest)] = (
                    decision.action != "delete" and not decision.tie, tuple(artifact.tags))
    return out


def expiring(result: RunResult, in_use: Mapping[ArtifactKey, Sequence[Usage]],
             later: Later) -> list[Finding]:
    """Findings for artifacts in use that ``result`` keeps but a run soon deletes."""
    today = _kept(result)
    projects = {p.project.name for p in result.projects if _has_day_rules(p)}
    needed = {key: found for key, found in in_use.items()
              if key[0] in projects and key in today and today[key][0]}
    if not needed:
        return []
    names = sorted({key[0] for key in needed})
    day = _kept(later(names, result.now_ns + NEXT_RUN_NS))
    week = _kept(later(names, result.now_ns + WEEK_NS))
    findings = []
    for key, found in needed.items():
        gone_in_a_day = not day.get(key, (True, ()))[0]
        if gone_in_a_day or not week.get(key, (True, ()))[0]:
            findings.append(_finding(key, today[key][1], found, gone_in_a_day))
    return findings


def _finding(key: ArtifactKey, tags: tuple[str, ...], found: Sequence[Usage],
             soon: bool) -> Finding:
    project, repository, digest = key
    current = [u for u in found if u.kind != "rollback"]
    first = (current or list(found))[0]
    what = {"running": "is running", "declared": "is declared"}.get(first.kind,
                                                                    "is a rollback target")
    if soon:
        code = "in-use-deleted" if current else "rollback-deleted"
        when = ("a run within the next 24 hours deletes it (Harbor's retention usually runs "
                "daily: the next run)")
    else:
        code = "in-use-expiring"
        when = "a run within the next 7 days deletes it"
    label = ", ".join(tags) or digest
    return Finding(
        code=code, project=project, repository=repository, digest=digest, tags=tags,
        component=first.component, environment=first.environment,
        message=f"{repository}:{label} {what} ({first.source}: {first.where}); the policy "
        "keeps it today only by a rule that counts days, and it is about to grow too old: "
        f"{when}, though nothing new is pushed",
    )
