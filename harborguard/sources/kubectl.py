"""Evidence from a live cluster: ``kubectl get ... -o json``, run here or saved to a file.

Every image of every pod and pod template becomes a ``Usage``: pods are ``running``,
controllers ``declared``, and the old ReplicaSets a Deployment keeps for ``kubectl rollout
undo`` are ``rollback``. What cannot be read (a document that is not a List, an API
``Status`` instead of objects, a malformed item or container) is named in ``missing``: the
run is incomplete, never "nothing in use". Lesser defects (a digest that cannot be used,
so the tag alone names the image) are ``problems``, reported as notes.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harborguard import jsonio, yamlread
from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage, UsageKind
from harborguard.imageref import parse_image_id
from harborguard.sources.process import run_tool

RESOURCES = "pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"

# Where each kind keeps its pod spec. Other kinds (Services, ConfigMaps...) carry no images.
# Shared with the manifests source, which walks the same kinds in plain YAML.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_GROUPS = (
    ("initContainers", "initContainerStatuses"),
    ("containers", "containerStatuses"),
    ("ephemeralContainers", "ephemeralContainerStatuses"),
)
# Two seconds after SIGKILL is plenty; past that a grandchild escaped the process group.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class KubectlEvidence:
    usages: tuple[Usage, ...]
    # Lesser defects, one line each: "<origin>: <Kind ns/name>: <what>; digest not used".
    problems: tuple[str, ...]
    # Evidence that could not be read: "<origin>: <item or Kind ns/name>: <what>; skipped".
    missing: tuple[str, ...] = ()


class _Skip(Exception):
    """The item cannot be read at all; the message says why."""


def parse_kubectl_json(data: Any, origin: str) -> KubectlEvidence:
    """Usages from a ``kind: List`` (or ``PodList``...) or a single object; never raises.

    ``origin`` names where ``data`` came from (a file, a kubectl command) in problems.
    """
    problems: list[str] = []
    missing: list[str] = []
    items = _items(data, origin, missing)
    current_revisions = _deployment_revisions(items)
    usages: dict[Usage, None] = {}  # ordered set: two containers of one pod may share an image
    for label, item, default_kind in items:
        try:
            for usage in _item_usages(item, default_kind, current_revisions, origin, problems,
                                      missing):
                usages.setdefault(usage)
        except _Skip as exc:
            missing.append(f"{origin}: {label}: {exc}; skipped")
    if not items and not missing and isinstance(data, Mapping) and (
            "items" in data or _is_list_kind(data.get("kind"))):
        # A cluster always runs something (kube-system): no objects at all is a wrong
        # context or namespace far more often than an empty cluster. Not "nothing in use".
        missing.append(f"{origin}: holds no objects at all; an empty namespace cannot be told "
                       "from a wrong context or namespace, so nothing was learnt")
    return KubectlEvidence(usages=tuple(usages), problems=tuple(problems),
                           missing=tuple(missing))


def kubectl_command(
    *, context: str | None, namespace: str | None, executable: str = "kubectl"
) -> list[str]:
    command = [executable]
    if context:
        command += ["--context", context]
    command += ["get", RESOURCES, "-o", "json"]
    command += ["--namespace", namespace] if namespace else ["--all-namespaces"]
    return command


def run_kubectl(
    *,
    context: str | None,
    namespace: str | None,
    timeout: float,
    executable: str = "kubectl",
) -> Any:
    """Runs ``kubectl get <RESOURCES> -o json`` and returns the decoded List.

    Raises SourceError (one line: the command and the fix) if kubectl is missing, fails,
    times out or prints something that is not a Kubernetes List.
    """
    command = kubectl_command(context=context, namespace=namespace, executable=executable)
    shown = shlex.join(command)
    out = run_tool(
        command, timeout=timeout, tool="kubectl", file_option="--kubectl-json FILE",
        access_hint="check the context and your access (kubectl config current-context, "
        "kubectl auth can-i list pods)",
    )
    if not out.strip():
        raise SourceError(f"`{shown}` printed nothing; run it by hand to see what it does")
    try:
        data = jsonio.loads(out)
    except ValueError as exc:
        where = (
            f" at line {exc.lineno}, column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise SourceError(
            f"`{shown}` printed output that is not JSON{where}; run it by hand to see what it "
            "prints (a kubectl plugin or alias may add text)"
        ) from None
    if not _looks_like_kubernetes(data):
        raise SourceError(
            f"`{shown}` printed JSON that is not a Kubernetes List; run it by hand to see what "
            "it prints"
        )
    return data


def load_kubectl_file(path: str | Path) -> Any:
    """Reads ``--kubectl-json FILE``: JSON or YAML, a List or a single object.

    Several YAML documents (``---``) are read as one List. Raises InputError naming the
    file if it cannot be read or is not a Kubernetes object at all.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: kubectl JSON file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read kubectl JSON file: {exc.strerror or exc}") from None
    text = _decode(raw, path)
    data = _load_json_or_yaml(text, path)
    if not _looks_like_kubernetes(data):
        raise InputError(
            f"{path}: not a Kubernetes object or List (no 'kind' or 'items'); save the output of "
            f"`kubectl get {RESOURCES} -o json`"
        )
    return data


