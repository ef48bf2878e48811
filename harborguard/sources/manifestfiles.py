"""What a file of the ``--manifests`` tree is for, by its path: a helmfile, an environment's
values file, a kustomization, the component it belongs to (``components/<name>/...``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from harborguard.sources import gotmpl
from harborguard.sources.helmfile import (
    HELMFILE_NAMES,
    Component,
    HelmfileRead,
    ValuesFile,
    chart_version_of,
    values_stem,
)
from harborguard.sources.helmvalues import Unresolved

KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# values/<environment>.yaml[.gotmpl]: the environments a values-only layout knows.
ENV_VALUES = re.compile(r"(?:^|/)values/([^/]+?)\.yaml(?:\.gotmpl)?$")


def values_only_component(
    loaded: ValuesFile, path: str, environment: str, fallback: str
) -> tuple[Component, Unresolved] | None:
    """An environment values file with a chartVersion but no helmfile to name the chart."""
    found = chart_version_of(loaded)
    if found is None:
        return None
    version, line = found
    name = component_name(path) or fallback
    repository = gotmpl.scalar(gotmpl.get(loaded.root, "chartRepository"))
    component = Component(
        name=name,
        environment=environment,
        release=None,
        namespace=None,
        chart=None,
        chart_repository=None,
        oci=False,
        chart_version=version,
        declared_at=f"{path}:{line}",
        values_files=(path,),
    )
    via = f" (chartRepository: {repository})" if repository else ""
    return component, Unresolved(
        f"{path}:{line}",
        loaded.rendered.lines[line - 1].strip(),
        f"no helmfile beside it names the chart or the repository{via}",
        name,
    )


def component_name(path: str) -> str | None:
    """``components/<name>/...`` -> name; else the folder of a helmfile or of values/."""
    parts = path.split("/")
    if "components" in parts[:-2]:
        return parts[parts.index("components") + 1]
    if is_helmfile(path) and len(parts) > 1:
        return parts[-2] if parts[-2] != "helmfile.d" else (parts[-3] if len(parts) > 2 else None)
    if len(parts) > 2 and parts[-2] == "values":
        return parts[-3]
    return None


def is_env_values(path: str, environment: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 2 and parts[-2] == "values" and values_stem(parts[-1]) == environment


def for_environment(path: str, environment: str, others: set[str]) -> bool:
    """Skips the values files of other environments (values/toolsbeta.yaml for tools) that
    no release lists for this one (the caller reads every file a release lists)."""
    parts = path.split("/")
    stem = values_stem(parts[-1])
    if len(parts) >= 2 and parts[-2] == "values":
        return stem == environment
    return stem not in others


def governing_helmfile(path: str, helmfiles: dict[str, HelmfileRead]) -> HelmfileRead | None:
    directory = posixpath.dirname(path)
    while True:
        if directory in helmfiles:
            return helmfiles[directory]
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def is_helmfile(path: str) -> bool:
    return posixpath.basename(path) in HELMFILE_NAMES or "/helmfile.d/" in f"/{path}"


def beside_values(directory: str, paths: Iterable[str], charts: set[str]) -> list[str]:
    """Values files kept in a chart folder beside its values.yaml (values-prod.yaml,
    values/prod.yaml, ci/lint-values.yaml): a name holding "values" or a values/ folder,
    not under a chart folder inside it (a subchart)."""
    own = posixpath.join(directory, "values.yaml")
    found: list[str] = []
    for path in paths:
        parent = posixpath.dirname(path)
        name = posixpath.basename(path)
        if path == own or not ("values" in name or posixpath.basename(parent) == "values"):
            continue
        while parent not in charts and parent:
            parent = posixpath.dirname(parent)
        if parent == directory and parent in charts:
            found.append(path)
    return sorted(found)
