"""What check and diff add to a repository's step: the evidence of use matched to its
artifacts (harborguard.evidence_index), what day-counting rules delete a day and a week
later (harborguard.expiry), and, for diff, the action the other policy gives each artifact.
Pure: no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any, NamedTuple

from harborguard.check import ArtifactKey
from harborguard.evidence import Usage
from harborguard.evidence_index import EvidenceIndex, Found, match_repository
from harborguard.expiry import DAY_TEMPLATES, NEXT_RUN_NS, WEEK_NS
from harborguard.expiry import _finding as expiry_finding
from harborguard.model import Artifact, Incomplete, Repository
from harborguard.pipeline.step import (
    ProjectPlan,
    Settings,
    Step,
    decide,
    decide_versions,
    report_rows,
)
from harborguard.retention.acrossversions import depends_reason
from harborguard.retention.decisions import kept_outright_at
from harborguard.retention.engine import RepositoryOutcome

_DIGEST = itemgetter(Artifact._fields.index("digest"))


class Extras(NamedTuple):
    """What every part of a check or diff adds to its repositories."""

    evidence: EvidenceIndex | None
    # Repository name -> (project, repository) numbers of the one the evidence names (of
    # two repositories with one name, the last).
    owners: Mapping[str, tuple[int, int]]
    previous: tuple[Settings, Sequence[ProjectPlan]] | None  # diff: the policy compared


@dataclass
class Checked:
    """A part's share of what the extras found, in its repositories' order."""

    findings: list[Found] = field(default_factory=list)  # evidence_index.merge orders them
    expiring: list[Found] = field(default_factory=list)
    matched: int = 0
    harbor_named: int = 0
    foreign: Counter[str] = field(default_factory=Counter)
    changed: int = 0  # diff: artifacts whose action the other policy changes
    # The artifacts the evidence names and the usages that name them (where a finding
    # is in the deployment repository: commands/locations.py).
    in_use: dict[ArtifactKey, list[Usage]] = field(default_factory=dict)
    # Needed artifacts whose fate depends on the unknown Harbor version (incomplete).
    version_needed: list[Incomplete] = field(default_factory=list)

    def add(self, other: Checked) -> None:
        self.in_use.update(other.in_use)
        self.version_needed.extend(other.version_needed)
        self.findings.extend(other.findings)
        self.expiring.extend(other.expiring)
        self.matched += other.matched
        self.harbor_named += other.harbor_named
        self.foreign.update(other.foreign)
        self.changed += other.changed


def run_checked(plan: ProjectPlan, where: tuple[int, int], repo: Repository,
                settings: Settings, extras: Extras, checked: Checked
                ) -> tuple[Step, RepositoryOutcome | None]:
    """Repository ``where`` (project, repository numbers) through the step and the
    extras; what they find is added to ``checked``. Returns the step and, for diff, the
    repository's outcome under the other policy."""
    index = where[1]
    across = decide_versions(plan, index, repo, settings)
    outcome = across.outcome
    usage_of = None
    evidence = extras.evidence
    if evidence is not None and evidence.wanted(repo.name) and \
            extras.owners.get(repo.name) == where:
        match = match_repository(evidence, outcome)
        checked.findings.extend(match.findings)
        checked.matched += match.matched
        checked.harbor_named += match.harbor_named
        checked.foreign.update(match.foreign)
        usage_of = match.in_use
        checked.in_use.update(match.in_use)
        for at in across.differing:
            artifact = repo.artifacts[at]
            if (plan.name, repo.name, artifact.digest) in match.in_use:
                named = ", ".join(artifact.tags) or artifact.digest
                checked.version_needed.append(Incomplete(
                    f"{repo.name}:{named}", depends_reason(across.actions[at])))
        if match.in_use and _has_day_rules(plan):
            checked.expiring.extend(_expiring(plan, repo, settings, outcome, match.in_use,
                                              match.first))
    step = report_rows(plan, outcome, settings, usage_of)._replace(
        differing=len(across.differing))
    before = None
    if extras.previous is not None:
        before_settings, before_plans = extras.previous
        before = decide(before_plans[where[0]], index, repo, before_settings)
        checked.changed += _previous_actions(step.artifacts, before)
    return step, before


def _has_day_rules(plan: ProjectPlan) -> bool:
    policy = plan.policy
    return policy is not None and any(
        rule.template in DAY_TEMPLATES and not rule.disabled for rule in policy.rules)


def _expiring(plan: ProjectPlan, repo: Repository, settings: Settings,
              outcome: RepositoryOutcome, in_use: Mapping[tuple[str, str, str], Any],
              first: Mapping[tuple[str, str, str], tuple[int, int]]) -> list[Found]:
    """In use and kept today (retained with no tie, or immutable), deleted by a run within
    a day or a week (expiry.py)."""
    checker = plan.checker
    if checker is None:
        return []
    here = [key for key in in_use if key[0] == plan.name and key[1] == repo.name]
    if not here:
        return []
    digests = list(map(_DIGEST, repo.artifacts))
    wanted = {key[2] for key in here}
    # The positions of the artifacts in use, in one pass over the repository (not one per
    # usage); of two artifacts with one digest, the last (as the report's evidence has it).
    position = {digests[pos]: pos
                for pos in compress(range(len(digests)), map(wanted.__contains__, digests))}
    out: list[Found] = []
    for key in here:
        found = in_use[key]
        pos = position.get(key[2])
        if pos is None:
            continue
        decision = outcome.decisions[pos]
        if decision.action == "delete" or decision.tie:
            continue
        gone_in_a_day = not kept_outright_at(outcome, pos, settings.now_ns + NEXT_RUN_NS,
                                             checker)
        if gone_in_a_day or not kept_outright_at(outcome, pos, settings.now_ns + WEEK_NS,
                                                 checker):
            out.append(((1, *first[key]), expiry_finding(
                key, tuple(repo.artifacts[pos].tags), found, gone_in_a_day), None))
    return out


def _previous_actions(rows: list[dict[str, Any]], before: RepositoryOutcome) -> int:
    """diff: every artifact row gets the action the other policy gives it; how many
    changed."""
    actions = {artifact.digest: decision.action
               for artifact, decision in zip(before.repository.artifacts, before.decisions,
                                             strict=True)}
    changed = 0
    for row in rows:
        row["previous_action"] = actions.get(row["digest"], row["action"])
        changed += row["previous_action"] != row["action"]
    return changed