# -- parsing ----------------------------------------------------------------------------


def _items(data: Any, origin: str, problems: list[str]) -> list[tuple[str, Any, str | None]]:
    """(label, item, kind to assume when the item has none) for each object in ``data``."""
    if not isinstance(data, Mapping):
        problems.append(
            f"{origin}: not a Kubernetes object or List ({_type(data)}); nothing read"
        )
        return []
    kind = data.get("kind")
    if kind == "Status":
        # What the API server answers instead of objects (Unauthorized, Forbidden...).
        status = data.get("status") or "?"
        message = data.get("message") or data.get("reason") or "no message"
        problems.append(f"{origin}: the API answered with a Status ({status}: {message}), not "
                        "objects; nothing read")
        return []
    if "items" not in data and not _is_list_kind(kind):
        if kind is None:
            problems.append(f"{origin}: no 'kind' and no 'items'; nothing read")
            return []
        return [("the object", data, None)]
    items = data.get("items")
    if items is None:  # kubectl prints "items": [] when nothing matched, null is no different
        return []
    if not isinstance(items, list):
        problems.append(f"{origin}: 'items' is {_type(items)}, not a list; nothing read")
        return []
    # Raw API lists ("PodList") leave out each item's kind; kubectl's "List" never does.
    default = None
    if isinstance(kind, str) and kind.endswith("List") and kind != "List":
        default = kind[: -len("List")]
    return [(f"items[{i}]", item, default) for i, item in enumerate(items)]


def _is_list_kind(kind: Any) -> bool:
    return isinstance(kind, str) and kind.endswith("List")


def _deployment_revisions(items: list[tuple[str, Any, str | None]]) -> dict[tuple[str, str], str]:
    """(namespace, name) -> the Deployment's current revision, for the Deployments present."""
    revisions: dict[tuple[str, str], str] = {}
    for _, item, default_kind in items:
        if not isinstance(item, Mapping) or item.get("kind", default_kind) != "Deployment":
            continue
        metadata = item.get("metadata")
        if not isinstance(metadata, Mapping):
            continue
        name, namespace = _text(metadata.get("name")), _text(metadata.get("namespace")) or ""
        revision = _revision(metadata)
        if name and revision:
            revisions[namespace, name] = revision
    return revisions


def _item_usages(
    item: Any,
    default_kind: str | None,
    current_revisions: dict[tuple[str, str], str],
    origin: str,
    problems: list[str],
    missing: list[str],
) -> Iterator[Usage]:
    if not isinstance(item, Mapping):
        raise _Skip(f"is {_type(item)}, not an object")
    kind = item.get("kind", default_kind)
    if not isinstance(kind, str):
        raise _Skip("has no kind")
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping):
        raise _Skip(f"{kind} has no metadata")
    name = _text(metadata.get("name"))
    if not name:
        raise _Skip(f"{kind} has no metadata.name")
    namespace = _text(metadata.get("namespace"))
    where = f"{namespace}/{kind}/{name}" if namespace else f"{kind}/{name}"
    pod_spec: Any = item
    for key in path:
        pod_spec = pod_spec.get(key) if isinstance(pod_spec, Mapping) else None
    if not isinstance(pod_spec, Mapping):
        raise _Skip(f"{kind} {_ns_name(namespace, name)} has no {'.'.join(path)}")

    def problem(message: str) -> None:
        problems.append(f"{origin}: {kind} {_ns_name(namespace, name)}: {message}")

    def unread(message: str) -> None:
        missing.append(f"{origin}: {kind} {_ns_name(namespace, name)}: {message}")

    usage_kind: UsageKind = "declared"
    if kind == "Pod":
        # Any phase: a pod in ImagePullBackOff still needs its image to exist.
        usage_kind = "running"
    elif kind == "ReplicaSet":
        usage_kind, where = _replicaset(item, metadata, namespace or "", where, current_revisions)

    status = item.get("status") if kind == "Pod" else None
    for group, status_key in _CONTAINER_GROUPS:
        containers = pod_spec.get(group)
        if containers is None:
            continue
        if not isinstance(containers, list):
            unread(f"{group} is {_type(containers)}, not a list; skipped")
            continue
        image_ids = _image_ids(status, status_key, problem) if kind == "Pod" else {}
        for index, container in enumerate(containers):
            if not isinstance(container, Mapping):
                unread(f"{group}[{index}] is {_type(container)}, not an object; skipped")
                continue
            image = container.get("image")
            if not isinstance(image, str) or not image:
                unread(f"{group}[{index}] has no image; skipped")
                continue
            digest = None
            container_name = _text(container.get("name"))
            image_id = image_ids.get(container_name) if container_name else None
            if image_id:
                try:
                    resolved = parse_image_id(image_id)
                except ValueError as exc:
                    problem(f"{status_key} of {container_name!r}: {exc}; digest not used")
                    resolved = None
                digest = resolved.digest if resolved else None
            yield Usage(source="kubectl", kind=usage_kind, ref=image, where=where, digest=digest)


