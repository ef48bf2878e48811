"""helmchart: a chart's values.yaml under the release's values, as Helm merges them."""

from __future__ import annotations

from harborguard.sources import gotmpl
from harborguard.sources.helmchart import chart_images
from harborguard.sources.helmvalues import ImageSpec, scan_values

HOST = "harbor.example.org"
CHART = f"{HOST}/proj/app"


def _release(text: str, file: str) -> list[ImageSpec]:
    rendered = gotmpl.render(text, "tools")
    return list(scan_values(gotmpl.compose(rendered.text)[0], file, text.split("\n")).images)


def _refs(values_yaml: str, *files: tuple[str, str]) -> tuple[list[str], list[str]]:
    overrides = [spec for file, text in files for spec in _release(text, file)]
    found = chart_images(values_yaml, "1.0.0", None, repository=CHART, overrides=overrides,
                         declared_at="helmfile.yaml:3")
    return sorted(i.ref for i in found.images), [u.reason for u in found.unresolved]


BITNAMI_DEFAULTS = """global:
  imageRegistry: ""
image:
  registry: docker.io
  repository: bitnami/nginx
  tag: 1.25.0
"""


def test_a_release_global_registry_wins_over_the_charts_image_registry() -> None:
    refs, hidden = _refs(BITNAMI_DEFAULTS, ("values.yaml", f"global:\n  imageRegistry: {HOST}\n"),
                         ("values/tools.yaml", "image:\n  repository: proj/api\n  tag: 7.0.0\n"))
    assert (refs, hidden) == ([f"{HOST}/proj/api:7.0.0"], [])


def test_without_a_global_registry_the_charts_image_registry_stays() -> None:
    refs, _ = _refs(BITNAMI_DEFAULTS, ("values/tools.yaml", "image:\n  tag: 1.26.0\n"))
    assert refs == ["docker.io/bitnami/nginx:1.26.0"]


def test_a_later_file_setting_the_global_registry_empty_undoes_it() -> None:
    refs, _ = _refs(BITNAMI_DEFAULTS, ("a.yaml", f"global:\n  imageRegistry: {HOST}\n"),
                    ("b.yaml", "global:\n  imageRegistry: ''\n"))
    assert refs == ["docker.io/bitnami/nginx:1.25.0"]


def test_template_branches_each_merge_over_the_charts_image() -> None:
    branches = ("image:\n{{- if eq .Environment.Name \"tools\" }}\n  tag: \"1.1\"\n"
                "{{- else }}\n  tag: \"1.10\"\n{{- end }}\n")
    defaults = f"image:\n  repository: {HOST}/proj/web\n  tag: '0.9'\n"
    refs, hidden = _refs(defaults, ("values/tools.yaml.gotmpl", branches))
    assert (refs, hidden) == ([f"{HOST}/proj/web:1.1", f"{HOST}/proj/web:1.10"], [])
    # A later file overrides every branch, as Helm's merge would whichever was rendered.
    refs, _ = _refs(defaults, ("values/tools.yaml.gotmpl", branches),
                    ("values/pin.yaml", "image:\n  tag: '2.0'\n"))
    assert refs == [f"{HOST}/proj/web:2.0"]


def test_an_unquoted_numeric_tag_in_the_charts_values_yaml() -> None:
    refs, _ = _refs(f"image:\n  repository: {HOST}/proj/web\n  tag: 7.0\n")
    assert refs == [f"{HOST}/proj/web:7"]
