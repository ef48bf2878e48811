"""A Helm release's chart among the repositories read: the chart artifact(s) its ``chart``
field (``<chart name>-<chart version>``) names, and the images that chart runs.

helm.py's ``release_evidence`` decides which charts a release needs (helm list's, or a
live release's revisions: helmlive.py) and asks here where Harbor holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harborguard.evidence import Usage, UsageKind
from harborguard.findings import Finding
from harborguard.model import Artifact, Incomplete, Repository
from harborguard.redact import mask_userinfo, redact_yaml
from harborguard.sources.helmlive import live_images

if TYPE_CHECKING:
    from harborguard.sources.helm import HelmRelease, ReleaseEvidence
    from harborguard.sources.helmlive import LiveChart, LiveRelease


@dataclass(frozen=True, slots=True)
class ReadHarbor:
    """The repositories read, by their last path segment; the names of this Harbor (the
    first the one references are made with) and the repositories read of it."""

    by_segment: dict[str, list[Repository]]
    host: str | None
    names: set[str]
    held: set[str]
    # Per repository looked at, its artifacts by tag: a live release asks for the chart of
    # each revision Helm keeps, not once.
    tagged: dict[str, dict[str, list[Artifact]]] = field(default_factory=dict)

    def holding(self, repo: Repository, tag: str) -> list[Artifact]:
        index = self.tagged.get(repo.name)
        if index is None:
            index = self.tagged[repo.name] = {}
            for artifact in repo.artifacts:
                for name in artifact.tags:
                    index.setdefault(name, []).append(artifact)
        return index.get(tag, [])


def in_harbor(chart_ref: str, harbor: ReadHarbor) -> bool:
    """Whether a chart repository reference is a repository of this Harbor that was read."""
    from harborguard.imageref import parse_image_ref

    try:
        ref = parse_image_ref(f"{chart_ref}:0")
    except ValueError:
        return False
    return ref.registry in harbor.names and ref.path in harbor.held


def chart_artifacts(out: ReleaseEvidence, field_: str, kind: UsageKind, where: str,
                    harbor: ReadHarbor) -> list[tuple[Repository, str, Artifact | None]] | None:
    """The chart a ``chart`` field names among the repositories read, as usages: every
    split into ``<segment>-<version>`` that names a repository counts, the repositories that
    hold the version if any do (the artifact), else each (check says it is missing). None
    when no repository could hold it."""
    from harborguard.sources.helm import split_chart

    candidates: list[tuple[Repository, str]] = []
    # Each dash may end the chart name: a lookup per dash, not a scan of every repository.
    for cut in (i for i, char in enumerate(field_) if char == "-"):
        # A repository with no CHART artifact holds images of that name, not the chart.
        repos = [repo for repo in harbor.by_segment.get(field_[:cut], ()) if _holds_charts(repo)]
        version = split_chart(field_, field_[:cut]) if repos else None
        # Helm stores a version's "+" as "_" in an OCI tag (OCI tags cannot hold "+").
        version = version.replace("+", "_") if version is not None else None
        if version is not None:
            candidates.extend((repo, version) for repo in repos)
    if not candidates or harbor.host is None:
        return None
    if len(candidates) > 1:
        names = ", ".join(f"{repo.name}:{version}" for repo, version in candidates)
        out.notes.append(f"{where}: chart {field_} could be any of {names}; each "
                         "one that exists is counted as in use")
    holders: list[tuple[Repository, str, Artifact | None]] = [
        (repo, version, artifact) for repo, version in candidates
        for artifact in harbor.holding(repo, version)]
    found = holders or [(repo, version, None) for repo, version in candidates]
    out.usages.extend(Usage("helm", kind, f"{harbor.host}/{repo.name}:{version}", where,
                            chart=True) for repo, version, _ in found)
    return found


def _unmatched(where: str, chart: str) -> Finding:
    return Finding(code="unmatched-reference", message=(
        f"{where} runs chart {chart}, which no repository of the projects read holds (a "
        "chart from another registry, or from a project not fetched): not checked"))


def by_repository(out: ReleaseEvidence, release: HelmRelease, where: str, harbor: ReadHarbor,
                  image_tag_template: str | None) -> None:
    """The chart ``helm list`` names among the repositories read, and the images its
    values.yaml (from the snapshot) or the template name."""
    found = chart_artifacts(out, release.chart, "declared", where, harbor)
    if found is None:
        out.findings.append(_unmatched(where, release.chart))
        return
    if any(artifact is not None for _, _, artifact in found):
        out.charts += 1
    for repo, version, artifact in found:
        values = None if artifact is None else (
            (repo.additions.get(artifact.digest) or {}).get("values.yaml"))
        release_images(out, release, where, f"{harbor.host}/{repo.name}", version, values,
                       image_tag_template, None, None, project=repo.name)


def live_chart_repositories(out: ReleaseEvidence, where: str, read: LiveRelease,
                            charts: Sequence[LiveChart], harbor: ReadHarbor
                            ) -> tuple[list[Repository], bool]:
    """The charts of a release read live among the repositories read: the repositories of
    its declared charts, and whether one of those holds its version. The running chart that
    no repository holds is named as a release's alone; the other (the last operation's,
    when it failed or is pending) in one finding."""
    repos: dict[str, Repository] = {}
    counted = False
    missed: list[LiveChart] = []
    for chart in charts:
        found = chart_artifacts(out, chart.chart, chart.kind, chart.where, harbor)
        if found is None and chart.chart == read.current.chart:
            out.findings.append(_unmatched(where, chart.chart))
        elif found is None:
            missed.append(chart)
        elif chart.kind == "declared":
            counted = counted or any(artifact is not None for _, _, artifact in found)
            repos.update((repo.name, repo) for repo, _, _ in found if repo.name not in repos)
    if missed:
        out.findings.append(Finding(code="unmatched-reference", message=(
            f"{where} keeps charts no repository of the projects read holds (from another "
            "registry, or from a project not fetched; its last operation's): "
            + ", ".join(f"revision {c.revision} {c.chart}" for c in missed)
            + ": not checked")))
    return list(repos.values()), counted


def live_by_repository(out: ReleaseEvidence, release: HelmRelease, where: str,
                       read: LiveRelease, charts: Sequence[LiveChart], harbor: ReadHarbor,
                       image_tag_template: str | None) -> None:
    """A release alone read live: its charts among the repositories read, and the images
    its revisions' values name."""
    repos, counted = live_chart_repositories(out, where, read, charts, harbor)
    if counted:
        out.charts += 1
    if not repos:  # its values may still name images of this Harbor
        live_images(out, release, where, read, None, None, image_tag_template,
                    harbor.names, None, None, ours=False)
    for repo in repos:
        live_images(out, release, where, read, f"{harbor.host}/{repo.name}",
                    repo.name.rsplit("/", 1)[-1], image_tag_template, harbor.names,
                    None, None, ours=True, project=repo.name)


