"""The evidence of use, indexed by the repository it names: what `check` needs from each
repository as the run's stream reaches it (harborguard.pipeline).

``EvidenceIndex`` reads every usage once, before any repository is evaluated: what can be
said without a repository's artifacts is said there (an unparseable reference, another
registry, a project not fetched, a repository that does not exist); every other usage
waits for its repository. ``match_repository`` then takes one evaluated repository and
its usages: the artifacts they name (``in_use``), the problems they meet, the verdicts on
what the policy deletes. ``merge`` puts the findings of all repositories (of all parts of
a run) in the order a run over the whole snapshot gives them: problems in the order of
the usages, then verdicts in the order their artifacts were first named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from harborguard.check import (
    ArtifactKey,
    PulledByTag,
    _finding,
    _foreign,
    _judge,
    _locate,
    _RepoIndex,
    registry_names,
)
from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.imageref import ImageRef, parse_image_ref
from harborguard.retention.engine import RepositoryOutcome

# A finding's place in the whole run's order: (0, usage, 0) a usage's problem, (1, usage,
# k) the verdict on the k-th artifact that usage named first.
Place = tuple[int, int, int]
# A finding, its place, and for a reference to a project not fetched (said once for each
# project and reference), that pair.
Found = tuple[Place, Finding, tuple[str, str] | None]


class Waiting(NamedTuple):
    """A usage that waits for its repository's artifacts."""

    number: int  # its place among all usages
    usage: Usage
    ref: ImageRef
    foreign: bool  # named under another registry host: ours only if a digest matches


class RepositoryMatch(NamedTuple):
    """What one repository's usages found."""

    in_use: dict[ArtifactKey, list[Usage]]  # in the order they were first named
    first: dict[ArtifactKey, tuple[int, int]]  # (usage, k) that first named each
    findings: list[Found]
    matched: int
    harbor_named: int
    foreign: Counter[str]


class EvidenceIndex:
    """Every usage, read once: said at once, or waiting for the repository it names."""

    def __init__(self, usages: Iterable[Usage], hosts: Sequence[str],
                 repositories: Iterable[str], projects: Iterable[str],
                 unread: Iterable[str]) -> None:
        self.registries = registry_names(hosts)
        self.projects = set(projects)
        names = set(repositories)
        unread = set(unread)
        unread_projects = {name for name in unread if "/" not in name}
        self.waiting: dict[str, list[Waiting]] = {}
        self.findings: list[Found] = []
        self.matched = self.ignored = self.harbor_named = 0
        # Usages naming this Harbor's host or one of its repositories (any host, any source).
        self.here = 0
        self.usages = 0
        refs: dict[str, ImageRef | str] = {}
        unmatched_seen: set[tuple[str, str] | None] = set()
        for number, usage in enumerate(usages):
            self.usages = number + 1
            parsed = refs.get(usage.ref)
            if parsed is None:
                try:
                    parsed = parse_image_ref(usage.ref)
                except ValueError as exc:
                    parsed = str(exc)
                refs[usage.ref] = parsed
            if isinstance(parsed, str):
                self.findings.append(((0, number, 0), _finding(
                    "unmatched-reference", usage, None, None, parsed), None))
                continue
            ref = parsed
            self.here += ref.registry in self.registries or ref.path in names
            if ref.registry not in self.registries:
                if ref.path in names:
                    self.waiting.setdefault(ref.path, []).append(
                        Waiting(number, usage, ref, True))
                else:
                    self.ignored += 1
                continue
            self.harbor_named += usage.source != "helm"
            unmatched = self.unmatched(number, usage, ref)
            if unmatched is not None:
                if unmatched[2] not in unmatched_seen:
                    unmatched_seen.add(unmatched[2])
                    self.findings.append(unmatched)
                continue
            self.matched += 1
            project = ref.path.split("/", 1)[0]
            if ref.path in names:
                self.waiting.setdefault(ref.path, []).append(Waiting(number, usage, ref, False))
            elif ref.path not in unread and project not in unread_projects:
                # not read, so not known to be missing: the run is incomplete already
                self.findings.append(((0, number, 0), _finding(
                    "in-use-missing", usage, project, ref.path,
                    f"{usage.ref} ({_kind_words(usage)} {usage.where}) names repository "
                    f"{ref.path}, which does not exist in Harbor now: {_breaks(usage)}"), None))

    def unmatched(self, number: int, usage: Usage, ref: ImageRef) -> Found | None:
        """A reference to a project that was not fetched."""
        project = ref.path.split("/", 1)[0]
        if project in self.projects:
            return None
        return (0, number, 0), _finding(
            "unmatched-reference", usage, project, None,
            f"{usage.ref} ({usage.where}) is in project {project!r}, which was not "
            "fetched; add --project " + project + " to check it"), (project, usage.ref)

    def wanted(self, repository: str) -> bool:
        return repository in self.waiting


