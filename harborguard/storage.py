"""Deduplicated storage figures (``--dedup``): what a policy really frees and what keeping
it costs, counting each blob once, as a registry stores it. Pure: a simulation's result
(whose repositories carry each artifact's blobs) and ``now`` in, figures out.

- ``bytes_stored_dedup``: the distinct blobs of every artifact read;
- ``bytes_kept_dedup``: the distinct blobs of the artifacts kept (retain or immutable);
- ``bytes_freed_dedup``: the distinct blobs deleted artifacts reference and no kept artifact
  of any project read does (blobs shared with projects not read may still survive GC);
- ``growth_bytes_per_30d``: over the 90 days before ``now``, the new distinct bytes that kept
  artifacts added (blobs no kept artifact pushed before them holds), per 30 days.

Each figure is computed for the whole run, per project and per repository; a repository's
``bytes_freed_dedup`` needs every project's kept blobs, hence two passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace

from harborguard.model import Blob, Incomplete
from harborguard.retention.outcomes import RepositoryOutcome
from harborguard.simulate import RunResult

DAY_NS = 86_400 * 1_000_000_000
GROWTH_WINDOW_DAYS = 90
KEPT = ("retain", "immutable")
SHARED_NOTE = (
    "bytes_freed_dedup counts the blobs that no kept artifact of the projects read "
    "references; a blob also used by a project not read survives garbage collection, so "
    "the space freed can be less"
)
FIGURES = ("bytes_stored_dedup", "bytes_kept_dedup", "bytes_freed_dedup",
           "growth_bytes_per_30d")


@dataclass(frozen=True, slots=True)
class Figures:
    stored: int = 0
    kept: int = 0
    freed: int = 0
    growth_per_30d: int = 0
    # Some artifact of this scope has no blobs: its figures are unknown (null, never a
    # figure that looks measured); freed is unknown everywhere once any artifact read is.
    partial: bool = False
    freed_partial: bool = False

    def as_report(self) -> dict[str, int | None]:
        if self.partial:
            return dict.fromkeys(FIGURES)
        return dict(zip(FIGURES, (self.stored, self.kept,
                                  None if self.freed_partial else self.freed,
                                  self.growth_per_30d), strict=True))


@dataclass(frozen=True, slots=True)
class StorageFigures:
    """The run's figures, each project's (by name) and each repository's (by project and
    repository name), and the artifacts whose blobs are unknown."""

    summary: Figures
    projects: dict[str, Figures] = field(default_factory=dict)
    repositories: dict[tuple[str, str], Figures] = field(default_factory=dict)
    missing: tuple[Incomplete, ...] = ()


# One artifact as the figures see it: its own push time, whether it is kept or deleted,
# and its blobs.
_Item = tuple[int, bool, tuple[Blob, ...]]


def storage_figures(run: RunResult, *, known_missing: Collection[str] = ()) -> StorageFigures:
    """The figures of ``run``. ``known_missing``: the ``what`` of incomplete items already
    reported (``repo@digest``): their artifacts are not named again."""
    since_s = (run.now_ns - GROWTH_WINDOW_DAYS * DAY_NS) // 1_000_000_000
    now_s = run.now_ns // 1_000_000_000
    # Pass 1: every kept blob of every project read.
    kept_everywhere: set[str] = set()
    missing: list[Incomplete] = []
    per_repository: list[tuple[str, str, list[_Item]]] = []
    partial: set[tuple[str, str]] = set()
    for outcome in run.projects:
        for repo in outcome.repositories:
            items, absent = _items(repo, known_missing)
            if len(items) < len(repo.repository.artifacts):
                partial.add((outcome.project.name, repo.repository.name))
            if absent:
                missing.append(Incomplete(
                    repo.repository.name,
                    f"deduplicated storage: {absent} artifacts without blobs (their manifests "
                    "were not read; a snapshot needs `harborguard snapshot --dedup`)"))
            for _, kept, blobs in items:
                if kept:
                    kept_everywhere.update(b.digest for b in blobs)
            per_repository.append((outcome.project.name, repo.repository.name, items))
    # Pass 2: each scope's figures.
    repositories: dict[tuple[str, str], Figures] = {}
    by_project: dict[str, list[_Item]] = {}
    unknown = bool(partial)

    def figures(items: list[_Item], is_partial: bool) -> Figures:
        found = _figures(items, kept_everywhere, since_s, now_s)
        return replace(found, partial=is_partial, freed_partial=unknown)

    for project, name, items in per_repository:
        repositories[(project, name)] = figures(items, (project, name) in partial)
        by_project.setdefault(project, []).extend(items)
    projects = {name: figures(items, any(p == name for p, _ in partial))
                for name, items in by_project.items()}
    everything = [item for items in by_project.values() for item in items]
    return StorageFigures(figures(everything, unknown), projects, repositories,
                          tuple(missing))


def _items(repo: RepositoryOutcome, known_missing: Collection[str]) -> tuple[list[_Item], int]:
    blobs_of = repo.repository.blobs
    items: list[_Item] = []
    absent = 0
    for artifact, decision in zip(repo.repository.artifacts, repo.decisions, strict=True):
        blobs = blobs_of.get(artifact.digest)
        if blobs is None:
            if f"{repo.repository.name}@{artifact.digest}" not in known_missing:
                absent += 1
            continue
        items.append((artifact.created_s, decision.action in KEPT, blobs))
    return items, absent


def _distinct(blobs: Iterable[Blob], into: dict[str, int]) -> None:
    for blob in blobs:
        into.setdefault(blob.digest, blob.size)


def _figures(items: list[_Item], kept_everywhere: set[str], since_s: int,
             now_s: int) -> Figures:
    stored: dict[str, int] = {}
    kept: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for _, is_kept, blobs in items:
        _distinct(blobs, stored)
        _distinct(blobs, kept if is_kept else deleted)
    freed = sum(size for digest, size in deleted.items() if digest not in kept_everywhere)
    return Figures(sum(stored.values()), sum(kept.values()), freed,
                   _growth(items, since_s, now_s))


def _growth(items: list[_Item], since_s: int, now_s: int) -> int:
    """New distinct bytes kept artifacts pushed in (since, now] added, per 30 days."""
    seen: set[str] = set()
    added = 0
    for pushed, blobs in _kept_by_push(items):
        for blob in blobs:
            if blob.digest in seen:
                continue
            seen.add(blob.digest)
            if since_s < pushed <= now_s:
                added += blob.size
    return added * 30 // GROWTH_WINDOW_DAYS


def _kept_by_push(items: list[_Item]) -> Iterator[tuple[int, tuple[Blob, ...]]]:
    # Stable: artifacts pushed in the same second keep the API's order.
    kept = [(pushed, blobs) for pushed, is_kept, blobs in items if is_kept]
    kept.sort(key=lambda item: item[0])
    return iter(kept)
