"""A chart folder in the deployment repository: its values, appVersion and templates.

The scaffold is `helm create`'s (Helm 3): values.yaml `image: {repository, tag: ""}` and
templates/deployment.yaml `image: "{{ .Values.image.repository }}:{{ .Values.image.tag |
default .Chart.AppVersion }}"`.
"""

from __future__ import annotations

from pathlib import Path

from harborguard.sources.fstree import FsReader
from harborguard.sources.localchart import read_local_chart
from harborguard.sources.manifests import read_manifests

WEB = "harbor.example.org/proj/web"
SCAFFOLD_IMAGE = ('          image: "{{ .Values.image.repository }}:'
                  '{{ .Values.image.tag | default .Chart.AppVersion }}"\n')
HELMFILE = (
    "releases:\n  - name: web\n    chart: ./chart\n    namespace: web\n"
    "    values:\n      - values/{{ .Environment.Name }}.yaml\n"
    "environments:\n  tools: {}\n")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def chart_files(values: str, template: str = SCAFFOLD_IMAGE, app: str = '"1.1"') -> dict[str, str]:
    return {
        "components/web/helmfile.yaml": HELMFILE,
        "components/web/chart/Chart.yaml": f"apiVersion: v2\nname: web\nversion: 0.1.0\n"
                                           f"appVersion: {app}\n",
        "components/web/chart/values.yaml": values,
        "components/web/chart/templates/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
            "      containers:\n        - name: web\n" + template),
    }


def refs(root: Path) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in read_manifests(str(root), "tools").usages}


def test_app_version_is_the_tag_when_values_set_none(tmp_path: Path) -> None:
    write(tmp_path, chart_files(f"image:\n  repository: {WEB}\n  tag: \"\"\n"))
    write(tmp_path, {"components/web/values/tools.yaml": "replicas: 1\n"})
    ev = read_manifests(str(tmp_path), "tools")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{WEB}:1.1", "components/web/chart/Chart.yaml:4")}
    assert ev.unresolved == ()
    assert ev.files_read == 5  # helmfile, values/tools.yaml, values.yaml, Chart.yaml, template


def test_release_values_override_the_chart_and_app_version(tmp_path: Path) -> None:
    write(tmp_path, chart_files(f"image:\n  repository: {WEB}\n  tag: \"\"\n"))
    write(tmp_path, {"components/web/values/tools.yaml": "image:\n  tag: \"1.10\"\n"})
    assert refs(tmp_path) == {(f"{WEB}:1.10", "components/web/values/tools.yaml:2")}


def test_without_app_version_in_templates_a_tagless_image_stays_unresolved(
        tmp_path: Path) -> None:
    write(tmp_path, chart_files(f"image:\n  repository: {WEB}\n",
                                template='          image: "{{ .Values.image.repository }}"\n'))
    write(tmp_path, {"components/web/values/tools.yaml": "replicas: 1\n"})
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.usages == ()
    assert [u.where for u in ev.unresolved] == ["components/web/chart/values.yaml:2"]


def test_literal_images_in_templates(tmp_path: Path) -> None:
    write(tmp_path, chart_files(
        "replicas: 1\n",
        template=(f"          image: {WEB}:1.1\n        - name: b\n"
                  f"          image: \"{WEB}@sha256:{'d' * 64}\"\n        - name: c\n"
                  "          image: busybox\n")))
    write(tmp_path, {"components/web/values/tools.yaml": "replicas: 1\n"})
    template = "components/web/chart/templates/deployment.yaml"
    # `image: busybox` (no registry, no tag) is not localchart's; the template read as
    # Kubernetes YAML (charttemplates.py) names it as a plain manifest does.
    assert refs(tmp_path) == {(f"{WEB}:1.1", f"{template}:8"),
                              (f"{WEB}@sha256:{'d' * 64}", f"{template}:10"),
                              ("busybox", f"{template}:12")}


def test_read_local_chart_names_what_it_cannot_read(tmp_path: Path) -> None:
    write(tmp_path, {"chart/Chart.yaml": "appVersion: [1\n"})
    chart = read_local_chart(FsReader(tmp_path), "chart")
    assert chart is not None and chart.app_version is None
    assert chart.problems and chart.problems[0].startswith("chart/Chart.yaml: ")
    assert read_local_chart(FsReader(tmp_path), "nothing-here") is None
