"""Container images of Kubernetes objects written in the manifests tree (with lines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yaml.nodes import Node

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import Unresolved, digest_of
from harborguard.sources.kubectl import POD_SPEC_PATHS

_CONTAINER_GROUPS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True, slots=True)
class ManifestImage:
    ref: str
    digest: str | None
    line: int
    object: str  # "Kind/name", for messages


def is_kubernetes_object(node: Node) -> bool:
    return gotmpl.scalar(gotmpl.get(node, "apiVersion")) is not None and (
        gotmpl.scalar(gotmpl.get(node, "kind")) is not None
    )


def scan_kubernetes(
    node: Node, file: str, lines: Sequence[str]
) -> tuple[list[ManifestImage], list[Unresolved]]:
    """Container images of a workload object, as the kubectl source reads them (and Lists)."""
    found: list[ManifestImage] = []
    unresolved: list[Unresolved] = []
    kind = gotmpl.scalar(gotmpl.get(node, "kind")) or ""
    if kind.endswith("List"):
        for item in gotmpl.sequence(gotmpl.get(node, "items")):
            more, hidden = scan_kubernetes(item, file, lines)
            found.extend(more)
            unresolved.extend(hidden)
        return found, unresolved
    spec_path = POD_SPEC_PATHS.get(kind)
    if spec_path is None:
        return found, unresolved
    name = gotmpl.scalar(gotmpl.get_path(node, "metadata.name")) or "?"
    pod_spec = gotmpl.get_path(node, ".".join(spec_path))
    for group in _CONTAINER_GROUPS:
        for container in gotmpl.sequence(gotmpl.get(pod_spec, group)):
            image_node = gotmpl.get(container, "image")
            image = gotmpl.scalar(image_node)
            if image_node is None or image is None or not image.strip():
                continue
            line = gotmpl.line_of(image_node)
            quoted = lines[line - 1].strip() if 0 < line <= len(lines) else image
            if gotmpl.is_templated(image):
                unresolved.append(
                    Unresolved(f"{file}:{line}", quoted, f"{kind}/{name}: the image is a template")
                )
                continue
            found.append(ManifestImage(image.strip(), digest_of(image), line, f"{kind}/{name}"))
    return found, unresolved
