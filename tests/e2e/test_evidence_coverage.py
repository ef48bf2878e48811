"""Issue 12: no false all-clear from missing evidence.

Helm releases on their own, Harbor read through another name than pods pull from, kubectl
output without a workload, commands without evidence, and the report's ``evidence``
coverage and qualified verdicts; end to end through the CLI.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SNAPSHOT = str(EXAMPLES / "toolforge-snapshot.json")
HELM = str(EXAMPLES / "cluster-helm.json")
KUBECTL = str(EXAMPLES / "cluster-kubectl.json")
HOST = "tools-harbor.wmcloud.org"
V130 = "0.0.130-20240221160838-03b2a120"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def findings(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["code"] == code]


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def release(chart: str, name: str = "builds-api", namespace: str = "builds-api") -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "revision": "3", "status": "deployed",
            "updated": "2024-02-21 17:31:52 +0000 UTC", "chart": chart, "app_version": "1"}


def in_use(report: dict[str, Any], tag: str) -> list[dict[str, str]]:
    return [u for a in report["artifacts"] if tag in a["tags"] for u in a["in_use"]]


@pytest.fixture(scope="module")
def deploy_repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    dest = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(dest)], check=True,
                   capture_output=True)
    return str(dest)


# -- 1. a Helm release is evidence on its own ----------------------------------------------


def test_helm_release_alone_protects_its_chart_and_unknown_images_are_incomplete() -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", HELM,
                            "--format", "json")
    assert code == 3, err  # the chart's images are unknown: incomplete, never all clear
    report = json.loads(out)
    [deleted] = findings(report, "in-use-deleted")
    assert deleted["tags"] == [V130] and deleted["repository"] == "toolforge/builds-api"
    assert "Helm chart of a deployed release" in deleted["message"]
    assert "`helm rollback` or reinstall" in deleted["message"]
    assert "ImagePullBackOff" not in deleted["message"]
    assert in_use(report, V130) == [{"source": "helm", "kind": "declared",
                                     "ref": f"{HOST}/toolforge/builds-api:{V130}",
                                     "where": "builds-api/HelmRelease/builds-api"}]
    [unresolved] = findings(report, "unresolved-reference")
    assert "no values.yaml from Harbor and no --image-tag-template" in unresolved["message"]
    assert [i["what"] for i in report["incomplete"]] == ["helm release builds-api/builds-api"]
    assert "--image-tag-template" in err
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", HELM,
                          "--format", "table")
    assert code == 3 and "Nothing in use would be deleted" not in out
    assert "is the Helm chart of a deployed release" in out


def test_helm_release_alone_with_a_tag_template_protects_chart_and_image() -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", HELM,
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert {tuple(f["tags"]) for f in findings(report, "in-use-deleted")} == {
        (V130,), (f"{V130}_image",)}
    assert not report["incomplete"]
    assert report["evidence"] == [{
        "source": "helm", "what": HELM, "counts": {"releases": 1, "charts": 1, "references": 2},
        "complete": True, "note": (
            "not checked: the rollback window (earlier Helm revisions of 1 release past "
            "revision 1, builds-api/builds-api at 14: `helm history` was not read); the "
            "release values (1 image taken from the charts' defaults, values.yaml or "
            "--image-tag-template; values given at install or upgrade, `helm get values`, "
            "were not read)")}]


def test_chart_values_from_the_snapshot_name_the_images(tmp_path: Path) -> None:
    data = json.loads(Path(SNAPSHOT).read_text())
    repo = next(r for p in data["projects"] for r in p["repositories"]
                if r["repository"]["name"] == "toolforge/builds-api")
    chart = next(a for a in repo["artifacts"] if any(t["name"] == V130 for t in a["tags"]))
    repo["additions"] = {chart["digest"]: {"values.yaml": (
        f"image:\n  repository: {HOST}/toolforge/builds-api\n  tag: {V130}_image\n")}}
    snap = write_json(tmp_path / "snap.json", data)
    code, out, err = invoke("check", "--snapshot", snap, "--helm-json", HELM, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert [u["source"] for u in in_use(report, f"{V130}_image")] == ["helm"]
    assert not report["incomplete"] and not findings(report, "unresolved-reference")


def test_a_chart_from_another_registry_is_unmatched_never_silence(tmp_path: Path) -> None:
    helm = write_json(tmp_path / "helm.json", [
        release(f"builds-api-{V130}"),
        release("cert-manager-v1.11.0", name="cert-manager", namespace="cert-manager")])
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", helm,
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    [other] = findings(report, "unmatched-reference")
    assert other["severity"] == "info"
    assert "cert-manager/HelmRelease/cert-manager runs chart cert-manager-v1.11.0" in \
        other["message"]
    assert report["evidence"][0]["counts"] == {"releases": 2, "charts": 1, "references": 2}


@pytest.mark.parametrize("chart", ["builds-api-0.0.999", "builds-api-1.2.3-rc.1", "jobs-api-9.9.9"])
def test_a_repository_without_the_chart_version_is_in_use_missing(tmp_path: Path,
                                                                  chart: str) -> None:
    helm = write_json(tmp_path / "helm.json", [release(chart)])
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", helm,
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    missing = findings(report, "in-use-missing")
    chart_missing = [f for f in missing if "`helm rollback` or reinstall" in f["message"]]
    assert len(chart_missing) == 1 and len(missing) == 2  # the chart, and its image
    assert "ImagePullBackOff" not in chart_missing[0]["message"]
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", helm,
                          "--image-tag-template", "{version}_image", "--format", "table")
    assert "is a Helm chart already gone from Harbor but still deployed" in out


def test_every_repository_a_chart_name_could_mean_counts(tmp_path: Path) -> None:
    data = json.loads(Path(SNAPSHOT).read_text())
    project = data["projects"][0]
    twin = copy.deepcopy(next(r for r in project["repositories"]
                              if r["repository"]["name"] == "toolforge/builds-api"))
    twin["repository"]["name"] = "toolforge/mirror/builds-api"
    project["repositories"].append(twin)
    project["project"]["repo_count"] = len(project["repositories"])  # the list is whole
    snap = write_json(tmp_path / "snap.json", data)
    code, out, err = invoke("check", "--snapshot", snap, "--helm-json", HELM,
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert {f["repository"] for f in findings(report, "in-use-deleted")} == {
        "toolforge/builds-api", "toolforge/mirror/builds-api"}
    assert any("could be any of toolforge/builds-api" in n and "mirror" in n
               for n in report["notes"])


def test_an_empty_helm_list_is_incomplete(tmp_path: Path) -> None:
    helm = write_json(tmp_path / "helm.json", [])
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm-json", helm,
                            "--format", "table")
    assert code == 3 and "no release at all" in err
    assert "Nothing in use would be deleted" not in out


# -- 7. a chart version in use protects its images, whichever source named it --------------


def test_helm_release_beside_manifests_protects_the_images_of_the_version_it_runs(
        deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "tools", "--history", "0", "--helm-json", HELM,
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    image_uses = in_use(report, f"{V130}_image")
    assert [(u["source"], u["ref"]) for u in image_uses] == [
        ("helm", f"{HOST}/toolforge/builds-api:{V130}_image")]
    deleted = {tuple(f["tags"]): f for f in findings(report, "in-use-deleted")}
    assert set(deleted) == {(V130,), (f"{V130}_image",)}
    assert "`helm rollback` or reinstall" in deleted[(V130,)]["message"]
    assert "`helm rollback`" not in deleted[(f"{V130}_image",)]["message"]
    # The component still matches the release by name and namespace.
    assert deleted[(V130,)]["component"] == "builds-api"
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                          "--environment", "tools", "--history", "0", "--helm-json", HELM,
                          "--image-tag-template", "{version}_image", "--format", "markdown")
    assert "images and Helm charts still in use" in out.splitlines()[0]


def test_helm_beside_manifests_without_a_way_to_know_the_images_is_incomplete(
        deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "tools", "--history", "0", "--helm-json", HELM,
                            "--format", "json")
    assert code == 3, err
    assert "helm release builds-api/builds-api" in err


# -- 2. Harbor read through another name than pods pull from -------------------------------


def _snapshot_named(tmp_path: Path, harbor: str) -> str:
    data = json.loads(Path(SNAPSHOT).read_text())
    data["harbor"] = harbor
    return write_json(tmp_path / "snap.json", data)


def _kubectl_without_digests(tmp_path: Path) -> str:
    data = json.loads(Path(KUBECTL).read_text())
    for item in data["items"]:
        item.get("status", {}).pop("containerStatuses", None)
    return write_json(tmp_path / "kubectl.json", data)


@pytest.mark.parametrize("harbor", ["http://127.0.0.1:8080", "https://harbor.internal.svc",
                                    "http://localhost:30002/"])
def test_another_name_without_digests_is_incomplete_naming_the_alias(tmp_path: Path,
                                                                     harbor: str) -> None:
    snap = _snapshot_named(tmp_path, harbor)
    cluster = _kubectl_without_digests(tmp_path)
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--format", "json")
    assert code == 3, err
    report = json.loads(out)
    foreign = findings(report, "foreign-registry")
    assert foreign and all(f["severity"] == "warning" for f in foreign)
    assert all(f"--registry-alias {HOST}" in f["message"] for f in foreign)
    [entry] = [i for i in report["incomplete"] if i["what"] == "evidence of use"]
    assert f"add --registry-alias {HOST}" in entry["reason"]
    code, out, _ = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                          "--format", "table")
    assert code == 3 and "Nothing in use would be deleted" not in out
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--registry-alias", HOST, "--format", "json")
    assert code == 1, err
    assert not findings(json.loads(out), "foreign-registry")


def test_a_digest_is_the_artifact_whatever_host_names_it(tmp_path: Path) -> None:
    snap = _snapshot_named(tmp_path, "http://127.0.0.1:8080")
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", KUBECTL,
                            "--format", "json")
    report = json.loads(out)
    # The pod's imageID digest is the running 0.0.130 image: matched, though the host is
    # not the one Harbor was read through; the tag-only controllers are warned about.
    assert [u["where"] for u in in_use(report, f"{V130}_image")] == [
        "builds-api/Pod/builds-api-5d8f7c9b4d-x7kq2"]
    assert {tuple(f["tags"]) for f in findings(report, "in-use-deleted")} == {(f"{V130}_image",)}
    assert findings(report, "foreign-registry")
    assert code == 1, err
    code, out, _ = invoke("check", "--snapshot", snap, "--kubectl-json", KUBECTL,
                          "--format", "markdown")
    assert out.startswith("**harborguard: 1 error**")


def test_foreign_registry_warnings_qualify_the_all_clear(tmp_path: Path) -> None:
    snap = _snapshot_named(tmp_path, "http://127.0.0.1:8080")
    image = f"{HOST}/toolforge/registry-admission"
    cluster = write_json(tmp_path / "k.json", {"kind": "List", "items": [
        _pod("a", "127.0.0.1:8080/toolforge/registry-admission:0.0.32"),
        _pod("b", f"{image}:0.0.31")]})
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--format", "table")
    assert code == 0, err
    assert "Nothing in use would be deleted among what was checked; not checked: 1 reference " \
        "to another registry host" in " ".join(out.split())
    code, out, _ = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                          "--format", "markdown")
    assert out.startswith("**harborguard: nothing in use would be deleted among what was "
                          "checked** — not checked: 1 reference to another registry host")
    code, out, _ = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                          "--format", "junit")
    case = _evidence_case(out)
    assert "foreign-registry" in case.find("skipped").get("message", "")  # type: ignore[union-attr]


def _pod(name: str, image: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def _evidence_case(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    [case] = [c for c in root.iter("testcase") if c.get("name") == "harborguard: evidence of use"]
    return case


# -- 3. kubectl output without a workload ----------------------------------------------------


@pytest.mark.parametrize("kinds", [["Service"], ["ConfigMap", "Endpoints"],
                                   ["Service", "Secret", "Ingress"]])
def test_kubectl_output_without_a_workload_is_incomplete(tmp_path: Path,
                                                        kinds: list[str]) -> None:
    cluster = write_json(tmp_path / "k.json", {"kind": "List", "items": [
        {"kind": k, "metadata": {"name": f"o{i}", "namespace": "x"}}
        for i, k in enumerate(kinds)]})
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--kubectl-json", cluster,
                            "--format", "table")
    assert code == 3, err
    assert "but no workload" in err and "Nothing in use would be deleted" not in out
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--kubectl-json", cluster,
                          "--format", "json")
    [entry] = json.loads(out)["evidence"]
    assert entry["counts"] == {"objects": len(kinds), "workloads": 0, "references": 0}
    assert entry["complete"] is False and "but no workload" in entry["note"]


# -- 4. no evidence is said as such ----------------------------------------------------------


@pytest.fixture()
def proposed(tmp_path: Path) -> str:
    path = tmp_path / "new.yaml"
    path.write_text("""\
