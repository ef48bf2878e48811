"""Kubernetes objects read the same way by --kubectl-json and --manifests (attack 4):
image volumes, kinds outside the built-in ones (Argo Rollout, Knative Service), image
references in env values, and a kubectl dump that lists controllers but no Pod.
The reproductions are in tests/data/attack4-kube/ (SOURCES.md there)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.sources.test_githistory import commit, init

CASES = Path(__file__).resolve().parents[1] / "data" / "attack4-kube"
SNAP = str(CASES / "base-snap.json")
APP = "harbor.example.org/proj/app"


def check(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", SNAP, *args, "--format", "json"],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def errors(report: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(f["code"], f["tags"]) for f in report["findings"] if f["severity"] == "error"]


def manifests(tmp_path: Path, case: str) -> str:
    """A copy outside any git checkout (tests/data is inside this repository's)."""
    target = tmp_path / case
    shutil.copytree(CASES / case, target)
    return str(target)


def test_kubectl_image_volume_of_a_deleted_tag_is_in_use_deleted() -> None:
    code, report, err = check("--kubectl-json", str(CASES / "k-imgvol.json"))
    assert code == 1, err
    assert errors(report) == [("in-use-deleted", ["1.0"])]
    [deleted] = [a for a in report["artifacts"] if a["tags"] == ["1.0"]]
    assert [(u["kind"], u["where"]) for u in deleted["in_use"]] == [
        ("running", "prod/Pod/app-1:volume model")]


@pytest.mark.parametrize(("case", "where"), [
    ("m-imgvol", "deploy.yaml:18"),  # an image volume
    ("m-rollout", "rollout.yaml:23"),  # an Argo Rollout
    ("m-knative", "ksvc.yaml:10"),  # a Knative Service
    ("m-env", "deploy.yaml:14"),  # an env value naming an image
])
def test_manifests_read_pod_specs_as_kubectl_does(tmp_path: Path, case: str, where: str) -> None:
    code, report, err = check("--manifests", manifests(tmp_path, case), "--environment", "prod",
                              "--kubectl-json", str(CASES / "k-ok.json"))
    assert code == 1, err
    assert errors(report) == [("in-use-deleted", ["1.0"])]
    [deleted] = [a for a in report["artifacts"] if a["tags"] == ["1.0"]]
    assert [(u["source"], u["kind"], u["where"]) for u in deleted["in_use"]] == [
        ("manifests", "declared", where)]


def test_kubectl_env_value_names_the_same_image() -> None:
    code, report, err = check("--kubectl-json", str(CASES / "k-env.json"))
    assert code == 1, err
    assert errors(report) == [("in-use-deleted", ["1.0"])]


ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: app
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: app
        image: harbor.example.org/proj/app:TAG
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")
def test_git_history_of_a_rollout_is_a_rollback_target(tmp_path: Path) -> None:
    repo = tmp_path / "deploy"
    init(repo)
    (repo / "rollout.yaml").write_text(ROLLOUT.replace("TAG", "1.0"))
    commit(repo, "v1", "2026-02-11T00:00:00Z")
    (repo / "rollout.yaml").write_text(ROLLOUT.replace("TAG", "2.0"))
    commit(repo, "v2", "2026-02-21T00:00:00Z")
    code, report, err = check("--manifests", str(repo), "--environment", "prod",
                              "--kubectl-json", str(CASES / "k-ok.json"))
    assert code == 1, err
    assert errors(report) == [("rollback-deleted", ["1.0"])]


TASK = """apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  steps:
  - name: build
    image: harbor.example.org/proj/app:1.0
"""


def test_manifests_name_an_image_outside_any_pod_spec(tmp_path: Path) -> None:
    root = Path(manifests(tmp_path, "m-env"))
    (root / "task.yaml").write_text(TASK)
    args = ("--manifests", str(root), "--environment", "prod", "--kubectl-json",
            str(CASES / "k-ok.json"))
    code, report, err = check(*args)
    [finding] = [f for f in report["findings"] if f["code"] == "unresolved-reference"]
    assert finding["message"] == (
        "task.yaml:8: image: harbor.example.org/proj/app:1.0: Task/build has an image at "
        "spec.steps[0].image, outside any pod spec harborguard can read, so what it runs is "
        "unknown")
    # Only the Task names 1.0 now: its step's full reference is read all the same (a
    # custom resource's full image reference is a usage, attack 7), and the step stays named.
    shutil.copy(CASES / "m-rollout" / "deploy.yaml", root / "deploy.yaml")
    code, report, err = check(*args)
    assert code == 1, err
    assert errors(report) == [("in-use-deleted", ["1.0"])]
    [deleted] = [a for a in report["artifacts"] if "1.0" in a["tags"]]
    assert [u["where"] for u in deleted["in_use"]] == ["task.yaml:8"]
    assert [f["code"] for f in report["findings"]].count("unresolved-reference") == 1


def test_kubectl_dump_without_pods_qualifies_the_all_clear() -> None:
    code, report, err = check("--kubectl-json", str(CASES / "k-deponly.json"))
    assert code == 0, err
    [entry] = report["evidence"]
    assert entry["complete"] is True
    assert entry["note"].startswith("not checked: what runs (no Pods listed")
    result = CliRunner().invoke(cli, ["check", "--snapshot", SNAP, "--kubectl-json",
                                      str(CASES / "k-deponly.json"), "--format", "table"])
    text = " ".join(result.stdout.split())
    assert "Nothing in use would be deleted among what was checked; not checked: what runs " \
        "(no Pods listed" in text


def test_kubectl_dump_with_pods_keeps_a_plain_all_clear() -> None:
    code, report, err = check("--kubectl-json", str(CASES / "k-ok.json"))
    assert code == 0, err
    assert [e["note"] for e in report["evidence"]] == [None]


@pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a script")
def test_live_kubectl_asks_for_pods_so_none_listed_is_none_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\ncat {CASES / 'k-deponly.json'}\n")
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    code, report, err = check("--kubectl")
    assert code == 0, err
    assert [e["note"] for e in report["evidence"]] == [None]


TEMPLATED_ENV = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: builds-api
spec:
  template:
    spec:
      containers:
      - name: api
        image: harbor.example.org/proj/app:2.0
        env:
        - name: BUILDER_IMAGE
          value: "harbor.example.org/proj/app:{{ requiredEnv "BUILDER_TAG" }}"
        - name: CONFIG
          value: "/etc/{{ .Environment.Name }}/config.yaml"
        args: ["--builder={{ .Values.registry }}/proj/app:1.0"]
"""


def test_manifests_name_an_env_value_that_names_an_image_through_a_template(
        tmp_path: Path) -> None:
    from harborguard.sources.manifests import read_manifests

    (tmp_path / "deploy.yaml.gotmpl").write_text(TEMPLATED_ENV)
    found = read_manifests(str(tmp_path), "prod")
    assert [u.ref for u in found.usages] == [f"{APP}:2.0"]
    assert [(u.where, u.reason) for u in found.unresolved] == [
        ("deploy.yaml.gotmpl:13", "Deployment/builds-api: env BUILDER_IMAGE names an image "
         "through a template"),
        ("deploy.yaml.gotmpl:16", "Deployment/builds-api: args[0] names an image through a "
         "template"),
    ]


MISPLACED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    containers:
    - name: web
      image: harbor.example.org/proj/app:1.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
"""


def test_a_known_kind_without_its_pod_spec_names_containers_elsewhere(tmp_path: Path) -> None:
    from harborguard.sources.manifests import read_manifests

    (tmp_path / "deploy.yaml").write_text(MISPLACED)  # a mistake, then a kustomize patch
    found = read_manifests(str(tmp_path), "prod")
    assert found.usages == ()
    assert [(u.where, u.reason) for u in found.unresolved] == [
        ("deploy.yaml:8", "Deployment/web has a container list at spec.template.containers, "
         "outside any pod spec harborguard can read, so what it runs is unknown")]


# -- attack 6 (tests/data/attack6-kube/SOURCES.md), against the toolforge example snapshot ---

ATTACK6 = CASES.parent / "attack6-kube"
TOOLFORGE = str(Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json")


def check_toolforge(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", TOOLFORGE, *args, "--format",
                                      "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_kubectl_pods_of_one_namespace_leave_another_namespaces_controllers_unchecked() -> None:
    # `{ kubectl get pods -n a -o json; kubectl get deploy,rs -A -o json; } > f`
    code, report, err = check_toolforge("--kubectl-json", str(ATTACK6 / "nopodb.json"))
    assert code == 0, err
    [entry] = report["evidence"]
    assert entry["note"].startswith("not checked: what runs (no Pods listed")
    assert "b/Deployment/builder, b/ReplicaSet/builder-abc" in entry["note"]


JOBS_API_150 = "0.0.150-20240221200000-b6589fc6_image"


@pytest.mark.parametrize(("case", "where"), [
    ("prom.json", "monitoring/Prometheus/k8s:spec.image"),  # beside spec.containers
    ("cr_extra.json", "t/Thing/t:spec.initImage"),  # beside spec.template.spec
])
def test_kubectl_image_beside_the_pod_spec_of_another_kind_is_in_use(case: str,
                                                                      where: str) -> None:
    code, report, err = check_toolforge("--kubectl-json", str(ATTACK6 / case))
    assert code == 1, err
    [deleted] = [a for a in report["artifacts"] if JOBS_API_150 in a["tags"]]
    assert deleted["action"] == "delete"
    assert [(u["kind"], u["where"]) for u in deleted["in_use"]] == [("declared", where)]


def test_manifests_image_beside_the_pod_spec_of_another_kind_is_in_use(tmp_path: Path) -> None:
    shutil.copytree(ATTACK6 / "m1", tmp_path / "m1")
    code, report, err = check_toolforge("--manifests", str(tmp_path / "m1"), "--environment",
                                        "tools")
    assert code == 1, err
    [deleted] = [a for a in report["artifacts"] if JOBS_API_150 in a["tags"]]
    assert [(u["source"], u["kind"], u["where"]) for u in deleted["in_use"]] == [
        ("manifests", "declared", "monitoring/prometheus.yaml:7")]


PROMETHEUS_UNTAGGED = """apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
spec:
  image: harbor.example.org/proj/app
  version: "1.0"
  containers:
  - name: oauth-proxy
    image: harbor.example.org/proj/app:2.0
"""


def test_manifests_name_an_image_beside_the_pod_spec_they_cannot_read(tmp_path: Path) -> None:
    from harborguard.sources.manifests import read_manifests

    (tmp_path / "prometheus.yaml").write_text(PROMETHEUS_UNTAGGED)
    found = read_manifests(str(tmp_path), "prod")
    assert [u.ref for u in found.usages] == [f"{APP}:2.0"]
    assert [(u.where, u.reason) for u in found.unresolved] == [
        ("prometheus.yaml:6", "Prometheus/k8s has an image without a tag or digest at "
         "spec.image, beside the pod spec harborguard reads (spec), so what it runs is "
         "unknown")]


ATTACK7 = CASES.parent / "attack7-kube"


def test_kubectl_a_resource_without_a_pod_spec_naming_a_deleted_image_is_in_use() -> None:
    code, report, err = check_toolforge("--kubectl-json", str(ATTACK7 / "k_nopod_p.json"))
    assert code == 1, err
    [deleted] = [a for a in report["artifacts"] if JOBS_API_150 in a["tags"]]
    assert [u["where"] for u in deleted["in_use"]] == [
        "tools/Runner/r:spec.runnerImage", "tools/Runner/r:spec.sidecarImages[0]",
        "tools/Runner/r:spec.config"]


@pytest.mark.parametrize(("case", "at"), [
    ("k_namemap_p.json", "an image map at spec.image"),
    ("k_imgrepo_p.json", "an image without a tag or digest at spec.imageRepository"),
    ("k_regsplit_p.json", "an image map at spec.image"),
    ("k_pod_yamlstr.json", "an image without a tag or digest in text at spec.valuesContent"),
])
def test_kubectl_an_image_a_resource_names_in_parts_is_unknown_not_silence(case: str,
                                                                           at: str) -> None:
    code, report, err = check_toolforge("--kubectl-json", str(ATTACK7 / case))
    assert code == 3, err
    [entry] = report["evidence"]
    assert entry["complete"] is False
    assert f"Runner tools/r: {at}, beside the pod spec" in entry["note"]


def test_manifests_a_resource_without_a_pod_spec_naming_a_deleted_image_is_in_use(
        tmp_path: Path) -> None:
    shutil.copytree(ATTACK7 / "m22", tmp_path / "m22")
    code, report, err = check_toolforge("--manifests", str(tmp_path / "m22"), "--environment",
                                        "tools", "--history", "0")
    assert code == 1, err
    [deleted] = [a for a in report["artifacts"] if JOBS_API_150 in a["tags"]]
    assert [(u["source"], u["kind"], u["where"]) for u in deleted["in_use"]] == [
        ("manifests", "declared", "app.yaml:14")]
    [unresolved] = [f for f in report["findings"] if f["code"] == "unresolved-reference"]
    assert unresolved["message"].startswith("app.yaml:21: name: tools-harbor")


def test_kubectl_values_text_of_a_helm_chart_resource_naming_an_image_is_unknown() -> None:
    code, report, err = check_toolforge("--kubectl-json", str(ATTACK7 / "k_nopod2.json"))
    assert code == 3, err
    [entry] = report["evidence"]
    assert ("HelmChart tools/r: an image without a tag or digest in text at "
            "spec.valuesContent, outside any pod spec") in entry["note"]
