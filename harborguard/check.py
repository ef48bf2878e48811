"""The check job: match evidence of use to Harbor artifacts and judge the policy's verdicts.

Pure: takes a simulated RunResult, the usages every evidence source found, and the names
this Harbor goes by; returns each artifact's ``in_use`` and the findings. Matching is a
dictionary lookup per reference (digest first, including children of index artifacts,
then tag), never a scan.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import indexOf, itemgetter
from typing import NamedTuple
from urllib.parse import urlsplit

from harborguard.evidence import Usage, places_by_kind
from harborguard.findings import CHART_BREAKS, Finding
from harborguard.imageref import ImageRef
from harborguard.model import Artifact
from harborguard.retention.engine import Decision, RepositoryOutcome
from harborguard.simulate import RunResult

ArtifactKey = tuple[str, str, str]  # (project, repository, digest)


class PulledByTag(NamedTuple):
    """A running pod pulled by a tag that now names another build than the one it runs."""

    tag: str
    runs: str  # the digest the pod runs
    names: str  # the digest the tag names now: what a restart pulls


# The positions of the artifacts a usage names, the problem it meets, and how it was
# pulled when its tag names another build now.
Located = tuple[list[int], Finding | None, PulledByTag | None]


@dataclass(frozen=True, slots=True)
class CheckResult:
    in_use: dict[ArtifactKey, list[Usage]]
    findings: tuple[Finding, ...]
    matched: int = 0  # usages that named an artifact of a fetched project
    ignored: int = 0  # usages of other registries
    notes: tuple[str, ...] = field(default=())
    # References that named this Harbor (by host, an alias, or a digest of the same path).
    harbor_named: int = 0
    # Other registry hosts whose references name a repository path of this Harbor, and
    # how many references did: the Harbor may be read through another name than pods use.
    foreign: dict[str, int] = field(default_factory=dict)

    @property
    def no_harbor_reference(self) -> bool:
        """Nothing named this Harbor while some references named its repositories under
        another host: the evidence was not matched at all (a missing --registry-alias)."""
        return self.harbor_named == 0 and bool(self.foreign)


def harbor_host(url: str | None) -> str | None:
    """``https://user@Harbor.example:8443/`` -> ``harbor.example:8443``; default ports go."""
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = parts.hostname
    if not host:
        return None
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port and parts.port != default:
        return f"{host.lower()}:{parts.port}"
    return host.lower()


def alias_host(alias: str) -> str:
    """``--registry-alias`` as a registry host: ``https://Host:8443/`` -> ``host:8443``.
    Raises ValueError for what names no host, or names a path inside one."""
    text = alias.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    host = harbor_host(text)
    if not host or parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"--registry-alias {alias!r} is not a registry host: give the host "
                         "image references use, e.g. --registry-alias harbor.example.org:8443")
    return host


def registry_names(hosts: Iterable[str]) -> set[str]:
    """Every spelling of the given registries: with and without an explicit :443."""
    names: set[str] = set()
    for host in hosts:
        if not host:
            continue
        host = host.lower()
        names.add(host)
        if host.endswith(":443"):
            names.add(host[:-4])
        elif ":" not in host:
            names.add(f"{host}:443")
    return names


# Artifact is a NamedTuple: itemgetter reads a field in C faster than attrgetter does.
_DIGEST = itemgetter(Artifact._fields.index("digest"))
_TAGS = itemgetter(Artifact._fields.index("tags"))
_CHILDREN = itemgetter(Artifact._fields.index("children"))
_FIRST = itemgetter(0)


