"""Each artifact's fate in one evaluated repository, and the reason in words: kept by the
rules that kept it, else protected by an immutable-tag rule, else deleted; ``tie`` when only
an order of equal keys at a count rule's cut kept or dropped it (the report's ``tie`` field);
a tagged child of a kept index that a real run fails to delete."""

from __future__ import annotations

from collections.abc import Sequence

from harborguard.model import Artifact, split_repository
from harborguard.policy import RuleSpec
from harborguard.retention.immutable import ImmutableChecker
from harborguard.retention.outcomes import Candidate, Decision, RepositoryOutcome, RuleRun
from harborguard.retention.templates import Evaluator, evaluate_days


def decide(
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
        # timestamps could then change its fate (docs/DESIGN.md, `tie`).
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
                f"not kept by any rule; protected by immutable-tag rule id {verdict.rule_id}",
                (),
                False,
                verdict.rule_id,
            )
            continue
        if verdict.error:
            reason += f" (immutability check failed: {verdict.error})"
        decisions[c.pos] = new(Decision, ("delete", reason, (), tied, None))
    return tuple(decisions)  # type: ignore[arg-type]


def kept_outright_at(outcome: RepositoryOutcome, pos: int, now_ns: int,
                     checker: ImmutableChecker) -> bool:
    """Whether a run at ``now_ns`` keeps artifact ``pos`` of ``outcome`` (its repository
    evaluated at another time) outright: retained with no tie, or immutable. What
    :func:`decide` says of that one artifact, from ``outcome``'s rule runs: count and
    always rules do not look at the time, so only the day rules are cut again (for check's
    days to come, expiry.py, without evaluating the repository twice more). A repository
    that was not evaluated (kept whole: no policy, a failed job) is kept whole then too."""
    if outcome.status != "evaluated" or not outcome.runs:
        decision = outcome.decisions[pos]
        return decision.action != "delete" and not decision.tie
    artifact = outcome.repository.artifacts[pos]
    keepers = []
    tie_rules = set()
    for run in outcome.runs:
        if run.evaluator.template.kind == "days":
            if pos in run.selected_positions and evaluate_days(run.evaluator, (artifact,),
                                                               now_ns):
                keepers.append(run.rule.index)
        elif pos in run.kept:
            keepers.append(run.rule.index)
        if pos in run.tie_positions:
            tie_rules.add(run.rule.index)
    tied = bool(tie_rules) and (not keepers or all(k in tie_rules for k in keepers))
    short_name = split_repository(outcome.repository.name)[1]
    if keepers:
        return not tied or checker.check(short_name, artifact.tags).immutable
    return checker.check(short_name, artifact.tags).immutable


def note_referenced_children(
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


def _describe(rule: RuleSpec, evaluator: Evaluator) -> str:
    return f"rule {rule.index} ({evaluator.describe()})"


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
