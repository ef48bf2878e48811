"""The one pod-spec walk both Kubernetes sources use (kubepods.pod_images): containers, the
references in their env values and args, and image volumes (attack 4, findings 1 and 2)."""

from __future__ import annotations

from typing import Any

from harborguard.sources.kubectl import parse_kubectl_json
from harborguard.sources.kubepods import PodDefect, PodImage, pod_images

APP = "harbor.example.org/proj/app"


def spec(**fields: Any) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": f"{APP}:2.0"}], **fields}


def image_volume(name: str, reference: Any) -> dict[str, Any]:
    return {"name": name, "image": {"reference": reference, "pullPolicy": "IfNotPresent"}}


def test_containers_env_and_image_volumes_in_one_walk() -> None:
    pod_spec = spec(volumes=[{"name": "data", "emptyDir": {}},
                             image_volume("model", f"{APP}:1.0")])
    pod_spec["initContainers"] = [{"name": "init", "image": f"{APP}:0.9",
                                   "env": [{"name": "BUILDER", "value": f"{APP}:0.8"}]}]
    found = list(pod_images(pod_spec))
    assert found == [
        PodImage(f"{APP}:0.9", ("initContainers", 0, "image"), runs=True, container="init"),
        PodImage(f"{APP}:0.8", ("initContainers", 0, "env", 0, "value"), runs=False,
                 label="env BUILDER", container="init"),
        PodImage(f"{APP}:2.0", ("containers", 0, "image"), runs=True, container="app"),
        PodImage(f"{APP}:1.0", ("volumes", 1, "image", "reference"), runs=True,
                 label="volume model"),
    ]


def test_what_cannot_be_read_is_a_defect() -> None:
    pod_spec = spec(volumes=["model", image_volume("empty", ""),
                             {"name": "odd", "image": "a:1"}])
    pod_spec["initContainers"] = "init"
    pod_spec["containers"].append({"name": "noimage"})
    defects = [f for f in pod_images(pod_spec) if isinstance(f, PodDefect)]
    assert [(d.message, d.absent) for d in defects] == [
        ("initContainers is a str, not a list", False),
        ("containers[1] has no image", True),
        ("volumes[0] is a str, not an object", False),
        ("volumes[1] (empty) is an image volume without a reference", True),
        ("volumes[2] (odd) has an image that is a str, not an object", False),
    ]


def _item(kind: str, pod_spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    meta = {"name": "app-1", "namespace": "prod", **metadata}
    if kind == "Pod":
        return {"kind": kind, "metadata": meta, "spec": pod_spec, "status": {"phase": "Running"}}
    return {"kind": kind, "metadata": meta, "spec": {"replicas": 0 if kind == "ReplicaSet" else 1,
                                                     "template": {"spec": pod_spec}}}


def test_kubectl_image_volumes_are_evidence_of_the_kind_of_their_object() -> None:
    pod_spec = spec(volumes=[image_volume("model", f"{APP}:1.0")])
    old = _item("ReplicaSet", pod_spec, annotations={"deployment.kubernetes.io/revision": "1"},
                ownerReferences=[{"kind": "Deployment", "name": "app", "controller": True}])
    items = [_item("Pod", pod_spec), _item("Deployment", pod_spec), old]
    found = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert {(u.kind, u.where) for u in found.usages if u.ref == f"{APP}:1.0"} == {
        ("running", "prod/Pod/app-1:volume model"),
        ("declared", "prod/Deployment/app-1:volume model"),
        ("rollback", "prod/ReplicaSet/app-1:volume model"),
    }
    assert found.missing == ()


def test_kubectl_image_volume_without_a_reference_is_missing() -> None:
    items = [_item("Pod", spec(volumes=[image_volume("model", None)]))]
    found = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert found.missing == ("t: Pod prod/app-1: volumes[0] (model) is an image volume without "
                             "a reference; skipped",)