def _kind_words(usage: Usage) -> str:
    from harborguard.check import _kind_words as words

    return words(usage)


def _breaks(usage: Usage) -> str:
    from harborguard.check import _breaks as breaks

    return breaks(usage)


def match_repository(index: EvidenceIndex, outcome: RepositoryOutcome) -> RepositoryMatch:
    """The usages waiting for this repository, matched to its artifacts and judged."""
    repo = _RepoIndex(outcome)
    name = outcome.repository.name
    in_use: dict[ArtifactKey, list[Usage]] = {}
    first: dict[ArtifactKey, tuple[int, int]] = {}
    position_of: dict[ArtifactKey, int] = {}
    # Of each artifact's usages, the pods pulled by a tag that names another build now.
    moved: dict[ArtifactKey, dict[Usage, PulledByTag]] = {}
    findings: list[Found] = []
    matched = harbor_named = 0
    foreign: Counter[str] = Counter()
    foreign_seen: set[str] = set()
    for number, usage, ref, other_host in index.waiting.get(name, ()):
        if other_host:
            # A repository path of this Harbor under another host name: the same artifact
            # when its digest is one of that repository's (content, whatever the host).
            digest = ref.digest or usage.digest
            if digest is None or not repo.by_digest_or_parent(digest):
                foreign[ref.registry] += 1
                if ref.registry not in foreign_seen:
                    foreign_seen.add(ref.registry)
                    findings.append(((0, number, 0), _foreign(usage, ref, name), None))
                continue
            harbor_named += usage.source != "helm"
            unmatched = index.unmatched(number, usage, ref)
            if unmatched is not None:
                findings.append(unmatched)
                continue
        matched += 1
        project = ref.path.split("/", 1)[0]
        positions, problem, pulled = _locate(repo, ref, usage, not other_host)
        for k, pos in enumerate(positions):
            key = (project, ref.path, outcome.repository.artifacts[pos].digest)
            evidence = in_use.get(key)
            if evidence is None:
                evidence = in_use[key] = []
                first[key] = (number, k)
            evidence.append(usage)
            position_of[key] = pos
            if pulled is not None:
                moved.setdefault(key, {})[usage] = pulled
        if problem is not None:
            findings.append(((0, number, 0), problem, None))
    for key, found in in_use.items():
        pos = position_of[key]
        verdict = _judge(key[0], key[1], outcome.repository.artifacts[pos],
                         outcome.decisions[pos], found, moved.get(key))
        if verdict is not None:
            findings.append(((1, *first[key]), verdict, None))
    return RepositoryMatch(in_use, first, findings, matched, harbor_named, foreign)


def merge(found: Iterable[Found]) -> list[Finding]:
    """Findings of every repository in the whole run's order; a reference to a project not
    fetched is said once."""
    out = []
    seen: set[tuple[str, str]] = set()
    for _, finding, once in sorted(found, key=_place):
        if once is not None:
            if once in seen:
                continue
            seen.add(once)
        out.append(finding)
    return out


def _place(item: Found) -> Place:
    return item[0]
