"""Collects usage evidence from every source the command line names.

Each source fails on its own: a source that cannot be read becomes an ``incomplete``
entry (the run exits 3), never "nothing in use". Files named on the command line that
cannot be read at all raise InputError (exit 2).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

from harborguard.errors import SourceError
from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.imageref import parse_image_ref
from harborguard.model import Incomplete, Repository, Snapshot
from harborguard.redact import mask_userinfo, redact_yaml
from harborguard.sources.helm import HelmRelease
from harborguard.sources.helmfile import Component
from harborguard.sources.manifests import ChartValues


@dataclass(frozen=True, slots=True)
class EvidenceOptions:
    use_kubectl: bool = False
    context: str | None = None
    namespace: str | None = None
    kubectl_json: Sequence[str] = ()
    manifests: str | None = None
    environment: str | None = None
    history: int | None = None  # None: 1 when --manifests is a git checkout
    use_helm: bool = False
    helm_json: Sequence[str] = ()
    image_tag_template: str | None = None
    timeout: float = 30.0

    @property
    def any(self) -> bool:
        return bool(self.use_kubectl or self.kubectl_json or self.manifests or self.use_helm
                    or self.helm_json)


@dataclass
class Gathered:
    usages: list[Usage] = field(default_factory=list)
    incomplete: list[Incomplete] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    releases: list[HelmRelease] = field(default_factory=list)
    history: str | None = None
    kubectl_read: bool = False


def chart_values_lookup(snapshot: Snapshot | None, hosts: Sequence[str]) -> ChartValues:
    """(chart repository ref, version) -> the chart's values.yaml from the snapshot."""
    from harborguard.check import registry_names

    names = registry_names(hosts)
    repos: dict[str, Repository] = {}
    if snapshot is not None:
        for project in snapshot.projects:
            for repo in project.repositories:
                repos[repo.name] = repo

    def lookup(chart_ref: str, version: str) -> str | None:
        try:
            ref = parse_image_ref(f"{chart_ref}:{version}")
        except ValueError:
            return None
        if ref.registry.lower() not in names:
            return None
        repo = repos.get(ref.path)
        if repo is None:
            return None
        for artifact in repo.artifacts:
            if version in artifact.tags:
                files = repo.additions.get(artifact.digest) or {}
                return files.get("values.yaml")
        return None

    return lookup


