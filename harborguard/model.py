"""Domain objects for what Harbor holds: projects, repositories, artifacts.

Times are integers: whole Unix seconds, the resolution Harbor's retention works at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harborguard.policy import ImmutableRule, RetentionPolicy


class Artifact(NamedTuple):
    """One artifact (manifest or index) as listed by Harbor's artifact API.

    A NamedTuple rather than a frozen dataclass: it is built 100,000 times per large
    snapshot and a tuple is several times cheaper to make.
    """

    digest: str
    tags: tuple[str, ...]
    type: str
    size: int
    # Retention's candidate times: the max over the artifact and its tags, floored to
    # seconds. pull_s is Go's zero time (GO_ZERO_SECONDS) when never pulled.
    push_s: int
    pull_s: int
    # The artifact's own push time (Harbor's CreationTime), also floored.
    created_s: int
    children: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    # True when the API (with_immutable_status=true) flagged any tag immutable.
    immutable_flag: bool = False


class Blob(NamedTuple):
    """A blob or manifest an artifact references, as its manifest's descriptor gives it
    (``--dedup``; the artifact's own manifest and an index's children included)."""

    digest: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class Repository:
    name: str  # with the project, as Harbor names it: "toolforge/builds-api"
    artifacts: tuple[Artifact, ...]
    additions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Artifact digest -> what it references (a snapshot taken with --dedup); an artifact
    # not in it has no blobs recorded.
    blobs: Mapping[str, tuple[Blob, ...]] = field(default_factory=dict)
    # The repository record's ``artifact_count`` (how many artifacts Harbor lists), when
    # the source gives one: a list of another length is partial (snapshotcounts.count_problem).
    artifact_count: int | None = None

    @property
    def short_name(self) -> str:
        """The name retention matches: without the project (Harbor's ParseRepository)."""
        return split_repository(self.name)[1]


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    id: int | None
    retention: RetentionPolicy | None
    immutable_rules: tuple[ImmutableRule, ...]
    repositories: tuple[Repository, ...]
    raw: Mapping[str, Any] = field(default_factory=dict)
    # False when the snapshot has no "retention" field at all (not even null).
    retention_known: bool = True
    # Why it is not known, when not for want of the field (a null policy the project's
    # metadata.retention_id contradicts).
    retention_gap: str | None = None

    @property
    def repository_count(self) -> int:
        return len(self.repositories)


@dataclass(frozen=True, slots=True)
class Incomplete:
    what: str
    reason: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    harbor: str | None
    harbor_version: str | None
    taken_at: str | None
    projects: tuple[Project, ...]
    incomplete: tuple[Incomplete, ...] = ()


def split_repository(name: str) -> tuple[str, str]:
    """Harbor's utils.ParseRepository: (project, rest); no '/' means no project part."""
    name = name.strip("/")
    if "/" not in name:
        return "", name
    project, _, rest = name.partition("/")
    return project, rest
