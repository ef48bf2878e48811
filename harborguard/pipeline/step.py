"""One repository through the run: the engine's decisions, the analysis's findings and
the report's rows. Pure: no I/O.

A project is planned once (``plan_project``): its effective policy, the launcher's
selection over all of its repositories' names (a broken repository pattern fails the
whole project, as in Harbor), its immutable-tag rules, and what the project itself
reports (its row, its policy findings). ``run_repository`` then takes one repository of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from harborguard.analysis import repository_findings
from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.harborversion import Behaviour, candidates
from harborguard.model import Incomplete, Project, Repository
from harborguard.policy import RetentionPolicy, RuleSpec
from harborguard.report.build import artifact_rows, project_row, repository_row
from harborguard.retention.acrossversions import Across, decide_across
from harborguard.retention.engine import (
    Ranker,
    RepositoryOutcome,
    _launch,
    not_in_scope_reason,
)
from harborguard.retention.evaluation import evaluate_repository as _evaluate_repository
from harborguard.retention.immutable import ImmutableChecker
from harborguard.retention.outcomes import keep_all as _keep_all
from harborguard.retention.selectors import PatternError, SelectorBuildError
from harborguard.simulate import _failed_finding, _invalid_findings, launch_error_finding
from harborguard.versions import VersionPattern


class Settings(NamedTuple):
    """What every repository of a run is evaluated with."""

    now_ns: int
    behaviour: Behaviour
    policy: RetentionPolicy | None  # --policy, else each project's own
    order: str
    ranker: Ranker | None
    pattern: VersionPattern | None
    # Artifact rows as report.build.ArtifactRow structures, not dictionaries: for a report
    # written as JSON whose rows nothing else reads (pipeline.run decides).
    structures: bool = False


@dataclass(frozen=True, slots=True)
class ProjectPlan:
    name: str
    policy: RetentionPolicy | None  # the one evaluated (None: nothing is)
    # Every repository keeps everything: (status, reason, error); None: evaluated.
    keep_all: tuple[str, str, str | None] | None
    assignment: Sequence[Sequence[RuleSpec]]  # per repository, the rules in scope
    checker: ImmutableChecker | None
    row: dict[str, Any]  # the report's project row
    findings: tuple[Finding, ...]  # the project's own, before its repositories'
    missing: Incomplete | None  # the snapshot does not say its policy
    note: str | None  # a system-level policy
    # The Harbor version unknown: the project planned under every other distinct
    # behaviour of the releases (harborversion.candidates), the newest release first.
    alternatives: tuple[tuple[Behaviour, ProjectPlan], ...] = ()


def plan_project(project: Project, names: Sequence[str], settings: Settings,
                 unreadable: str | None) -> ProjectPlan:
    """``unreadable``: why the snapshot could not read the project's policy, if so."""
    policy = settings.policy
    behaviour = settings.behaviour
    effective = policy if policy is not None else project.retention
    why_unknown = None if policy is not None else unreadable
    missing = None
    if policy is None and not project.retention_known:
        why_unknown = (project.retention_gap
                       or "the snapshot has no 'retention' field for this project")
        missing = Incomplete(project.name, f"retention policy: {why_unknown}; add it (null "
                             "when the project has none) or pass --policy")
    note = None
    if effective is not None and effective.stored and effective.scope_level == "system":
        note = (f"the retention policy of project {project.name} has scope level 'system': "
                "Harbor runs it in every project of the instance (filtered by each rule's "
                "project selectors); harborguard shows its effect on this project only")
    findings = list(_invalid_findings(project.name, policy, behaviour)) if policy else []
    keep_all: tuple[str, str, str | None] | None = None
    assignment: Sequence[Sequence[RuleSpec]] = ()
    launch_error = None
    if effective is None and why_unknown is not None:
        keep_all = ("policy-unreadable", "not evaluated: the retention policy could not be "
                    f"read ({why_unknown})", None)
    elif effective is None:
        keep_all = ("no-policy", "the project has no retention policy", None)
    elif not effective.rules:
        keep_all = ("no-rules", "the retention policy has no rules", None)
    else:
        try:
            assignment = _launch(names, effective, behaviour, project.name)
        except (SelectorBuildError, PatternError) as exc:
            launch_error = f"launcher: {exc}"
            keep_all = ("launch-failed", "repository failed: the retention job cannot start "
                        f"({launch_error})", launch_error)
            findings.append(launch_error_finding(project.name, launch_error, len(names)))
    shown = None if effective is None and why_unknown is not None else effective
    return ProjectPlan(
        name=project.name,
        policy=shown,
        keep_all=keep_all,
        assignment=assignment,
        checker=ImmutableChecker(project.immutable_rules, behaviour),
        row=project_row(project.name, shown, launch_error),
        findings=tuple(findings),
        missing=missing,
        note=note,
        alternatives=tuple(
            (other, plan_project(project, names, settings._replace(behaviour=other),
                                 unreadable))
            for other in candidates(behaviour)),
    )


