"""Whether kubectl evidence lists the revisions its own objects point at.

The rollback window of kubectl evidence is a Deployment's old ReplicaSets and a
StatefulSet's or DaemonSet's earlier ControllerRevisions. ``kubectl get pods``, ``kubectl
get all`` (which leaves out controllerrevisions) or an account that may not list
replicasets give objects that point at revisions the output does not hold: a Deployment
past revision 1 with no ReplicaSet of it, a pod whose ReplicaSet is not there, a
StatefulSet or DaemonSet whose status (or whose pods) name a ControllerRevision that is
not there, or a DaemonSet past template generation 1 with none of its ControllerRevisions.
The rollback window is then not covered, and the verdict must say so.

Output that lists no Pod at all in a namespace whose controllers say they run some
(``kubectl get deploy,rs,sts,ds,...`` saved without ``pods``, pods of one namespace only,
or an account that may not list pods) does not show what runs: the verdict says that too
(``pods_unlisted``). A live ``kubectl`` read asks for pods, so none listed there means none
run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harborguard.sources.kubenamed import OBJECT
from harborguard.sources.kubepods import (
    REVISION_ANNOTATION,
    Identity,
    identity,
    pod_spec_path,
    revision_owner,
    text,
)

# What the DaemonSet controller sets to the template's generation.
DAEMONSET_GENERATION = "deprecated.daemonset.template.generation"
# Controllers whose earlier templates are ControllerRevisions.
_REVISION_OWNERS = ("StatefulSet", "DaemonSet")
# How many workloads a note names before "and N more".
_SHOWN = 3


def unlisted_revisions(items: Iterable[tuple[Any, Identity | None]]) -> list[str]:
    """``namespace/Kind/name (what it points at)`` for each object that points at a
    ReplicaSet or ControllerRevision the items do not hold. ``items``: (object, its
    kubepods.identity)."""
    objects: list[tuple[str, str, str, Mapping[str, Any]]] = []
    replicasets: set[tuple[str, str]] = set()  # (namespace, name)
    rs_owners: set[tuple[str, str]] = set()  # (namespace, Deployment)
    revisions: set[tuple[str, str]] = set()  # (namespace, name)
    revision_owners: set[tuple[str, str, str]] = set()  # (namespace, kind, name)
    for item, found in items:
        if found is None or not found.name:
            continue
        kind, metadata, namespace, name = found.kind, found.metadata, found.namespace, found.name
        if kind == "ReplicaSet":
            replicasets.add((namespace, name))
            rs_owners.update((namespace, owner) for owner in _owners(metadata, "Deployment"))
        elif kind == "ControllerRevision":
            revisions.add((namespace, name))
            owner = revision_owner(item)
            if owner is not None:
                revision_owners.add((namespace, *owner))
        objects.append((kind, namespace, name, item))
    out: list[str] = []
    for kind, namespace, name, item in objects:
        metadata = item["metadata"]
        if kind == "Pod" and not isinstance(metadata.get("ownerReferences"), list):
            continue  # a bare pod points at no revision
        where = f"{namespace}/{kind}/{name}" if namespace else f"{kind}/{name}"
        if kind == "Deployment":
            revision = _number(metadata.get("annotations"))
            if revision is not None and revision > 1 and (namespace, name) not in rs_owners:
                out.append(f"{where} (at revision {revision}, no ReplicaSet of it listed)")
        elif kind in _REVISION_OWNERS:
            status = item.get("status")
            named = sorted({text(status.get(key)) or "" for key in
                            ("currentRevision", "updateRevision")} - {""}
                           ) if isinstance(status, OBJECT) else []
            absent = [n for n in named if (namespace, n) not in revisions]
            if absent:
                out.append(f"{where} (ControllerRevision {', '.join(absent)} not listed)")
            generation = _template_generation(metadata) if kind == "DaemonSet" else None
            if (generation is not None and generation > 1
                    and (namespace, kind, name) not in revision_owners):
                out.append(f"{where} (at template generation {generation}, no "
                           "ControllerRevision of it listed)")
        elif kind == "Pod":
            for replicaset in _owners(metadata, "ReplicaSet"):
                if (namespace, replicaset) not in replicasets:
                    out.append(f"{where} (its ReplicaSet {replicaset} not listed)")
            for owner_kind in _REVISION_OWNERS:
                for controller in _owners(metadata, owner_kind):
                    if (namespace, owner_kind, controller) not in revision_owners:
                        out.append(f"{where} (no ControllerRevision of {owner_kind} "
                                   f"{controller} listed)")
    return out


def rollback_not_covered(unlisted: list[str] | tuple[str, ...]) -> str:
    """The words a verdict is qualified by: the rollback window and the objects that
    show it was not listed."""
    shown = ", ".join(unlisted[:_SHOWN])
    more = f" and {len(unlisted) - _SHOWN} more" if len(unlisted) > _SHOWN else ""
    from harborguard.sources.kubectl import RESOURCES

    return ("the rollback window (the kubectl evidence does not list the ReplicaSets or "
            f"ControllerRevisions its objects point at: {shown}{more}; save `kubectl get "
            f"{RESOURCES} -A -o json`)")


def pods_unlisted(items: Iterable[tuple[Any, str | None]]) -> list[str]:
    """``namespace/Kind/name`` of each controller that runs pods in a namespace where the
    items hold no Pod at all (per namespace: ``kubectl get pods -n a`` appended to
    ``kubectl get deploy -A`` lists no pod of namespace b). ``items``: (object, kind to
    assume when it has none)."""
    controllers: list[tuple[str, str]] = []  # (namespace, namespace/Kind/name)
    with_pods: set[str] = set()
    for item, default_kind in items:
        if not isinstance(item, OBJECT):
            continue
        if item.get("kind", default_kind) == "Pod":
            metadata = item.get("metadata")
            with_pods.add(text(metadata.get("namespace")) or "" if isinstance(metadata, OBJECT)
                          else "")
            continue
        found = identity(item, default_kind)
        if found is not None and found.name and _runs_pods(item, found.kind):
            kind, _, namespace, name = found
            controllers.append((namespace, f"{namespace}/{kind}/{name}" if namespace
                                else f"{kind}/{name}"))
    return [where for namespace, where in controllers if namespace not in with_pods]


def _runs_pods(item: Mapping[str, Any], kind: str) -> bool:
    """Whether a controller says it runs pods now: its replicas, a DaemonSet's desired
    pods, a Job's or CronJob's active ones. Without the field it does (fail closed); a
    ControllerRevision or PodTemplate never does."""
    if kind in ("Pod", "PodTemplate", "ControllerRevision") or pod_spec_path(item, kind) is None:
        return False
    spec, status = item.get("spec"), item.get("status")
    status = status if isinstance(status, OBJECT) else {}
    if kind == "CronJob":
        return bool(status.get("active"))  # its running Jobs are listed as Jobs
    if kind == "Job":
        return "active" in status and _positive(status["active"]) or not status
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled")
        return desired is None or _positive(desired)
    replicas = spec.get("replicas", 1) if isinstance(spec, OBJECT) else 1
    return replicas is None or _positive(replicas)


def _positive(value: Any) -> bool:
    """A count above 0; anything but a count reads as one (fail closed)."""
    return not isinstance(value, int) or isinstance(value, bool) or value > 0


def pods_not_covered(controllers: list[str] | tuple[str, ...]) -> str:
    """The words a verdict is qualified by when the output lists no Pod in the namespaces
    of ``controllers``."""
    shown = ", ".join(controllers[:_SHOWN])
    more = f" and {len(controllers) - _SHOWN} more" if len(controllers) > _SHOWN else ""
    from harborguard.sources.kubectl import RESOURCES

    return (f"what runs (no Pods listed in the namespaces of {shown}{more}, which run pods: "
            "the kubectl evidence leaves out their pods, or the account may not list them; "
            "save `kubectl get "
            f"{RESOURCES} -A -o json`)")


def _owners(metadata: Mapping[str, Any], kind: str) -> list[str]:
    owners = metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return []
    names = (text(o.get("name")) for o in owners
             if isinstance(o, OBJECT) and o.get("kind") == kind)
    return [n for n in names if n]


def _number(annotations: Any, key: str = REVISION_ANNOTATION) -> int | None:
    value = text(annotations.get(key)) if isinstance(annotations, OBJECT) else None
    return int(value) if value is not None and value.isdigit() and len(value) < 20 else None


def _template_generation(metadata: Mapping[str, Any]) -> int | None:
    """A DaemonSet's template generation: the annotation its controller sets (a status
    has no revision names), else ``metadata.generation`` (any spec change; fail closed).
    Past 1, an earlier template is a ControllerRevision `rollout undo` re-applies."""
    found = _number(metadata.get("annotations"), DAEMONSET_GENERATION)
    if found is not None:
        return found
    generation = metadata.get("generation")
    return generation if type(generation) is int else None