def _holds_charts(repo: Repository) -> bool:
    return any(artifact.type == "CHART" for artifact in repo.artifacts)


def release_images(out: ReleaseEvidence, release: HelmRelease, where: str, chart_ref: str,
                   version: str, values: str | None, image_tag_template: str | None,
                   component: str | None, environment: str | None, *,
                   project: str | None = None) -> None:
    """The images a deployed chart version runs; unknown images make the run incomplete."""
    from harborguard.sources.helmchart import chart_images

    images = chart_images(values, version, image_tag_template, repository=chart_ref,
                          declared_at=where)
    for image in images.images:
        out.usages.append(Usage("helm", "declared", image.ref, image.where or where,
                                digest=image.digest, component=component,
                                environment=environment))
    repository = project
    for item in images.unresolved:
        reason = item.reason
        out.findings.append(Finding(
            code="unresolved-reference",
            project=None if repository is None else repository.split("/", 1)[0],
            repository=repository,
            component=component,
            environment=environment,
            message=mask_userinfo(f"{item.where}: {redact_yaml(item.text).strip()}: {reason}"),
        ))
    if images.unresolved:
        out.incomplete.append(Incomplete(
            what=f"helm release {release.namespace}/{release.name}",
            reason=f"the images chart {chart_ref.rsplit('/', 1)[-1]}:{version} runs are unknown "
            "(what the release runs is not checked); take the snapshot with the charts' "
            "values.yaml (additions) or give --image-tag-template, e.g. '{version}_image'",
        ))
