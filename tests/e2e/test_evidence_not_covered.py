"""What the evidence, read whole, still does not cover qualifies the all-clear in every
format (attack findings 6, 6b, 11, 12): kubectl output without the ReplicaSets or
ControllerRevisions its objects point at, Helm releases past revision 1 and their
release values, references into projects of this Harbor that were not read."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import D, T, art, dig, policy, rule, snapshot
from tests.sources.test_kuberevisions import deployment, pod, replicaset, revision, statefulset

HOST = "harbor.example.org"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def snap(tmp_path: Path) -> str:
    """proj/app 2.0 (newest), 1.5, 1.0; latestPushedK 1 keeps only 2.0."""
    artifacts = [art("2.0", ["2.0"], T), art("1.5", ["1.5"], T - D), art("1.0", ["1.0"], T - 2 * D)]
    return write_json(tmp_path / "snap.json",
                      snapshot({"app": artifacts}, policy(rule("latestPushedK", 1))))


def evidence_case(xml: str) -> ET.Element:
    [case] = [c for c in ET.fromstring(xml).iter("testcase")
              if c.get("name") == "harborguard: evidence of use"]
    return case


def every_format(snap: str, *evidence: str) -> dict[str, Any]:
    """exit code, table text, markdown first line, junit evidence case, JSON report."""
    out: dict[str, Any] = {}
    for fmt in ("json", "table", "markdown", "junit"):
        code, text, err = invoke("check", "--snapshot", snap, *evidence, "--format", fmt)
        out["code"] = code
        out[fmt] = json.loads(text) if fmt == "json" else text
        out["err"] = err
    out["table"] = " ".join(out["table"].split())
    out["markdown"] = out["markdown"].splitlines()[0]
    out["junit"] = evidence_case(out["junit"])
    return out


def kubectl_list(tmp_path: Path, *items: dict[str, Any]) -> str:
    return write_json(tmp_path / "k.json", {"kind": "List", "items": list(items)})


# -- 6. kubectl output without ReplicaSets or ControllerRevisions ---------------------------


def test_listed_revisions_find_the_rollback_target(snap: str, tmp_path: Path) -> None:
    cluster = kubectl_list(tmp_path, deployment(), replicaset("app-abc", "2", "2.0", 1),
                           replicaset("app-old", "1", "1.5", 0),
                           pod("app-abc-1", "ReplicaSet", "app-abc"))
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--format", "json")
    assert code == 1, err
    assert [f["tags"] for f in json.loads(out)["findings"]
            if f["code"] == "rollback-deleted"] == [["1.5"]]


@pytest.mark.parametrize("items", [
    [deployment(), pod("app-abc-1", "ReplicaSet", "app-abc")],  # RBAC: no replicasets
    [pod("app-abc-1", "ReplicaSet", "app-abc")],  # kubectl get pods
    [statefulset(), pod("db-0", "StatefulSet", "db")],  # kubectl get all
], ids=["no-replicasets", "pods-only", "get-all"])
def test_unlisted_revisions_qualify_the_all_clear_in_every_format(
        snap: str, tmp_path: Path, items: list[dict[str, Any]]) -> None:
    result = every_format(snap, "--kubectl-json", kubectl_list(tmp_path, *items))
    assert result["code"] == 0, result["err"]
    words = "not checked: the rollback window (the kubectl evidence does not list the " \
        "ReplicaSets or ControllerRevisions its objects point at"
    assert f"Nothing in use would be deleted among what was checked; {words}" in result["table"]
    assert result["markdown"].startswith(
        f"**harborguard: nothing in use would be deleted among what was checked** — {words}")
    skipped = result["junit"].find("skipped")
    assert skipped is not None and "the rollback window" in skipped.get("message", "")
    [entry] = result["json"]["evidence"]
    assert entry["complete"] is True and entry["note"].startswith(words)


def test_listed_controllerrevisions_leave_the_all_clear_plain_when_nothing_breaks(
        tmp_path: Path) -> None:
    artifacts = [art("2.0", ["2.0"], T), art("1.5", ["1.5"], T - D)]
    snap = write_json(tmp_path / "snap.json",
                      snapshot({"app": artifacts}, policy(rule("latestPushedK", 2))))
    cluster = kubectl_list(tmp_path, statefulset(), revision("db-111", 1, "1.5"),
                           revision("db-222", 2, "2.0"), pod("db-0", "StatefulSet", "db"))
    result = every_format(snap, "--kubectl-json", cluster)
    assert result["code"] == 0, result["err"]
    assert "Nothing in use would be deleted. " in result["table"] + " "
    assert result["markdown"] == "**harborguard: nothing in use would be deleted**"
    assert result["junit"].find("skipped") is None


def test_live_kubectl_forbidden_to_list_replicasets_is_incomplete(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What kubectl does when RBAC allows pods and deployments but not replicasets: the
    # allowed kinds on stdout, the Forbidden on stderr, exit code 1.
    listed = kubectl_list(tmp_path, deployment(), pod("app-abc-1", "ReplicaSet", "app-abc"))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        f"#!/bin/sh\ncat {listed}\necho 'Error from server (Forbidden): replicasets.apps is "
        "forbidden: User \"ci\" cannot list resource \"replicasets\" in API group \"apps\" "
        "at the cluster scope' >&2\nexit 1\n")
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl", "--format", "json")
    assert code == 3, err
    [missing] = json.loads(out)["incomplete"]
    assert missing["what"] == "kubectl"
    assert "replicasets.apps is forbidden" in missing["reason"]


# -- 11. references into projects of this Harbor that were not read ------------------------


def _running(name: str, image: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "image": image}]}, "status": {"phase": "Running"}}


def test_references_into_projects_not_read_qualify_the_all_clear(snap: str,
                                                                 tmp_path: Path) -> None:
    cluster = kubectl_list(tmp_path, _running("a", f"{HOST}/proj/app:2.0"),
                           _running("b", f"{HOST}/other/svc:1.0"),
                           _running("c", f"{HOST}/other/web:3"),
                           _running("d", f"{HOST}/tool-x/api:1"))
    result = every_format(snap, "--kubectl-json", cluster)
    assert result["code"] == 0, result["err"]
    words = "not checked: 3 images in projects of this Harbor that were not read: other, " \
        "tool-x (unmatched-reference; add --project NAME to check them)"
    assert f"Nothing in use would be deleted among what was checked; {words}" in result["table"]
    assert result["markdown"] == (
        f"**harborguard: nothing in use would be deleted among what was checked** — {words}")
    skipped = result["junit"].find("skipped")
    assert skipped is not None and "projects of this Harbor that were not read" in \
        skipped.get("message", "")


def test_a_reference_that_cannot_be_parsed_is_not_a_project_not_read(snap: str,
                                                                    tmp_path: Path) -> None:
    cluster = kubectl_list(tmp_path, _running("a", f"{HOST}/proj/app:2.0"),
                           _running("b", "Not An Image::"))
    result = every_format(snap, "--kubectl-json", cluster)
    assert result["code"] == 0, result["err"]
    assert "projects of this Harbor" not in result["table"]


# -- 6b, 12. Helm releases: earlier revisions and release values are not read ------------


@pytest.fixture
def chart_snap(tmp_path: Path) -> str:
    """proj/mychart 2.0.0 and 1.0.0 (values.yaml: proj/img 2.0.0, 1.0.0), proj/img 2.0.0 and
    1.0.0; latestPushedK 1 keeps the newest of each."""
    charts = [art("chart-2", ["2.0.0"], T, kind="CHART"),
              art("chart-1", ["1.0.0"], T - D, kind="CHART")]
    images = [art("img-2", ["2.0.0"], T), art("img-1", ["1.0.0"], T - D)]
    data = snapshot({"mychart": charts, "img": images}, policy(rule("latestPushedK", 1)))
    repos = data["projects"][0]["repositories"]
    repos[0]["additions"] = {
        dig(f"chart-{n}"): {"values.yaml": f"image:\n  repository: {HOST}/proj/img\n"
                                            f"  tag: {n}.0.0\n"} for n in (1, 2)}
    return write_json(tmp_path / "snap.json", data)


def helm_list(tmp_path: Path, revision: str) -> str:
    return write_json(tmp_path / "helm.json", [{
        "name": "web", "namespace": "web", "revision": revision, "status": "deployed",
        "updated": "2026-02-21 10:00:00.0 +0000 UTC", "chart": "mychart-2.0.0",
        "app_version": "2.0.0"}])


@pytest.mark.parametrize("revision", ["4", "1"])
def test_helm_alone_names_its_rollback_window_and_release_values(
        chart_snap: str, tmp_path: Path, revision: str) -> None:
    result = every_format(chart_snap, "--helm-json", helm_list(tmp_path, revision))
    assert result["code"] == 0, result["err"]
    [entry] = result["json"]["evidence"]
    assert entry["complete"] is True
    values = "the release values (1 image taken from the charts' defaults, values.yaml or " \
        "--image-tag-template; values given at install or upgrade, `helm get values`, were " \
        "not read)"
    rollback = "the rollback window (earlier Helm revisions of 1 release past revision 1, " \
        "web/web at 4: `helm history` was not read)"
    words = f"{rollback}; {values}" if revision == "4" else values
    assert f"not checked: {words}" in result["table"]
    assert result["markdown"].startswith(
        "**harborguard: nothing in use would be deleted among what was checked** — "
        f"not checked: {words}")
    skipped = result["junit"].find("skipped")
    assert skipped is not None and words in skipped.get("message", "")


def test_helm_beside_the_cluster_leaves_both_to_kubectl(chart_snap: str, tmp_path: Path) -> None:
    cluster = kubectl_list(tmp_path, _running("a", f"{HOST}/proj/img:2.0.0"))
    result = every_format(chart_snap, "--helm-json", helm_list(tmp_path, "4"),
                          "--kubectl-json", cluster)
    assert result["code"] == 0, result["err"]
    assert result["markdown"] == "**harborguard: nothing in use would be deleted**"
    assert all(e["note"] is None for e in result["json"]["evidence"])
