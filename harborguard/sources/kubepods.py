"""Where Kubernetes objects keep pod specs, image references outside ``image:``, and which
ReplicaSet or ControllerRevision is a rollback target. Pure functions over decoded objects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harborguard.evidence import UsageKind
from harborguard.imageref import parse_image_ref

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
_SEARCH_DEPTH = 64
# No image reference holds any of these: they separate words in env values and arguments
# (``--builder=REF``, ``a,b``, ``{"image": "REF"}``, a shell line).
_WORD_SEPARATORS = re.compile(r"[\s,;'\"{}\[\]()=<>|&`]+")
# Longer than any object the API server stores (etcd keeps 1.5 MiB): not a real value.
_VALUE_MAX = 2 << 20
# What $(VAR) expansion may produce for one container, all values together.
_EXPAND_BUDGET = 8 * _VALUE_MAX


def get_path(item: Any, path: tuple[str, ...]) -> Any:
    node = item
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def place_pod_spec(item: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The usual place of a pod spec in an object of a kind harborguard does not know."""
    for path in _USUAL_PATHS:
        spec = get_path(item, path)
        if isinstance(spec, Mapping) and any(g in spec for g in CONTAINER_GROUPS):
            return path
    return None


def stray_containers(item: Any) -> str | None:
    """Where ``item`` names what it runs outside any pod spec: "a container list at PATH"
    (``containers``, init or ephemeral) or "an image at PATH" (an ``image`` string: an Argo
    Workflow's ``container``, a Tekton step), or None. An object of a kind harborguard does
    not know that has one hides what it runs. ``metadata`` is not searched."""
    stack: list[tuple[Any, str, int]] = [(item, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, Mapping):
            children = [(str(k), v) for k, v in node.items()]
            for key, value in children:
                path = f"{where}.{key}" if where else key
                if key in CONTAINER_GROUPS and isinstance(value, list) and value:
                    return f"a container list at {path}"
                if key == "image" and (image_map(value) or (
                        isinstance(value, str) and value.strip())):
                    return f"an image at {path}"
                if key == "images" and isinstance(value, list) and any(
                        (isinstance(v, str) and v.strip()) or image_map(v) for v in value):
                    return f"an image list at {path}"
            if depth >= _SEARCH_DEPTH:
                return f"objects nested deeper than {_SEARCH_DEPTH} levels at {where}"
            for key, value in reversed(children):
                if isinstance(value, Mapping | list) and not (depth == 0 and key == "metadata"):
                    stack.append((value, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(node, list):
            if depth >= _SEARCH_DEPTH:
                return f"objects nested deeper than {_SEARCH_DEPTH} levels at {where}"
            for index in range(len(node) - 1, -1, -1):
                if isinstance(node[index], Mapping | list):
                    stack.append((node[index], f"{where}[{index}]", depth + 1))
    return None


def image_map(value: Any) -> bool:
    """An image given as a map, as Helm charts and operators write it: a ``repository``
    (with or without a ``registry``), with or without a ``tag`` or ``digest``."""
    return isinstance(value, Mapping) and any(
        isinstance(value.get(k), str) and value[k].strip() for k in ("repository", "repo"))


def more_items(metadata: Any) -> str | None:
    """What says a List is one page of a longer one (``metadata.continue``, a
    ``remainingItemCount`` above 0), or None when it is whole."""
    if not isinstance(metadata, Mapping):
        return None
    remaining = metadata.get("remainingItemCount")
    token = metadata.get("continue")
    if isinstance(remaining, int) and not isinstance(remaining, bool) and remaining > 0:
        return f"{remaining} more items exist (metadata.remainingItemCount)"
    if isinstance(token, str) and token:
        return "more items exist (metadata.continue is set)"
    return None


# -- image references in env values, args and command --------------------------------------

# Transports of containers/image (skopeo, buildah, podman): only docker:// names a registry;
# the others name local storage or files, not an image in Harbor.
_REGISTRY_TRANSPORT = "docker://"


def named_image(value: str) -> str | None:
    """``value`` if it clearly is one image reference: a registry host (with a dot or a port,
    or ``localhost``), a repository path, and a tag or digest. Anything else, such as a URL
    with a scheme, a host and path without a tag, or free text, is None."""
    if not 3 < len(value) <= 512 or "://" in value:
        return None
    first, slash, rest = value.partition("/")
    if not slash or not (first == "localhost" or "." in first or ":" in first):
        return None
    if ":" not in rest.rpartition("/")[2] and "@" not in rest:
        return None  # no tag, no digest: a repository, a path, not one image
    try:
        parse_image_ref(value)
    except ValueError:
        return None
    return value


def container_references(container: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, reference) for each image reference in a container's env values, args and
    command: ``env NAME``, ``args[2]``. A value may hold several (``--builder=REF``, a
    shell line, a list): each word that :func:`named_image` accepts counts. ``$(VAR)`` is
    expanded first, as the kubelet does: in an env value from the entries before it, in
    command and args from all of them."""
    env = container.get("env")
    values: dict[str, str] = {}
    budget = _EXPAND_BUDGET

    def expanded(value: str) -> str:
        # Values built of values double at each step: past the budget, read them as written.
        nonlocal budget
        if budget <= 0:
            return value
        out = expand(value, values)
        budget -= len(out)
        return out

    if isinstance(env, list):
        for entry in env:
            if not isinstance(entry, Mapping):
                continue
            name, value = entry.get("name"), entry.get("value")
            if not isinstance(value, str):
                continue  # valueFrom: unknown here, so $(NAME) stays as it is
            value = expanded(value)
            if isinstance(name, str):
                values[name] = value
            for ref in references_in(value):
                yield f"env {name}", ref
    for group in ("command", "args"):
        items = container.get(group)
        if not isinstance(items, list):
            continue
        for index, value in enumerate(items):
            if isinstance(value, str):
                for ref in references_in(expanded(value)):
                    yield f"{group}[{index}]", ref


def expand(value: str, variables: Mapping[str, str]) -> str:
    """The kubelet's expansion of ``$(VAR)``: a known VAR is replaced, an unknown one kept
    as written, ``$$`` is one literal ``$``. Bounded: past _VALUE_MAX (values built of
    values) the result is cut, and :func:`references_in` reads nothing of it."""
    if "$" not in value:
        return value
    out: list[str] = []
    size, cursor, checkpoint = 0, 0, 0
    while cursor < len(value) - 1 and size <= _VALUE_MAX:
        if value[cursor] != "$":
            cursor += 1
            continue
        out.append(value[checkpoint:cursor])
        following = value[cursor + 1]
        closer = value.find(")", cursor + 2) if following == "(" else -1
        if following == "$":
            piece, cursor = "$", cursor + 2
        elif closer >= 0:
            name = value[cursor + 2:closer]
            piece = variables.get(name, f"$({name})")
            cursor = closer + 1
        else:
            piece, cursor = value[cursor:cursor + 2], cursor + 2
        out.append(piece)
        size += len(piece) + len(out[-2])
        checkpoint = cursor
    out.append(value[checkpoint:])
    result = "".join(out)
    return result if len(result) <= _VALUE_MAX else result[: _VALUE_MAX + 1]


def references_in(value: str) -> list[str]:
    """The image references among the words of ``value``, in order, each once."""
    if len(value) > _VALUE_MAX or "/" not in value:
        return []
    words = (w.removeprefix(_REGISTRY_TRANSPORT) for w in _WORD_SEPARATORS.split(value))
    found = (named_image(word) for word in words if "/" in word)
    return list(dict.fromkeys(ref for ref in found if ref))


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
    replicas = spec.get("replicas", 1) if isinstance(spec, Mapping) else 1
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
    deployments = [o for o in owners if isinstance(o, Mapping) and o.get("kind") == "Deployment"]
    deployments.sort(key=lambda o: o.get("controller") is not True)
    for owner in deployments:
        name = text(owner.get("name"))
        if name:
            return name
    return None


def deployment_revision(metadata: Mapping[str, Any]) -> str | None:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    return text(annotations.get(REVISION_ANNOTATION))


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
        if not isinstance(status, Mapping):
            return
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
    owners = metadata.get("ownerReferences") if isinstance(metadata, Mapping) else None
    if not isinstance(owners, list):
        return None
    candidates = [o for o in owners if isinstance(o, Mapping)]
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
