"""The ``harborguard.snapshot/v1`` document a fetch returns, assembled from what it read: raw
API payloads in API order (by the position each project and repository had in its list,
whatever order the answers came in), and the ``incomplete`` entries in the same order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harborguard.snapshot import SNAPSHOT_SCHEMA


@dataclass(slots=True)
class FetchedRepository:
    """A repository as the fetch fills it in: its artifacts, or that they failed, and the
    chart additions still awaited."""

    position: int
    name: str
    payload: Mapping[str, Any]
    artifacts: list[Any] | None = None
    failed: bool = False
    additions: dict[str, dict[str, str]] = field(default_factory=dict)
    waiting: int = 0


@dataclass(slots=True)
class FetchedProject:
    """A project as the fetch fills it in."""

    position: int
    name: str
    payload: Mapping[str, Any]
    retention: Any = None
    immutable_rules: list[Any] = field(default_factory=list)
    repositories: list[FetchedRepository] = field(default_factory=list)


def snapshot_document(
    harbor: str,
    version: str | None,
    taken_at: str,
    projects: Iterable[FetchedProject],
    incomplete: Iterable[tuple[tuple[int, ...], str, str]],
) -> dict[str, Any]:
    """The snapshot of ``projects``; ``incomplete`` holds (order, what, reason) entries,
    where order is the position of what they name."""
    documents = []
    for project in sorted(projects, key=lambda p: p.position):
        repositories = []
        for repository in sorted(project.repositories, key=lambda r: r.position):
            if repository.failed or repository.artifacts is None:
                continue
            entry: dict[str, Any] = {
                "repository": repository.payload,
                "artifacts": repository.artifacts,
            }
            if repository.additions:
                # In artifact order, whatever order the answers came in.
                entry["additions"] = {
                    a["digest"]: repository.additions[a["digest"]]
                    for a in repository.artifacts
                    if a.get("digest") in repository.additions
                }
            repositories.append(entry)
        documents.append({
            "project": project.payload,
            "retention": project.retention,
            "immutable_rules": project.immutable_rules,
            "repositories": repositories,
        })
    entries = [
        {"what": what, "reason": reason}
        for _, what, reason in sorted(incomplete, key=lambda item: item[0])
    ]
    return {
        "schema": SNAPSHOT_SCHEMA,
        "harbor": harbor,
        "harbor_version": version,
        "taken_at": taken_at,
        "incomplete": entries,
        "projects": documents,
    }
