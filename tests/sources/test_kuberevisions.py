"""kubectl evidence that points at ReplicaSets or ControllerRevisions it does not list:
the rollback window is not covered (attack finding 6)."""

from __future__ import annotations

from typing import Any

from harborguard.sources.kubectl import parse_kubectl_json
from harborguard.sources.kubepods import identity
from harborguard.sources.kuberevisions import (
    pods_not_covered,
    pods_unlisted,
    rollback_not_covered,
    unlisted_revisions,
)

IMAGE = "harbor.example.org/proj/app"


def _template(tag: str) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "c", "image": f"{IMAGE}:{tag}"}]}}


def deployment(revision: str = "2") -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {
        "name": "app", "namespace": "ns",
        "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"template": _template("2.0")}}


def replicaset(name: str, revision: str, tag: str, replicas: int) -> dict[str, Any]:
    return {"kind": "ReplicaSet", "metadata": {
        "name": name, "namespace": "ns",
        "annotations": {"deployment.kubernetes.io/revision": revision},
        "ownerReferences": [{"kind": "Deployment", "name": "app", "controller": True}]},
        "spec": {"replicas": replicas, "template": _template(tag)}}


def pod(name: str, owner_kind: str, owner: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {
        "name": name, "namespace": "ns",
        "ownerReferences": [{"kind": owner_kind, "name": owner, "controller": True}]},
        "spec": {"containers": [{"name": "c", "image": f"{IMAGE}:2.0"}]},
        "status": {"phase": "Running"}}


def statefulset() -> dict[str, Any]:
    return {"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns"},
            "spec": {"template": _template("2.0")},
            "status": {"currentRevision": "db-222", "updateRevision": "db-222"}}


