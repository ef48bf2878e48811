"""The check job: match evidence of use to Harbor artifacts and judge the policy's verdicts.

Pure: takes a simulated RunResult, the usages every evidence source found, and the names
this Harbor goes by; returns each artifact's ``in_use`` and the findings. Matching is a
dictionary lookup per reference (digest first, including children of index artifacts,
then tag), never a scan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from urllib.parse import urlsplit

from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.imageref import ImageRef, parse_image_ref
from harborguard.model import Artifact
from harborguard.retention.engine import Decision, RepositoryOutcome
from harborguard.simulate import RunResult

ArtifactKey = tuple[str, str, str]  # (project, repository, digest)


@dataclass(frozen=True, slots=True)
class CheckResult:
    in_use: dict[ArtifactKey, list[Usage]]
    findings: tuple[Finding, ...]
    matched: int = 0  # usages that named an artifact of a fetched project
    ignored: int = 0  # usages of other registries
    notes: tuple[str, ...] = field(default=())


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


_DIGEST = attrgetter("digest")
_TAGS = attrgetter("tags")
_CHILDREN = attrgetter("children")


class _RepoIndex:
    __slots__ = ("outcome", "by_digest", "by_tag", "parents")

    def __init__(self, outcome: RepositoryOutcome) -> None:
        self.outcome = outcome
        artifacts = outcome.repository.artifacts
        # Built with C-level iteration: a check may index a million artifacts.
        self.by_digest: dict[str, int] = dict(
            zip(map(_DIGEST, artifacts), range(len(artifacts)), strict=True)
        )
        self.by_tag: dict[str, int] = {
            tag: pos for pos, tags in enumerate(map(_TAGS, artifacts)) for tag in tags
        }
        self.parents: dict[str, list[int]] = defaultdict(list)
        if any(map(_CHILDREN, artifacts)):
            for pos, artifact in enumerate(artifacts):
                for child in artifact.children:
                    self.parents[child].append(pos)

    def by_digest_or_parent(self, digest: str) -> list[int]:
        pos = self.by_digest.get(digest)
        if pos is not None:
            return [pos]
        return list(self.parents.get(digest, ()))


def check(
    run: RunResult,
    usages: Iterable[Usage],
    hosts: Sequence[str],
) -> CheckResult:
    registries = registry_names(hosts)
    projects = {p.project.name: p for p in run.projects}
    outcomes: dict[str, RepositoryOutcome] = {
        outcome.repository.name: outcome
        for project in run.projects
        for outcome in project.repositories
    }
    # Indexed on first use: a check names a few repositories of a possibly huge instance.
    repos: dict[str, _RepoIndex] = {}
    refs: dict[str, ImageRef | str] = {}
    # Where a reference points, once found: thousands of pods share a few references.
    seen: dict[tuple[str, str | None, bool], list[int]] = {}

    in_use: dict[ArtifactKey, list[Usage]] = defaultdict(list)
    findings: list[Finding] = []
    matched = ignored = 0
    unmatched_seen: set[tuple[str, str]] = set()
    for usage in usages:
        parsed = refs.get(usage.ref)
        if parsed is None:
            try:
                parsed = parse_image_ref(usage.ref)
            except ValueError as exc:
                parsed = str(exc)
            refs[usage.ref] = parsed
        if isinstance(parsed, str):
            findings.append(_finding("unmatched-reference", usage, None, None, parsed))
            continue
        ref = parsed
        if ref.registry.lower() not in registries:
            ignored += 1
            continue
        project_name = ref.path.split("/", 1)[0]
        if project_name not in projects:
            key = (project_name, usage.ref)
            if key not in unmatched_seen:
                unmatched_seen.add(key)
                findings.append(
                    _finding(
                        "unmatched-reference", usage, project_name, None,
                        f"{usage.ref} ({usage.where}) is in project {project_name!r}, which "
                        "was not fetched; add --project " + project_name + " to check it",
                    )
                )
            continue
        matched += 1
        index = repos.get(ref.path)
        if index is None and ref.path in outcomes:
            index = repos[ref.path] = _RepoIndex(outcomes[ref.path])
        if index is None:
            findings.append(
                _finding(
                    "in-use-missing", usage, project_name, ref.path,
                    f"{usage.ref} ({_kind_words(usage)} {usage.where}) names repository "
                    f"{ref.path}, which does not exist in Harbor now: a restart or rollback "
                    "cannot pull it",
                )
            )
            continue
        located_key = (usage.ref, usage.digest, usage.kind == "running")
        positions = seen.get(located_key)
        if positions is None:
            positions, problem = _locate(index, ref, usage)
            if problem is not None:
                findings.append(problem)  # each place that names a missing image: its own
            else:
                seen[located_key] = positions
        for pos in positions:
            artifact = index.outcome.repository.artifacts[pos]
            in_use[(project_name, ref.path, artifact.digest)].append(usage)

    for (project_name, repo_name, digest), found in in_use.items():
        index = repos[repo_name]
        pos = index.by_digest[digest]
        artifact = index.outcome.repository.artifacts[pos]
        decision = index.outcome.decisions[pos]
        verdict = _judge(project_name, repo_name, artifact, decision, found)
        if verdict is not None:
            findings.append(verdict)
    return CheckResult(dict(in_use), tuple(findings), matched, ignored)


def _locate(index: _RepoIndex, ref: ImageRef, usage: Usage) -> tuple[list[int], Finding | None]:
    """Positions of the artifacts a usage names, and a problem when it names none."""
    repo = index.outcome.repository
    project = repo.name.split("/", 1)[0]
    digest = ref.digest or usage.digest
    if digest is not None:
        hits = index.by_digest_or_parent(digest)
        if hits:
            return hits, None
        if ref.tag is not None and ref.tag in index.by_tag and usage.kind == "running" \
                and ref.digest is None:
            now = repo.artifacts[index.by_tag[ref.tag]]
            return [index.by_tag[ref.tag]], _finding(
                "digest-moved", usage, project, repo.name,
                f"{usage.where} runs {ref.path}@{digest}, which is gone; tag {ref.tag} now "
                f"names {now.digest}, so a restart would run a different build",
                artifact=now,
            )
        return [], _finding(
            "in-use-missing", usage, project, repo.name,
            f"{usage.ref} ({_kind_words(usage)} {usage.where}) needs digest {digest}, which "
            f"no longer exists in {repo.name}: a restart or rollback cannot pull it",
        )
    if ref.tag is not None and ref.tag in index.by_tag:
        return [index.by_tag[ref.tag]], None
    return [], _finding(
        "in-use-missing", usage, project, repo.name,
        f"{usage.ref} ({_kind_words(usage)} {usage.where}) names tag {ref.tag}, which does "
        f"not exist in {repo.name}: a restart or rollback cannot pull it",
    )


def _kind_words(usage: Usage) -> str:
    return {
        "running": "running in",
        "declared": "declared in",
        "rollback": "rollback target in",
    }[usage.kind]


def _judge(
    project: str, repository: str, artifact: Artifact, decision: Decision, found: list[Usage]
) -> Finding | None:
    at_risk = decision.action == "delete" or (decision.tie and decision.action == "retain")
    if not at_risk:
        return None
    current = sorted((u for u in found if u.kind != "rollback"), key=lambda u: u.kind != "running")
    code = "in-use-deleted" if current else "rollback-deleted"
    evidence = current or found
    first = evidence[0]
    more = f" and {len(evidence) - 1} more" if len(evidence) > 1 else ""
    label = ", ".join(artifact.tags) or artifact.digest
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
    return Finding(
        code=code,
        project=project,
        repository=repository,
        digest=artifact.digest,
        tags=artifact.tags,
        rule=decision.retained_by[0] if decision.retained_by else None,
        component=first.component,
        environment=first.environment,
        message=f"{repository}:{label} {what} ({first.source}: {first.where}{more}) but "
        f"{verdict}",
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

