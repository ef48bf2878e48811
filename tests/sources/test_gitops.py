"""Flux and Argo CD objects: the images they override are evidence, never ignored."""

from __future__ import annotations

from pathlib import Path

from harborguard.sources.fstree import yaml_files
from harborguard.sources.manifests import read_manifests

WEB = "harbor.example.org/proj/web"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_argocd_sources_kustomize_images_and_parameters(tmp_path: Path) -> None:
    write(tmp_path, {"apps/web.yaml": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n"
        "spec:\n  sources:\n    - repoURL: https://git.example.org/deploy.git\n"
        "      path: web\n      kustomize:\n        images:\n"
        f"          - {WEB}:1.1\n          - web=harbor.example.org/proj/renamed\n"
        "    - repoURL: https://git.example.org/charts.git\n      path: charts/api\n"
        "      helm:\n        parameters:\n"
        "          - name: image.repository\n            value: harbor.example.org/proj/api\n"
        "          - name: image.tag\n            value: \"2.0\"\n")})
    ev = read_manifests(str(tmp_path), "tools")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{WEB}:1.1", "apps/web.yaml:11"),
        ("harbor.example.org/proj/api:2.0", "apps/web.yaml:20"),
    }
    assert [(u.where, u.reason.startswith("Application/web: an image override that sets no "
                                          "tag")) for u in ev.unresolved] == [
        ("apps/web.yaml:12", True)]


def test_flux_kustomization_images(tmp_path: Path) -> None:
    write(tmp_path, {"clusters/web.yaml": (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
        "  name: web\nspec:\n  path: ./web\n  images:\n"
        f"    - name: web\n      newName: {WEB}\n      newTag: \"1.1\"\n"
        f"    - name: {WEB}\n      digest: sha256:{'c' * 64}\n")})
    ev = read_manifests(str(tmp_path), "tools")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{WEB}:1.1", "clusters/web.yaml:10"),
        (f"{WEB}@sha256:{'c' * 64}", "clusters/web.yaml:12"),
    }


def test_kustomization_with_api_version_and_renames(tmp_path: Path) -> None:
    write(tmp_path, {
        "a/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"images:\n  - name: {WEB}\n    newTag: \"1.1\"\n"),
        "b/kustomization.yaml": f"images:\n  - name: web\n    newName: {WEB}\n",
    })
    ev = read_manifests(str(tmp_path), "tools")
    assert {(u.ref, u.where) for u in ev.usages} == {(f"{WEB}:1.1", "a/kustomization.yaml:5")}
    assert [u.where for u in ev.unresolved] == ["b/kustomization.yaml:2"]


def test_argocd_source_files_are_read_other_dotfiles_not(tmp_path: Path) -> None:
    write(tmp_path, {
        "web/.argocd-source-web.yaml": f"kustomize:\n  images:\n  - {WEB}:1.1\n",
        "web/.argocd-source.yaml": f"kustomize:\n  images:\n  - {WEB}:1.2\n",
        ".gitlab-ci.yml": f"image: {WEB}:ci\n",
        ".github/workflows/x.yaml": f"image: {WEB}:ci\n",
    })
    files, _ = yaml_files(tmp_path)
    assert files == ["web/.argocd-source-web.yaml", "web/.argocd-source.yaml"]
    ev = read_manifests(str(tmp_path), "tools")
    assert {(u.ref, u.where) for u in ev.usages} == {
        (f"{WEB}:1.1", "web/.argocd-source-web.yaml:3"),
        (f"{WEB}:1.2", "web/.argocd-source.yaml:3"),
    }


def test_history_lists_the_same_files() -> None:
    from harborguard.sources.gitdeclared import tree_yaml_files

    assert tree_yaml_files([
        "web/.argocd-source-web.yaml", ".gitlab-ci.yml", ".github/x.yaml",
        ".hidden/.argocd-source.yaml", "c/Chart.yaml", "c/templates/d.yaml", "web/d.yaml",
    ]) == ["c/Chart.yaml", "c/templates/d.yaml", "web/.argocd-source-web.yaml", "web/d.yaml"]
