"""Where Kubernetes objects keep pod specs, the images a pod spec names (containers, the
references in their env values and args, image volumes), and which ReplicaSet or
ControllerRevision is a rollback target. Pure functions over decoded objects, shared by the
kubectl source and the manifests source (kubeyaml.py), so both read the same places."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harborguard.evidence import UsageKind
from harborguard.sources.kubenamed import (
    OBJECT,
    container_references,
    expand,
    named_image,
    references_in,
    references_with_paths,
)

__all__ = ["container_references", "expand", "named_image", "references_in"]

# Where each kind keeps its pod spec. Shared with the manifests source, which walks the
# same kinds in plain YAML.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
# A DaemonSet's or StatefulSet's earlier templates: `kubectl rollout undo` brings them back.
REVISION_SPEC_PATH = ("data", "spec", "template", "spec")
# Where other kinds (Argo Rollouts, Knative Services, OpenKruise CloneSets...) keep theirs,
# tried in this order; ``spec`` itself only when it lists containers, as a Pod's does.
_USUAL_PATHS: tuple[tuple[str, ...], ...] = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("template", "spec"),
    REVISION_SPEC_PATH,
    ("spec",),
)
CONTAINER_GROUPS = ("initContainers", "containers", "ephemeralContainers")
# Past this depth an object is not searched further for containers; what lies deeper is
# reported as unplaced rather than walked (no object kubectl prints comes close).
SEARCH_DEPTH = 64

Path = tuple[str | int, ...]


def get_path(item: Any, path: tuple[str, ...]) -> Any:
    node = item
    for key in path:
        node = node.get(key) if isinstance(node, OBJECT) else None
    return node


def place_pod_spec(item: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The usual place of a pod spec in an object of a kind harborguard does not know."""
    for path in _USUAL_PATHS:
        spec = get_path(item, path)
        if isinstance(spec, OBJECT) and any(g in spec for g in CONTAINER_GROUPS):
            return path
    return None


def pod_spec_path(item: Mapping[str, Any], kind: str) -> tuple[str, ...] | None:
    """Where ``item`` keeps its pod spec: by kind when harborguard knows the kind (the
    spec must then be there), else the usual places; None when it has no pod spec."""
    path = POD_SPEC_PATHS.get(kind)
    if path is None and kind == "ControllerRevision":
        owner = revision_owner(item)
        if (owner is not None and owner[0] in ("DaemonSet", "StatefulSet")) or isinstance(
                get_path(item, REVISION_SPEC_PATH[:-1]), Mapping):
            return REVISION_SPEC_PATH
    return path or place_pod_spec(item)


# -- what a pod spec names: the one walk of both sources -----------------------------------


@dataclass(frozen=True, slots=True)
class PodImage:
    """An image a pod spec names. ``runs``: the kubelet pulls it for the pod (a container's
    image, an image volume's reference), so it is evidence of the kind of its object; else
    a container only names it (an env value, an argument) and starts it some other way.
    ``label`` names it within its object (``env NAME``, ``args[2]``, ``volume NAME``); None
    for a container's own image. ``container``: the container's name, for its imageID."""

    ref: str
    path: Path  # from the pod spec to the text naming it
    runs: bool
    label: str | None = None
    container: str | None = None


@dataclass(frozen=True, slots=True)
class PodDefect:
    """What the walk cannot read. ``absent``: a container without an image or an image
    volume without a reference (what a kustomize patch leaves out); else malformed."""

    message: str
    path: Path
    absent: bool = False


def pod_images(pod_spec: Mapping[str, Any]) -> Iterator[PodImage | PodDefect]:
    """Every image ``pod_spec`` names, in order: each container group (its images, then
    the references in its env values, args and command), then image volumes
    (``volumes[].image.reference``, which the kubelet pulls like a container image)."""
    for group in CONTAINER_GROUPS:
        containers = pod_spec.get(group)
        if containers is None:
            continue
        if not isinstance(containers, list):
            yield PodDefect(f"{group} is {type_name(containers)}, not a list", (group,))
            continue
        for index, container in enumerate(containers):
            if not isinstance(container, OBJECT):
                yield PodDefect(f"{group}[{index}] is {type_name(container)}, not an object",
                                (group, index))
                continue
            name = text(container.get("name"))
            image = container.get("image")
            if isinstance(image, str) and image:
                yield PodImage(image, (group, index, "image"), runs=True, container=name)
            else:
                yield PodDefect(f"{group}[{index}] has no image", (group, index), absent=True)
            for label, ref, path in references_with_paths(container):
                yield PodImage(ref, (group, index, *path), runs=False, label=label,
                               container=name)
    yield from _image_volumes(pod_spec.get("volumes"))