def gather(options: EvidenceOptions, snapshot: Snapshot | None,
           hosts: Sequence[str]) -> Gathered:
    from harborguard.sources.githistory import read_history
    from harborguard.sources.helm import load_helm_file, parse_helm_list, run_helm
    from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json, run_kubectl
    from harborguard.sources.manifests import read_manifests

    out = Gathered()
    for path in options.kubectl_json:
        evidence = parse_kubectl_json(load_kubectl_file(path), path)
        out.usages.extend(evidence.usages)
        out.notes.extend(evidence.problems)
        out.incomplete.extend(_unread(f"kubectl JSON {path}", path, evidence.missing))
        out.kubectl_read = True
    if options.use_kubectl:
        try:
            data = run_kubectl(context=options.context, namespace=options.namespace,
                               timeout=options.timeout)
        except SourceError as exc:
            out.incomplete.append(Incomplete(what="kubectl", reason=str(exc)))
        else:
            evidence = parse_kubectl_json(data, "kubectl")
            out.usages.extend(evidence.usages)
            out.notes.extend(evidence.problems)
            out.incomplete.extend(_unread("kubectl", "kubectl", evidence.missing))
            out.kubectl_read = True

    lookup = chart_values_lookup(snapshot, hosts)
    if options.manifests:
        environment = options.environment or ""
        manifests = read_manifests(options.manifests, environment, chart_values=lookup,
                                   image_tag_template=options.image_tag_template)
        out.usages.extend(manifests.usages)
        out.components.extend(manifests.components)
        for problem in manifests.problems:
            path, _, reason = problem.partition(": ")
            out.incomplete.append(Incomplete(what=f"{options.manifests}/{path}",
                                             reason=reason or problem))
        out.findings.extend(
            Finding(
                code="unresolved-reference",
                component=item.component,
                environment=environment,
                # The line is quoted as written: a URL in it may carry user:password@.
                # The quoted source line may carry a secret beside the reference
                # (`tokenReviewer: {image: ..., token: x}`): redacted like stored values.
                message=mask_userinfo(
                    f"{item.where}: {redact_yaml(item.text.strip()).strip()}: {item.reason}"),
            )
            for item in manifests.unresolved
        )
        if not manifests.components and (manifests.environments or not manifests.usages):
            # Helmfiles that know other environments (a misspelt --environment), or nothing
            # read at all: nothing declared must not read as "safe".
            known = ", ".join(manifests.environments)
            out.incomplete.append(Incomplete(
                what=f"{options.manifests} for environment {environment!r}",
                reason="no component has values for this environment, so nothing it declares "
                "was read; check --environment"
                + (f" (the helmfiles name: {known})" if known else "")))
        depth = options.history
        if depth is None and shutil.which("git") is None:
            # Without git, history (the rollback target) cannot be read: fail closed.
            out.incomplete.append(Incomplete(
                what=f"git history of {options.manifests}",
                reason="git is not installed, so the previous versions (rollback targets) "
                "cannot be read; install git or pass --history 0 to check without them",
            ))
            depth = 0
        elif depth is None:
            from harborguard.sources.gitcli import probe_checkout

            failure = probe_checkout(options.manifests)
            depth = 1 if failure is None else 0
            if failure:  # a checkout git refuses (another user's): never "not a checkout"
                out.incomplete.append(Incomplete(what=f"git history of {options.manifests}",
                                                 reason=failure))
            elif failure == "":
                out.notes.append(f"{options.manifests} is not a git checkout: no rollback "
                                 "evidence from history (--history)")
        if depth > 0:
            try:
                history = read_history(options.manifests, environment, depth,
                                       chart_values=lookup,
                                       image_tag_template=options.image_tag_template)
            except SourceError as exc:
                out.incomplete.append(Incomplete(what=f"git history of {options.manifests}",
                                                 reason=str(exc)))
            else:
                out.usages.extend(history.usages)
                out.history = history.summary()
                out.notes.append(history.summary())
                out.notes.extend(history.limits)
                for problem in history.problems:
                    out.incomplete.append(Incomplete(what=f"git history of {options.manifests}",
                                                     reason=problem))
    for path in options.helm_json:
        out.releases.extend(load_helm_file(path))
    if options.use_helm:
        try:
            out.releases.extend(parse_helm_list(run_helm(timeout=options.timeout), "helm"))
        except SourceError as exc:
            out.incomplete.append(Incomplete(what="helm", reason=str(exc)))
    if out.releases:
        out.usages.extend(_helm_usages(out.releases, out.components, options.environment))
    return out


def _unread(what: str, origin: str, missing: Sequence[str]) -> list[Incomplete]:
    """``missing`` lines start with ``origin``; ``what`` already names it."""
    return [Incomplete(what=what,
                       reason=f"{m.removeprefix(origin + ': ')} (what it runs is unknown)")
            for m in missing]


def _helm_usages(releases: Sequence[HelmRelease], components: Sequence[Component],
                 environment: str | None) -> list[Usage]:
    """Deployed chart versions, matched to components by release name and namespace."""
    usages = []
    for release in releases:
        for component in components:
            if component.chart is None:
                continue
            if component.release != release.name or (
                component.namespace and component.namespace != release.namespace
            ):
                continue
            if component.chart_repository is None or not component.oci:
                continue
            usage = release.chart_usage(component.chart, component.chart_repository,
                                        component=component.name, environment=environment)
            if usage is not None:
                usages.append(usage)
    return usages
