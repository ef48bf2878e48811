"""The simulate job: snapshot + policy + now -> decisions and findings. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from harborguard.analysis import repository_findings
from harborguard.findings import Finding
from harborguard.harborversion import Behaviour
from harborguard.model import Incomplete, Snapshot
from harborguard.policy import RetentionPolicy
from harborguard.retention.engine import (
    ProjectOutcome,
    Ranker,
    RepositoryOutcome,
    evaluate_project,
)
from harborguard.retention.templates import legacy_validation
from harborguard.versions import VersionPattern

UNCERTAIN = (
    " Harbor's OR processor can lose a tag-pattern error in a goroutine race (the broken rule"
    " then keeps nothing and the job deletes), so this outcome is not guaranteed."
)


@dataclass(frozen=True, slots=True)
class RunResult:
    now_ns: int
    order: str
    behaviour: Behaviour
    projects: tuple[ProjectOutcome, ...]
    findings: tuple[Finding, ...]
    incomplete: tuple[Incomplete, ...]
    notes: tuple[str, ...] = ()
    # Per project, per repository (as in ``projects``): its versions' fates as ranges, or
    # None (see analysis.repository_findings).
    fates: tuple[tuple[str | None, ...], ...] = ()
    versioned: int = 0  # artifacts whose tags read as a version


def simulate(
    snapshot: Snapshot,
    now_ns: int,
    behaviour: Behaviour,
    *,
    policy: RetentionPolicy | None = None,
    order: str = "push",
    ranker: Ranker | None = None,
    pattern: VersionPattern | None = None,
) -> RunResult:
    """Evaluates every project; ``policy`` (from --policy) replaces each project's own.

    Findings come project by project (its policy findings first) and, within a project,
    repository by repository in the snapshot's order (harborguard.pipeline streams the
    same run a repository at a time)."""
    outcomes = []
    findings: list[Finding] = []
    unreadable = {
        item.what: item.reason for item in snapshot.incomplete
        if item.reason.startswith("retention policy")
    }
    missing: list[Incomplete] = []
    system_notes: list[str] = []
    fates: list[tuple[str | None, ...]] = []
    versioned = 0
    for project in snapshot.projects:
        effective = policy if policy is not None else project.retention
        why_unknown = None if policy is not None else unreadable.get(project.name)
        if policy is None and not project.retention_known:
            why_unknown = (project.retention_gap
                       or "the snapshot has no 'retention' field for this project")
            missing.append(Incomplete(project.name, f"retention policy: {why_unknown}; add "
                                      "it (null when the project has none) or pass --policy"))
        outcome = evaluate_project(
            project, effective, now_ns, behaviour, ranker=ranker, policy_unreadable=why_unknown,
        )
        outcomes.append(outcome)
        if effective is not None and effective.stored and effective.scope_level == "system":
            system_notes.append(
                f"the retention policy of project {project.name} has scope level 'system': "
                "Harbor runs it in every project of the instance (filtered by each rule's "
                "project selectors); harborguard shows its effect on this project only")
        if policy is not None:
            findings.extend(_invalid_findings(project.name, policy, behaviour))
        if outcome.launch_error is not None:
            findings.append(_launch_error_finding(outcome))
        project_fates = []
        for repo in outcome.repositories:
            if repo.status == "failed":
                findings.append(_failed_finding(project.name, repo))
            found, fate, count = repository_findings(project.name, repo, order, pattern)
            findings.extend(found)
            project_fates.append(fate)
            versioned += count
        fates.append(tuple(project_fates))
    notes = list(system_notes)
    if behaviour.warning:
        notes.insert(0, behaviour.warning)
    if pattern is not None and versioned == 0:
        notes.append(pattern_note(pattern))
    return RunResult(
        now_ns=now_ns,
        order=order,
        behaviour=behaviour,
        projects=tuple(outcomes),
        findings=tuple(findings),
        incomplete=snapshot.incomplete + tuple(missing),
        notes=tuple(notes),
        fates=tuple(fates),
        versioned=versioned,
    )


def pattern_note(pattern: VersionPattern) -> str:
    """Said when --version-pattern fits no tag of the whole run."""
    return (f"--version-pattern {pattern.source!r} matched no tag (it must match a whole tag): "
            "no version findings or ranges")


def _invalid_findings(
    project: str, policy: RetentionPolicy, behaviour: Behaviour
) -> list[Finding]:
    found = [
        Finding(
            code="policy-invalid",
            project=project,
            message=f"Harbor's API would refuse this policy: {problem}",
        )
        for problem in policy.problems
    ]
    if behaviour.validates_params:
        for rule in policy.rules:
            problem = legacy_validation(rule.template, rule.params)
            if problem is not None:
                found.append(
                    Finding(
                        code="policy-invalid",
                        project=project,
                        rule=rule.index,
                        message=f"Harbor {behaviour.label}'s API would refuse rule {rule.index}: "
                        f"{problem}",
                    )
                )
    return found


def _launch_error_finding(outcome: ProjectOutcome) -> Finding:
    project = outcome.project
    assert outcome.launch_error is not None
    return launch_error_finding(project.name, outcome.launch_error, project.repository_count)


def launch_error_finding(project: str, error: str, repositories: int) -> Finding:
    return Finding(
        code="policy-error",
        project=project,
        message=(
            f"Harbor's retention job for project {project} fails before it starts "
            f"({error}); nothing is deleted in any of its {repositories} repositories"
        ),
    )


def _failed_finding(project: str, repo: RepositoryOutcome) -> Finding:
    message = (
        f"Harbor's retention task for {repo.repository.name} fails ({repo.error}); "
        "nothing is deleted there"
    )
    if repo.error_uncertain:
        message += "." + UNCERTAIN
    return Finding(
        code="policy-error",
        project=project,
        repository=repo.repository.name,
        rule=repo.error_rule,
        message=message,
    )
