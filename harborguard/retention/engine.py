"""The retention engine: what Harbor's retention job would keep and delete.

Pure: takes a project's data, a policy, the immutable-tag rules, ``now`` and the Harbor
behaviour to reproduce; returns decisions. It follows Harbor's pipeline (docs/RETENTION.md
sections 4 and 12): launch (repository selectors, once per project), then per repository
build every rule, run each rule with tag selectors, OR the results, and check every
deletion target against the immutable-tag rules.

This module holds the launch and ``evaluate_project``; ``evaluation`` runs one repository,
``decisions`` says each artifact's fate and why, ``outcomes`` holds the types they return
(re-exported here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from harborguard.harborversion import Behaviour
from harborguard.model import Project, split_repository
from harborguard.policy import ImmutableRule, RetentionPolicy, RuleSpec
from harborguard.retention.evaluation import evaluate_repository
from harborguard.retention.immutable import ImmutableChecker
from harborguard.retention.outcomes import (
    Action,
    Candidate,
    Decision,
    ProjectOutcome,
    Ranker,
    RepositoryOutcome,
    RuleRun,
    Status,
    candidates_of,
    keep_all,
)
from harborguard.retention.selectors import (
    PatternError,
    SelectorBuildError,
    build_selector,
)

__all__ = [
    "Action",
    "Candidate",
    "Decision",
    "ProjectOutcome",
    "Ranker",
    "RepositoryOutcome",
    "RuleRun",
    "Status",
    "candidates_of",
    "evaluate_project",
]


@dataclass(frozen=True, slots=True)
class _RepoCandidate:
    """What the launcher selects repositories with (no tags)."""

    namespace: str
    repository: str
    index: int
    tags: tuple[str, ...] = ()


def evaluate_project(
    project: Project,
    policy: RetentionPolicy | None,
    now_ns: int,
    behaviour: Behaviour,
    *,
    immutable_rules: Sequence[ImmutableRule] | None = None,
    ranker: Ranker | None = None,
    policy_unreadable: str | None = None,
) -> ProjectOutcome:
    rules_immutable = project.immutable_rules if immutable_rules is None else immutable_rules
    checker = ImmutableChecker(rules_immutable, behaviour)
    repos = project.repositories
    if policy is None and policy_unreadable is not None:
        reason = f"not evaluated: the retention policy could not be read ({policy_unreadable})"
        return ProjectOutcome(
            project,
            None,
            tuple(keep_all(r, "policy-unreadable", reason) for r in repos),
        )
    if policy is None:
        return ProjectOutcome(
            project,
            None,
            tuple(keep_all(r, "no-policy", "the project has no retention policy") for r in repos),
        )
    if not policy.rules:
        return ProjectOutcome(
            project,
            policy,
            tuple(keep_all(r, "no-rules", "the retention policy has no rules") for r in repos),
        )
    try:
        assignment = _launch([r.name for r in repos], policy, behaviour, project.name)
    except (SelectorBuildError, PatternError) as exc:
        message = f"launcher: {exc}"
        return ProjectOutcome(
            project,
            policy,
            tuple(
                keep_all(
                    r,
                    "launch-failed",
                    f"repository failed: the retention job cannot start ({message})",
                    error=message,
                )
                for r in repos
            ),
            launch_error=message,
        )
    outcomes = []
    for index, repo in enumerate(repos):
        rules = assignment[index]
        if not rules:
            outcomes.append(keep_all(repo, "not-in-scope", not_in_scope_reason(
                repo.name, policy, behaviour, project.name)))
            continue
        outcomes.append(
            evaluate_repository(repo, rules, policy, now_ns, behaviour, checker, ranker)
        )
    return ProjectOutcome(project, policy, tuple(outcomes))


NOT_IN_SCOPE = "not covered by any rule"


def not_in_scope_reason(name: str, policy: RetentionPolicy, behaviour: Behaviour,
                        project: str = "") -> str:
    """Why no rule covers repository ``name``, naming the disabled rules whose selectors
    would cover it: a disabled rule is the usual reason an operator did not expect."""
    disabled = tuple(dataclasses.replace(r, disabled=False) for r in policy.rules
                     if r.disabled)
    if not disabled:
        return NOT_IN_SCOPE
    try:
        (would,) = _launch([name], dataclasses.replace(policy, rules=disabled), behaviour,
                           project)
    except (SelectorBuildError, PatternError):
        return NOT_IN_SCOPE
    if not would:
        return NOT_IN_SCOPE
    named = ", ".join(f"rule {r.index} ({r.template})" for r in would)
    verb = "covers" if len(would) == 1 else "cover"
    return f"{NOT_IN_SCOPE}: {named} {verb} it but {'is' if len(would) == 1 else 'are'} " \
        "disabled"


def _launch(
    names: Sequence[str], policy: RetentionPolicy, behaviour: Behaviour,
    project: str = "",
) -> list[list[RuleSpec]]:
    """Launcher.Launch: each enabled rule joins every repository its selectors pass (AND).

    A policy read from Harbor launches by its scope (launcher.go): "project" takes the
    project's repositories; "system" first filters the projects by each rule's "project"
    selectors; any other level selects no project at all; no scope fails the launch. A
    --policy file is applied to each selected project as a project-level policy."""
    level = policy.scope_level if policy.stored else "project"
    if level is None:
        raise SelectorBuildError("the scope of policy is nil")
    all_candidates = []
    for index, name in enumerate(names):
        namespace, rest = split_repository(name)
        all_candidates.append(_RepoCandidate(namespace, rest, index))
    assignment: list[list[RuleSpec]] = [[] for _ in names]
    if level not in ("project", "system"):
        return assignment
    v111 = behaviour.doublestar_v111
    for rule in policy.rules:
        if rule.disabled:
            continue
        selected = all_candidates
        if level == "system":
            chosen: Sequence[_RepoCandidate] = [_RepoCandidate(project, "", -1)]
            for spec in rule.scope_selectors.get("project", ()):
                selector = build_selector(spec.kind, spec.decoration, spec.pattern, "",
                                          v111=v111)
                chosen = selector.select(chosen)
            if not chosen:
                selected = []
        for spec in rule.repository_selectors:
            selector = build_selector(
                spec.kind, spec.decoration, spec.pattern, spec.extras, v111=v111,
            )
            selected = selector.select(selected)
        for candidate in selected:
            assignment[candidate.index].append(rule)
    return assignment
