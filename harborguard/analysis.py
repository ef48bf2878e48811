"""Findings about the simulated outcome itself: ties at a count rule's cut, and (with
version order) policies that keep old versions while deleting newer ones. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from harborguard.findings import Finding, Related
from harborguard.model import Artifact
from harborguard.retention.engine import ProjectOutcome, RepositoryOutcome
from harborguard.timeutil import format_seconds


def _label(artifact: Artifact) -> str:
    return ", ".join(artifact.tags) if artifact.tags else f"untagged {artifact.digest[:19]}"


def time_tie_findings(outcomes: Iterable[ProjectOutcome]) -> list[Finding]:
    """``time-tie``: one per artifact whose fate rests on the order of equal timestamps."""
    found: list[Finding] = []
    for project in outcomes:
        for repo in project.repositories:
            found.extend(_repository_ties(project.project.name, repo))
    return found


def _repository_ties(project: str, repo: RepositoryOutcome) -> list[Finding]:
    found: list[Finding] = []
    artifacts = repo.repository.artifacts
    for run in repo.runs:
        if not run.tie_positions or run.tie_key is None:
            continue
        template = run.evaluator.template
        when = "never pulled" if run.tie_key <= 0 else format_seconds(run.tie_key)
        tied = sorted(run.tie_positions, key=lambda pos: run.rank_of.get(pos, 0))
        for pos in tied:
            decision = repo.decisions[pos]
            if not decision.tie:
                continue
            artifact = artifacts[pos]
            fate = "keeps" if decision.action != "delete" else "deletes"
            others = [artifacts[p] for p in tied if p != pos]
            found.append(
                Finding(
                    code="time-tie",
                    project=project,
                    repository=repo.repository.name,
                    digest=artifact.digest,
                    tags=artifact.tags,
                    rule=run.rule.index,
                    related=tuple(Related(a.digest, a.tags) for a in others),
                    message=(
                        f"rule {run.rule.index} ({run.evaluator.describe()}) cuts through "
                        f"{len(tied)} artifacts with the same {template.key_name} ({when}); "
                        f"Harbor {fate} {_label(artifact)} only because of API order and Go's "
                        f"sort, not anything a person chose (tied with "
                        f"{', '.join(_label(a) for a in others[:5])}"
                        f"{', ...' if len(others) > 5 else ''})"
                    ),
                )
            )
    return found