class _RepoIndex:
    """Lookups into one repository's artifacts, built lazily and at C speed.

    A check may name a thousand repositories of a million artifacts, each only a few
    times: the first digest lookups scan a list (C-level compare), a dictionary is built
    once a repository is asked often; the tag index is made without a Python-level loop.
    """

    __slots__ = ("outcome", "_by_digest", "_digest_asks", "_by_tag", "_scanned",
                 "_absent", "_parents")

    # After this many digest lookups a dictionary beats scanning the list.
    SCANS = 8

    def __init__(self, outcome: RepositoryOutcome) -> None:
        self.outcome = outcome
        self._by_digest: dict[str, int] | None = None
        self._digest_asks = 0
        self._by_tag: dict[str, int] | None = None
        self._scanned = 0  # artifacts (from the front) whose tags are in _by_tag
        self._absent: set[str] = set()
        self._parents: dict[str, list[int]] | None = None

    def digest_pos(self, digest: str) -> int | None:
        if self._by_digest is not None:
            return self._by_digest.get(digest)
        artifacts = self.outcome.repository.artifacts
        self._digest_asks += 1
        if self._digest_asks > self.SCANS:
            self._by_digest = dict(zip(map(_DIGEST, artifacts), range(len(artifacts)), strict=True))
            return self._by_digest.get(digest)
        try:  # a C-level scan that stops at the hit, no list made
            return indexOf(map(_DIGEST, artifacts), digest)
        except ValueError:
            return None

    def tag_pos(self, tag: str) -> int | None:
        """Indexed from the front (newest first in Harbor's listing) only as far as asked:
        deployments name recent tags, so a repository of thousands is rarely read whole.
        A tag that is not there at all is found out by a C-level scan, not indexed for."""
        by_tag = self._by_tag
        if by_tag is None:
            by_tag = self._by_tag = {}
        pos = by_tag.get(tag)
        if pos is not None:
            return pos
        artifacts = self.outcome.repository.artifacts
        start = self._scanned
        if start >= len(artifacts):
            return None
        if tag not in self._absent:
            if tag not in chain.from_iterable(map(_TAGS, islice(artifacts, start, None))):
                self._absent.add(tag)
                return None
            for pos in range(start, len(artifacts)):
                for name in artifacts[pos].tags:
                    if name not in by_tag:  # a tag names one artifact; the first one wins
                        by_tag[name] = pos
                if tag in by_tag:
                    self._scanned = pos + 1
                    return by_tag[tag]
        return None

    def parents_of(self, digest: str) -> list[int]:
        if self._parents is None:
            self._parents = defaultdict(list)
            artifacts = self.outcome.repository.artifacts
            if any(map(_CHILDREN, artifacts)):
                for pos, artifact in enumerate(artifacts):
                    for child in artifact.children:
                        self._parents[child].append(pos)
        return list(self._parents.get(digest, ()))

    def by_digest_or_parent(self, digest: str) -> list[int]:
        """The artifact with this digest and every index that lists it as a child: a pod
        running a platform image needs its multi-arch index too."""
        pos = self.digest_pos(digest)
        parents = self.parents_of(digest)
        if pos is None:
            return parents
        return [pos, *(p for p in parents if p != pos)]

    def needed_for(self, digest: str) -> list[int]:
        """What keeps the artifact with this digest: itself, and of the indexes that list
        it as a child the ones surely kept. Harbor deletes an index's children only when
        no other artifact references them (RETENTION.md 4.5), so a child shared with a
        kept index survives the deletion of the others. When no parent is surely kept
        (deleted, or kept only by a tie's order), every parent is needed: each deletion
        is then an error."""
        hits = self.by_digest_or_parent(digest)
        pos = self.digest_pos(digest)
        parents = [p for p in hits if p != pos]
        decisions = self.outcome.decisions
        kept = [p for p in parents if not _at_risk(decisions[p])]
        if not kept or len(kept) == len(parents):
            return hits
        return [p for p in hits if p == pos or p in kept]


