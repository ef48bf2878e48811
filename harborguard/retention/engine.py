"""The retention engine: what Harbor's retention job would keep and delete.

Pure: takes a project's data, a policy, the immutable-tag rules, ``now`` and the Harbor
behaviour to reproduce; returns decisions. It follows Harbor's pipeline (RETENTION.md
sections 4 and 12): launch (repository selectors, once per project), then per repository
build every rule, run each rule with tag selectors, OR the results, and check every
deletion target against the immutable-tag rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Literal, NamedTuple

from harborguard.harborversion import Behaviour
from harborguard.model import Artifact, Project, Repository, split_repository
from harborguard.policy import ImmutableRule, RetentionPolicy, RuleSpec
from harborguard.retention.immutable import ImmutableChecker
from harborguard.retention.selectors import (
    PatternError,
    Selector,
    SelectorBuildError,
    build_selector,
)
from harborguard.retention.templates import (
    BuildError,
    Evaluator,
    build_evaluator,
    day_cutoff,
    evaluate_count,
    evaluate_days,
)
from harborguard.timeutil import format_nanos, format_seconds

Action = Literal["retain", "delete", "immutable"]
Status = Literal[
    "no-policy", "policy-unreadable", "no-rules", "launch-failed", "not-in-scope", "failed",
    "no-rule-ran", "evaluated",
]


class Ranker:
    """A what-if order for count rules (``--order semver``): ranks the candidates a rule
    selected and names the key whose equality at the cut is a tie. None keeps Harbor's."""

    def rank(self, evaluator: Evaluator, candidates: Sequence[Candidate]) -> list[Candidate]:
        raise NotImplementedError

    def key(self, evaluator: Evaluator) -> Callable[[Candidate], object]:
        raise NotImplementedError


class Candidate(NamedTuple):
    """Harbor's selector.Candidate for one artifact of one repository. A NamedTuple, made
    by C-level maps (candidates_of): 100,000 of them a large run."""

    artifact: Artifact
    pos: int  # index in API order
    namespace: str
    repository: str
    tags: tuple[str, ...]
    push_s: int
    pull_s: int


_POS = attrgetter("pos")
_TAGS = attrgetter("tags")
_PUSH_S = attrgetter("push_s")
_PULL_S = attrgetter("pull_s")


def candidates_of(artifacts: Sequence[Artifact], namespace: str, repository: str
                  ) -> list[Candidate]:
    """A Candidate for each artifact, in API order."""
    return list(map(tuple.__new__, repeat(Candidate), zip(
        artifacts, range(len(artifacts)), repeat(namespace), repeat(repository),
        map(_TAGS, artifacts), map(_PUSH_S, artifacts), map(_PULL_S, artifacts), strict=False,
    )))


@dataclass(frozen=True, slots=True)
class _RepoCandidate:
    """What the launcher selects repositories with (no tags)."""

    namespace: str
    repository: str
    index: int
    tags: tuple[str, ...] = ()


class Decision(NamedTuple):
    """One artifact's fate. A NamedTuple: built once per artifact, 100,000 times a run."""

    action: Action
    reason: str
    retained_by: tuple[int, ...] = ()
    tie: bool = False
    immutable_rule: int | None = None


@dataclass(frozen=True, slots=True)
class RuleRun:
    """One rule's evaluation in one repository (for explanations and findings)."""

    rule: RuleSpec
    evaluator: Evaluator
    selected: int  # candidates that passed the tag selectors
    kept: frozenset[int]  # positions kept
    # Count rules: position -> 0-based rank in Harbor's sorted order.
    rank_of: Mapping[int, int] = field(default_factory=dict)
    # Day rules: positions that passed the tag selectors, and the cut-off used.
    selected_positions: frozenset[int] = frozenset()
    tie_key: int | None = None
    tie_positions: frozenset[int] = frozenset()
    cutoff: str | None = None


