"""One repository through Harbor's retention job (docs/RETENTION.md section 4): build every
rule in scope (template, action, tag selectors, then the algorithm), run each rule on the
candidates its tag selectors pass, OR what they keep, and decide each artifact
(``decisions``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from harborguard.harborversion import Behaviour
from harborguard.model import Repository, split_repository
from harborguard.policy import RetentionPolicy, RuleSpec
from harborguard.retention.decisions import decide, note_referenced_children
from harborguard.retention.immutable import ImmutableChecker
from harborguard.retention.outcomes import (
    Candidate,
    Ranker,
    RepositoryOutcome,
    RuleRun,
    candidates_of,
    keep_all,
)
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

_POS = attrgetter("pos")


def evaluate_repository(
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
        return keep_all(
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
        return keep_all(
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
        return keep_all(
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
        decisions=note_referenced_children(
            repo.artifacts, decide(candidates, runs, short, checker, ranker is not None)
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
