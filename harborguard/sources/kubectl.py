"""Evidence from a live cluster: ``kubectl get ... -o json``, run here or saved to a file.

Every image of every pod and pod template (its containers' images and its image volumes'
references, walked by kubepods.pod_images as the manifests source walks them) becomes a
``Usage``: pods not finished (Succeeded, Failed) are ``running``, controllers ``declared``,
and what ``kubectl rollout undo`` brings back (a Deployment's old ReplicaSets, a
DaemonSet's or StatefulSet's earlier ControllerRevisions) is ``rollback``. An image
reference in a container's env value, args or command (a builder image the workload
starts) is evidence too, of the container's kind (``declared`` for a pod). Any kind that
keeps a pod spec in the usual places is read, and so is what it names beside it
(kubebeside.py); Lists inside Lists are flattened. What cannot
be read (a document that is not a List, an API ``Status`` instead of objects, a malformed
item or container, containers or images where no pod spec can be placed, a page of a paged
list) is named in ``missing``: the run is incomplete, never "nothing in use". Lesser
defects (a digest that cannot be used, so the tag alone names the image; a finished pod)
are ``problems``, reported as notes. Output that lists controllers but no Pod in their
namespace (``pods`` left out, or an account that may not list them) is read, and the
verdict says what runs was not checked (``no_pods``).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harborguard import yamlread
from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage, UsageKind
from harborguard.imageref import parse_image_id
from harborguard.inputfile import read_bounded
from harborguard.sources import kubedocs
from harborguard.sources.kubebeside import images_beside_pod_spec
from harborguard.sources.kubedocs import Unreadable, json_documents
from harborguard.sources.kubenamed import OBJECT
from harborguard.sources.kubepods import (
    POD_SPEC_PATHS,
    Identity,
    PodDefect,
    Revisions,
    deployment_revision,
    dotted,
    get_path,
    identity,
    image_ids_of,
    more_items,
    pod_images,
    pod_spec_path,
    replicaset_kind,
    stray_containers,
    type_name,
)
from harborguard.sources.kubepods import text as _text
from harborguard.sources.kuberevisions import pods_unlisted, unlisted_revisions

__all__ = ["POD_SPEC_PATHS", "RESOURCES", "KubectlEvidence", "kubectl_command",
           "load_kubectl_file", "parse_kubectl_json", "run_kubectl"]

RESOURCES = ("pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,"
             "controllerrevisions")
_CONTAINER_GROUPS = (
    ("initContainers", "initContainerStatuses"),
    ("containers", "containerStatuses"),
    ("ephemeralContainers", "ephemeralContainerStatuses"),
)
# A pod in these phases never restarts its containers.
_STATUS_KEYS = dict(_CONTAINER_GROUPS)
_FINISHED_PHASES = ("Succeeded", "Failed")
# A --kubectl-json file: about ten times what a cluster of 5,000 pods prints.
MAX_FILE_BYTES = 256 << 20
# Lists inside Lists (appended outputs read as one) are flattened down to this depth.
_LIST_DEPTH = 16


@dataclass(frozen=True, slots=True)
class KubectlEvidence:
    usages: tuple[Usage, ...]
    # Lesser defects, one line each: "<origin>: <Kind ns/name>: <what>; digest not used".
    problems: tuple[str, ...]
    # Evidence that could not be read: "<origin>: <item or Kind ns/name>: <what>; skipped".
    missing: tuple[str, ...] = ()
    objects: int = 0  # items read (every kind)
    workloads: int = 0  # of them, those with a pod spec (POD_SPEC_PATHS or a usual place)
    # Objects pointing at a ReplicaSet or ControllerRevision not listed (kuberevisions.py).
    unlisted: tuple[str, ...] = ()
    # Controllers that run pods in a namespace where no Pod is listed (kuberevisions.py).
    no_pods: tuple[str, ...] = ()


class _Skip(Exception):
    """The item cannot be read at all; the message says why."""


def parse_kubectl_json(data: Any, origin: str, *, pods_asked: bool = False) -> KubectlEvidence:
    """Usages from a ``kind: List`` (or ``PodList``...) or a single object; never raises.

    ``origin`` names where ``data`` came from (a file, a kubectl command) in problems.
    ``pods_asked``: ``data`` is what ``kubectl get pods,...`` printed, so no Pod in it
    means none runs (a saved file may leave pods out: ``no_pods`` names its controllers).
    """
    problems: list[str] = []
    missing: list[str] = []
    items = _items(data, origin, missing)
    identified = [(item, identity(item, default)) for _, item, default in items]
    context = _context(identified)
    usages: dict[Usage, None] = {}  # ordered set: two containers of one pod may share an image
    for label, item, default_kind in items:
        try:
            for usage in _item_usages(item, default_kind, context, origin, problems, missing):
                usages.setdefault(usage)
        except _Skip as exc:
            missing.append(f"{origin}: {label}: {exc}; skipped")
    if not items and not missing and isinstance(data, OBJECT) and (
            "items" in data or _is_list_kind(data.get("kind"))):
        # A cluster always runs something (kube-system): no objects at all is a wrong
        # context or namespace far more often than an empty cluster. Not "nothing in use".
        missing.append(f"{origin}: holds no objects at all; an empty namespace cannot be told "
                       "from a wrong context or namespace, so nothing was learnt")
    kinds = [_kind_of(item, default) for _, item, default in items]
    # A workload is any object with a pod spec: the kinds of POD_SPEC_PATHS, a
    # ControllerRevision, a Rollout...
    workloads = sum(1 for (_, item, _), kind in zip(items, kinds, strict=True)
                    if kind is not None and pod_spec_path(item, kind) is not None)
    if items and not workloads and not missing:
        # Services, ConfigMaps, Endpoints...: a dump of the wrong resources, not a cluster
        # that runs nothing. What runs is unknown, as for an empty List.
        shown = ", ".join(sorted({k or "?" for k in kinds})[:5])
        missing.append(f"{origin}: holds {len(items)} objects ({shown}) but no workload (Pod, "
                       "Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), so "
                       f"nothing was learnt; save `kubectl get {RESOURCES} -A -o json`")
    unlisted = unlisted_revisions(identified)
    no_pods = () if pods_asked else pods_unlisted((item, default) for _, item, default in items)
    return KubectlEvidence(usages=tuple(usages), problems=tuple(problems),
                           missing=tuple(missing), objects=len(items), workloads=workloads,
                           unlisted=tuple(unlisted), no_pods=tuple(no_pods))


def _kind_of(item: Any, default: str | None) -> str | None:
    kind = item.get("kind", default) if isinstance(item, OBJECT) else None
    return kind if isinstance(kind, str) else None


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
    from harborguard.sources.process import run_tool  # subprocess: not for a saved file

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
        documents = json_documents(out.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"`{shown}` printed output that is not UTF-8 (byte {exc.start}); run "
                          "it by hand to see what it prints") from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"`{shown}` printed output that is not JSON at line {exc.lineno}, column "
            f"{exc.colno}; run it by hand to see what it prints (a kubectl plugin or alias may "
            "add text)"
        ) from None
    except Unreadable as exc:
        raise SourceError(f"`{shown}` printed JSON that cannot be read whole: {exc}") from None
    if not documents or not all(map(kubedocs.looks_like_kubernetes, documents)):
        raise SourceError(
            f"`{shown}` printed JSON that is not a Kubernetes List; run it by hand to see what "
            "it prints"
        )
    return kubedocs.as_one(documents)


def load_kubectl_file(path: str | Path) -> Any:
    """Reads ``--kubectl-json FILE``: JSON or YAML, a List or a single object.

    Several documents (YAML's ``---``, JSON documents one after another) are read as one
    List. Raises InputError naming the file if it cannot be read whole (a key twice in one
    mapping: two outputs appended without ``---``) or a document is not a Kubernetes
    object at all.
    """
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)  # a pipe (<(kubectl get ...)) is fine
    except FileNotFoundError:
        raise InputError(f"{path}: kubectl JSON file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read kubectl JSON file: {exc.strerror or exc}") from None
    if raw is None:
        raise InputError(
            f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB, the most harborguard reads of a "
            "kubectl file; save one namespace per file (kubectl get ... --namespace N) and "
            "pass each with --kubectl-json"
        )
    text = _decode(raw, path)
    documents = _load_json_or_yaml(text, path)
    for number, document in enumerate(documents, 1):
        if not kubedocs.looks_like_kubernetes(document):
            which = f" (document {number} of {len(documents)})" if len(documents) > 1 else ""
            raise InputError(
                f"{path}: not a Kubernetes object or List{which} (no 'kind' or 'items'); save "
                f"the output of `kubectl get {RESOURCES} -o json`"
            )
    return kubedocs.as_one(documents)


# -- parsing ----------------------------------------------------------------------------


def _items(data: Any, origin: str, problems: list[str]) -> list[tuple[str, Any, str | None]]:
    """(label, item, kind to assume when the item has none) for each object in ``data``;
    Lists inside the List (outputs appended into one file) are flattened."""
    if not isinstance(data, OBJECT):
        problems.append(
            f"{origin}: not a Kubernetes object or List ({type_name(data)}); nothing read"
        )
        return []
    kind = data.get("kind")
    if kind == "Status":
        problems.append(f"{origin}: {_status(data)}; nothing read")
        return []
    if "items" not in data and not _is_list_kind(kind):
        if kind is None:
            problems.append(f"{origin}: no 'kind' and no 'items'; nothing read")
            return []
        return [("the object", data, None)]
    out: list[tuple[str, Any, str | None]] = []
    _list_items(data, "", origin, problems, out)
    return out


def _list_items(data: Mapping[str, Any], label: str, origin: str, problems: list[str],
                out: list[tuple[str, Any, str | None]], depth: int = 0) -> None:
    items = data.get("items")
    if items is None:  # kubectl prints "items": [] when nothing matched, null is no different
        return
    if not isinstance(items, list):
        at = f"{label}: " if label else ""
        problems.append(f"{origin}: {at}'items' is {type_name(items)}, not a list; nothing read")
        return
    more = more_items(data.get("metadata"))
    if more is not None:  # one page of a paged API list (limit/continue), not all of it
        at = f"{label}: " if label else ""
        problems.append(f"{origin}: {at}a page of a longer list: {more}; save the output of "
                        "`kubectl get ... -o json` without --chunk-size or --limit (kubectl "
                        "fetches every page itself)")
    # Raw API lists ("PodList") leave out each item's kind; kubectl's "List" never does.
    kind = data.get("kind")
    default = None
    if isinstance(kind, str) and kind.endswith("List") and kind != "List":
        default = kind[: -len("List")]
    prefix = f"{label}." if label else ""
    for i, item in enumerate(items):
        here = f"{prefix}items[{i}]"
        if isinstance(item, OBJECT) and item.get("kind") == "Status":
            problems.append(f"{origin}: {here}: {_status(item)}; nothing read from it")
        elif isinstance(item, OBJECT) and (_is_list_kind(item.get("kind")) or (
                default is None and "kind" not in item and "items" in item)):
            if depth >= _LIST_DEPTH:
                problems.append(f"{origin}: {here}: Lists nested more than {_LIST_DEPTH} deep; "
                                "nothing read from it")
            else:
                _list_items(item, here, origin, problems, out, depth + 1)
        else:
            out.append((here, item, default))


def _status(data: Mapping[str, Any]) -> str:
    # What the API server answers instead of objects (Unauthorized, Forbidden...).
    status = data.get("status") or "?"
    message = data.get("message") or data.get("reason") or "no message"
    return f"the API answered with a Status ({status}: {message}), not objects"


def _is_list_kind(kind: Any) -> bool:
    return isinstance(kind, str) and kind.endswith("List")


@dataclass
class _Context:
    # (namespace, name) -> the Deployment's current revision, for the Deployments present.
    deployments: dict[tuple[str, str], str] = field(default_factory=dict)
    revisions: Revisions = field(default_factory=Revisions)


def _context(identified: list[tuple[Any, Identity | None]]) -> _Context:
    context = _Context()
    for item, found in identified:
        if found is None:
            continue
        kind, metadata, namespace, name = found
        if kind == "ControllerRevision":
            context.revisions.note_revision(item, namespace)
        elif name:
            context.revisions.note_owner(item, kind, namespace, name)
        revision = deployment_revision(metadata)
        if kind == "Deployment" and name and revision:
            context.deployments[namespace, name] = revision
    return context


def _item_usages(
    item: Any,
    default_kind: str | None,
    context: _Context,
    origin: str,
    problems: list[str],
    missing: list[str],
) -> Iterator[Usage]:
    if not isinstance(item, OBJECT):
        raise _Skip(f"is {type_name(item)}, not an object")
    kind = item.get("kind", default_kind)
    if not isinstance(kind, str):
        raise _Skip("has no kind")
    path = pod_spec_path(item, kind)
    if path is None:
        # A Service, a ConfigMap: no images. A custom resource naming one (a database
        # operator's spec.imageName): read. Containers somewhere else: not silence.
        yield from _named_without_pod_spec(item, kind, missing, origin)
        stray = stray_containers(item)
        if stray is not None:
            raise _Skip(f"{kind} {_label(item)} has {stray}, outside any pod spec "
                        "harborguard can read, so what it runs is unknown")
        return
    metadata = item.get("metadata")
    if not isinstance(metadata, OBJECT):
        raise _Skip(f"{kind} has no metadata")
    name = _text(metadata.get("name"))
    if not name:
        raise _Skip(f"{kind} has no metadata.name")
    namespace = _text(metadata.get("namespace"))
    where = f"{namespace}/{kind}/{name}" if namespace else f"{kind}/{name}"
    pod_spec = get_path(item, path)
    if not isinstance(pod_spec, OBJECT):
        raise _Skip(f"{kind} {_ns_name(namespace, name)} has no {'.'.join(path)}")

    def problem(message: str) -> None:
        problems.append(f"{origin}: {kind} {_ns_name(namespace, name)}: {message}")

    def unread(message: str) -> None:
        missing.append(f"{origin}: {kind} {_ns_name(namespace, name)}: {message}")

    usage_kind: UsageKind = "declared"
    if kind == "Pod":
        phase = get_path(item, ("status", "phase"))
        if phase in _FINISHED_PHASES:
            # Succeeded or Failed (Evicted...): its containers never start again; what
            # made it (a Job, a Deployment) is evidence of its own.
            reason = get_path(item, ("status", "reason"))
            why = f" ({reason})" if isinstance(reason, str) and reason else ""
            problem(f"phase {phase}{why}: it will not run again, so its images are not "
                    "counted as running")
            return
        # Any other phase: a pod in ImagePullBackOff still needs its image to exist.
        usage_kind = "running"
    elif kind == "ReplicaSet":
        usage_kind = replicaset_kind(item, metadata, namespace or "", context.deployments)
    elif kind == "ControllerRevision" and context.revisions.is_rollback(
            item, namespace or "", name):
        usage_kind = "rollback"
    # What a container's env or args name is started by it, not run as it: never "running".
    named_kind: UsageKind = "declared" if usage_kind == "running" else usage_kind

    image_ids: dict[str, dict[str, str]] = {}
    if kind == "Pod":
        for group, status_key in _CONTAINER_GROUPS:
            if isinstance(pod_spec.get(group), list):
                image_ids[group] = image_ids_of(item.get("status"), status_key, problem)
    for found in pod_images(pod_spec):
        if isinstance(found, PodDefect):
            unread(f"{found.message}; skipped")
            continue
        if not found.runs:
            yield Usage(source="kubectl", kind=named_kind, ref=found.ref,
                        where=f"{where}:{found.label}")
            continue
        digest = None
        group = str(found.path[0])
        image_id = image_ids.get(group, {}).get(found.container or "") if (
            found.label is None) else None
        if image_id:
            try:
                resolved = parse_image_id(image_id)
            except ValueError as exc:
                problem(f"{_STATUS_KEYS[group]} of {found.container!r}: {exc}; digest not used")
                resolved = None
            digest = resolved.digest if resolved else None
        at = where if found.label is None else f"{where}:{found.label}"
        yield Usage(source="kubectl", kind=usage_kind, ref=found.ref, where=at, digest=digest)
    for extra in images_beside_pod_spec(item, kind, path):  # an operator's spec.image...
        if extra.ref is None:
            unread(f"{extra.what} at {dotted(extra.path)}, beside the pod spec harborguard "
                   f"reads ({dotted(path)}), so what it runs is unknown; skipped")
        else:
            yield Usage(source="kubectl", kind=named_kind, ref=extra.ref,
                        where=f"{where}:{dotted(extra.path)}")


def _named_without_pod_spec(
    item: Mapping[str, Any], kind: str, missing: list[str], origin: str
) -> Iterator[Usage]:
    """What a custom resource without a pod spec names (:func:`images_beside_pod_spec`)."""
    metadata = item.get("metadata")
    name = _text(metadata.get("name")) if isinstance(metadata, OBJECT) else None
    namespace = _text(metadata.get("namespace")) if isinstance(metadata, OBJECT) else None
    where = f"{namespace}/{kind}/{name or '(no name)'}" if namespace else (
        f"{kind}/{name or '(no name)'}")
    for extra in images_beside_pod_spec(item, kind, None):
        if extra.ref is None:
            missing.append(f"{origin}: {kind} {_label(item)}: {extra.what} at "
                           f"{dotted(extra.path)}, outside any pod spec harborguard reads, "
                           "so what it runs is unknown; skipped")
        else:
            yield Usage(source="kubectl", kind="declared", ref=extra.ref,
                        where=f"{where}:{dotted(extra.path)}")


def _label(item: Mapping[str, Any]) -> str:
    metadata = item.get("metadata")
    name = _text(metadata.get("name")) if isinstance(metadata, OBJECT) else None
    namespace = _text(metadata.get("namespace")) if isinstance(metadata, OBJECT) else None
    return _ns_name(namespace, name or "(no name)")


def _ns_name(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


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


def _load_json_or_yaml(text: str, path: str | Path) -> list[Any]:
    try:
        if text.lstrip().startswith(("{", "[")):
            try:
                documents = json_documents(text)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                ) from None
        else:
            try:
                documents = kubedocs.yaml_documents(text)
            except yamlread.LOAD_ERRORS as exc:
                raise InputError(
                    f"{path}: not valid JSON or YAML{yamlread.problem(exc)}") from None
    except Unreadable as exc:
        raise InputError(f"{path}: {exc}") from None
    if not documents:
        raise InputError(f"{path}: empty; expected the output of `kubectl get ... -o json`")
    return documents


