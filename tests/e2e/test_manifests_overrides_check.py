"""`check --manifests` verdicts on what GitOps tools and local charts really deploy.

Hostile review findings 17 (Argo CD / Flux image overrides ignored), 14 (a declared chart
whose images cannot be told is an all-clear through --manifests but exit 3 through --helm)
and 18 (a local chart's templates and Chart.yaml appVersion not read). Each repository here
deploys web:1.1, which the policy (latestPushedK 1) deletes: the verdict must say so, or
say the run is incomplete; never "nothing in use would be deleted".
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import T, art, policy, rule, snapshot

HOST = "harbor.example.org"
WEB = f"{HOST}/proj/web"
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: web}\n"
    "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
    f"          image: {WEB}:1.10\n"
)


def web_snapshot(tmp_path: Path) -> str:
    """proj/web: 1.10 pushed last, 1.1 before; latestPushedK 1 deletes 1.1."""
    arts = [art("1.10", ["1.10"], T - timedelta(days=4)),
            art("1.1", ["1.1"], T - timedelta(days=19))]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot({"web": arts}, policy(rule("latestPushedK", 1)),
                                        version="v2.11.0")))
    return str(path)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def check(tmp_path: Path, deploy: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", web_snapshot(tmp_path),
                                      "--manifests", str(deploy), "--environment", "tools",
                                      "--history", "0", "--format", "json", *extra],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def uses_of(report: dict[str, Any], tag: str) -> list[str]:
    return [u["where"] for a in report["artifacts"] if tag in (a["tags"] or [])
            for u in a["in_use"]]


def codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"]}


def test_argocd_application_kustomize_images_is_what_runs(tmp_path: Path) -> None:
    deploy = write(tmp_path / "deploy", {
        "web/deployment.yaml": DEPLOYMENT,
        "web/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "apps/web.yaml": (
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n"
            "spec:\n  source:\n    repoURL: https://git.example.org/deploy.git\n"
            "    path: web\n    kustomize:\n      images:\n"
            f"        - {WEB}={WEB}:1.1\n"),
    })
    code, report = check(tmp_path, deploy)
    assert uses_of(report, "1.1") == ["apps/web.yaml:11"]
    assert "in-use-deleted" in codes(report)
    assert code == 1


def test_argocd_image_updater_write_back_file_is_read(tmp_path: Path) -> None:
    deploy = write(tmp_path / "deploy", {
        "web/deployment.yaml": DEPLOYMENT,
        "web/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "web/.argocd-source-web.yaml": f"kustomize:\n  images:\n  - {WEB}:1.1\n",
    })
    code, report = check(tmp_path, deploy)
    assert uses_of(report, "1.1") == ["web/.argocd-source-web.yaml:3"]
    assert code == 1


def test_flux_kustomization_spec_images_is_what_runs(tmp_path: Path) -> None:
    deploy = write(tmp_path / "deploy", {
        "web/deployment.yaml": DEPLOYMENT,
        "web/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "clusters/web.yaml": (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            "metadata:\n  name: web\nspec:\n  path: ./web\n  images:\n"
            f"    - name: {WEB}\n      newTag: \"1.1\"\n"),
    })
    code, report = check(tmp_path, deploy)
    assert uses_of(report, "1.1") == ["clusters/web.yaml:9"]
    assert code == 1


def test_declared_chart_whose_images_are_unknown_is_incomplete(tmp_path: Path) -> None:
    """Finding 14: as through --helm-json, a chart of this Harbor whose images cannot be
    told (no values.yaml in the snapshot, no --image-tag-template) is exit 3."""
    deploy = write(tmp_path / "deploy", {
        "components/web/helmfile.yaml": (
            "repositories:\n  - name: tools\n    url: harbor.example.org/proj\n    oci: true\n"
            "releases:\n  - name: web\n    chart: tools/web\n    version: \"2.0\"\n"
            "    namespace: web\n"),
    })
    code, report = check(tmp_path, deploy)
    assert code == 3
    assert any("web:2.0" in i["reason"] and "--image-tag-template" in i["reason"]
               for i in report["incomplete"])
    # Given the tag template, the chart's images are known: complete again.
    code, report = check(tmp_path, deploy, "--image-tag-template", "{version}_image")
    assert report["incomplete"] == []


def test_unresolved_image_of_a_known_chart_is_incomplete_only_if_ours(tmp_path: Path) -> None:
    """A chart whose values.yaml (in the snapshot) leaves one image untagged: incomplete
    when that image is of this Harbor, a warning when it is of another registry."""
    deploy = write(tmp_path / "deploy", {
        "components/web/helmfile.yaml": (
            "repositories:\n  - name: tools\n    url: harbor.example.org/proj\n    oci: true\n"
            "releases:\n  - name: web\n    chart: tools/web\n    version: \"2.0\"\n"),
    })
    for sidecar, incomplete in (("other.example/nginx", False), (f"{WEB}-sidecar", True)):
        data = json.loads(Path(web_snapshot(tmp_path)).read_text())
        repo = data["projects"][0]["repositories"][0]
        repo["artifacts"].append(art("chart", ["2.0"], T - timedelta(days=2), kind="CHART"))
        repo["additions"] = {repo["artifacts"][-1]["digest"]: {"values.yaml": (
            f"image:\n  repository: {WEB}\n  tag: \"1.10\"\n"
            f"sidecar:\n  image:\n    repository: {sidecar}\n")}}
        snap = tmp_path / "snap-chart.json"
        snap.write_text(json.dumps(data))
        result = CliRunner().invoke(cli, ["check", "--snapshot", str(snap), "--manifests",
                                          str(deploy), "--environment", "tools", "--history",
                                          "0", "--format", "json"], catch_exceptions=False)
        report = json.loads(result.stdout)
        assert bool(report["incomplete"]) is incomplete, sidecar
        assert "unresolved-reference" in codes(report)


def test_release_of_a_harbor_chart_without_version_is_incomplete(tmp_path: Path) -> None:
    deploy = write(tmp_path / "deploy", {
        "components/web/helmfile.yaml": (
            "repositories:\n  - name: tools\n    url: harbor.example.org/proj\n    oci: true\n"
            "releases:\n  - name: web\n    chart: tools/web\n    namespace: web\n"),
    })
    code, report = check(tmp_path, deploy)
    assert code == 3
    assert any("names no chart version" in i["reason"] for i in report["incomplete"])


def test_chart_of_another_registry_stays_a_warning(tmp_path: Path) -> None:
    deploy = write(tmp_path / "deploy", {
        "components/ingress/helmfile.yaml": (
            "repositories:\n  - name: ext\n    url: registry.other.example/charts\n"
            "    oci: true\nreleases:\n  - name: ingress\n    chart: ext/ingress\n"
            "    version: \"4.0\"\n    namespace: ingress\n"),
    })
    code, report = check(tmp_path, deploy)
    assert report["incomplete"] == []
    assert "unresolved-reference" in codes(report)
    assert code == 0


def test_local_chart_app_version_and_template_literals_are_what_runs(tmp_path: Path) -> None:
    """Finding 18: `tag | default .Chart.AppVersion` with an empty tag runs appVersion."""
    deploy = write(tmp_path / "deploy", {
        "components/web/helmfile.yaml": (
            "releases:\n  - name: web\n    chart: ./chart\n    namespace: web\n"
            "    values:\n      - values/{{ .Environment.Name }}.yaml\n"
            "environments:\n  tools: {}\n"),
        "components/web/values/tools.yaml": "replicas: 1\n",
        "components/web/chart/Chart.yaml": (
            "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.1\"\n"),
        "components/web/chart/values.yaml": (
            f"image:\n  repository: {WEB}\n  tag: \"\"\n"),
        "components/web/chart/templates/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
            "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
            "          image: \"{{ .Values.image.repository }}:"
            "{{ .Values.image.tag | default .Chart.AppVersion }}\"\n"
            f"        - name: helper\n          image: {WEB}:1.1\n"),
    })
    code, report = check(tmp_path, deploy)
    assert sorted(uses_of(report, "1.1")) == [
        "components/web/chart/Chart.yaml:4",
        "components/web/chart/templates/deployment.yaml:12",
    ]
    assert code == 1
