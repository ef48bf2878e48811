"""A snapshot's lists against the counts Harbor gives beside them, and against
themselves: a list that disagrees was read partly, or while it changed (incomplete)."""

from __future__ import annotations

from collections.abc import Iterable

from harborguard.model import Incomplete, Repository


def count_problem(what: str, noun: str, listed: int, key: str, count: int | None
                  ) -> Incomplete | None:
    """A snapshot list whose length disagrees with the count Harbor gives beside it is
    partial (a list fetched without paging: Harbor's page size is 10): the run is
    incomplete, as when a live read finds the same (sources/harbor/paging.py)."""
    if count is None or count == listed:
        return None
    return Incomplete(what, f"{noun}: {listed} items for {key} {count}: the snapshot's list "
                      "is partial (never a partial list taken for a whole one); take the "
                      "snapshot again with `harborguard snapshot`, which reads every page")


def repository_count_problem(repo: Repository) -> Incomplete | None:
    """``repo``'s artifact list against its ``artifact_count``, and against itself (Harbor
    lists a digest once: a repeat is a list paged while a push shifted it)."""
    seen: set[str] = set()
    for artifact in repo.artifacts:
        if artifact.digest in seen:
            return Incomplete(repo.name, f"artifacts: the list repeats {artifact.digest} "
                              "(Harbor lists a digest once per repository): the list was "
                              "read while it changed, a page shifted and the newest may be "
                              "missed; take the snapshot again with `harborguard snapshot`")
        seen.add(artifact.digest)
    return count_problem(repo.name, "artifacts", len(repo.artifacts), "artifact_count",
                         repo.artifact_count)


def repeated_name_problem(noun: str, names: Iterable[str], lister: str) -> Incomplete | None:
    """The first name ``names`` repeats: Harbor lists a repository once per project and a
    project once, so a repeat is a list paged while a create or delete shifted it (attack3
    R4), and another entry may be missed (incomplete, named by the repeated name)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return Incomplete(name, f"{noun}: {lister} lists {name} twice (Harbor lists each "
                              "once): the list was read while it changed, a page shifted and "
                              "another may be missed; take the snapshot again with "
                              "`harborguard snapshot`")
        seen.add(name)
    return None
