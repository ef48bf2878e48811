"""Images an object of a kind harborguard does not know names beside its pod spec
(attack 6, finding 1): a Prometheus's ``spec.image``, a resource's ``spec.initImage``."""

from __future__ import annotations

from typing import Any

from harborguard.sources.kubebeside import BesideImage, images_beside_pod_spec
from harborguard.sources.kubectl import parse_kubectl_json

APP = "harbor.example.org/proj/app"


def prometheus(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "k8s", "namespace": "monitoring",
                         "annotations": {"note": f"built from {APP}:0.1"}},
            "spec": {"version": "v2.45.0", "replicas": 2,
                     "containers": [{"name": "oauth-proxy", "image": f"{APP}:2.0",
                                     "env": [{"name": "B", "value": f"{APP}:0.5"}]}],
                     **spec}}


def beside(item: dict[str, Any], path: tuple[str, ...] = ("spec",)) -> list[BesideImage]:
    return list(images_beside_pod_spec(item, item["kind"], path))


def test_a_plain_reference_beside_the_pod_spec_is_an_image_it_names() -> None:
    # metadata and the pod spec's containers (read by pod_images) are not searched again.
    assert beside(prometheus(image=f"{APP}:1.0")) == [
        BesideImage(("spec", "image"), f"{APP}:1.0")]
    thing = {"kind": "Thing", "spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": f"{APP}:2.0"}]}}, "initImage": f"{APP}:1.0",
        "sidecar": {"args": [f"--image=docker://{APP}:0.9"]}}}
    assert beside(thing, ("spec", "template", "spec")) == [
        BesideImage(("spec", "initImage"), f"{APP}:1.0"),
        BesideImage(("spec", "sidecar", "args", 0), f"{APP}:0.9")]


def test_what_names_an_image_but_is_not_one_reference_is_unreadable() -> None:
    found = beside(prometheus(
        image="quay.io/prometheus/prometheus",  # the tag is spec.version
        thanos={"image": {"registry": "harbor.example.org", "repository": "proj/thanos",
                          "tag": "1.0"}},
        sidecarImages=["{{ .Values.registry }}/proj/app:1.0"]))
    assert [(b.path, b.ref, b.what) for b in found] == [
        (("spec", "image"), None, "an image without a tag or digest"),
        (("spec", "thanos", "image"), None, "an image map"),
        (("spec", "sidecarImages", 0), None, "an image reference through a template")]


def test_no_noise_from_built_in_kinds_or_text_that_is_no_image_reference() -> None:
    assert beside(prometheus(
        image="prometheus:v2.45.0", version="v2.45.0", externalUrl="https://x.example.org/p",
        baseImage="prom/prometheus", thanos={"image": {"repository": "thanos/thanos"}},
        ruleSelector={"matchLabels": {"app": "quay.io/x"}})) == []
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": []}},
                                                  "note": f"{APP}:1.0"}}
    assert beside(deployment, ("spec", "template", "spec")) == []


def test_kubectl_reads_a_reference_beside_the_pod_spec_as_its_usage() -> None:
    found = parse_kubectl_json({"kind": "List", "items": [prometheus(image=f"{APP}:1.0")]},
                               "f.json")
    assert not found.missing
    assert [(u.kind, u.ref, u.where) for u in found.usages] == [
        ("declared", f"{APP}:2.0", "monitoring/Prometheus/k8s"),
        ("declared", f"{APP}:0.5", "monitoring/Prometheus/k8s:env B"),
        ("declared", f"{APP}:1.0", "monitoring/Prometheus/k8s:spec.image")]


def test_kubectl_names_what_it_cannot_read_beside_the_pod_spec() -> None:
    found = parse_kubectl_json(
        {"kind": "List", "items": [prometheus(image="quay.io/prometheus/prometheus")]}, "f.json")
    assert found.missing == (
        "f.json: Prometheus monitoring/k8s: an image without a tag or digest at spec.image, "
        "beside the pod spec harborguard reads (spec), so what it runs is unknown; skipped",)
    assert [u.ref for u in found.usages] == [f"{APP}:2.0", f"{APP}:0.5"]


# -- a resource without a pod spec (attack 7): what it names is read all the same ---------

REF = f"{APP}:0.0.150_image"


def runner(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Runner",
            "metadata": {"name": "r", "namespace": "tools"}, "spec": spec}


def test_a_resource_without_a_pod_spec_names_full_references_anywhere() -> None:
    item = runner(runnerImage=REF, sidecarImages=[REF], config=f"image: {REF}",
                  imageName=REF, homepage="https://harbor.example.org/proj/app:1",
                  version="v1.2.3", mode="fast")
    assert [(b.path, b.ref) for b in images_beside_pod_spec(item, "Runner", None)] == [
        (("spec", "runnerImage"), REF), (("spec", "sidecarImages", 0), REF),
        (("spec", "config"), REF), (("spec", "imageName"), REF)]


def test_kubectl_reads_a_resource_without_a_pod_spec() -> None:
    found = parse_kubectl_json({"kind": "List", "items": [
        prometheus(), runner(runnerImage=REF, config=f"image: {REF}")]}, "f.json")
    assert not found.missing
    assert [(u.kind, u.ref, u.where) for u in found.usages][2:] == [
        ("declared", REF, "tools/Runner/r:spec.runnerImage"),
        ("declared", REF, "tools/Runner/r:spec.config")]


def test_kubectl_a_resource_without_a_pod_spec_naming_an_unreadable_image_is_incomplete(
) -> None:
    found = parse_kubectl_json({"kind": "List", "items": [
        prometheus(), runner(imageRepository=APP, imageTag="0.0.150_image")]}, "f.json")
    assert found.missing == (
        "f.json: Runner tools/r: an image without a tag or digest at spec.imageRepository, "
        "outside any pod spec harborguard reads, so what it runs is unknown; skipped",)


def test_built_in_kinds_without_a_pod_spec_stay_unsearched() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                  "data": {"values": f"image: {REF}"}}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "i"}, "spec": {"note": REF}}
    for item in (config_map, ingress):
        assert list(images_beside_pod_spec(item, item["kind"], None)) == []


def test_image_maps_by_name_and_registries_beside_them_are_unreadable() -> None:
    template = {"template": {"spec": {"containers": [{"name": "c", "image": f"{APP}:2"}]}}}
    by_name = runner(image={"name": APP, "tag": "0.0.150_image"}, **template)
    split = runner(registry="harbor.example.org",
                   image={"repository": "proj/app", "tag": "0.0.150_image"}, **template)
    for item in (by_name, split):
        assert [(b.path, b.ref, b.what) for b in beside(item, ("spec", "template", "spec"))
                ] == [(("spec", "image"), None, "an image map")]


def test_an_image_map_in_text_a_resource_holds_is_unreadable() -> None:
    # k3s' HelmChart: the chart's values as YAML text (attack 7, k_nopod2)
    chart = {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": "r"},
             "spec": {"valuesContent": f"image:\n  repository: {APP}\n  tag: '1.0'\n",
                      "notes": "repoURL: https://harbor.example.org/proj/app\nmode: fast\n"}}
    assert [(b.path, b.ref, b.what) for b in images_beside_pod_spec(chart, "HelmChart", None)
            ] == [(("spec", "valuesContent"), None, "an image without a tag or digest in text")]