@dataclass(frozen=True, slots=True)
class RepositoryOutcome:
    repository: Repository
    status: Status
    decisions: tuple[Decision, ...]  # aligned with repository.artifacts (API order)
    rules_in_scope: tuple[int, ...] = ()
    error: str | None = None
    error_rule: int | None = None  # index of the rule that made the job fail, when known
    # A tag-pattern error: Harbor's OR processor can lose it in a goroutine race.
    error_uncertain: bool = False
    runs: tuple[RuleRun, ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectOutcome:
    project: Project
    policy: RetentionPolicy | None
    repositories: tuple[RepositoryOutcome, ...]
    launch_error: str | None = None
    notes: tuple[str, ...] = field(default=())


def _keep_all(repo: Repository, status: Status, reason: str, **extra: object) -> RepositoryOutcome:
    decision = Decision("retain", reason)
    return RepositoryOutcome(
        repository=repo,
        status=status,
        decisions=tuple(decision for _ in repo.artifacts),
        **extra,  # type: ignore[arg-type]
    )


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
            tuple(_keep_all(r, "policy-unreadable", reason) for r in repos),
        )
    if policy is None:
        return ProjectOutcome(
            project,
            None,
            tuple(_keep_all(r, "no-policy", "the project has no retention policy") for r in repos),
        )
    if not policy.rules:
        return ProjectOutcome(
            project,
            policy,
            tuple(_keep_all(r, "no-rules", "the retention policy has no rules") for r in repos),
        )
    try:
        assignment = _launch([r.name for r in repos], policy, behaviour, project.name)
    except (SelectorBuildError, PatternError) as exc:
        message = f"launcher: {exc}"
        return ProjectOutcome(
            project,
            policy,
            tuple(
                _keep_all(
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
            outcomes.append(_keep_all(repo, "not-in-scope", "not covered by any rule"))
            continue
        outcomes.append(
            _evaluate_repository(repo, rules, policy, now_ns, behaviour, checker, ranker)
        )
    return ProjectOutcome(project, policy, tuple(outcomes))


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


def _describe(rule: RuleSpec, evaluator: Evaluator) -> str:
    return f"rule {rule.index} ({evaluator.describe()})"


def _evaluate_repository(
    repo: Repository,
    rules: list[RuleSpec],
    policy: RetentionPolicy,
    now_ns: int,
    behaviour: Behaviour,
    checker: ImmutableChecker,
    ranker: Ranker | None,
) -> RepositoryOutcome:
    in_scope = tuple(r.index for r in rules)
    v111 = behaviour.doublestar_v111
    # Builder.Build: every rule first (template, action, tag selectors), then the algorithm.
    built: list[tuple[RuleSpec, Evaluator, list[Selector]]] = []
    failing: int | None = None
    try:
        for rule in rules:
            failing = rule.index
            evaluator = build_evaluator(rule.template, rule.params)
            if rule.action == "":
                raise BuildError("get action performer by metadata: empty action")
            if rule.action != "retain":
                raise BuildError(
                    f"get action performer by metadata: action {rule.action} is not registered"
                )
            selectors = []
            for spec in rule.tag_selectors:
                try:
                    selectors.append(
                        build_selector(spec.kind, spec.decoration, spec.pattern, spec.extras,
                                       v111=v111)
                    )
                except SelectorBuildError as exc:
                    raise BuildError(f"get selector by metadata: {exc}") from None
            built.append((rule, evaluator, selectors))
        failing = None
        if policy.algorithm != "or":
            raise BuildError(
                f"get processor for algorithm: {policy.algorithm}: "
                f"no processor registered with algorithm: {policy.algorithm}"
                ' (Harbor only registers "or"; set "algorithm": "or")'
            )
    except BuildError as exc:
        message = f"retention job: {exc}"
        return _keep_all(
            repo,
            "failed",
            f"repository failed: {message}",
            rules_in_scope=in_scope,
            error=message,
            error_rule=failing,
        )

    namespace, short = split_repository(repo.name)
    candidates = candidates_of(repo.artifacts, namespace, short)
    runnable = [(r, e, s) for r, e, s in built if s]
    if not candidates:
        return RepositoryOutcome(repo, "evaluated", (), rules_in_scope=in_scope)
    if not runnable:
        return _keep_all(
            repo,
            "no-rule-ran",
            "no rule ran: every rule in scope has empty tag selectors",
            rules_in_scope=in_scope,
        )

    runs: list[RuleRun] = []
    errors: list[str] = []
    error_rules: list[int] = []
    for rule, evaluator, selectors in runnable:
        selected: Sequence[Candidate] = candidates
        try:
            for selector in selectors:
                selected = selector.select(selected)
        except PatternError as exc:
            errors.append(f"rule {rule.index}: tag pattern {exc}")
            error_rules.append(rule.index)
            continue
        runs.append(_run_rule(rule, evaluator, selected, now_ns, behaviour, ranker))
    if errors:
        message = "retention job: artifact processing error: " + "; ".join(errors)
        return _keep_all(
            repo,
            "failed",
            f"repository failed: {message}",
            rules_in_scope=in_scope,
            error=message,
            error_rule=error_rules[0],
            error_uncertain=True,
        )
    return RepositoryOutcome(
        repository=repo,
        status="evaluated",
        decisions=_note_referenced_children(
            repo.artifacts, _decide(candidates, runs, short, checker, ranker is not None)
        ),
        rules_in_scope=in_scope,
        runs=tuple(runs),
    )


def _run_rule(
    rule: RuleSpec,
    evaluator: Evaluator,
    selected: Sequence[Candidate],
    now_ns: int,
    behaviour: Behaviour,
    ranker: Ranker | None,
) -> RuleRun:
    kind = evaluator.template.kind
    if kind == "always":
        return RuleRun(rule, evaluator, len(selected), frozenset(map(_POS, selected)))
    if kind == "days":
        kept = evaluate_days(evaluator, selected, now_ns)
        cutoff, inclusive = day_cutoff(evaluator, now_ns)
        shown = format_seconds(cutoff) if inclusive else format_nanos(cutoff)
        return RuleRun(
            rule,
            evaluator,
            len(selected),
            frozenset(map(_POS, kept)),
            selected_positions=frozenset(map(_POS, selected)),
            cutoff=shown,
        )
    if ranker is None:
        outcome = evaluate_count(evaluator, selected, behaviour.go_sort)
        tie_of: Callable[[Candidate], object] = evaluator.template.key
    else:
        tie_of = ranker.key(evaluator)
        outcome = evaluate_count(
            evaluator, selected, behaviour.go_sort,
            lambda cs: ranker.rank(evaluator, cs), tie_of,
        )
    ranked = outcome.ranked
    tie_positions: frozenset[int] = frozenset()
    tie_time = None
    if outcome.tie_key is not None:
        tie_positions = frozenset(c.pos for c in ranked if tie_of(c) == outcome.tie_key)
        cut = ranked[outcome.kept - 1]
        tie_time = evaluator.template.key(cut) if ranker is None else cut.push_s
    return RuleRun(
        rule,
        evaluator,
        len(selected),
        frozenset(map(_POS, ranked[: outcome.kept])),
        rank_of=dict(zip(map(_POS, ranked), range(len(ranked)), strict=True)),
        tie_key=tie_time,
        tie_positions=tie_positions,
    )


def _decide(
    candidates: Sequence[Candidate],
    runs: Sequence[RuleRun],
    short_name: str,
    checker: ImmutableChecker,
    by_version: bool = False,
) -> tuple[Decision, ...]:
    kept_by: dict[int, list[int]] = {}
    for run in runs:
        for pos in run.kept:
            kept_by.setdefault(pos, []).append(run.rule.index)
    tie_runs = [run for run in runs if run.tie_positions]
    explain = _Explainer(runs, by_version)
    new = tuple.__new__  # Decision(...) without its Python-level __new__
    decisions: list[Decision | None] = []
    dropped: list[Candidate] = []  # not kept by any rule: immutable or deleted
    ties: list[bool] = []
    for c in candidates:
        pos = c.pos
        keepers = kept_by.get(pos)
        # Tied when a count rule's cut runs through equal keys at this artifact and every
        # rule that keeps it keeps it only through such a tie: another order of equal
        # timestamps could then change its fate (DESIGN.md, `tie`).
        tied = False
        if tie_runs:
            tie_rules = {run.rule.index for run in tie_runs if pos in run.tie_positions}
            tied = bool(tie_rules) and (not keepers or all(k in tie_rules for k in keepers))
        if keepers:
            if tied and checker.check(short_name, c.tags).immutable:
                tied = False  # an immutable tag saves it whichever way the tie falls
            decisions.append(new(Decision, ("retain", explain.kept(keepers), tuple(keepers),
                                            tied, None)))
            continue
        decisions.append(None)
        dropped.append(c)
        ties.append(tied)
    if not dropped:
        return tuple(decisions)  # type: ignore[arg-type]
    verdicts = checker.check_many(short_name, dropped)
    reasons = explain.not_kept_many(dropped)
    for c, verdict, reason, tied in zip(dropped, verdicts, reasons, ties, strict=True):
        if verdict.immutable:
            decisions[c.pos] = Decision(
                "immutable",
                f"not kept by any rule; protected by immutable-tag rule {verdict.rule_id}",
                (),
                False,
                verdict.rule_id,
            )
            continue
        if verdict.error:
            reason += f" (immutability check failed: {verdict.error})"
        decisions[c.pos] = new(Decision, ("delete", reason, (), tied, None))
    return tuple(decisions)  # type: ignore[arg-type]


def _note_referenced_children(
    artifacts: Sequence[Artifact], decisions: tuple[Decision, ...]
) -> tuple[Decision, ...]:
    """A tagged child of a kept index is DEL in a dry run, like Harbor's; a real run fails
    to delete it ("referenced by others", ERR) and it stays. Say so in the reason."""
    parents: dict[str, str] = {}
    for artifact, decision in zip(artifacts, decisions, strict=True):
        if artifact.children and decision.action != "delete":
            label = ", ".join(artifact.tags) or artifact.digest[:19]
            for child in artifact.children:
                parents.setdefault(child, label)
    if not parents:
        return decisions
    noted = []
    for artifact, decision in zip(artifacts, decisions, strict=True):
        parent = parents.get(artifact.digest)
        if decision.action == "delete" and parent is not None:
            decision = decision._replace(
                reason=f"{decision.reason}; a real run fails to delete it (ERR: referenced by "
                f"the kept index {parent}) and it stays"
            )
        noted.append(decision)
    return tuple(noted)


class _Explainer:
    """Reasons in words, with every per-rule phrase built once per repository."""

    def __init__(self, runs: Sequence[RuleRun], by_version: bool = False) -> None:
        """``by_version``: count rules ranked by version (--order semver), not by time."""
        self._described = {run.rule.index: _describe(run.rule, run.evaluator) for run in runs}
        self._kept: dict[tuple[int, ...], str] = {}
        # Per rule: how to say why it did not keep a candidate it saw.
        self._parts: list[tuple[RuleRun, str, str, str]] = []
        for run in runs:
            template = run.evaluator.template
            described = self._described[run.rule.index]
            if template.kind == "count":
                self._parts.append(
                    (run, f"{described} ranked it #",
                     f" of {run.selected} by {'version' if by_version else template.key_name}",
                     "")
                )
            elif template.kind == "days":
                self._parts.append(
                    (run, f"{described}: {template.key_name} before the cut-off {run.cutoff}",
                     "", f"{described}: never pulled"
                     if template.name == "nDaysSinceLastPull" else "")
                )

    def kept(self, keepers: list[int]) -> str:
        key = tuple(keepers)
        text = self._kept.get(key)
        if text is None:
            if len(keepers) == 1:
                text = "kept by " + self._described[keepers[0]]
            else:
                text = "kept by rules " + ", ".join(
                    self._described[i].removeprefix("rule ") for i in keepers
                )
            self._kept[key] = text
        return text

    def not_kept_many(self, dropped: Sequence[Candidate]) -> list[str]:
        """Why each of ``dropped`` was kept by no rule; rule by rule over all of them."""
        notes: list[list[str]] = [[] for _ in dropped]
        for run, first, second, never in self._parts:
            if second:  # a count rule: its rank, if it saw the candidate
                rank_of = run.rank_of
                for i, c in enumerate(dropped):
                    place = rank_of.get(c.pos)
                    if place is not None:
                        notes[i].append(f"{first}{place + 1}{second}")
            else:
                selected = run.selected_positions
                for i, c in enumerate(dropped):
                    if c.pos in selected:
                        notes[i].append(never if never and c.pull_s <= 0 else first)
        out = []
        for parts in notes:
            if not parts:
                out.append("not kept by any rule: no rule's tag selectors selected it")
            elif len(parts) == 1:
                out.append("not kept by any rule: " + parts[0])
            else:
                out.append("not kept by any rule: " + "; ".join(parts))
        return out
