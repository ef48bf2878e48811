"""The drift job: what the deployment repository names vs what the cluster runs. Pure.

``not-deployed``: a version merged to the manifests is not what runs (the alert the
incident asked for: builds-api 0.0.131 was merged and never deployed). ``not-in-manifests``:
what runs is not what the manifests name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.imageref import ImageRef, parse_image_ref
from harborguard.redact import mask_userinfo
from harborguard.sources.helm import HelmRelease
from harborguard.sources.helmfile import Component

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions, Gathered


def helm_drift(
    components: Sequence[Component], releases: Sequence[HelmRelease], environment: str
) -> list[Finding]:
    found: list[Finding] = []
    matched: set[tuple[str, str]] = set()
    for component in components:
        if not component.release or not component.chart or not component.chart_version:
            continue
        candidates = [
            r for r in releases
            if r.name == component.release
            and (not component.namespace or r.namespace == component.namespace)
        ]
        declared = f"{component.chart} {component.chart_version} ({component.declared_at})"
        if not candidates:
            found.append(Finding(
                code="not-deployed", component=component.name, environment=environment,
                message=f"the manifests name {declared}, but no Helm release "
                f"{component.namespace or '*'}/{component.release} runs in the cluster: "
                "merged but never deployed",
            ))
            continue
        for release in candidates:
            matched.add((release.namespace, release.name))
            running = release.version(component.chart)
            where = f"{release.namespace}/HelmRelease/{release.name}"
            if running is None:
                found.append(Finding(
                    code="not-in-manifests", component=component.name, environment=environment,
                    message=f"{where} runs chart {release.chart!r}, not the helmfile's "
                    f"{component.chart}",
                ))
            elif running == component.chart_version and release.status != "deployed":
                found.append(Finding(
                    code="not-deployed", component=component.name, environment=environment,
                    message=f"the manifests name {declared}, and {where} has it, but its "
                    f"revision {release.revision} is {release.status or 'of unknown status'} "
                    f"(updated {release.updated or '?'}): {_status_meaning(release.status)}",
                ))
            elif running != component.chart_version:
                found.append(Finding(
                    code="not-deployed", component=component.name, environment=environment,
                    message=f"the manifests name {declared}, but {where} runs {running} "
                    f"(revision {release.revision}, {release.status or 'status unknown'}, "
                    f"updated {release.updated or '?'}): merged but not deployed",
                ))
    for release in releases:
        if (release.namespace, release.name) not in matched:
            found.append(Finding(
                code="not-in-manifests", environment=environment,
                message=f"Helm release {release.namespace}/{release.name} runs {release.chart}, "
                "which no component of the manifests declares for this environment",
            ))
    return found


def _status_meaning(status: str) -> str:
    if status.startswith("pending-"):
        return "the operation has not finished, so the earlier revision may still run"
    if status == "failed":
        return "the upgrade failed, so what runs may be the earlier revision or nothing"
    if status in ("uninstalled", "uninstalling"):
        return "the release is removed, so nothing of it runs"
    return "Helm does not say that it runs"


def _parsed(usage: Usage) -> ImageRef | None:
    try:
        return parse_image_ref(usage.ref)
    except ValueError:
        return None


def image_drift(
    declared: Sequence[Usage], running: Sequence[Usage], environment: str,
    *, judge_absent: Callable[[str | None], bool] = lambda component: False,
) -> list[Finding]:
    """Images the manifests declare vs images running, per repository. A component none of
    whose declared images the cluster runs or declares (a controller, a CronJob) is not
    deployed at all, for the components ``judge_absent`` says the evidence can tell about
    (read in their namespace, their chart's images known)."""
    declared_by_repo: dict[str, dict[str, Usage]] = defaultdict(dict)
    unreadable: list[Finding] = []
    for usage in declared:
        ref = _parsed(usage)
        if ref is not None and not usage.chart:
            declared_by_repo[ref.repository][ref.tag or ref.digest or ""] = usage
        elif ref is None:
            # Not silence: what the manifests name but cannot be read is not compared.
            unreadable.append(Finding(
                code="unmatched-reference", component=usage.component, environment=environment,
                message=mask_userinfo(f"{usage.where}: {usage.ref} is not a valid image "
                                      "reference, so it was not compared with the cluster")))
    running_by_repo: dict[str, dict[str, Usage]] = defaultdict(dict)
    for usage in running:
        ref = _parsed(usage)
        if ref is not None and usage.kind == "running":
            running_by_repo[ref.repository].setdefault(ref.tag or ref.digest or "", usage)
    present = {ref.repository for ref in map(_parsed, (u for u in running
               if u.source == "kubectl" and u.kind in ("running", "declared")))
               if ref is not None}
    found: list[Finding] = unreadable + _absent_components(declared_by_repo, present,
                                                          environment, judge_absent)
    for repository in sorted(set(declared_by_repo) & set(running_by_repo)):
        wanted, runs = declared_by_repo[repository], running_by_repo[repository]
        for version, usage in wanted.items():
            if version not in runs:
                others = ", ".join(f"{v} ({u.where})" for v, u in list(runs.items())[:3])
                found.append(Finding(
                    code="not-deployed", component=usage.component, environment=environment,
                    message=f"the manifests declare {repository}:{version} ({usage.where}), "
                    f"but the cluster runs {others}: merged but not deployed",
                ))
        for version, usage in runs.items():
            if version not in wanted:
                found.append(Finding(
                    code="not-in-manifests", component=usage.component, environment=environment,
                    message=f"{usage.where} runs {repository}:{version}, which the manifests "
                    f"do not name (they declare {', '.join(wanted)})",
                ))
    return found


def _absent_components(
    declared_by_repo: dict[str, dict[str, Usage]], present: set[str], environment: str,
    judge: Callable[[str | None], bool],
) -> list[Finding]:
    """A component none of whose declared images runs in any pod: not deployed at all.

    Judged per component, not per image: a component's values may also name images it
    only starts on demand (a builder image), which no pod runs while it is deployed."""
    by_component: dict[str, list[tuple[str, str, Usage]]] = defaultdict(list)
    for repository, versions in declared_by_repo.items():
        for version, usage in versions.items():
            by_component[usage.component or repository].append((repository, version, usage))
    found = []
    for component in sorted(by_component):
        images = by_component[component]
        if not judge(images[0][2].component) or any(r in present for r, _, _ in images):
            continue
        named = ", ".join(f"{r}:{v} ({u.where})" for r, v, u in images[:3])
        more = f" and {len(images) - 3} more" if len(images) > 3 else ""
        found.append(Finding(
            code="not-deployed", component=images[0][2].component, environment=environment,
            message=f"the manifests declare {named}{more}, but no pod in the cluster runs any "
            f"of {'its' if images[0][2].component else 'these'} images: merged but never "
            "deployed, or not running",
        ))
    return found


def absence_judge(evidence: EvidenceOptions, gathered: Gathered) -> Callable[[str | None], bool]:
    """Which components' absence from the cluster the evidence can tell: a helmfile
    component whose chart images are all known, in a namespace the kubectl evidence
    covers: every namespace when kubectl read the whole cluster (live without --namespace,
    or a saved dump with kube-system and at least two other namespaces in it, as an
    all-namespaces dump has)."""
    namespaces = {u.where.split("/", 1)[0] for u in gathered.usages
                  if u.source == "kubectl" and u.where.count("/") >= 2}
    whole = (evidence.use_kubectl and evidence.namespace is None) or (
        "kube-system" in namespaces and len(namespaces) >= 3)
    unresolved = {f.component for f in gathered.findings if f.code == "unresolved-reference"}
    spaces = {c.name: c.namespace for c in gathered.components}

    def judge(component: str | None) -> bool:
        if component is None or component not in spaces or component in unresolved:
            return False
        return whole or spaces[component] in namespaces

    return judge


def compared_components(
    components: Sequence[Component], usages: Sequence[Usage], findings: Sequence[Finding],
    *, helm: bool, kubectl: bool,
) -> list[Component]:
    """The components with a chart version whose deployment the evidence could tell: a
    helmfile release Helm was asked about, or declared images of which the cluster runs
    some version (or a not-deployed finding names it). Only these may be said to run
    their declared version (``harborguard_undeployed_seconds`` 0)."""
    running = {ref.repository for ref in map(_parsed, (
        u for u in usages if u.source == "kubectl" and u.kind == "running")) if ref is not None}
    seen: dict[str, set[str]] = defaultdict(set)
    for usage in usages:
        ref = _parsed(usage) if usage.source == "manifests" and not usage.chart else None
        if ref is not None and usage.component:
            seen[usage.component].add(ref.repository)
    unresolved = {f.component for f in findings if f.code == "unresolved-reference"}
    flagged = {f.component for f in findings if f.code == "not-deployed"}
    out = []
    for component in components:
        if not component.chart_version:
            continue
        by_helm = helm and bool(component.release and component.chart)
        by_images = (kubectl and component.name not in unresolved
                     and bool(seen[component.name] & running))
        if by_helm or by_images or component.name in flagged:
            out.append(component)
    return out
