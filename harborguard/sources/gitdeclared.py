"""The rollback window over everything the manifests declare, not only ``chartVersion``.

At each first-parent commit that changed the manifests tree, the tree is read exactly as
the working tree is (read_tree: helmfile literals, image values, plain Kubernetes objects,
GitOps objects), from git (one ``ls-tree -r`` and ``cat-file --batch`` reads per commit).
Per component (or per file, for objects outside components/), each distinct declared set
before HEAD's counts as one earlier version, up to ``depth``; what those versions declared
and HEAD does not is ``rollback`` evidence, cited as ``commit:path:line`` (the oldest
commit of the run that declared it, as for chart versions).

When the working tree differs from HEAD (uncommitted changes: ``worktree``), the working
tree is what is declared, and HEAD's committed set of a component that the working tree
changes counts as a rollback target besides the ``depth`` sets before it: it is what runs
until the change is committed and deployed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from harborguard.evidence import Usage
from harborguard.sources.fstree import selected_files
from harborguard.sources.gitcli import Git
from harborguard.sources.helmfile import HELMFILE_NAMES
from harborguard.sources.helmlayers import glob_in
from harborguard.sources.helmvalues import Unresolved
from harborguard.sources.manifests import (
    ChartValues,
    ManifestEvidence,
    read_manifests,
    read_tree,
)

_Item = tuple[str, bool, str | None]  # (reference, chart, digest)


class CommitTree:
    """The manifests tree at one commit, as helmfile.TreeReader (one listing per commit)."""

    def __init__(self, repo: Git, commit: str) -> None:
        self.repo = repo
        self.commit = commit

    def read(self, path: str) -> str | None:
        return self.repo.cat(self.commit, path)

    def glob(self, pattern: str) -> list[str]:
        return glob_in(self.repo.files(self.commit, ""), pattern)


def tree_yaml_files(paths: list[str]) -> list[str]:
    """The files read_manifests would read, from a commit's listing (fstree.yaml_files)."""
    return selected_files(paths)


@dataclass(slots=True)
class _Version:
    items: frozenset[_Item]
    commit: str  # short hash
    usages: list[Usage]
    hidden: list[Unresolved] = field(default_factory=list)


@dataclass(slots=True)
class _Track:
    previous: frozenset[_Item]
    seen: set[frozenset[_Item]]
    limit: int  # how many sets to count: depth, and HEAD's when the working tree changed it
    counted: list[_Version] = field(default_factory=list)
    done: bool = False


@dataclass(frozen=True, slots=True)
class _Declared:
    usages: tuple[Usage, ...]
    unresolved: tuple[Unresolved, ...]


def _unit(path: str) -> str:
    """``components/<name>``: the folder a component's evidence comes from; "" otherwise."""
    parts = path.split("/")
    if "components" in parts[:-2]:
        index = parts.index("components")
        return "/".join(parts[: index + 2])
    return ""


def _is_helmfile(path: str) -> bool:
    return posixpath.basename(path) in HELMFILE_NAMES or "/helmfile.d/" in f"/{path}"


def _groups(evidence: _Declared) -> dict[str, list[Usage]]:
    groups: dict[str, list[Usage]] = {}
    for usage in evidence.usages:
        key = usage.component or usage.where.rsplit(":", 1)[0]
        groups.setdefault(key, []).append(usage)
    return groups


def _hidden(evidence: _Declared) -> dict[str, list[Unresolved]]:
    groups: dict[str, list[Unresolved]] = {}
    for item in evidence.unresolved:
        groups.setdefault(item.component or item.where.rsplit(":", 1)[0], []).append(item)
    return groups


def _items(usages: list[Usage], hidden: list[Unresolved]) -> frozenset[_Item]:
    """What a component declares: references, and what hides one (a template)."""
    return frozenset(
        [(u.ref, u.chart, u.digest) for u in usages]
        + [(f"unresolved: {u.text}", False, u.reason) for u in hidden]
    )