def revision(name: str, number: int, tag: str) -> dict[str, Any]:
    return {"kind": "ControllerRevision", "metadata": {
        "name": name, "namespace": "ns",
        "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}]},
        "revision": number, "data": {"spec": {"template": _template(tag)}}}


def unlisted(*items: dict[str, Any]) -> list[str]:
    return unlisted_revisions((item, identity(item, None)) for item in items)


def test_everything_listed_leaves_nothing_unlisted() -> None:
    assert unlisted(deployment(), replicaset("app-abc", "2", "2.0", 1),
                    replicaset("app-old", "1", "1.5", 0), pod("app-abc-1", "ReplicaSet", "app-abc"),
                    statefulset(), revision("db-111", 1, "1.5"), revision("db-222", 2, "2.0"),
                    pod("db-0", "StatefulSet", "db")) == []


def test_a_deployment_past_revision_1_without_its_replicasets() -> None:
    assert unlisted(deployment("2")) == [
        "ns/Deployment/app (at revision 2, no ReplicaSet of it listed)"]
    # Revision 1 has no earlier revision: nothing to roll back to.
    assert unlisted(deployment("1")) == []


def test_a_pod_whose_replicaset_is_not_listed() -> None:
    assert unlisted(pod("app-abc-1", "ReplicaSet", "app-abc")) == [
        "ns/Pod/app-abc-1 (its ReplicaSet app-abc not listed)"]


def test_kubectl_get_all_leaves_out_controllerrevisions() -> None:
    assert unlisted(statefulset(), pod("db-0", "StatefulSet", "db")) == [
        "ns/StatefulSet/db (ControllerRevision db-222 not listed)",
        "ns/Pod/db-0 (no ControllerRevision of StatefulSet db listed)"]


def test_the_evidence_carries_them_and_the_words_name_them() -> None:
    data = {"kind": "List", "items": [deployment(), pod("app-abc-1", "ReplicaSet", "app-abc")]}
    found = parse_kubectl_json(data, "f.json")
    assert not found.missing and len(found.unlisted) == 2
    words = rollback_not_covered(found.unlisted)
    assert words.startswith("the rollback window (the kubectl evidence does not list")
    assert "ns/Deployment/app (at revision 2" in words and "controllerrevisions -A -o json" in words
    many = rollback_not_covered([f"ns/Pod/p{i}" for i in range(5)])
    assert "ns/Pod/p2 and 2 more;" in many and "p3" not in many


def daemonset(annotation: str | None, generation: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "agent", "namespace": "ns"}
    if annotation is not None:
        metadata["annotations"] = {"deprecated.daemonset.template.generation": annotation}
    if generation is not None:
        metadata["generation"] = generation
    return {"kind": "DaemonSet", "metadata": metadata, "spec": {"template": _template("2.0")},
            "status": {"observedGeneration": generation or 1}}


def test_a_daemonset_past_template_generation_1_without_its_revisions() -> None:
    # attack2 N5: `kubectl get deploy,sts,ds` (or a DaemonSet whose nodes are all tainted):
    # no pods and no ControllerRevisions, at template generation 2 (the DaemonSet
    # controller's annotation; else metadata.generation).
    assert unlisted(daemonset("2", 2)) == [
        "ns/DaemonSet/agent (at template generation 2, no ControllerRevision of it listed)"]
    assert unlisted(daemonset(None, 3)) == [
        "ns/DaemonSet/agent (at template generation 3, no ControllerRevision of it listed)"]
    assert unlisted(daemonset("1", 1)) == [] and unlisted(daemonset(None)) == []
    assert unlisted(daemonset("1", 3)) == []  # the template never changed
    owned = revision("agent-111", 1, "1.5")
    owned["metadata"]["ownerReferences"][0].update(kind="DaemonSet", name="agent")
    assert unlisted(daemonset("2", 2), owned) == []


# -- attack 4, finding 3: controllers listed, but no Pod ----------------------------------


def test_controllers_without_any_pod_name_what_runs_as_not_listed() -> None:
    items = [deployment(), replicaset("app-abc", "2", "2.0", 1),
             replicaset("app-old", "1", "1.5", 0), statefulset()]
    assert pods_unlisted((item, None) for item in items) == [
        "ns/Deployment/app", "ns/ReplicaSet/app-abc", "ns/StatefulSet/db"]
    words = pods_not_covered(["ns/Deployment/app", "ns/ReplicaSet/app-abc", "ns/StatefulSet/db",
                              "ns/DaemonSet/agent"])
    assert words.startswith("what runs (no Pods listed in the namespaces of ns/Deployment/app, "
                            "ns/ReplicaSet/app-abc, ns/StatefulSet/db and 1 more, which run pods")
    assert "controllerrevisions -A -o json" in words


def test_one_pod_or_controllers_that_run_none_leave_nothing_unlisted() -> None:
    with_pod = [deployment(), pod("app-abc-1", "ReplicaSet", "app-abc")]
    assert pods_unlisted((item, None) for item in with_pod) == []
    idle_job = {"kind": "Job", "metadata": {"name": "j", "namespace": "ns"},
                "spec": {"template": _template("2.0")}, "status": {"succeeded": 1}}
    cron = {"kind": "CronJob", "metadata": {"name": "c", "namespace": "ns"}, "spec": {
        "jobTemplate": {"spec": {"template": _template("2.0")}}}, "status": {}}
    idle = [replicaset("app-old", "1", "1.5", 0), idle_job, cron,
            revision("db-111", 1, "1.5")]
    assert pods_unlisted((item, None) for item in idle) == []
    assert pods_unlisted([]) == []


def test_the_evidence_carries_controllers_without_pods_unless_pods_were_asked() -> None:
    data = {"kind": "List", "items": [deployment(), replicaset("app-abc", "2", "2.0", 1)]}
    found = parse_kubectl_json(data, "f.json")
    assert not found.missing and found.no_pods == ("ns/Deployment/app", "ns/ReplicaSet/app-abc")
    # A live `kubectl get pods,...` asked for pods: none listed means none run.
    assert parse_kubectl_json(data, "kubectl", pods_asked=True).no_pods == ()


# -- attack 6, finding 2: a Pod in one namespace says nothing of another ---------------------


def test_controllers_in_a_namespace_without_any_pod_are_unlisted_though_others_have_pods() -> None:
    # `{ kubectl get pods -n a -o json; kubectl get deploy,rs -A -o json; } > f`
    # (/tmp/attack6/k/nopodb.json): namespace b's Deployment runs a pod the file leaves out.
    other = pod("p1", "ReplicaSet", "web-1")
    other["metadata"]["namespace"] = "a"
    items = [deployment(), replicaset("app-abc", "2", "2.0", 1), other]
    assert pods_unlisted((item, None) for item in items) == [
        "ns/Deployment/app", "ns/ReplicaSet/app-abc"]
    found = parse_kubectl_json({"kind": "List", "items": items}, "f.json")
    assert found.no_pods == ("ns/Deployment/app", "ns/ReplicaSet/app-abc")
    assert parse_kubectl_json({"kind": "List", "items": items}, "kubectl",
                              pods_asked=True).no_pods == ()
    # Any Pod in the controllers' own namespace: the file lists that namespace's pods.
    mine = pod("app-abc-1", "ReplicaSet", "app-abc")
    assert pods_unlisted((item, None) for item in [*items, mine]) == []