class Step(NamedTuple):
    """One repository's results: its outcome, findings, report rows."""

    outcome: RepositoryOutcome
    findings: list[Finding]
    versioned: int  # artifacts whose tags read as a version
    row: dict[str, Any]  # the report's repository row
    artifacts: list[Any]  # the report's artifact rows (Settings.structures: structures)
    bytes_deleted: int
    differing: int = 0  # artifacts whose action depends on the unknown Harbor version


def decide(plan: ProjectPlan, index: int, repo: Repository, settings: Settings
           ) -> RepositoryOutcome:
    """Repository ``index`` of the project ``plan`` through the engine: its decisions."""
    if plan.keep_all is not None:
        status, reason, error = plan.keep_all
        extra = {} if error is None else {"error": error}
        outcome = _keep_all(repo, status, reason, **extra)  # type: ignore[arg-type]
    elif not plan.assignment[index]:
        assert plan.policy is not None
        outcome = _keep_all(repo, "not-in-scope", not_in_scope_reason(
            repo.name, plan.policy, settings.behaviour, plan.name))
    else:
        assert plan.policy is not None and plan.checker is not None
        outcome = _evaluate_repository(
            repo, list(plan.assignment[index]), plan.policy, settings.now_ns,
            settings.behaviour, plan.checker, settings.ranker)
    return outcome


def decide_versions(plan: ProjectPlan, index: int, repo: Repository, settings: Settings
                    ) -> Across:
    """``decide``, and with the Harbor version unknown, under every behaviour it may be
    (retention/acrossversions.py); a known version costs nothing more."""
    others = {id(behaviour): other for behaviour, other in plan.alternatives}

    def under(behaviour: Behaviour) -> RepositoryOutcome:
        if behaviour is settings.behaviour:
            return decide(plan, index, repo, settings)
        return decide(others[id(behaviour)], index, repo,
                      settings._replace(behaviour=behaviour))

    return decide_across(settings.behaviour, [b for b, _ in plan.alternatives], under)


def run_repository(plan: ProjectPlan, index: int, repo: Repository, settings: Settings) -> Step:
    """Repository ``index`` of the project ``plan`` through engine, analysis and report."""
    across = decide_versions(plan, index, repo, settings)
    return report_rows(plan, across.outcome, settings)._replace(
        differing=len(across.differing))


def report_rows(plan: ProjectPlan, outcome: RepositoryOutcome, settings: Settings,
                usage_of: Mapping[tuple[str, str, str], Sequence[Usage]] | None = None
                ) -> Step:
    """A repository's outcome through analysis and report; ``usage_of``: the evidence of
    use its artifacts' rows show (check, diff)."""
    findings = [_failed_finding(plan.name, outcome)] if outcome.status == "failed" else []
    found, fate, versioned = repository_findings(plan.name, outcome, settings.order,
                                                 settings.pattern)
    findings.extend(found)
    rows: list[Any] = []
    freed = artifact_rows(rows, plan.name, outcome, usage_of, settings.structures)
    return Step(outcome, findings, versioned, repository_row(plan.name, outcome, fate), rows,
                freed)