def check(
    run: RunResult,
    usages: Iterable[Usage],
    hosts: Sequence[str],
) -> CheckResult:
    """The whole run's evidence matched: what harborguard.pipeline does a repository at a
    time (harborguard.evidence_index), over a run held whole."""
    from harborguard.evidence_index import EvidenceIndex, match_repository, merge

    index = EvidenceIndex(
        usages, hosts,
        (repo.repository.name for project in run.projects for repo in project.repositories),
        (project.project.name for project in run.projects),
        (item.what for item in run.incomplete))
    owners: dict[str, RepositoryOutcome] = {
        outcome.repository.name: outcome
        for project in run.projects for outcome in project.repositories
    }  # of two repositories with one name, the last
    found = list(index.findings)
    in_use: dict[ArtifactKey, list[Usage]] = {}
    first: dict[ArtifactKey, tuple[int, int]] = {}
    matched, harbor_named = index.matched, index.harbor_named
    foreign: Counter[str] = Counter()
    for name, outcome in owners.items():
        if not index.wanted(name):
            continue
        match = match_repository(index, outcome)
        found.extend(match.findings)
        in_use.update(match.in_use)
        first.update(match.first)
        matched += match.matched
        harbor_named += match.harbor_named
        foreign.update(match.foreign)
    ordered = dict(sorted(in_use.items(), key=lambda item: first[item[0]]))
    return CheckResult(ordered, tuple(merge(found)), matched, index.ignored,
                       harbor_named=harbor_named, foreign=dict(foreign))


def _foreign(usage: Usage, ref: ImageRef, repository: str) -> Finding:
    return _finding(
        "foreign-registry", usage, repository.split("/", 1)[0], repository,
        f"{usage.ref} ({_kind_words(usage)} {usage.where}) names registry {ref.registry}, "
        f"not this Harbor, but {repository} exists here and no digest tells them apart: if "
        f"{ref.registry} is this Harbor under another name, add --registry-alias "
        f"{ref.registry}; until then this reference protects nothing",
    )


def _locate(index: _RepoIndex, ref: ImageRef, usage: Usage, by_name: bool = True) -> Located:
    """Positions of the artifacts a usage names, a problem when it names none, and how a
    pod pulled by a tag that moved was pulled.
    ``by_name``: the reference names this Harbor's host (not a digest match from another
    host, whose tags say nothing about this Harbor's)."""
    repo = index.outcome.repository
    project = repo.name.split("/", 1)[0]
    digest = ref.digest or usage.digest
    if digest is not None:
        hits = index.needed_for(digest)
        if (hits and by_name and ref.digest is None and ref.tag is not None
                and usage.kind == "running"):
            # Pulled by tag: a restart on a node without the image pulls the tag again.
            return _pulled_by_tag(index, ref, usage, digest, hits)
        if hits:
            return hits, None, None
        moved = index.tag_pos(ref.tag) if ref.tag is not None else None
        if moved is not None and usage.kind == "running" and ref.digest is None:
            assert ref.tag is not None
            now = repo.artifacts[moved]
            return [moved], _finding(
                "digest-moved", usage, project, repo.name,
                f"{usage.where} runs {ref.path}@{digest}, which is gone; tag {ref.tag} now "
                f"names {now.digest}, so a restart would run a different build",
                artifact=now,
            ), PulledByTag(ref.tag, digest, now.digest)
        return [], _finding(
            "in-use-missing", usage, project, repo.name,
            f"{usage.ref} ({_kind_words(usage)} {usage.where}) needs digest {digest}, which "
            f"no longer exists in {repo.name}: {_breaks(usage)}",
        ), None
    tagged = index.tag_pos(ref.tag) if ref.tag is not None else None
    if tagged is not None:
        return [tagged], None, None
    return [], _finding(
        "in-use-missing", usage, project, repo.name,
        f"{usage.ref} ({_kind_words(usage)} {usage.where}) names tag {ref.tag}, which does "
        f"not exist in {repo.name}: {_breaks(usage)}",
    ), None


def _pulled_by_tag(index: _RepoIndex, ref: ImageRef, usage: Usage, digest: str,
                   hits: list[int]) -> Located:
    """A pod that runs ``digest`` (in Harbor now: ``hits``), pulled by ``ref.tag``: what
    it needs. When the tag names another build now, both are needed: the running one
    (its pods, a rollback to it) and the tag's (what a restart pulls); ``_judge`` says a
    deletion of either with the tag."""
    repo = index.outcome.repository
    assert ref.tag is not None
    tagged = index.tag_pos(ref.tag)
    if tagged is None:
        return hits, _finding(
            "in-use-missing", usage, repo.name.split("/", 1)[0], repo.name,
            f"{usage.ref} ({_kind_words(usage)} {usage.where}) runs {digest}, which still "
            f"exists, but tag {ref.tag} no longer does: a restart on a node without the "
            "image cannot pull it (ImagePullBackOff)",
        ), None
    if tagged in hits:
        return hits, None, None
    return [*hits, tagged], None, PulledByTag(ref.tag, digest, repo.artifacts[tagged].digest)