algorithm: or
rules:
  - action: retain
    template: latestPushedK
    params: {latestPushedK: 100}
    tag_selectors: [{kind: doublestar, decoration: matches, pattern: "**"}]
    scope_selectors: {repository: [{kind: doublestar, decoration: repoMatches, pattern: "**"}]}
""")
    return str(path)


def test_diff_without_evidence_says_no_evidence_in_every_format(proposed: str) -> None:
    base = ("diff", "--snapshot", SNAPSHOT, "--policy", proposed)
    code, out, err = invoke(*base, "--format", "table")
    assert code == 0, err
    assert "Nothing in use would be deleted" not in out
    assert "Not checked: no evidence of use was given" in " ".join(out.split())
    assert "Evidence: none given" in out
    code, out, _ = invoke(*base, "--format", "markdown")
    assert out.startswith("**harborguard: no evidence of use was given** — no evidence of use "
                          "was given (--kubectl")
    assert "nothing in use would be deleted" not in out.lower().replace(
        "whether anything in use would be deleted", "")
    code, out, _ = invoke(*base, "--format", "junit")
    skipped = _evidence_case(out).find("skipped")
    assert skipped is not None and "no evidence of use was given" in skipped.get("message", "")
    assert int(ET.fromstring(out).get("skipped", "0")) == 1
    code, out, _ = invoke(*base, "--format", "json")
    assert json.loads(out)["evidence"] == []


def test_diff_with_complete_evidence_gives_the_plain_all_clear(proposed: str,
                                                               tmp_path: Path) -> None:
    cluster = write_json(tmp_path / "k.json", {"kind": "List", "items": [
        _pod("a", f"{HOST}/toolforge/registry-admission:0.0.32")]})
    code, out, err = invoke("diff", "--snapshot", SNAPSHOT, "--policy", proposed,
                            "--kubectl-json", cluster, "--format", "table")
    assert code == 0, err
    assert "Nothing in use would be deleted." in out
    assert f"Evidence: kubectl {cluster} (1 object, 1 workload, 1 reference)" in \
        " ".join(out.split())
    code, out, _ = invoke("diff", "--snapshot", SNAPSHOT, "--policy", proposed,
                          "--kubectl-json", cluster, "--format", "junit")
    assert _evidence_case(out).find("skipped") is None


# -- all-clear qualified by the rollback window ----------------------------------------------


def test_manifests_that_are_not_a_git_checkout_qualify_the_all_clear(tmp_path: Path) -> None:
    plain = tmp_path / "deploy"
    shutil.copytree(EXAMPLES / "toolforge-deploy", plain)
    assert not (plain / ".git").exists()
    base = ("check", "--snapshot", SNAPSHOT, "--manifests", str(plain), "--environment",
            "tools", "--image-tag-template", "{version}_image")
    code, out, err = invoke(*base, "--format", "json")
    report = json.loads(out)
    assert code == 0, err
    history = [e for e in report["evidence"] if e["source"] == "git-history"]
    assert history == [{"source": "git-history", "what": str(plain),
                        "counts": {"requested": 0, "versions": 0, "commits": 0,
                                   "references": 0},
                        "complete": True, "note": "not read: not a git checkout"}]
    code, out, _ = invoke(*base, "--format", "table")
    assert "not checked: the rollback window (git history not read: not a git checkout)" in \
        " ".join(out.split())
    assert "Nothing in use would be deleted." not in out
    code, out, _ = invoke(*base, "--format", "markdown")
    assert out.startswith("**harborguard: nothing in use would be deleted among what was "
                          "checked** — not checked: the rollback window")
    code, out, _ = invoke(*base, "--format", "junit")
    skipped = _evidence_case(out).find("skipped")
    assert skipped is not None and "rollback window" in skipped.get("message", "")


def test_history_zero_says_the_rollback_window_was_not_checked(deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "tools", "--history", "0",
                            "--image-tag-template", "{version}_image", "--format", "table")
    assert code == 0, err
    assert "git history not read: --history 0" in " ".join(out.split())


def test_evidence_lists_every_source_with_its_coverage(deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "tools", "--image-tag-template", "{version}_image",
                            "--kubectl-json", KUBECTL, "--helm-json", HELM, "--format", "json")
    assert code == 1, err
    evidence = {e["source"]: e for e in json.loads(out)["evidence"]}
    assert list(evidence) == ["kubectl", "manifests", "git-history", "helm"]
    # 8 container images and the builder image (env BUILDER) of its Deployment, ReplicaSets, Pod.
    assert evidence["kubectl"]["counts"] == {"objects": 4, "workloads": 4, "references": 12}
    assert evidence["manifests"]["counts"]["components"] == 1
    assert evidence["git-history"]["counts"]["requested"] == 1
    assert evidence["git-history"]["counts"]["versions"] == 1
    assert evidence["git-history"]["note"].startswith("git history: read")
    assert evidence["helm"]["counts"]["releases"] == 1
    assert all(e["complete"] for e in evidence.values())
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                          "--environment", "tools", "--image-tag-template", "{version}_image",
                          "--kubectl-json", KUBECTL, "--format", "markdown")
    assert f"Evidence: kubectl {KUBECTL} (4 objects, 4 workloads, 12 references); manifests" in out
    assert "git-history" in out and "1 of 1 versions back" in out


def test_drift_reports_its_evidence(deploy_repo: str) -> None:
    code, out, err = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                            "--helm-json", HELM, "--format", "json")
    report = json.loads(out)
    assert [e["source"] for e in report["evidence"]] == ["manifests", "git-history", "helm"]
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--helm-json", HELM, "--format", "table")
    assert "Evidence: manifests" in out


def test_live_helm_alone_is_evidence_and_says_what_it_ran(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:

    from tests.fakehelm import install

    install(tmp_path, {"releases": json.loads(Path(HELM).read_text())}, monkeypatch)
    kubectl = tmp_path / "kubectl"
    kubectl.write_text('#!/bin/sh\necho \'{"kind": "List", "items": [{"kind": "Service", '
                       '"metadata": {"name": "s", "namespace": "x"}}]}\'\n')
    kubectl.chmod(0o755)
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--helm", "--kubectl",
                            "--image-tag-template", "{version}_image", "--format", "json")
    assert code == 3, err  # kubectl answered with no workload: what runs is unknown
    report = json.loads(out)
    assert {tuple(f["tags"]) for f in findings(report, "in-use-deleted")} == {
        (V130,), (f"{V130}_image",)}
    entries = {e["source"]: e for e in report["evidence"]}
    assert entries["helm"]["what"] == "helm list --all-namespaces --all --max 0 -o json"
    assert entries["helm"]["complete"] is True
    assert entries["kubectl"]["what"].startswith("kubectl get pods,deployments")
    assert entries["kubectl"]["complete"] is False


# -- all-clear qualified by the cluster and by the what-if order ----------------------------


def test_manifests_without_the_cluster_say_the_cluster_was_not_checked(tmp_path: Path) -> None:
    plain = tmp_path / "deploy"
    shutil.copytree(EXAMPLES / "toolforge-deploy", plain)
    base = ("check", "--snapshot", SNAPSHOT, "--manifests", str(plain), "--environment",
            "tools", "--image-tag-template", "{version}_image")
    code, out, err = invoke(*base, "--format", "table")
    assert code == 0, err
    assert "; what runs in the cluster (no --kubectl" in " ".join(out.split()), out
    code, out, _ = invoke(*base, "--format", "markdown")
    assert "what runs in the cluster" in out.splitlines()[0]
    code, out, _ = invoke(*base, "--format", "junit")
    skipped = _evidence_case(out).find("skipped")
    assert skipped is not None and "cluster" in skipped.get("message", "")


@pytest.mark.parametrize("how", ["flag", "environment", "config"])
def test_an_all_clear_under_order_semver_says_it_is_a_what_if(tmp_path: Path, how: str) -> None:
    # The incident's cluster: by push time (Harbor) 0.0.130 is deleted; by version it is kept.
    args = ["check", "--snapshot", SNAPSHOT, "--kubectl-json", KUBECTL, "--format", "table"]
    env: dict[str, str] = {}
    if how == "flag":
        args += ["--order", "semver"]
    elif how == "environment":
        env["HARBORGUARD_ORDER"] = "semver"
    else:
        config = tmp_path / "harborguard.yaml"
        config.write_text("order: semver\n")
        args = ["--config", str(config), *args]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Nothing in use would be deleted." not in text
    assert "not checked: Harbor's own ranking (this is the --order semver what-if" in text


def _moved_tag_case(tmp_path: Path, *, old_in_harbor: bool) -> tuple[str, str]:
    """A pod running old, pulled as latest, which now names new; the policy keeps new only.
    ``old_in_harbor``: old is still an artifact (untagged) of the snapshot, or already gone."""
    from datetime import timedelta

    from tests.builders import T, art, dig, policy, rule, snapshot

    artifacts = [art("new", ["latest"], T - timedelta(days=1))]
    if old_in_harbor:
        artifacts.append(art("old", None, T - timedelta(days=9)))
    data = snapshot({"foo": artifacts}, policy(rule("latestPushedK", 1)), project="tool-foo")
    data["harbor"] = f"https://{HOST}"
    snap = write_json(tmp_path / "s.json", data)
    pod = _pod("foo", f"{HOST}/tool-foo/foo:latest")
    pod["status"] = {"containerStatuses": [{"name": "c", "image": f"{HOST}/tool-foo/foo:latest",
                                            "imageID": f"{HOST}/tool-foo/foo@{dig('old')}"}]}
    cluster = write_json(tmp_path / "k.json", {"kind": "List", "items": [pod]})
    return snap, cluster


def test_a_running_build_gone_while_its_tag_moved_qualifies_the_all_clear(
        tmp_path: Path) -> None:
    snap, cluster = _moved_tag_case(tmp_path, old_in_harbor=False)
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--format", "markdown")
    assert code == 0, err
    assert "not checked: 1 running build already gone from Harbor whose tag now names " \
        "another build, which a restart would run instead (digest-moved)" in out.splitlines()[0]


def test_a_running_build_the_policy_deletes_while_its_tag_moved_is_an_error(
        tmp_path: Path) -> None:
    # The running build is still in Harbor and the policy deletes it: no all-clear.
    from tests.builders import dig

    snap, cluster = _moved_tag_case(tmp_path, old_in_harbor=True)
    code, out, err = invoke("check", "--snapshot", snap, "--kubectl-json", cluster,
                            "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert [(f["code"], f["digest"]) for f in report["findings"]] == [
        ("in-use-deleted", dig("old"))]
    assert "by tag latest, which now names" in report["findings"][0]["message"]
    [row] = [a for a in report["artifacts"] if a["digest"] == dig("old")]
    assert row["action"] == "delete"
    assert [u["where"] for u in row["in_use"]] == ["ns/Pod/foo"]
