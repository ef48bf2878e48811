"""A repository's artifact list against its count and against itself (attack notes 4;
attack2 N1: a repeated digest with the length still agreeing)."""

from __future__ import annotations

from harborguard.model import Artifact, Repository
from harborguard.snapshotcounts import repeated_name_problem, repository_count_problem
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


def test_a_name_listed_once_has_no_problem() -> None:
    assert repeated_name_problem("repositories", ["proj/a", "proj/b"], "project proj") is None
    assert repeated_name_problem("projects", [], "the snapshot") is None


def test_a_repeated_name_is_named_as_a_list_read_while_it_changed() -> None:
    # attack3 R4: Harbor lists a repository (a project) once; a repeat is a curl-paged list
    # whose pages shifted while it was read, so another entry may be missed.
    found = repeated_name_problem("repositories", ["proj/a", "proj/b", "proj/a"],
                                  "project proj")
    assert found is not None and found.what == "proj/a"
    assert found.reason.startswith("repositories: project proj lists proj/a twice")
    assert "read while it changed" in found.reason and "take the snapshot again" in found.reason
    found = repeated_name_problem("projects", ["p", "q", "q"], "the snapshot")
    assert found is not None and found.what == "q"
    assert found.reason.startswith("projects: the snapshot lists q twice")
