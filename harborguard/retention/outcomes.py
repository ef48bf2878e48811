"""What the retention engine returns, and what it ranks: ``Candidate`` (Harbor's
selector.Candidate), one ``Decision`` per artifact, a ``RuleRun`` per rule and repository,
``RepositoryOutcome`` and ``ProjectOutcome``; ``Ranker`` is the what-if order of count rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Literal, NamedTuple

from harborguard.model import Artifact, Project, Repository
from harborguard.policy import RetentionPolicy, RuleSpec
from harborguard.retention.templates import Evaluator

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


def keep_all(repo: Repository, status: Status, reason: str, **extra: object) -> RepositoryOutcome:
    """Every artifact of ``repo`` retained, for ``reason``."""
    decision = Decision("retain", reason)
    return RepositoryOutcome(
        repository=repo,
        status=status,
        decisions=tuple(decision for _ in repo.artifacts),
        **extra,  # type: ignore[arg-type]
    )
