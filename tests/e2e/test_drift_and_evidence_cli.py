"""drift and check with deployment-repository evidence, end to end through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SNAPSHOT = str(EXAMPLES / "toolforge-snapshot.json")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def deploy_repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    dest = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(dest)], check=True,
                   capture_output=True)
    return str(dest)


def test_ci_check_without_cluster_protects_the_previous_version(deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "tools", "--image-tag-template", "{version}_image",
                            "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    errors = {(f["code"], tuple(f["tags"])) for f in report["findings"]
              if f["severity"] == "error"}
    assert ("rollback-deleted", ("0.0.130-20240221160838-03b2a120_image",)) in errors
    assert ("rollback-deleted", ("0.0.130-20240221160838-03b2a120",)) in errors
    uses = {u["where"].split(":", 1)[1]: u for a in report["artifacts"] for u in a["in_use"]
            if u["source"] == "git-history"}
    assert "components/builds-api/values/tools.yaml:1" in uses  # the name it had then
    assert report["source"]["history"].startswith("git history: read 4 of 4 first-parent commits")
    declared = [u for a in report["artifacts"] for u in a["in_use"] if u["source"] == "manifests"]
    assert any(u["where"] == "components/builds-api/values/tools.yaml.gotmpl:1" for u in declared)


def test_history_zero_does_not_protect_the_previous_version(deploy_repo: str) -> None:
    # The chart's images come from --image-tag-template (examples/harborguard.yaml); without
    # it they are unknown and the run is incomplete (exit 3), as through --helm.
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                          "--environment", "tools", "--history", "0", "--format", "json",
                          "--image-tag-template", "{version}_image")
    report = json.loads(out)
    assert code == 0
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_manifests_need_environment_and_missing_dir_is_bad_input(deploy_repo: str) -> None:
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo)
    assert code == 2 and "--environment" in err
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", "/nonexistent/x",
                          "--environment", "tools")
    assert code == 2 and "/nonexistent/x" in err and len(err.strip().splitlines()) == 1


def test_bad_yaml_file_in_manifests_makes_the_run_incomplete(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    values = root / "components" / "builds-api" / "values"
    values.mkdir(parents=True)
    (root / "components" / "builds-api" / "helmfile.yaml").write_text(
        (EXAMPLES / "toolforge-deploy/components/builds-api/helmfile.yaml").read_text())
    (values / "tools.yaml.gotmpl").write_text(
        (EXAMPLES / "toolforge-deploy/components/builds-api/values/tools.yaml.gotmpl").read_text())
    broken = root / "components" / "other" / "values.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("image: [unclosed\n")
    code, out, _ = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(root),
                          "--environment", "tools", "--history", "0", "--format", "json")
    assert code == 3
    report = json.loads(out)
    assert any("components/other/values.yaml" in i["what"] for i in report["incomplete"])
    assert any(a["in_use"] for a in report["artifacts"])  # the other files were still read


def test_drift_from_helm_json(deploy_repo: str) -> None:
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--helm-json", str(EXAMPLES / "cluster-helm.json"), "--format", "json")
    assert code == 1  # drift's default --fail-on is warning
    report = json.loads(out)
    assert report["command"] == "drift" and report["artifacts"] == []
    assert report["source"]["harbor"] is None
    not_deployed = [f for f in report["findings"] if f["code"] == "not-deployed"]
    assert len(not_deployed) == 1 and not_deployed[0]["component"] == "builds-api"
    assert "runs 0.0.130-20240221160838-03b2a120" in not_deployed[0]["message"]


def test_drift_with_a_fake_helm_and_kubectl_on_path(deploy_repo: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    helm = tmp_path / "helm"
    helm.write_text(f"#!/bin/sh\ncat {EXAMPLES / 'cluster-helm.json'}\n")
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\ncat {EXAMPLES / 'cluster-kubectl.json'}\n")
    for fake in (helm, kubectl):
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    code, out, err = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                            "--helm", "--kubectl", "--image-tag-template", "{version}_image",
                            "--format", "json")
    assert code == 1, err
    codes = sorted(f["code"] for f in json.loads(out)["findings"])
    assert codes == ["not-deployed", "not-deployed", "not-in-manifests"]


def test_drift_when_helm_fails_is_incomplete(deploy_repo: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    helm = tmp_path / "helm"
    helm.write_text("#!/bin/sh\necho 'Error: Kubernetes cluster unreachable' >&2\nexit 1\n")
    helm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--helm", "--format", "json")
    assert code == 3
    assert json.loads(out)["incomplete"][0]["what"] == "helm"


def test_no_drift_when_the_cluster_runs_what_is_merged(deploy_repo: str, tmp_path: Path) -> None:
    releases = json.loads((EXAMPLES / "cluster-helm.json").read_text())
    releases[0]["chart"] = "builds-api-0.0.131-20240222212602-322f874b"
    path = tmp_path / "helm.json"
    path.write_text(json.dumps(releases))
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--helm-json", str(path), "--image-tag-template", "{version}_image",
                          "--format", "table")
    assert code == 0 and "No drift" in out


@pytest.mark.parametrize("status", ["failed", "pending-upgrade", "pending-rollback",
                                    "uninstalled"])
def test_a_release_that_has_the_merged_version_but_did_not_deploy_it_is_drift(
    deploy_repo: str, tmp_path: Path, status: str
) -> None:
    releases = json.loads((EXAMPLES / "cluster-helm.json").read_text())
    releases[0]["chart"] = "builds-api-0.0.131-20240222212602-322f874b"
    releases[0]["status"] = status
    path = tmp_path / "helm.json"
    path.write_text(json.dumps(releases))
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--helm-json", str(path), "--image-tag-template", "{version}_image",
                          "--format", "json")
    assert code == 1
    found = [f for f in json.loads(out)["findings"] if f["code"] == "not-deployed"]
    assert len(found) == 1 and f"is {status}" in found[0]["message"]


def test_helm_list_asks_for_pending_releases_too() -> None:
    from harborguard.sources.helm import HELM_ARGS

    assert "--all" in HELM_ARGS and "--all-namespaces" in HELM_ARGS


def test_drift_says_what_it_cannot_resolve(deploy_repo: str) -> None:
    # Without a tag template or chart values, the chart's images are unknown: a warning,
    # never a silent "no drift".
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--kubectl-json", str(EXAMPLES / "cluster-kubectl.json"),
                          "--format", "json")
    assert code == 1
    assert "unresolved-reference" in {f["code"] for f in json.loads(out)["findings"]}


def test_drift_fail_on_from_the_environment(deploy_repo: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARBORGUARD_FAIL_ON", "error")
    code, _, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                        "--helm-json", str(EXAMPLES / "cluster-helm.json"), "--format", "json")
    assert code == 0


def test_values_under_secret_keys_never_reach_the_report(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    values = root / "components" / "builds-api" / "values"
    values.mkdir(parents=True)
    (root / "components" / "builds-api" / "helmfile.yaml").write_text(
        (EXAMPLES / "toolforge-deploy/components/builds-api/helmfile.yaml").read_text())
    text = (EXAMPLES / "toolforge-deploy/components/builds-api/values/tools.yaml.gotmpl")
    (values / "tools.yaml.gotmpl").write_text(
        text.read_text()
        + "secrets:\n  password: tools-harbor.wmcloud.org/toolforge/sekritpw1:0.0.1\n"
        + "db:\n  apiToken: tools-harbor.wmcloud.org/toolforge/sekrittoken:1\n")
    for fmt in ("json", "table", "markdown", "junit"):
        _, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(root),
                             "--environment", "tools", "--history", "0", "--format", fmt)
        assert "sekrit" not in out and "sekrit" not in err, fmt


def test_drift_when_the_cluster_runs_none_of_the_declared_images(deploy_repo: str,
                                                                 tmp_path: Path) -> None:
    # An all-namespaces dump (kube-system is in it) where nothing of builds-api runs.
    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [{
        "kind": "Pod", "metadata": {"name": f"p-{ns}", "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/coredns:1.11"}]}}
        for ns in ("kube-system", "ingress-nginx", "monitoring")]}))
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--image-tag-template", "{version}_image", "--kubectl-json",
                          str(dump), "--format", "json")
    assert code == 1
    not_deployed = [f for f in json.loads(out)["findings"] if f["code"] == "not-deployed"]
    assert any("builds-api" in f["message"] and "no pod in the cluster runs" in f["message"]
               for f in not_deployed)


@pytest.mark.parametrize("command", ["drift", "check"])
def test_an_api_status_in_kubectl_json_is_incomplete_never_safe(deploy_repo: str,
                                                                tmp_path: Path,
                                                                command: str) -> None:
    status = tmp_path / "status.json"
    status.write_text('{"kind": "Status", "apiVersion": "v1", "status": "Failure", '
                      '"message": "Unauthorized", "reason": "Unauthorized", "code": 401}')
    args = ["--manifests", deploy_repo, "--environment", "tools"] if command == "drift" \
        else ["--snapshot", SNAPSHOT]
    code, out, err = invoke(command, *args, "--kubectl-json", str(status), "--format", "table")
    assert code == 3
    assert "Nothing in use would be deleted" not in out and "No drift" not in out
    assert "Status (Failure: Unauthorized)" in err


def test_an_environment_with_no_values_is_incomplete_never_safe(deploy_repo: str) -> None:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", deploy_repo,
                            "--environment", "prod", "--format", "table")
    assert code == 3
    assert "Nothing in use would be deleted" not in out
    assert "no component has values for this environment" in err


def test_credentials_in_image_urls_never_reach_the_report(tmp_path: Path) -> None:
    manifests = tmp_path / "deploy" / "k8s"
    manifests.mkdir(parents=True)
    (manifests / "jobs-api.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: jobs-api\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "        - name: api\n"
        "          image: https://admin:UrlPass777@tools-harbor.example/jobs-api:0.0.1\n"
        "        - name: templated\n"
        "          image: https://robot:UrlPass888@{{ .Values.host }}/jobs-api:0.0.1\n")
    args = ("--manifests", str(tmp_path / "deploy"), "--environment", "tools", "--history", "0")
    for fmt in ("json", "table", "markdown", "junit"):
        _, out, err = invoke("check", "--snapshot", SNAPSHOT, *args, "--format", fmt)
        assert "UrlPass" not in out + err, fmt
        if fmt == "json":
            messages = [f["message"] for f in json.loads(out)["findings"]]
            assert ("invalid image reference 'https://***@tools-harbor.example/jobs-api:0.0.1': "
                    "digest 'tools-harbor.example/jobs-api:0.0.1' is not algorithm:hex"
                    in messages)
            assert any("image: https://***@{{ .Values.host }}/jobs-api:0.0.1" in m
                       for m in messages)
    _, out, err = invoke("drift", *args, "--kubectl-json", str(EXAMPLES / "cluster-kubectl.json"),
                         "--format", "json")
    assert "UrlPass" not in out + err


def test_plain_kubernetes_yaml_manifests_are_complete_evidence(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: builds-api, namespace: b}\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
        "          image: tools-harbor.wmcloud.org/toolforge/builds-api:"
        "0.0.130-20240221160838-03b2a120_image\n")
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(tmp_path),
                            "--environment", "tools", "--history", "0", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["incomplete"] == []
    assert any(f["code"] == "in-use-deleted" for f in report["findings"])


def test_a_kubectl_dump_with_no_objects_is_incomplete(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--kubectl-json", str(empty),
                            "--format", "table")
    assert code == 3 and "holds no objects at all" in err
    assert "Nothing in use would be deleted" not in out


def test_drift_judges_only_namespaces_a_partial_dump_covers(deploy_repo: str,
                                                             tmp_path: Path) -> None:
    # One namespace's dump (no kube-system): components elsewhere are not called absent.
    dump = tmp_path / "ns.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [{
        "kind": "Pod", "metadata": {"name": "api-1", "namespace": "jobs-api"},
        "spec": {"containers": [{"name": "c", "image": "reg.example/jobs-api:1"}]}}]}))
    code, out, _ = invoke("drift", "--manifests", deploy_repo, "--environment", "tools",
                          "--image-tag-template", "{version}_image", "--kubectl-json",
                          str(dump), "--format", "json")
    assert not [f for f in json.loads(out)["findings"]
                if "no pod in the cluster runs any" in f["message"]]


def test_a_misspelt_environment_in_a_values_only_layout_is_incomplete(tmp_path: Path) -> None:
    values = tmp_path / "components" / "api" / "values"
    values.mkdir(parents=True)
    (values / "tools.yaml").write_text("image: tools-harbor.wmcloud.org/toolforge/builds-api:"
                                       "0.0.130-20240221160838-03b2a120_image\n")
    (tmp_path / "components" / "api" / "values.yaml").write_text("replicas: 1\n")
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(tmp_path),
                          "--environment", "tool", "--history", "0", "--format", "json")
    assert code == 3 and "check --environment" in err


def test_secrets_beside_an_unresolved_reference_are_not_quoted(tmp_path: Path) -> None:
    values = tmp_path / "components" / "api" / "values"
    values.mkdir(parents=True)
    (values / "tools.yaml").write_text(
        'secretsSync: {image: "tools-harbor.wmcloud.org/toolforge/builds-api:{{ .Values.tag }}",'
        " apiToken: hunter3-SECRET}\n")
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(tmp_path),
                            "--environment", "tools", "--history", "0", "--format", "json")
    assert "hunter3-SECRET" not in out + err


def test_drift_names_declared_references_it_cannot_read(tmp_path: Path) -> None:
    values = tmp_path / "components" / "api" / "values"
    values.mkdir(parents=True)
    (values / "tools.yaml").write_text(
        "image: tools-harbor.wmcloud.org/toolforge/builds-api:0.0.131+20240222212602\n")
    code, out, _ = invoke("drift", "--manifests", str(tmp_path), "--environment", "tools",
                          "--kubectl-json", str(EXAMPLES / "cluster-kubectl.json"),
                          "--format", "table")
    assert "No drift: the cluster runs what the manifests name." not in out
    assert "unmatched-reference" in out


def test_a_kubectl_list_without_items_is_incomplete(tmp_path: Path) -> None:
    bare = tmp_path / "bare.json"
    bare.write_text('{"apiVersion": "v1", "kind": "List"}')
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, "--kubectl-json", str(bare))
    assert code == 3 and "holds no objects at all" in err
