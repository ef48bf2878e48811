"""Chart folders no helmfile names, and werf's `.helm` (hostile review, attack 4, cases 8,
10g, 11, 14).

A chart kept in the deployment repository is deployed by whatever names its folder: an Argo
CD Application (`source.path: charts/app`), CI running `helm upgrade --install ./charts/app`,
werf (`.helm/`). Its templates were skipped unless a helmfile release named the folder, and
`.helm` was skipped as a hidden folder, so `check` said "Nothing in use would be deleted"
(exit 0) while a template's image was deleted. The snapshot (tests/data/evidence/
app-snap.json) holds proj/app 2.0 (kept) and 1.0 (deleted).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.fstree import yaml_files
from harborguard.sources.manifests import read_manifests
from tests.builders import shared_dir

APP = "harbor.example.org/proj/app"
SNAPSHOT = shared_dir() / "evidence" / "app-snap.json"

APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: app
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.org/deploy.git
    targetRevision: main
    path: charts/app
  destination:
    server: https://kubernetes.default.svc
    namespace: prod
"""
TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: app
        IMAGE
      - name: proxy
        image: {{ .Values.proxy.image }}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def argo_chart(root: Path, image_line: str, app_version: str = "1.0") -> None:
    """Case 10g: an Argo CD Application deploys charts/app; no helmfile."""
    write(root, {
        "apps/app.yaml": APPLICATION,
        "charts/app/Chart.yaml": f'apiVersion: v2\nname: app\nversion: 0.1.0\n'
                                 f'appVersion: "{app_version}"\n',
        "charts/app/values.yaml": f"replicas: 2\nproxy:\n  image: {APP}:2.0\n",
        "charts/app/templates/deployment.yaml": TEMPLATE.replace("IMAGE", image_line),
    })


def check(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(root), "--environment",
              "prod", "--format", "json"], catch_exceptions=False)
    return result.exit_code, result.stdout


def findings(stdout: str) -> set[tuple[str, str]]:
    report = json.loads(stdout)
    return {(f["code"], f["message"].split(" ", 1)[0]) for f in report["findings"]}


def test_an_unnamed_chart_resolves_app_version_in_a_template(tmp_path: Path) -> None:
    argo_chart(tmp_path, "image: harbor.example.org/proj/app:{{ .Chart.AppVersion }}")
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where, u.kind) for u in ev.usages} == {
        (f"{APP}:1.0", "charts/app/templates/deployment.yaml:11", "declared"),
        (f"{APP}:2.0", "charts/app/values.yaml:3", "declared"),
    }
    assert ev.unresolved == ()
    assert ev.problems == ()
    code, stdout = check(tmp_path)
    assert code == 1, stdout
    assert ("in-use-deleted", "proj/app:1.0") in findings(stdout)


def test_an_unnamed_chart_reads_literal_template_images(tmp_path: Path) -> None:
    """Case 8: a sidecar image written in the template."""
    argo_chart(tmp_path, f"image: {APP}:1.0", app_version="2.0")
    ev = read_manifests(str(tmp_path), "prod")
    assert (f"{APP}:1.0", "charts/app/templates/deployment.yaml:11") in {
        (u.ref, u.where) for u in ev.usages}
    assert check(tmp_path)[0] == 1


def test_an_unnamed_chart_template_it_cannot_render_is_unresolved(tmp_path: Path) -> None:
    argo_chart(tmp_path, "image: harbor.example.org/proj/app:{{ include \"app.tag\" . }}")
    ev = read_manifests(str(tmp_path), "prod")
    assert [u.where for u in ev.unresolved] == ["charts/app/templates/deployment.yaml:11"]
    code, stdout = check(tmp_path)
    assert ("unresolved-reference", "charts/app/templates/deployment.yaml:11:") in findings(stdout)


