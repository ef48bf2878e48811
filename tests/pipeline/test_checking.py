"""pipeline.checking: what check and diff add to a repository's step."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harborguard.model import Artifact, Repository
from harborguard.pipeline import checking


class _Digest(str):
    """A digest that counts the comparisons made with it."""

    compared = 0
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        _Digest.compared += 1
        return str.__eq__(self, other)


def test_the_days_to_come_look_up_a_repositorys_artifacts_once_not_once_per_usage() -> None:
    """_expiring finds the artifacts in use among a repository's in one pass: scanning
    the repository for each artifact in use costs artifacts x usages comparisons (2,000
    in use among 100,000 artifacts: seconds per repository)."""
    artifacts = tuple(Artifact(_Digest(f"sha256:{i:064x}"), (f"t{i}",), "IMAGE", 1, 0, 0, 0)
                      for i in range(2000))
    repo = Repository("p/r", artifacts)
    in_use: dict[tuple[str, str, str], Any] = {
        ("p", "p/r", f"sha256:{i:064x}"): [] for i in range(5000, 5200)}  # none of them here
    plan: Any = SimpleNamespace(checker=object(), name="p")
    _Digest.compared = 0
    assert checking._expiring(plan, repo, None, None, in_use, {}) == []  # type: ignore[arg-type]
    assert _Digest.compared <= len(artifacts) + len(in_use)
