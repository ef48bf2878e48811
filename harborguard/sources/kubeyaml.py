"""Images of Kubernetes objects written in the manifests tree (with lines).

Read exactly as the kubectl source reads them (kubepods.py): the pod spec wherever
``pod_spec_path`` places it (the built-in kinds, and an Argo Rollout, a Knative Service, an
OpenShift DeploymentConfig... by the usual places), and in it every image ``pod_images``
finds (containers, the references in their env values and args, image volumes). An object
without a pod spec that names an image or containers anyway (a Tekton Task's steps, a
Deployment's containers one level off) is ``unresolved``, never dropped; so is an image
that is a template (in an env value or argument too), and a pod spec part of the wrong
shape. What an object of a kind other than the built-in ones names beside its pod spec (a
Prometheus's ``spec.image``; kubebeside.py) is read too: an image reference is an image of
the object, what names an image without being one reference is ``unresolved``. A
container without an image is skipped silently: a kustomize
patch leaves it out, and its base names it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import Unresolved, digest_of
from harborguard.sources.kubebeside import (
    FILLED,
    NOT_WORKLOADS,
    TEMPLATE,
    images_beside_pod_spec,
)
from harborguard.sources.kubenamed import OBJECT, references_with_paths
from harborguard.sources.kubepods import (
    CONTAINER_GROUPS,
    Path,
    PodDefect,
    dotted,
    find_stray,
    get_path,
    pod_images,
    pod_spec_path,
)

# API groups whose objects name images that they do not run: kustomize's own files (read
# by gitops.py and imageoverrides.py), Flux's image automation (repositories to scan).


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
    """Images of a workload object, as the kubectl source reads them (and Lists)."""
    found: list[ManifestImage] = []
    unresolved: list[Unresolved] = []
    kind = gotmpl.scalar(gotmpl.get(node, "kind")) or ""
    if kind.endswith("List"):
        for item in gotmpl.sequence(gotmpl.get(node, "items")):
            more, more_hidden = scan_kubernetes(item, file, lines)
            found.extend(more)
            unresolved.extend(more_hidden)
        return found, unresolved
    name = gotmpl.scalar(gotmpl.get_path(node, "metadata.name")) or "?"
    api = gotmpl.scalar(gotmpl.get(node, "apiVersion")) or ""
    item = plain(node)
    if not isinstance(item, OBJECT):
        return found, unresolved

    def hidden(at: Node | None, reason: str) -> None:
        line = gotmpl.line_of(at if at is not None else node)
        quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        unresolved.append(Unresolved(f"{file}:{line}", quoted, f"{kind}/{name}: {reason}"))

    spec_path = pod_spec_path(item, kind)
    pod_spec = get_path(item, spec_path) if spec_path is not None else None
    if spec_path is None or not isinstance(pod_spec, OBJECT):
        # No pod spec (a Service; a kustomize patch of a Deployment's other fields): what
        # names an image or containers anyway is not silence; what a custom resource names
        # (a database operator's spec.imageName) is read.
        _beside(node, item, kind, name, None, file, lines, found, unresolved)
        stray = None if api.startswith(NOT_WORKLOADS) else find_stray(item)
        if stray is not None:
            what, path = stray
            unresolved.append(_stray(node, path, file, lines, f"{kind}/{name} has {what} at "
                                     f"{dotted(path)}, outside any pod spec harborguard can "
                                     "read, so what it runs is unknown"))
        return found, unresolved
    spec_node = node_at(node, spec_path)
    for image in pod_images(pod_spec):
        at = node_at(spec_node, image.path)
        if isinstance(image, PodDefect):
            if not image.absent:
                hidden(at, f"{image.message}, so what it runs is unknown")
            continue
        ref = image.ref.strip()
        if not ref or at is None:
            continue
        if gotmpl.is_templated(ref):
            if image.runs:  # an env value or argument: named below
                hidden(at, f"{'the image' if image.label is None else image.label} is a "
                       "template")
            continue
        found.append(ManifestImage(ref, digest_of(ref), gotmpl.line_of(at), f"{kind}/{name}"))
    for path, label in _templated_references(pod_spec):
        hidden(node_at(spec_node, path), f"{label} names an image through a template")
    if not api.startswith(NOT_WORKLOADS):  # an operator's spec.image beside its sidecars...
        _beside(node, item, kind, name, spec_path, file, lines, found, unresolved)
    return found, unresolved


def _beside(node: Node, item: Mapping[str, Any], kind: str, name: str,
            spec_path: tuple[str, ...] | None, file: str, lines: Sequence[str],
            found: list[ManifestImage], unresolved: list[Unresolved]) -> None:
    """What ``item`` names beside its pod spec (None: it has none), as
    :func:`images_beside_pod_spec` finds it."""
    where = ("outside any pod spec harborguard reads" if spec_path is None else
             f"beside the pod spec harborguard reads ({dotted(spec_path)})")
    for extra in images_beside_pod_spec(item, kind, spec_path):
        if extra.ref is None:
            unresolved.append(_stray(node, extra.path, file, lines, (
                f"{kind}/{name} has {extra.what} at {dotted(extra.path)}, {where}, so what it "
                "runs is unknown")))
        else:
            line = gotmpl.line_of(node_at(node, extra.path) or node)
            found.append(ManifestImage(extra.ref, digest_of(extra.ref), line, f"{kind}/{name}"))


def _templated_references(pod_spec: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """(path, label) of each env value or argument that names an image once its templates
    are filled in (``{{ .Values.registry }}/proj/app:1.0``): each template read as a word
    that is a host, a path part and a tag at once."""
    for group in CONTAINER_GROUPS:
        containers = pod_spec.get(group)
        for index, container in enumerate(containers if isinstance(containers, list) else ()):
            masked = _masked(container) if isinstance(container, OBJECT) else None
            if masked is None:
                continue
            for label, ref, path in references_with_paths(masked):
                if FILLED in ref:
                    yield (group, index, *path), label


def _masked(container: Mapping[str, Any]) -> dict[str, Any] | None:
    """The container's env values, command and args with every template filled in by
    FILLED; None when none holds a template."""
    def fill(value: Any) -> Any:
        return TEMPLATE.sub(FILLED, value) if isinstance(value, str) else value

    env = container.get("env")
    masked = {
        "env": [{**e, "value": fill(e.get("value"))} if isinstance(e, OBJECT) else e
                for e in env] if isinstance(env, list) else env,
        **{group: [fill(v) for v in items] if isinstance(items, list) else items
           for group in ("command", "args") for items in [container.get(group)]},
    }
    return masked if masked != {k: container.get(k) for k in masked} else None


def _stray(node: Node, path: Path, file: str, lines: Sequence[str], reason: str) -> Unresolved:
    at = node_at(node, path) or node
    line = gotmpl.line_of(at)
    quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return Unresolved(f"{file}:{line}", quoted, reason)


def plain(node: Node) -> Any:
    """The node as Python data, as the kubectl source gets it from JSON: maps (a key
    written twice: the last wins, as gotmpl.get reads it), lists, scalars as written (text;
    None for null). Iterative: nesting is bounded by the YAML parser, not the stack."""
    root: list[Any] = [None]
    stack: list[tuple[Node, Any, Any]] = [(node, root, 0)]
    while stack:
        current, parent, key = stack.pop()
        value: Any
        if isinstance(current, MappingNode):
            children = {name: child for name, _, child in gotmpl.items(current)}
            value = dict.fromkeys(children)
            stack.extend((child, value, name) for name, child in children.items())
        elif isinstance(current, SequenceNode):
            value = [None] * len(current.value)
            stack.extend((child, value, index) for index, child in enumerate(current.value))
        else:
            value = gotmpl.scalar(current)
        parent[key] = value
    return root[0]


def node_at(node: Node | None, path: Path) -> Node | None:
    """The node at ``path`` (keys and list indexes) under ``node``, or None."""
    for part in path:
        if isinstance(part, int):
            items = gotmpl.sequence(node)
            node = items[part] if 0 <= part < len(items) else None
        else:
            node = gotmpl.get(node, part)
        if node is None:
            return None
    return node