def _image_volumes(volumes: Any) -> Iterator[PodImage | PodDefect]:
    if volumes is None:
        return
    if not isinstance(volumes, list):
        yield PodDefect(f"volumes is {type_name(volumes)}, not a list", ("volumes",))
        return
    for index, volume in enumerate(volumes):
        here: Path = ("volumes", index)
        if not isinstance(volume, OBJECT):
            yield PodDefect(f"volumes[{index}] is {type_name(volume)}, not an object", here)
            continue
        source = volume.get("image")
        if source is None:
            continue  # an emptyDir, a configMap...: no image
        name = text(volume.get("name")) or "?"
        if not isinstance(source, OBJECT):
            yield PodDefect(f"volumes[{index}] ({name}) has an image that is "
                            f"{type_name(source)}, not an object", (*here, "image"))
            continue
        reference = source.get("reference")
        if isinstance(reference, str) and reference:
            yield PodImage(reference, (*here, "image", "reference"), runs=True,
                           label=f"volume {name}")
        else:
            yield PodDefect(f"volumes[{index}] ({name}) is an image volume without a "
                            "reference", (*here, "image"), absent=True)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, OBJECT):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def image_ids_of(
    status: Any, status_key: str, problem: Callable[[str], None]
) -> dict[str, str]:
    """Container name -> imageID for one group of a pod's container statuses."""
    if not isinstance(status, OBJECT):
        return {}
    statuses = status.get(status_key)
    if statuses is None:
        return {}
    if not isinstance(statuses, list):
        problem(f"status.{status_key} is {type_name(statuses)}, not a list; digests not used")
        return {}
    out: dict[str, str] = {}
    for entry in statuses:
        if not isinstance(entry, OBJECT):
            continue
        name, image_id = text(entry.get("name")), entry.get("imageID")
        # "" is normal: the runtime has not pulled the image (yet), e.g. ImagePullBackOff.
        if name and isinstance(image_id, str) and image_id:
            out[name] = image_id
    return out


# -- images outside any pod spec -----------------------------------------------------------


def stray_containers(item: Any) -> str | None:
    """Where ``item`` names what it runs outside any pod spec (:func:`find_stray`), as
    "WHAT at PATH"; or None."""
    found = find_stray(item)
    return f"{found[0]} at {dotted(found[1])}" if found is not None else None


def find_stray(item: Any) -> tuple[str, Path] | None:
    """Where ``item`` names what it runs outside any pod spec: ("a container list", path)
    (``containers``, init or ephemeral), ("an image", path) (an ``image`` string or map: an
    Argo Workflow's ``container``, a Tekton step), ("an image list", path), or None. An
    object of a kind harborguard does not know that has one hides what it runs.
    ``metadata`` is not searched."""
    stack: list[tuple[Any, Path]] = [(item, ())]
    while stack:
        node, where = stack.pop()
        depth = len(where)
        if isinstance(node, OBJECT):
            children = [(str(k), v) for k, v in node.items()]
            for key, value in children:
                if key in CONTAINER_GROUPS and isinstance(value, list) and value:
                    return "a container list", (*where, key)
                if key == "image" and (image_map(value) or (
                        isinstance(value, str) and value.strip())):
                    return "an image", (*where, key)
                if key == "images" and isinstance(value, list) and any(
                        (isinstance(v, str) and v.strip()) or image_map(v) for v in value):
                    return "an image list", (*where, key)
            if depth >= SEARCH_DEPTH:
                return f"objects nested deeper than {SEARCH_DEPTH} levels", where
            for key, value in reversed(children):
                if isinstance(value, Mapping | list) and not (depth == 0 and key == "metadata"):
                    stack.append((value, (*where, key)))
        elif isinstance(node, list):
            if depth >= SEARCH_DEPTH:
                return f"objects nested deeper than {SEARCH_DEPTH} levels", where
            for index in range(len(node) - 1, -1, -1):
                if isinstance(node[index], Mapping | list):
                    stack.append((node[index], (*where, index)))
    return None