def _at_risk(decision: Decision) -> bool:
    return decision.action == "delete" or (decision.tie and decision.action == "retain")


def _kind_words(usage: Usage) -> str:
    if usage.chart:
        return {"rollback": "chart of a rollback target in"}.get(usage.kind, "chart deployed by")
    return {
        "running": "running in",
        "declared": "declared in",
        "rollback": "rollback target in",
    }[usage.kind]


def _breaks(usage: Usage) -> str:
    """What cannot happen without the artifact: a chart is pulled by helm, an image by pods."""
    if usage.chart:
        return CHART_BREAKS
    return "a restart or rollback cannot pull it"


def _judge(
    project: str, repository: str, artifact: Artifact, decision: Decision, found: list[Usage],
    moved: Mapping[Usage, PulledByTag] | None = None,
) -> Finding | None:
    """``moved``: of the usages, the pods pulled by a tag that names another build now."""
    if not _at_risk(decision):
        return None
    moved = moved or {}

    def order(usage: Usage) -> tuple[bool, int]:
        """Running first; of the pods, one that runs it by a moved tag (said with the
        tag), then one that runs it, then one whose restart pulls it."""
        pulled = moved.get(usage)
        return usage.kind != "running", (
            1 if pulled is None else 2 if pulled.names == artifact.digest else 0)

    current = sorted((u for u in found if u.kind != "rollback"),
                     key=order if moved else lambda u: u.kind != "running")
    code = "in-use-deleted" if current else "rollback-deleted"
    evidence = current or found
    first = evidence[0]
    # In the words of the table's "in use" column: every place, by kind.
    more = (f"; in use in {len(found)} places: "
            f"{places_by_kind([u.kind for u in found])}" if len(found) > 1 else "")
    # repository:tag, or repository@digest for an untagged artifact
    label = (":" + ", ".join(artifact.tags)) if artifact.tags else "@" + artifact.digest
    if decision.action == "delete":
        why = decision.reason.removeprefix("not kept by any rule: ")
        verdict = f"the policy deletes it ({why})"
        if decision.tie:
            verdict += "; its fate rests on the order of equal timestamps"
    else:
        verdict = (
            "the policy keeps it only by the order of equal timestamps (tie at a count "
            "rule's cut); another order would delete it"
        )
    what = {"running": "is running", "declared": "is declared"}.get(
        first.kind, "is a rollback target"
    )
    if first.chart or artifact.type == "CHART":
        # A chart is pulled by helm, not by pods: say what breaks for a chart.
        what = ("is the Helm chart of a deployed release" if first.kind != "rollback"
                else "is the Helm chart of a rollback target")
        verdict += f"; {CHART_BREAKS}"
    place, tail = f"{first.source}: {first.where}", ""
    pulled = moved.get(first)
    if pulled is not None and pulled.names == artifact.digest:
        what, place = "is what a restart pulls", f"{place} runs {pulled.runs} by tag {pulled.tag}"
    elif pulled is not None:
        tail = (f" by tag {pulled.tag}, which now names {pulled.names} (a restart would pull "
                "that build, and this one could not be rolled back to),")
    return Finding(
        code=code,
        project=project,
        repository=repository,
        digest=artifact.digest,
        tags=artifact.tags,
        rule=decision.retained_by[0] if decision.retained_by else None,
        component=first.component,
        environment=first.environment,
        message=f"{repository}{label} {what} ({place}{more}){tail} but {verdict}",
    )


def _finding(
    code: str,
    usage: Usage,
    project: str | None,
    repository: str | None,
    message: str,
    *,
    artifact: Artifact | None = None,
) -> Finding:
    return Finding(
        code=code,
        project=project,
        repository=repository,
        digest=None if artifact is None else artifact.digest,
        tags=None if artifact is None else artifact.tags,
        related=(),
        component=usage.component,
        environment=usage.environment,
        message=message,
    )

