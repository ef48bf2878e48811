"""The images a deployed chart version runs: its values.yaml under the release's values.

Helm merges the release's values over the chart's, key by key; the images are read from
the merged values (helmvalues.py), never from the templates, which are not run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from harborguard.errors import InputError
from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import (
    GLOBAL_REGISTRY,
    ImageSpec,
    Unresolved,
    resolve_image,
    same_repository,
    scan_values,
    with_global_registry,
)


@dataclass(frozen=True, slots=True)
class ChartImage:
    ref: str
    digest: str | None
    # The release values file line that set the image; None when the chart's own values.yaml
    # or the tag template named it (the chart version's line is then the place to cite).
    where: str | None


@dataclass(frozen=True, slots=True)
class ChartImages:
    images: tuple[ChartImage, ...]
    unresolved: tuple[Unresolved, ...]


def chart_images(
    values_yaml_text: str | None,
    version: str,
    image_tag_template: str | None,
    *,
    repository: str | None = None,
    overrides: Iterable[ImageSpec] = (),
    declared_at: str = "",
) -> ChartImages:
    """The images a deployed chart version runs.

    ``values_yaml_text``: the chart's values.yaml as Harbor serves it for that version (an
    artifact addition), or None. ``image_tag_template`` (``{version}_image``) gives the tag
    of the image in the chart's own repository (``repository``, e.g.
    ``tools-harbor.wmcloud.org/toolforge/builds-api``). ``overrides``: the images the
    release's values files set, which Helm merges over the chart's. ``declared_at`` is the
    line that declares the chart version, cited for anything the chart itself decides.
    """
    default_tag = _tag_from_template(image_tag_template, version, repository)
    chart_label = f"{repository or 'chart'}:{version}"
    unresolved: list[Unresolved] = []
    chart_specs: list[ImageSpec] = []
    if values_yaml_text is not None:
        try:
            documents = gotmpl.compose(values_yaml_text)
        except yaml.YAMLError as exc:
            unresolved.append(
                Unresolved(
                    declared_at,
                    chart_label,
                    f"the values.yaml of {chart_label} is {gotmpl.yaml_error(exc)}",
                )
            )
            documents = []
        lines = values_yaml_text.split("\n")
        for document in documents[:1]:
            chart_specs.extend(scan_values(document, "", lines).images)
    images: list[ChartImage] = []
    own_image = False
    merged = merge_values(chart_specs, list(overrides))
    registry = next((s.fields["registry"] for s in merged if s.path == GLOBAL_REGISTRY), None)
    if registry is not None:
        merged = with_global_registry(merged, registry)
    chart_specs = [spec for spec in chart_specs if spec.path != GLOBAL_REGISTRY]
    for spec in merged:
        if spec.path == GLOBAL_REGISTRY:
            continue
        result = resolve_image(spec, default_tag=default_tag, own_repository=repository)
        if isinstance(result, str):
            named = spec.naming_field
            if named.file:
                unresolved.append(Unresolved(f"{named.file}:{named.line}", named.text, result))
            else:
                unresolved.append(
                    Unresolved(
                        declared_at,
                        f"{_dotted(spec.path)}: {named.text} (values.yaml of {chart_label})",
                        result,
                    )
                )
            continue
        own_image = own_image or (
            repository is not None and same_repository(result.repository, repository)
        )
        pin = result.pin
        where = f"{pin.file}:{pin.line}" if pin.file else None
        images.append(ChartImage(result.ref, result.digest, where))
    # A values.yaml that names no image leaves the images to the templates (built from
    # .Chart.AppVersion, say), which are not read: as unknown as without values.yaml.
    if values_yaml_text is None or not (chart_specs or images or unresolved):
        if default_tag is not None and repository is not None:
            if not own_image:
                images.append(ChartImage(f"{repository}:{default_tag}", None, None))
        else:
            unresolved.append(
                Unresolved(
                    declared_at,
                    chart_label,
                    f"the images of {chart_label} are unknown: "
                    + ("no values.yaml from Harbor" if values_yaml_text is None
                       else "its values.yaml names no image (its templates decide)")
                    + " and no --image-tag-template",
                )
            )
    return ChartImages(tuple(_unique(images)), tuple(unresolved))


def _tag_from_template(template: str | None, version: str, repository: str | None) -> str | None:
    if template is None:
        return None
    chart = repository.rstrip("/").rsplit("/", 1)[-1] if repository else ""
    try:
        return template.format(version=version, chart=chart)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(
            f"--image-tag-template {template!r}: {exc}; use {{version}} and {{chart}}, "
            "e.g. '{version}_image'"
        ) from None


def merge_values(chart: list[ImageSpec], release: list[ImageSpec]) -> list[ImageSpec]:
    """Release values over chart values, image by image, as Helm merges maps key by key.

    The branches of one key (``ImageSpec.branch``) are alternatives: each is merged over
    what the earlier files set there, and every result is kept (never the last one only).
    """
    by_path: dict[tuple[str | int, ...], list[ImageSpec]] = {}
    for group in _branches(chart) + _branches(release):
        bases: list[ImageSpec | None] = list(by_path.get(group[0].path, [])) or [None]
        by_path[group[0].path] = [_over(base, spec) for spec in group for base in bases]
    return [spec for specs in by_path.values() for spec in specs]


def _branches(specs: list[ImageSpec]) -> list[list[ImageSpec]]:
    """Specs in order, the branches of one key (same path and branch) grouped together."""
    groups: list[list[ImageSpec]] = []
    for spec in specs:
        last = groups[-1][-1] if groups else None
        if last is not None and spec.branch is not None and (last.path, last.branch) == (
            spec.path, spec.branch
        ):
            groups[-1].append(spec)
        else:
            groups.append([spec])
    return groups


def _over(base: ImageSpec | None, spec: ImageSpec) -> ImageSpec:
    if base is None or spec.ref is not None or base.ref is not None:
        return spec
    fields = {**base.fields, **spec.fields}  # each field keeps the file and line that set it
    return ImageSpec(spec.path, spec.file, spec.line, spec.text, None, fields, spec.branch)


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in path)


def _unique(images: list[ChartImage]) -> list[ChartImage]:
    seen: set[tuple[str, str | None]] = set()
    out: list[ChartImage] = []
    for image in images:
        if (image.ref, image.where) not in seen:
            seen.add((image.ref, image.where))
            out.append(image)
    return out