def _replicaset(
    item: Mapping[str, Any],
    metadata: Mapping[str, Any],
    namespace: str,
    where: str,
    current_revisions: dict[tuple[str, str], str],
) -> tuple[UsageKind, str]:
    """An old ReplicaSet of a Deployment (scaled to 0, kept under revisionHistoryLimit) is
    what ``kubectl rollout undo`` brings back: rollback evidence. Anything else runs now."""
    spec = item.get("spec")
    replicas = spec.get("replicas", 1) if isinstance(spec, Mapping) else 1
    if replicas != 0 or isinstance(replicas, bool):
        return "declared", where
    owner = _deployment_owner(metadata)
    if owner is None:
        return "declared", where
    revision = _revision(metadata)
    # The current ReplicaSet of a Deployment scaled to zero is declared, not a rollback.
    if revision is not None and current_revisions.get((namespace, owner)) == revision:
        return "declared", where
    # DESIGN.md: where is namespace/Kind/name; the revision is in the ReplicaSet itself.
    return "rollback", where


def _deployment_owner(metadata: Mapping[str, Any]) -> str | None:
    owners = metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    deployments = [o for o in owners if isinstance(o, Mapping) and o.get("kind") == "Deployment"]
    deployments.sort(key=lambda o: o.get("controller") is not True)
    for owner in deployments:
        name = _text(owner.get("name"))
        if name:
            return name
    return None


def _image_ids(
    status: Any, status_key: str, problem: Callable[[str], None]
) -> dict[str, str]:
    """Container name -> imageID for one group of a pod's container statuses."""
    if not isinstance(status, Mapping):
        return {}
    statuses = status.get(status_key)
    if statuses is None:
        return {}
    if not isinstance(statuses, list):
        problem(f"status.{status_key} is {_type(statuses)}, not a list; digests not used")
        return {}
    out: dict[str, str] = {}
    for entry in statuses:
        if not isinstance(entry, Mapping):
            continue
        name, image_id = _text(entry.get("name")), entry.get("imageID")
        # "" is normal: the runtime has not pulled the image (yet), e.g. ImagePullBackOff.
        if name and isinstance(image_id, str) and image_id:
            out[name] = image_id
    return out


def _revision(metadata: Mapping[str, Any]) -> str | None:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    return _text(annotations.get(REVISION_ANNOTATION))


def _text(value: Any) -> str | None:
    """A name-like field; hand-written YAML may leave ``name: 123`` or a revision unquoted."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _ns_name(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _looks_like_kubernetes(data: Any) -> bool:
    return isinstance(data, Mapping) and (
        isinstance(data.get("kind"), str) or isinstance(data.get("items"), list)
    )


# -- files and processes ----------------------------------------------------------------


def _decode(raw: bytes, path: str | Path) -> str:
    # PowerShell's ">" writes UTF-16 with a BOM; kubectl itself writes UTF-8.
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save kubectl's output unchanged"
        ) from None


def _load_json_or_yaml(text: str, path: str | Path) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            return jsonio.loads(text)
        except json.JSONDecodeError as exc:  # jsonio.BeyondLimits (nesting, digits) too
            raise InputError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
    try:
        documents = [d for d in yaml.load_all(text, Loader=_SAFE_LOADER) if d is not None]
    except yamlread.LOAD_ERRORS as exc:
        raise InputError(f"{path}: not valid JSON or YAML{yamlread.problem(exc)}") from None
    if not documents:
        raise InputError(f"{path}: empty; expected the output of `kubectl get ... -o json`")
    if len(documents) == 1:
        return documents[0]
    return {"apiVersion": "v1", "kind": "List", "items": documents}


