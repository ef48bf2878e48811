"""A repository decided when the Harbor version is unknown (docs/RETENTION.md 10, 12).

Released Harbors decide some repositories differently from each other and from the main
branch (doublestar 1.1.1 or 1.3.4, the Go sort that orders ties, the nested-repository
immutability match, untagged immutability before v2.5). Without a version the report
shows the main branch's decisions (docs/DESIGN.md: missing means the newest behaviour),
but none of the releases may be assumed safe: the repository is also decided under every
other distinct behaviour (harborversion.candidates), and where they agree the decision is
exact. Where an artifact's action differs, which artifacts depend on the version is said
(the caller makes a needed one incomplete). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from harborguard.harborversion import Behaviour
from harborguard.retention.outcomes import Action, RepositoryOutcome

# The repository's outcome under one behaviour (the engine over its project's plan for it).
Decide = Callable[[Behaviour], RepositoryOutcome]


class Across(NamedTuple):
    outcome: RepositoryOutcome  # what is shown: the primary's (main for an unknown version)
    differing: tuple[int, ...]  # indexes of the artifacts whose action depends on the version
    # For each of those: (behaviour label, action) under every behaviour compared.
    actions: Mapping[int, tuple[tuple[str, Action], ...]]


def decide_across(primary: Behaviour, candidates: Sequence[Behaviour], decide: Decide
                  ) -> Across:
    """The repository under ``primary`` and, when its version is unknown, under every
    ``candidates`` behaviour (the newest release first). No candidates: the primary's
    outcome alone, at no other cost."""
    outcome = decide(primary)
    if not candidates:
        return Across(outcome, (), {})
    # An unknown version is decided as main (its label is what the snapshot said: "dev").
    label = "main" if primary.unknown else primary.label
    outcomes = [(label, outcome), *((b.label, decide(b)) for b in candidates)]
    differing = []
    actions: dict[int, tuple[tuple[str, Action], ...]] = {}
    for index, decisions in enumerate(zip(*(o.decisions for _, o in outcomes), strict=True)):
        if len({decision.action for decision in decisions}) > 1:
            differing.append(index)
            actions[index] = tuple((label, decision.action)
                                   for (label, _), decision in zip(outcomes, decisions,
                                                                   strict=True))
    if not differing:
        return Across(outcome, (), {})
    return Across(outcome, tuple(differing), actions)


def depends_reason(actions: Sequence[tuple[str, Action]]) -> str:
    """Why a needed artifact's fate is unknown: which behaviours do what to it."""
    by_action: dict[str, list[str]] = {}
    for label, action in actions:
        by_action.setdefault(action, []).append(label)
    said = "; ".join(f"{action} by {', '.join(labels)}" for action, labels in by_action.items())
    return (f"its fate depends on the Harbor version ({said}): pass --harbor-version "
            "(systeminfo reports it to a logged-in user)")
