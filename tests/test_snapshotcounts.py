"""A repository's artifact list against its count and against itself (attack notes 4;
attack2 N1: a repeated digest with the length still agreeing)."""

from __future__ import annotations

from harborguard.model import Artifact, Repository
from harborguard.snapshotcounts import repository_count_problem
from tests.builders import dig


def _repo(names: list[str], count: int | None) -> Repository:
    return Repository("proj/app", tuple(Artifact(dig(n), (n,), "IMAGE", 1, 0, 0, 0)
                                        for n in names), artifact_count=count)


def test_a_whole_list_has_no_problem() -> None:
    assert repository_count_problem(_repo(["a", "b", "c"], 3)) is None
    assert repository_count_problem(_repo(["a", "b", "c"], None)) is None


def test_a_short_list_is_partial() -> None:
    found = repository_count_problem(_repo(["a", "b"], 3))
    assert found is not None and found.what == "proj/app"
    assert found.reason.startswith("artifacts: 2 items for artifact_count 3")


def test_a_repeated_digest_is_named_whatever_the_count() -> None:
    for count in (4, None):
        found = repository_count_problem(_repo(["a", "b", "c", "c"], count))
        assert found is not None and found.what == "proj/app"
        assert f"repeats {dig('c')}" in found.reason and "read while it changed" in found.reason
