"""Image overrides of kustomize, Flux and Argo CD, in their documented forms.

Formats: kustomize `images:` (kubectl.docs.kubernetes.io, references/kustomize/kustomization/
images: name, newName, newTag, digest); Argo CD `kustomize.images` strings, which Argo CD
passes to `kustomize edit set image` (`name=newName:tag`, `name:tag`, `name@digest`); Argo CD
`helm.parameters` and the `.argocd-source-<app>.yaml` file Argo CD Image Updater writes.
"""

from __future__ import annotations

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import resolve_image
from harborguard.sources.imageoverrides import (
    argocd_source_file,
    helm_parameters,
    is_argocd_source_file,
    kustomize_images,
    rename_only,
)

DIGEST = "sha256:" + "ab" * 32


def parse(text: str) -> tuple[gotmpl.Node, list[str]]:
    return gotmpl.compose(text)[0], text.splitlines()


def refs(specs: list[object]) -> list[str]:
    out = []
    for spec in specs:
        result = resolve_image(spec)  # type: ignore[arg-type]
        assert not isinstance(result, str), result
        out.append(f"{result.ref}@{result.pin.line}")
    return out


def test_argocd_string_forms() -> None:
    node, lines = parse(
        "- h.example/p/web=h.example/p/web:1.1\n"
        "- h.example/p/api:2.0\n"
        f"- h.example/p/db@{DIGEST}\n"
        f"- web=h.example/p/web2@{DIGEST}\n"
        "- web=*:3.0\n"
        "- h.example:5000/p/x=h.example:5000/p/y:4\n")
    found = kustomize_images(node, "app.yaml", lines)
    assert found.unresolved == []
    assert refs(found.images) == [
        "h.example/p/web:1.1@1", "h.example/p/api:2.0@2", f"h.example/p/db@{DIGEST}@3",
        f"h.example/p/web2@{DIGEST}@4", "web:3.0@5", "h.example:5000/p/y:4@6"]


def test_map_forms_and_renames() -> None:
    node, lines = parse(
        "- name: h.example/p/web\n  newTag: \"1.1\"\n"
        "- name: web\n  newName: h.example/p/web\n  newTag: \"1.2\"\n"
        f"- name: web\n  digest: {DIGEST}\n"
        "- name: web\n  newName: h.example/p/renamed\n"
        "- name: web\n  newTag: \"{{ .Values.tag }}\"\n")
    found = kustomize_images(node, "k.yaml", lines, "Kustomization/web")
    assert refs(found.images) == ["h.example/p/web:1.1@2", "h.example/p/web:1.2@5",
                                  f"web@{DIGEST}@7"]
    assert [(u.where, u.reason.split(": ", 1)[1][:40]) for u in found.unresolved] == [
        ("k.yaml:8", "an image override that sets no tag or di"),
        ("k.yaml:10", "an image override set by a template"),
    ]
    assert [u.where for u in rename_only(node, "k.yaml", lines)] == ["k.yaml:8"]


def test_helm_parameters_make_whole_images_or_stay_unresolved() -> None:
    node, lines = parse(
        "- name: image.name\n  value: h.example/p/web\n"
        "- name: image.tag\n  value: \"1.1\"\n"
        "- name: sidecar.image\n  value: h.example/p/side:2\n"
        "- name: worker.image.tag\n  value: \"3\"\n"
        "- name: containers[0].image\n  value: h.example/p/c:1\n"
        "- name: replicas\n  value: \"2\"\n")
    found = helm_parameters(node, "app.yaml", lines, "Application/web")
    resolved = [s for s in found.images if not isinstance(resolve_image(s), str)]
    assert refs(resolved) == ["h.example/p/web:1.1@4", "h.example/p/side:2@6"]
    # worker.image.tag alone (the repository is the chart's) cannot be resolved here.
    assert any(isinstance(resolve_image(s), str) and s.path == ("worker", "image")
               for s in found.images)
    assert [u.where for u in found.unresolved] == ["app.yaml:9"]


def test_argocd_source_file() -> None:
    assert is_argocd_source_file("web/.argocd-source-web.yaml")
    assert is_argocd_source_file(".argocd-source.yml")
    assert not is_argocd_source_file("web/.gitlab-ci.yml")
    node, lines = parse(
        "helm:\n  parameters:\n  - name: image.tag\n    value: v1.0.1\n    forcestring: true\n"
        "  - name: image.repository\n    value: h.example/p/web\n    forcestring: true\n"
        "kustomize:\n  images:\n  - h.example/p/api:1.1\n")
    found = argocd_source_file(node, "web/.argocd-source-web.yaml", lines)
    assert sorted(refs(found.images)) == ["h.example/p/api:1.1@11", "h.example/p/web:v1.0.1@4"]
    assert found.unresolved == []
