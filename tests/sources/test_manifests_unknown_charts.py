"""Releases whose chart is named but whose images are not known (finding 14).

read_manifests lists them in ``unknown_charts``; gather makes the run incomplete for the
charts of the Harbor checked (tests/e2e/test_manifests_overrides_check.py).
"""

from __future__ import annotations

from pathlib import Path

from harborguard.sources.manifests import read_manifests

REPOS = "repositories:\n  - name: tools\n    url: harbor.example.org/proj\n    oci: true\n"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_chart_without_values_or_template_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, "components/web/helmfile.yaml", REPOS + (
        "releases:\n  - name: web\n    chart: tools/web\n    version: \"2.0\"\n"))
    ev = read_manifests(str(tmp_path), "tools")
    assert [(u.chart, u.where, u.component) for u in ev.unknown_charts] == [
        ("harbor.example.org/proj/web:2.0", "components/web/helmfile.yaml:8", "web")]
    ev = read_manifests(str(tmp_path), "tools", image_tag_template="{version}_image")
    assert ev.unknown_charts == ()
    ev = read_manifests(str(tmp_path), "tools",
                        chart_values=lambda ref, v: "image:\n  repository: h.example/p/w\n"
                        "  tag: \"1\"\n")
    assert ev.unknown_charts == ()


def test_release_without_version_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, "components/web/helmfile.yaml", REPOS + (
        "releases:\n  - name: web\n    chart: tools/web\n"))
    ev = read_manifests(str(tmp_path), "tools")
    assert [(u.chart, u.where) for u in ev.unknown_charts] == [
        ("harbor.example.org/proj/web", "components/web/helmfile.yaml:6")]
    assert "names no chart version" in ev.unknown_charts[0].reason


def test_local_chart_is_not_an_unknown_registry_chart(tmp_path: Path) -> None:
    write(tmp_path, "components/web/helmfile.yaml",
          "releases:\n  - name: web\n    chart: ./chart\n")
    assert read_manifests(str(tmp_path), "tools").unknown_charts == ()


def test_known_chart_with_an_unresolved_image_names_it(tmp_path: Path) -> None:
    write(tmp_path, "components/web/helmfile.yaml", REPOS + (
        "releases:\n  - name: web\n    chart: tools/web\n    version: \"2.0\"\n"))
    values = ("image:\n  repository: harbor.example.org/proj/web\n  tag: \"2.0\"\n"
              "nginx:\n  image:\n    repository: docker-registry.example/nginx\n")
    ev = read_manifests(str(tmp_path), "tools", chart_values=lambda ref, v: values)
    assert [(u.chart, u.images) for u in ev.unknown_charts] == [
        ("harbor.example.org/proj/web:2.0",
         ("nginx.image: repository: docker-registry.example/nginx",))]