def declared_rollbacks(
    repo: Git,
    environment: str,
    depth: int,
    fallback_name: str,
    *,
    shallow: bool,
    oldest: str | None,
    chart_values: ChartValues | None,
    image_tag_template: str | None,
    worktree: str | None = None,
) -> tuple[list[Usage], list[Unresolved], list[str], int, int]:
    """Rollback usages of the ``depth`` earlier declared sets of each component.

    ``worktree``: the manifests root on disk, given when it differs from HEAD; then what
    it declares is the current set, and HEAD's differing sets count too (not in the count
    of versions returned, which is of those before HEAD). Returns them, what those versions
    declared that cannot be resolved (and the current tree does not declare the same way),
    the components a shallow clone cut short (fewer than ``depth`` versions, yet present at
    its oldest commit), the number of commits read, and the most earlier versions found for
    one component.
    """

    cache: dict[tuple[str, str | None, tuple[tuple[str, str | None], ...]], _Declared] = {}

    def scan(commit: str, files: list[str]) -> _Declared:
        found: ManifestEvidence = read_tree(
            CommitTree(repo, commit), files, commit, environment, fallback_name,
            chart_values=chart_values, image_tag_template=image_tag_template)
        return _Declared(found.usages, found.unresolved)

    def read(commit: str) -> _Declared:
        """The tree's evidence; a component folder unchanged since a commit read is not
        read again (its folder's object id, and the YAML outside components/, are equal)."""
        objects = repo.objects(commit)
        files = tree_yaml_files(repo.files(commit, ""))
        units: dict[str, list[str]] = {}
        for path in files:
            units.setdefault(_unit(path), []).append(path)
        rest = units.get("", [])
        if any(_is_helmfile(path) for path in rest):
            return scan(commit, files)  # a helmfile outside components/ may claim any file
        shared = tuple((path, objects.get(path)) for path in rest)
        usages: list[Usage] = []
        unresolved: list[Unresolved] = []
        for unit, unit_files in units.items():
            key = (unit, objects.get(unit) if unit else None, shared)
            if key not in cache:
                cache[key] = scan(commit, unit_files)
            usages.extend(cache[key].usages)
            unresolved.extend(cache[key].unresolved)
        return _Declared(tuple(usages), tuple(unresolved))

    head_evidence = read("HEAD")
    head_keys = set(_groups(head_evidence)) | set(_hidden(head_evidence))
    current_evidence = head_evidence
    if worktree is not None:
        found_now = read_manifests(worktree, environment, chart_values=chart_values,
                                   image_tag_template=image_tag_template)
        current_evidence = _Declared(found_now.usages, found_now.unresolved)
    current = _groups(current_evidence)
    current_unknown = _hidden(current_evidence)
    current_hidden = {(u.text, u.reason) for u in current_evidence.unresolved}
    current_refs = {u.ref for usages in current.values() for u in usages}
    tracks: dict[str, _Track] = {}
    base_keys = set(current) | set(current_unknown)
    for key in base_keys:
        items = _items(current.get(key, []), current_unknown.get(key, []))
        tracks[key] = _Track(items, {items}, depth)
    if worktree is not None:
        # HEAD's set of what the working tree changes (or deleted) is counted besides.
        head, head_unknown = _groups(head_evidence), _hidden(head_evidence)
        for key in head_keys:
            committed = _items(head.get(key, []), head_unknown.get(key, []))
            track = tracks.setdefault(key, _Track(frozenset(), {frozenset()}, depth))
            if committed and committed != track.previous:
                track.limit = depth + 1
        base_keys |= head_keys
    head_commit = repo.run("rev-parse", "HEAD").strip()
    target = repo.prefix.rstrip("/") or "."
    log = repo.run("log", "--first-parent", "--format=%H%x09%h", "HEAD", "--", target)
    walked = 0
    # A clone of depth 1: HEAD is its oldest commit, and everything in it was there.
    at_oldest: set[str] = set(head_keys) if shallow and oldest == head_commit else set()
    for line in log.splitlines():
        if line.count("\t") != 1:
            continue
        full, short = line.split("\t")
        if full == head_commit and worktree is None:
            continue
        if base_keys and all(tracks[k].done for k in base_keys):
            break
        walked += 1
        evidence = read(full)
        groups = _groups(evidence)
        hidden = _hidden(evidence)
        if shallow and full == oldest:
            at_oldest = set(groups) | set(hidden)
        for key in set(groups) | set(hidden) | set(tracks):
            usages = groups.get(key, [])
            items = _items(usages, hidden.get(key, []))
            track = tracks.setdefault(key, _Track(frozenset(), {frozenset()}, depth))
            if items == track.previous:
                last = track.counted[-1] if track.counted else None
                if last is not None and last.items == items and not (shallow and full == oldest):
                    # Cite the commit that set it.
                    last.commit, last.usages, last.hidden = short, usages, hidden.get(key, [])
                continue
            track.previous = items
            if len(track.counted) >= track.limit:
                track.done = True
                continue
            if not items or items in track.seen:
                continue
            track.seen.add(items)
            track.counted.append(_Version(items, short, usages, hidden.get(key, [])))
    found: list[Usage] = []
    unknown: list[Unresolved] = []
    for track in tracks.values():
        for version in track.counted:
            unknown.extend(
                Unresolved(f"{version.commit}:{u.where}", u.text, u.reason, u.component)
                for u in version.hidden
                if (u.text, u.reason) not in current_hidden
            )
            found.extend(
                Usage("git-history", "rollback", u.ref, f"{version.commit}:{u.where}",
                      digest=u.digest, component=u.component, environment=u.environment,
                      chart=u.chart)
                for u in version.usages
                if u.ref not in current_refs
            )
    cut = sorted(k for k in base_keys
                 if k in at_oldest and len(tracks[k].counted) < tracks[k].limit)
    # Versions back from HEAD: HEAD's own set (counted for a changed working tree) is not one.
    reached = max((len(t.counted) - (t.limit - depth) for t in tracks.values()), default=0)
    reached = max(reached, 0)
    return found, unknown, cut, walked, reached
