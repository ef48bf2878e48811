"""Collects usage evidence from every source the command line names.

Each source fails on its own: a source that cannot be read becomes an ``incomplete``
entry (the run exits 3), never "nothing in use". Files named on the command line that
cannot be read at all raise InputError (exit 2).
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harborguard import coverage
from harborguard.errors import SourceError
from harborguard.evidence import Covered, Usage
from harborguard.findings import Finding
from harborguard.imageref import parse_image_ref
from harborguard.model import Incomplete, Repository, Snapshot
from harborguard.redact import mask_userinfo, redact_yaml

if TYPE_CHECKING:
    # Each source's module is imported when that source is read (a check of a kubectl
    # dump does not load the YAML, git and Helm readers).
    from harborguard.sources.githistory import HistoryEvidence
    from harborguard.sources.helm import HelmRelease
    from harborguard.sources.helmfile import Component
    from harborguard.sources.helmlive import LiveRelease
    from harborguard.sources.kubectlahead import KubectlFiles
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
    # What each source covered (the report's `evidence`), and the git history read.
    evidence: list[Covered] = field(default_factory=list)
    history_read: HistoryEvidence | None = None


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
           hosts: Sequence[str], ahead: KubectlFiles | None = None) -> Gathered:
    """``ahead``: the --kubectl-json files, read while the snapshot was."""
    out = Gathered()
    for path in options.kubectl_json:
        _kubectl_file(out, path, ahead)
    if options.use_kubectl:
        _kubectl_live(out, options)
    if not (options.manifests or options.helm_json or options.use_helm):
        return out
    lookup = chart_values_lookup(snapshot, hosts)
    if options.manifests:
        _manifests(out, options, options.manifests, hosts, lookup)
    if options.helm_json or options.use_helm:
        _helm(out, options, snapshot, hosts, lookup)
    return out


def _kubectl_file(out: Gathered, path: str, ahead: KubectlFiles | None) -> None:
    from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json

    if ahead is not None and path in ahead.paths:
        evidence = ahead.evidence(path)
    else:
        evidence = parse_kubectl_json(load_kubectl_file(path), path)
    out.usages.extend(evidence.usages)
    out.notes.extend(evidence.problems)
    unread = _unread(f"kubectl JSON {path}", path, evidence.missing)
    out.incomplete.extend(unread)
    out.evidence.append(coverage.kubectl(path, evidence, unread))
    out.kubectl_read = True


def _kubectl_live(out: Gathered, options: EvidenceOptions) -> None:
    from harborguard.sources.kubectl import kubectl_command, parse_kubectl_json, run_kubectl

    shown = shlex.join(kubectl_command(context=options.context, namespace=options.namespace))
    try:
        data = run_kubectl(context=options.context, namespace=options.namespace,
                           timeout=options.timeout)
    except SourceError as exc:
        failed = Incomplete(what="kubectl", reason=str(exc))
        out.incomplete.append(failed)
        out.evidence.append(coverage.kubectl(shown, None, [failed]))
    else:
        evidence = parse_kubectl_json(data, "kubectl", pods_asked=True)
        out.usages.extend(evidence.usages)
        out.notes.extend(evidence.problems)
        unread = _unread("kubectl", "kubectl", evidence.missing)
        out.incomplete.extend(unread)
        out.evidence.append(coverage.kubectl(shown, evidence, unread))
        out.kubectl_read = True


def _manifests(out: Gathered, options: EvidenceOptions, folder: str, hosts: Sequence[str],
               lookup: ChartValues) -> None:
    from harborguard.check import registry_names
    from harborguard.sources.githistory import read_history
    from harborguard.sources.manifests import read_manifests

    environment = options.environment or ""
    manifests = read_manifests(folder, environment, chart_values=lookup,
                               image_tag_template=options.image_tag_template)
    out.usages.extend(manifests.usages)
    out.components.extend(manifests.components)
    before = len(out.incomplete)
    for problem in manifests.problems:
        path, _, reason = problem.partition(": ")
        out.incomplete.append(Incomplete(what=f"{folder}/{path}",
                                         reason=reason or problem))
    names = registry_names(hosts)
    for unknown in manifests.unknown_charts:
        # A chart of the Harbor checked whose images cannot be told: as through --helm,
        # what runs is unknown, so the run is incomplete (another registry's chart, or
        # an unresolved image of another registry in a known chart: a warning).
        ours = unknown.chart.split("/", 1)[0].lower() in names
        if ours and (not unknown.images or any(name in text.lower() for text in
                                               unknown.images for name in names)):
            out.incomplete.append(Incomplete(
                what=f"{folder}/{unknown.where} (component {unknown.component})",
                reason=unknown.reason))
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
            what=f"{folder} for environment {environment!r}",
            reason="no component has values for this environment, so nothing it declares "
            "was read; check --environment"
            + (f" (the helmfiles name: {known})" if known else "")))
    out.evidence.append(coverage.manifests(folder, manifests,
                                           out.incomplete[before:]))
    before = len(out.incomplete)
    depth = options.history
    if depth is None and shutil.which("git") is None:
        # Without git, history (the rollback target) cannot be read: fail closed.
        out.incomplete.append(Incomplete(
            what=f"git history of {folder}",
            reason="git is not installed, so the previous versions (rollback targets) "
            "cannot be read; install git or pass --history 0 to check without them",
        ))
        depth = 0
    elif depth is None:
        from harborguard.sources.gitcli import probe_checkout

        failure = probe_checkout(folder)
        depth = 1 if failure is None else 0
        if failure:  # a checkout git refuses (another user's): never "not a checkout"
            out.incomplete.append(Incomplete(what=f"git history of {folder}",
                                             reason=failure))
        elif failure == "":
            out.notes.append(f"{folder} is not a git checkout: no rollback "
                             "evidence from history (--history)")
    if depth > 0:
        try:
            history = read_history(folder, environment, depth,
                                   chart_values=lookup,
                                   image_tag_template=options.image_tag_template)
        except SourceError as exc:
            out.incomplete.append(Incomplete(what=f"git history of {folder}",
                                             reason=str(exc)))
        else:
            out.usages.extend(history.usages)
            out.findings.extend(  # earlier versions whose references are not plain
                Finding(code="unresolved-reference", component=item.component,
                        environment=environment,
                        message=mask_userinfo(f"{item.where}: "
                                              f"{redact_yaml(item.text.strip()).strip()}: "
                                              f"{item.reason} (a rollback target)"))
                for item in history.unresolved)
            out.history_read = history
            out.history = history.summary()
            out.notes.append(history.summary())
            out.notes.extend(history.limits)
            for problem in history.problems:
                out.incomplete.append(Incomplete(what=f"git history of {folder}",
                                                 reason=problem))
    out.evidence.append(coverage.history(folder, options.history, depth,
                                         out.history_read, out.incomplete[before:]))


def _helm(out: Gathered, options: EvidenceOptions, snapshot: Snapshot | None,
          hosts: Sequence[str], lookup: ChartValues) -> None:
    from harborguard.sources.helm import (
        GONE,
        cut_by_default_max,
        helm_command,
        load_helm_file,
        parse_helm_list,
        release_evidence,
        run_helm,
    )
    from harborguard.sources.helmlive import read_live

    helm_read: list[tuple[str, list[HelmRelease], Incomplete | None]] = [
        (path, load_helm_file(path), None) for path in options.helm_json]
    if options.use_helm:
        shown = shlex.join(helm_command())
        try:
            helm_read.append((shown, parse_helm_list(run_helm(timeout=options.timeout), "helm"),
                              None))
        except SourceError as exc:
            helm_read.append((shown, [], Incomplete(what="helm", reason=str(exc))))
    for what, releases, helm_failed in helm_read:
        out.releases.extend(releases)
        if helm_failed is not None:
            out.incomplete.append(helm_failed)
            out.evidence.append(coverage.helm(what, releases, None, [helm_failed]))
            continue
        live: dict[tuple[str, str], LiveRelease] = {}
        live_unread: list[Incomplete] = []
        if what not in options.helm_json and snapshot is not None:
            # Live: what each release runs is its values, and `helm rollback` brings back
            # the revisions Helm keeps (drift, with no snapshot, compares charts only).
            live, live_unread = read_live([r for r in releases if r.status not in GONE],
                                          timeout=options.timeout)
        helm = release_evidence(releases, out.components, options.environment,
                                snapshot=snapshot, hosts=hosts,
                                chart_values=lookup,
                                image_tag_template=options.image_tag_template, live=live)
        # A release helm could not read live is taken from `helm list` as `--helm-json` is
        # (its chart's values): named in a note and in the verdict's "not checked" (never
        # an all-clear that claims its values or rollback window), not the whole run
        # incomplete for a helm that answers only `helm list`.
        out.notes.extend(f"{item.what}: {item.reason}; its images are taken from its chart's "
                         "values instead" for item in live_unread)
        unread = list(helm.incomplete)
        cut = cut_by_default_max(releases) if what in options.helm_json else None
        if cut is not None:
            unread.append(Incomplete(what=f"helm releases in {what}", reason=cut))
        if not releases:
            # Every cluster that helm manages has a release: none at all is a wrong kube
            # context far more often than a cluster without Helm. Not "nothing in use".
            unread.append(Incomplete(what=f"helm releases in {what}", reason=(
                "no release at all; an empty list cannot be told from a wrong kube context, "
                "so nothing was learnt")))
        if not out.kubectl_read and snapshot is not None:
            # `helm list` names the chart of a release's last operation; after a failed or
            # pending one, an earlier revision runs, which it does not name. (drift, with
            # no snapshot, says not-deployed instead.)
            unread.extend(
                Incomplete(what=f"helm release {r.namespace}/{r.name}", reason=(
                    f"its last operation (revision {r.revision}) is {r.status}, so the "
                    "revision that runs is not the one `helm list` names; give --kubectl "
                    "or --kubectl-json to see what runs, or check `helm history "
                    f"{r.name} -n {r.namespace}`"))
                for r in releases if (r.status == "failed" or r.status.startswith("pending-"))
                # `helm history` named the revision that runs: its values were read, the
                # failed or pending one's images are rollback evidence.
                and not _deployed(live.get((r.namespace, r.name))))
        out.usages.extend(helm.usages)
        out.findings.extend(helm.findings)
        out.incomplete.extend(unread)
        out.notes.extend(helm.notes)
        out.evidence.append(coverage.helm(what, releases, helm, unread,
                                          cluster_read=out.kubectl_read))


def _deployed(live: LiveRelease | None) -> bool:
    """A release whose values were read and whose running revision is known (else what
    runs is what `helm list` names)."""
    return live is not None and live.deployed


def _unread(what: str, origin: str, missing: Sequence[str]) -> list[Incomplete]:
    """``missing`` lines start with ``origin``; ``what`` already names it."""
    return [Incomplete(what=what,
                       reason=f"{m.removeprefix(origin + ': ')} (what it runs is unknown)")
            for m in missing]