def test_a_chart_a_helmfile_release_reads_is_not_read_twice(tmp_path: Path) -> None:
    """Case 11: the release's values override the chart's; the chart's own default image
    is not what the release runs, so it is not declared again as an unnamed chart's."""
    argo_chart(tmp_path, "image: harbor.example.org/proj/app:{{ .Chart.AppVersion }}")
    (tmp_path / "apps/app.yaml").unlink()
    write(tmp_path, {
        "helmfile.yaml": "releases:\n  - name: app\n    namespace: prod\n"
                         "    chart: ./charts/app\n    values:\n      - values/prod.yaml\n",
        "values/prod.yaml": f"proxy:\n  image: {APP}:3.0\n",
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{APP}:1.0", "charts/app/templates/deployment.yaml:11"),
        (f"{APP}:3.0", "values/prod.yaml:2"),
    }
    assert ev.files_read == 5  # helmfile, values/prod.yaml, values.yaml, Chart.yaml, template


def test_werf_helm_folder_is_read_as_a_chart(tmp_path: Path) -> None:
    """Case 14: werf's chart is `.helm/` (Chart.yaml optional): values and templates."""
    write(tmp_path, {
        "werf.yaml": "project: app\nconfigVersion: 1\n",
        ".helm/values.yaml": f"worker:\n  image: {APP}:1.0\n",
        ".helm/templates/x.yaml": (
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n  template:\n"
            f"    spec:\n      containers:\n      - name: app\n        image: {APP}:0.9\n"),
        ".github/workflows/ci.yaml": f"image: {APP}:ci\n",
        ".other/values.yaml": f"image: {APP}:other\n",
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{APP}:1.0", ".helm/values.yaml:2"),
        (f"{APP}:0.9", ".helm/templates/x.yaml:8"),
    }
    assert check(tmp_path)[0] == 1


def test_a_hidden_folder_holding_a_chart_is_read(tmp_path: Path) -> None:
    write(tmp_path, {
        ".deploy/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ".deploy/values.yaml": f"image: {APP}:1.0\n",
        ".deploy/templates/d.yaml": f"      - image: {APP}:0.9\n",
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{APP}:1.0", ".deploy/values.yaml:1"),
        (f"{APP}:0.9", ".deploy/templates/d.yaml:1"),
    }


def test_the_listing_names_chart_files_and_no_other_hidden_folder(tmp_path: Path) -> None:
    write(tmp_path, {
        ".helm/values.yaml": "a: 1\n",
        ".helm/templates/x.yaml": "a: 1\n",
        ".helm/templates/_helpers.tpl": "{{/* */}}\n",
        "charts/app/Chart.yaml": "name: app\n",
        "charts/app/Chart.lock": "x: 1\n",
        "charts/app/templates/d.yaml": "a: 1\n",
        ".github/ci.yaml": "a: 1\n",
        ".git/x.yaml": "a: 1\n",
        ".x/values.yaml": "a: 1\n",
    })
    files, problems = yaml_files(tmp_path)
    assert files == [
        ".helm/templates/_helpers.tpl", ".helm/templates/x.yaml", ".helm/values.yaml",
        "charts/app/Chart.yaml", "charts/app/templates/d.yaml",
    ]
    assert problems == []


def test_an_unnamed_charts_other_values_files_render_its_templates(tmp_path: Path) -> None:
    """`helm upgrade --install app ./charts/app -f charts/app/values-prod.yaml` (or an
    Application's helm.valueFiles): which values file is used is not in the chart, so the
    templates are read with values.yaml alone and under each values file beside it."""
    argo_chart(tmp_path, "image: harbor.example.org/proj/app:{{ .Values.tag }}")
    write(tmp_path, {
        "charts/app/values.yaml": 'tag: "2.0"\n',
        "charts/app/values-prod.yaml": 'tag: "1.0"\n',
        "charts/app/ci/lint-values.yaml": 'tag: "0.9"\n',
        "charts/app/crds/crd.yaml": "apiVersion: v1\nkind: ConfigMap\n",
    })
    ev = read_manifests(str(tmp_path), "prod")
    where = "charts/app/templates/deployment.yaml:11"
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{APP}:2.0", where), (f"{APP}:1.0", where), (f"{APP}:0.9", where)}
    # `image: {{ .Values.proxy.image }}`: no values file here sets it (a --set may).
    assert {u.where for u in ev.unresolved} == {"charts/app/templates/deployment.yaml:13"}


def test_a_helmfile_values_file_written_as_json_is_read(tmp_path: Path) -> None:
    write(tmp_path, {
        "helmfile.yaml": "releases:\n  - name: app\n    chart: ./chart\n"
                         "    values:\n      - values.json\n",
        "values.json": f'{{"image": {{"repository": "{APP}",\n "tag": "1.0"}}}}\n',
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where) for u in ev.usages} == {(f"{APP}:1.0", "values.json:2")}


def test_a_chart_one_or_two_folders_down_a_hidden_folder_is_read(tmp_path: Path) -> None:
    """Attack 6, m5: `.deploy/chart/Chart.yaml` was skipped with its hidden folder, unsaid."""
    write(tmp_path, {
        ".deploy/chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ".deploy/chart/values.yaml": f"image: {APP}:1.0\n",
        ".ci/a/b/c/Chart.yaml": "apiVersion: v2\nname: deep\nversion: 0.1.0\n",
        ".ci/a/b/c/values.yaml": f"image: {APP}:0.1\n",
    })
    files, _ = yaml_files(tmp_path)
    assert ".deploy/chart/values.yaml" in files
    assert ".ci/a/b/c/values.yaml" not in files  # deeper: not looked for
    ev = read_manifests(str(tmp_path), "prod")
    assert (f"{APP}:1.0", ".deploy/chart/values.yaml:1") in {(u.ref, u.where) for u in ev.usages}
    assert check(tmp_path)[0] == 1