def dotted(path: Path) -> str:
    """``spec.steps[0].image``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def image_map(value: Any) -> bool:
    """An image given as a map, as Helm charts and operators write it: a ``repository``
    (with or without a ``registry``), with or without a ``tag`` or ``digest``."""
    return isinstance(value, OBJECT) and any(
        isinstance(value.get(k), str) and value[k].strip() for k in ("repository", "repo"))


def more_items(metadata: Any) -> str | None:
    """What says a List is one page of a longer one (``metadata.continue``, a
    ``remainingItemCount`` above 0), or None when it is whole."""
    if not isinstance(metadata, OBJECT):
        return None
    remaining = metadata.get("remainingItemCount")
    token = metadata.get("continue")
    if isinstance(remaining, int) and not isinstance(remaining, bool) and remaining > 0:
        return f"{remaining} more items exist (metadata.remainingItemCount)"
    if isinstance(token, str) and token:
        return "more items exist (metadata.continue is set)"
    return None


# -- ReplicaSets and ControllerRevisions: what `kubectl rollout undo` brings back --------

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def replicaset_kind(
    item: Mapping[str, Any],
    metadata: Mapping[str, Any],
    namespace: str,
    current_revisions: dict[tuple[str, str], str],
) -> UsageKind:
    """An old ReplicaSet of a Deployment (scaled to 0, kept under revisionHistoryLimit) is
    what ``kubectl rollout undo`` brings back: rollback evidence. Anything else runs now."""
    spec = item.get("spec")
    replicas = spec.get("replicas", 1) if isinstance(spec, OBJECT) else 1
    if replicas != 0 or isinstance(replicas, bool):
        return "declared"
    owner = _deployment_owner(metadata)
    if owner is None:
        return "declared"
    revision = deployment_revision(metadata)
    # The current ReplicaSet of a Deployment scaled to zero is declared, not a rollback.
    if revision is not None and current_revisions.get((namespace, owner)) == revision:
        return "declared"
    # docs/DESIGN.md: where is namespace/Kind/name; the revision is in the ReplicaSet itself.
    return "rollback"


def _deployment_owner(metadata: Mapping[str, Any]) -> str | None:
    owners = metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    deployments = [o for o in owners if isinstance(o, OBJECT) and o.get("kind") == "Deployment"]
    deployments.sort(key=lambda o: o.get("controller") is not True)
    for owner in deployments:
        name = text(owner.get("name"))
        if name:
            return name
    return None


def deployment_revision(metadata: Mapping[str, Any]) -> str | None:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, OBJECT):
        return None
    return text(annotations.get(REVISION_ANNOTATION))


class Identity(NamedTuple):
    """What names a listed object: its kind, metadata, namespace ("" for none) and name
    (None when it has none)."""

    kind: str
    metadata: Mapping[str, Any]
    namespace: str
    name: str | None


def identity(item: Any, default_kind: str | None) -> Identity | None:
    """An item's kind (``default_kind`` when it says none), metadata, namespace and name;
    None for an item that is not an object, or has no kind or no metadata."""
    if not isinstance(item, OBJECT):
        return None
    kind, metadata = item.get("kind", default_kind), item.get("metadata")
    if not isinstance(kind, str) or not isinstance(metadata, OBJECT):
        return None
    return Identity(kind, metadata, text(metadata.get("namespace")) or "",
                    text(metadata.get("name")))


def text(value: Any) -> str | None:
    """A name-like field; hand-written YAML may leave ``name: 123`` or a revision unquoted."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# -- ControllerRevisions ------------------------------------------------------------------


@dataclass
class Revisions:
    """What decides whether a ControllerRevision is current: per owner (namespace, kind,
    name), the revision names its status calls current or updating, and the highest
    revision number present."""

    current_names: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    highest: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def note_owner(self, item: Mapping[str, Any], kind: str, namespace: str, name: str) -> None:
        status = item.get("status")
        if not isinstance(status, OBJECT) or (
                "currentRevision" not in status and "updateRevision" not in status):
            return  # a Pod's, a Deployment's: no revision names
        names = {status.get(k) for k in ("currentRevision", "updateRevision")}
        named = {n for n in names if isinstance(n, str) and n}
        if named:
            self.current_names.setdefault((namespace, kind, name), set()).update(named)

    def note_revision(self, item: Mapping[str, Any], namespace: str) -> None:
        owner, number = revision_owner(item), revision_number(item)
        if owner is not None and number is not None:
            key = (namespace, *owner)
            self.highest[key] = max(number, self.highest.get(key, number))

    def is_rollback(self, item: Mapping[str, Any], namespace: str, name: str) -> bool:
        """Not the revision its owner runs or rolls out now: only what ``rollout undo``
        would bring back. Unknown (no owner, no number) counts as current."""
        owner, number = revision_owner(item), revision_number(item)
        if owner is None or number is None:
            return False
        key = (namespace, *owner)
        if name in self.current_names.get(key, ()):
            return False
        return number < self.highest.get(key, number)


def revision_owner(item: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the controller that owns a ControllerRevision."""
    metadata = item.get("metadata")
    owners = metadata.get("ownerReferences") if isinstance(metadata, OBJECT) else None
    if not isinstance(owners, list):
        return None
    candidates = [o for o in owners if isinstance(o, OBJECT)]
    candidates.sort(key=lambda o: o.get("controller") is not True)
    for owner in candidates:
        kind, name = owner.get("kind"), owner.get("name")
        if isinstance(kind, str) and kind and isinstance(name, str) and name:
            return kind, name
    return None


def revision_number(item: Mapping[str, Any]) -> int | None:
    value = item.get("revision")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        return int(value)
    return None
