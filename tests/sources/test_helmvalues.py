"""helmvalues: the images a values document names, read as Helm renders them."""

from __future__ import annotations

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import (
    GLOBAL_REGISTRY,
    ImageSpec,
    ResolvedImage,
    resolve_image,
    scan_values,
)

HOST = "harbor.example.org"


def _specs(text: str, file: str = "values.yaml") -> list[ImageSpec]:
    rendered = gotmpl.render(text, "tools") if "{{" in text else None
    source = rendered.text if rendered else text
    return list(scan_values(gotmpl.compose(source)[0], file, text.split("\n")).images)


def _refs(text: str) -> list[str]:
    out = []
    for spec in _specs(text):
        if spec.path == GLOBAL_REGISTRY:
            continue
        result = resolve_image(spec)
        out.append(result.ref if isinstance(result, ResolvedImage) else f"unresolved: {result}")
    return out


# -- finding 9: an unquoted number is a float64 to Helm -----------------------------------

def test_an_unquoted_numeric_tag_is_the_tag_helm_renders() -> None:
    assert _refs(f"image:\n  repository: {HOST}/proj/web\n  tag: 1.10\n") == [
        f"{HOST}/proj/web:1.1"]
    assert _refs(f"image:\n  repository: {HOST}/proj/web\n  tag: 20240221160838\n") == [
        f"{HOST}/proj/web:2.0240221160838e+13"]
    assert _refs(f"image:\n  repository: {HOST}/proj/web\n  tag: '1.10'\n") == [
        f"{HOST}/proj/web:1.10"]


def test_a_numeric_tag_beside_a_tagless_image_and_a_lone_image_tag() -> None:
    assert _refs(f"image: {HOST}/proj/es\nimageTag: 8.10\n") == [f"{HOST}/proj/es:8.1"]
    lone = _specs("imageTag: 2.0\n")
    assert [s.fields["tag"].value for s in lone] == ["2"]


def test_a_boolean_tag_is_unresolved_not_verbatim() -> None:
    (only,) = _refs(f"image:\n  repository: {HOST}/proj/web\n  tag: yes\n")
    assert only.startswith("unresolved: an unquoted 'yes' is a YAML boolean")


def test_kustomize_new_tag_stays_as_written() -> None:
    # kustomize reads newTag into a string field: go-yaml keeps the text (1.10 stays 1.10).
    (spec,) = _specs(f"images:\n  - name: web\n    newName: {HOST}/proj/web\n    newTag: 1.10\n")
    assert spec.fields["tag"].value == "1.10"


# -- finding 2: Bitnami's global.imageRegistry ---------------------------------------------

def test_global_image_registry_names_the_registry_of_registry_less_maps() -> None:
    text = (f"global:\n  imageRegistry: {HOST}\nimage:\n  repository: proj/api\n  tag: 7.0.0\n"
            "metrics:\n  image:\n    registry: docker.io\n    repository: bitnami/exporter\n"
            "    tag: '1.0'\nside: {image: {repository: quay.io/x/y, tag: '2'}}\n")
    # Bitnami: `default .image.registry .global.imageRegistry`: the global one wins; a
    # repository that names its own host keeps it.
    assert _refs(text) == [f"{HOST}/proj/api:7.0.0", f"{HOST}/bitnami/exporter:1.0",
                           "quay.io/x/y:2"]


def test_global_image_dot_registry_and_an_empty_global_registry() -> None:
    nested = (f"global:\n  image:\n    registry: {HOST}\n"
              "image:\n  repository: proj/api\n  tag: '1'\n")
    assert _refs(nested) == [f"{HOST}/proj/api:1"]
    empty = "global:\n  imageRegistry: ''\nimage:\n  repository: proj/api\n  tag: '1'\n"
    assert _refs(empty) == ["proj/api:1"]  # no global: as the chart's own registry says
    (marker,) = [s for s in _specs(empty) if s.path == GLOBAL_REGISTRY]
    assert marker.fields["registry"].value == ""


def test_a_templated_global_registry_leaves_the_image_unresolved() -> None:
    text = ("global:\n  imageRegistry: {{ .Values.registry }}\n"
            "image:\n  repository: proj/api\n  tag: '1'\n")
    assert _refs(text) == ["unresolved: part of the image is set by a template"]


# -- finding 13: a key written twice in one map (masked {{ if }} / {{ else }}) --------------

BRANCHES = f"""image:
  repository: {HOST}/proj/web
{{{{- if eq .Environment.Name "tools" }}}}
  tag: "1.1"
{{{{- else }}}}
  tag: "1.10"
{{{{- end }}}}
"""


def test_every_branch_of_a_field_written_twice_is_an_image() -> None:
    specs = _specs(BRANCHES, "values/tools.yaml.gotmpl")
    assert [resolve_image(s).ref for s in specs  # type: ignore[union-attr]
            ] == [f"{HOST}/proj/web:1.1", f"{HOST}/proj/web:1.10"]
    assert len({s.branch for s in specs}) == 1 and specs[0].branch is not None
    assert [s.fields["tag"].line for s in specs] == [4, 6]


def test_an_image_key_written_twice_counts_both() -> None:
    text = (f"{{{{ if .Values.x }}}}\nimage: {HOST}/proj/a:1\n{{{{ else }}}}\n"
            f"image: {HOST}/proj/a:2\n{{{{ end }}}}\n")
    specs = _specs(text)
    assert [s.ref.value for s in specs if s.ref] == [f"{HOST}/proj/a:1", f"{HOST}/proj/a:2"]
    assert specs[0].branch is not None and specs[0].branch == specs[1].branch


# -- finding 7: an `image` string holding a tag is a whole reference ------------------------

def test_an_image_field_with_a_tag_is_a_whole_reference() -> None:
    assert _refs(f"envimage:\n  image: {HOST}/proj/envimg:1.0\n") == [f"{HOST}/proj/envimg:1.0"]
    assert _refs(f"envimage:\n  registry: {HOST}\n  image: proj/envimg:1.0\n") == [
        f"{HOST}/proj/envimg:1.0"]
    (tagless,) = _refs(f"envimage:\n  image: {HOST}/proj/envimg\n")
    assert tagless.startswith("unresolved: an image without a tag")
