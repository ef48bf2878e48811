"""GitOps objects in ``--manifests``: Flux ``HelmRelease`` and ``Kustomization``, Argo CD
``Application``, and a kustomization with ``apiVersion``/``kind``.

They deploy a chart with values written in the object itself, or manifests with image
overrides (``kustomize.images``, Flux ``spec.images``: see imageoverrides.py), so the
repository declares images and chart versions without a helmfile. Their values' images are
read like a values file's (plain ones are evidence, the rest unresolved). The chart they
name comes from a source object (a Flux HelmRepository, an Argo CD repoURL) that is not
resolved to a Harbor repository here, so its version is an ``unresolved-reference``: never
silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import Node

from harborguard.sources import gotmpl
from harborguard.sources.helmfile import Component
from harborguard.sources.helmvalues import ImageSpec, Unresolved, scan_values
from harborguard.sources.imageoverrides import Overrides, helm_parameters, kustomize_images


@dataclass(frozen=True, slots=True)
class GitOpsScan:
    images: list[ImageSpec]
    unresolved: list[Unresolved]


def scan_gitops(document: Node, file: str, lines: Sequence[str]) -> GitOpsScan | None:
    """What a HelmRelease or Application declares; None for any other object."""
    api = gotmpl.scalar(gotmpl.get(document, "apiVersion")) or ""
    kind = gotmpl.scalar(gotmpl.get(document, "kind")) or ""
    name = gotmpl.scalar(gotmpl.get_path(document, "metadata.name")) or "?"
    found = GitOpsScan([], [])

    def text(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def hidden(node: Node, reason: str) -> None:
        line = gotmpl.line_of(node)
        where = f"{file}:{line}"
        found.unresolved.append(Unresolved(where, text(line), f"{kind}/{name}: {reason}"))

    def overrides(found_here: Overrides) -> None:
        found.images.extend(found_here.images)
        found.unresolved.extend(found_here.unresolved)

    def values(node: Node | None) -> None:
        if node is None:
            return
        scan = scan_values(node, file, lines)
        found.images.extend(scan.images)
        found.unresolved.extend(scan.unresolved)

    spec = gotmpl.get(document, "spec")
    if kind == "Kustomization" and api.startswith("kustomize.toolkit.fluxcd.io/"):
        # Flux applies spec.images over the kustomization at spec.path.
        overrides(kustomize_images(gotmpl.get(spec, "images"), file, lines, f"{kind}/{name}"))
        return found
    if kind == "Kustomization" and api.startswith("kustomize.config.k8s.io/"):
        overrides(kustomize_images(gotmpl.get(document, "images"), file, lines))
        return found
    if api.startswith("helm.toolkit.fluxcd.io/") and kind == "HelmRelease":
        values(gotmpl.get(spec, "values"))
        for entry in gotmpl.sequence(gotmpl.get(spec, "valuesFrom")):
            hidden(entry, "values from a ConfigMap or Secret are not in the repository; the "
                   "images they set are unknown")
        chart = gotmpl.get_path(spec, "chart.spec")
        version = gotmpl.get(chart, "version")
        if chart is not None:
            source = gotmpl.get(chart, "sourceRef")
            via = "/".join(
                v for v in (gotmpl.scalar(gotmpl.get(source, "kind")),
                            gotmpl.scalar(gotmpl.get(source, "name"))) if v)
            hidden(version if version is not None else chart,
                   f"chart {gotmpl.scalar(gotmpl.get(chart, 'chart')) or '?'} version "
                   f"{gotmpl.scalar(version) or '(none: the newest)'} from {via or '?'}: the "
                   "chart's registry repository is not resolved, so the chart artifact and "
                   "the images of its own values.yaml are not protected")
        elif gotmpl.get(spec, "chartRef") is not None:
            hidden(gotmpl.get(spec, "chartRef") or document,
                   "the chart comes from an OCIRepository or HelmChart object, not resolved")
        return found
    if api.startswith("argoproj.io/") and kind in ("Application", "ApplicationSet"):
        if kind == "ApplicationSet":
            hidden(document, "an ApplicationSet generates Applications from templates; "
                   "what they deploy is not read")
            return found
        sources = [gotmpl.get(spec, "source"), *gotmpl.sequence(gotmpl.get(spec, "sources"))]
        for source in sources:
            if source is None:
                continue
            helm = gotmpl.get(source, "helm")
            values(gotmpl.get(helm, "valuesObject"))
            _string_values(gotmpl.get(helm, "values"), file, lines, found)
            overrides(helm_parameters(gotmpl.get(helm, "parameters"), file, lines,
                                      f"{kind}/{name}"))
            overrides(kustomize_images(gotmpl.get_path(source, "kustomize.images"), file,
                                       lines, f"{kind}/{name}"))
            chart_name = gotmpl.scalar(gotmpl.get(source, "chart"))
            revision = gotmpl.get(source, "targetRevision")
            if chart_name is not None:
                hidden(revision if revision is not None else source,
                       f"chart {chart_name} version {gotmpl.scalar(revision) or '(none)'} from "
                       f"{gotmpl.scalar(gotmpl.get(source, 'repoURL')) or '?'}: the chart's "
                       "registry repository is not resolved, so the chart artifact and the "
                       "images of its own values.yaml are not protected")
        return found
    return None


def _string_values(node: Node | None, file: str, lines: Sequence[str], found: GitOpsScan) -> None:
    """``helm.values: |`` holds YAML as text: read it with the file's line numbers."""
    written = gotmpl.scalar(node)
    if node is None or written is None:
        return
    offset = gotmpl.line_of(node)  # the `values: |` line; the text starts on the next one
    if gotmpl.is_templated(written):
        line = offset
        found.unresolved.append(Unresolved(f"{file}:{line}", lines[line - 1].strip()
                                           if 0 < line <= len(lines) else "",
                                           "helm values written with templates: not read"))
        return
    try:
        documents = gotmpl.compose("\n" * offset + written)
    except yaml.YAMLError as exc:
        found.unresolved.append(Unresolved(f"{file}:{offset}", "helm.values",
                                           f"helm values that are {gotmpl.yaml_error(exc)}"))
        return
    for document in documents[:1]:
        scan = scan_values(document, file, lines)
        found.images.extend(scan.images)
        found.unresolved.extend(scan.unresolved)


