"""The simulate job: snapshot + policy + now -> decisions and findings. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harborguard.analysis import analyse_versions, time_tie_findings
from harborguard.findings import Finding
from harborguard.harborversion import Behaviour
from harborguard.model import Incomplete, Snapshot
from harborguard.policy import RetentionPolicy
from harborguard.retention.engine import ProjectOutcome, Ranker, evaluate_project
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
    # Repository name -> its versions' fates as ranges (see analysis.analyse_versions).
    fates: Mapping[str, str] = field(default_factory=dict)


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
    """Evaluates every project; ``policy`` (from --policy) replaces each project's own."""
    outcomes = []
    findings: list[Finding] = []
    unreadable = {
        item.what: item.reason for item in snapshot.incomplete
        if item.reason.startswith("retention policy")
    }
    missing: list[Incomplete] = []
    system_notes: list[str] = []
    for project in snapshot.projects:
        effective = policy if policy is not None else project.retention
        why_unknown = None if policy is not None else unreadable.get(project.name)
        if policy is None and not project.retention_known:
            why_unknown = "the snapshot has no 'retention' field for this project"
            missing.append(Incomplete(project.name, f"retention policy: {why_unknown}; add it "
                                      "(null when the project has none) or pass --policy"))
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
        findings.extend(policy_error_findings(outcome))
    findings.extend(time_tie_findings(outcomes, order=order))
    versions = analyse_versions(outcomes, pattern)
    findings.extend(versions.findings)
    extra_notes: list[str] = system_notes
    if pattern is not None and versions.versioned == 0:
        extra_notes.append(
            f"--version-pattern {pattern.source!r} matched no tag (it must match a whole tag): "
            "no version findings or ranges"
        )
    notes = ((behaviour.warning,) if behaviour.warning else ()) + tuple(extra_notes)
    return RunResult(
        now_ns=now_ns,
        order=order,
        behaviour=behaviour,
        projects=tuple(outcomes),
        findings=tuple(findings),
        incomplete=snapshot.incomplete + tuple(missing),
        notes=notes,
        fates=versions.fates,
    )


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


def policy_error_findings(outcome: ProjectOutcome) -> Sequence[Finding]:
    project = outcome.project.name
    if outcome.launch_error is not None:
        count = len(outcome.repositories)
        return [
            Finding(
                code="policy-error",
                project=project,
                message=(
                    f"Harbor's retention job for project {project} fails before it starts "
                    f"({outcome.launch_error}); nothing is deleted in any of its {count} "
                    "repositories"
                ),
            )
        ]
    found = []
    for repo in outcome.repositories:
        if repo.status != "failed":
            continue
        message = (
            f"Harbor's retention task for {repo.repository.name} fails ({repo.error}); "
            "nothing is deleted there"
        )
        if repo.error_uncertain:
            message += "." + UNCERTAIN
        found.append(
            Finding(
                code="policy-error",
                project=project,
                repository=repo.repository.name,
                rule=repo.error_rule,
                message=message,
            )
        )
    return found