def kustomize_helm_charts(
    document: Node, file: str, lines: Sequence[str], environment: str, component: str
) -> tuple[list[Component], list[Unresolved]]:
    """A kustomization's ``helmCharts:`` (``kustomize build --enable-helm``, what Argo CD
    runs for it): each a release of a chart version, like a helmfile release's."""
    components: list[Component] = []
    unresolved: list[Unresolved] = []
    for entry in gotmpl.sequence(gotmpl.get(document, "helmCharts")):
        fields = {key: gotmpl.scalar(gotmpl.get(entry, key))
                  for key in ("name", "repo", "version", "releaseName", "namespace")}
        name, repo, version = fields["name"], fields["repo"], fields["version"]
        line = gotmpl.line_of(gotmpl.get(entry, "version") or entry)
        quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        known = [v for v in (name, repo, version) if v is not None]
        if name is None or repo is None or any(gotmpl.is_templated(v) for v in known):
            unresolved.append(Unresolved(
                f"{file}:{line}", quoted, "a helmCharts entry whose chart or repository is "
                "not written plainly: which chart kustomize inflates is unknown", component))
            continue
        if not version:
            unresolved.append(Unresolved(
                f"{file}:{line}", quoted, f"helmCharts entry {name} names no chart version, "
                "so kustomize inflates whatever is newest: write its version", component))
            continue
        components.append(Component(
            name=component, environment=environment, release=fields["releaseName"] or name,
            namespace=fields["namespace"], chart=name,
            chart_repository=repo.removeprefix("oci://").rstrip("/"),
            oci=repo.startswith("oci://"), chart_version=version,
            declared_at=f"{file}:{line}"))
    return components, unresolved
