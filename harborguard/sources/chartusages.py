"""The usages of a chart version from a registry: its chart artifact and its images.

Shared by the working tree (manifests.py) and git history (githistory.py). A chart whose
images cannot be told is an ``UnknownChart``: of the Harbor checked, the run is incomplete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harborguard.evidence import Usage, UsageKind, UsageSource
from harborguard.sources.helmchart import chart_images
from harborguard.sources.helmfile import Component
from harborguard.sources.helmvalues import ImageSpec, Unresolved

# (chart repository, version) -> the chart's values.yaml as Harbor serves it, or None.
# The repository is the Harbor repository of the chart, e.g.
# "tools-harbor.wmcloud.org/toolforge/builds-api".
ChartValues = Callable[[str, str], "str | None"]


@dataclass(frozen=True, slots=True)
class UnknownChart:
    """A release whose chart is named but whose images are not (all) known.

    ``images`` quotes the image values that could not be resolved; empty when nothing about
    the chart's images is known (no values.yaml and no --image-tag-template, no version).
    Of a chart of the Harbor checked, gather makes the run incomplete, as --helm does, when
    nothing is known or an unresolved image may be of that Harbor.
    """

    chart: str  # "host/project/name:version", or "host/project/name" when no version
    where: str  # "path:line"
    component: str
    reason: str
    images: tuple[str, ...] = ()


def unknown_chart(component: Component, hidden: list[Unresolved]) -> UnknownChart | None:
    """What component_usages could not resolve about a chart version, or None."""
    if not hidden:
        return None
    chart = f"{component.chart_ref}:{component.chart_version}"
    where = component.declared_at or "?"
    label = chart.rsplit("/", 1)[-1]
    if any(u.text == chart for u in hidden):  # nothing known: chart_images says so with it
        return UnknownChart(
            chart, where, component.name,
            f"the images chart {label} runs are unknown (what the release runs is not "
            "checked); take the snapshot with the charts' values.yaml (additions) or give "
            "--image-tag-template, e.g. '{version}_image'")
    images = tuple(u.text.split(f" (values.yaml of {chart})", 1)[0] for u in hidden)
    return UnknownChart(
        chart, where, component.name,
        f"{len(images)} image{'s' if len(images) != 1 else ''} chart {label} runs cannot be "
        f"told ({images[0]}: {hidden[0].reason}); what the release runs is not checked",
        images)


def component_usages(
    component: Component,
    overrides: list[ImageSpec],
    *,
    chart_values: ChartValues | None,
    image_tag_template: str | None,
    source: UsageSource,
    kind: UsageKind,
    where: Callable[[str], str] | None = None,
) -> tuple[list[Usage], list[Unresolved]]:
    """The chart artifact of a deployed chart version, and the images it runs.

    ``where`` rewrites a "path:line" (git history prefixes the commit).
    """
    chart_ref = component.chart_ref
    version = component.chart_version
    declared_at = component.declared_at
    if chart_ref is None or version is None or declared_at is None:
        raise ValueError(f"component {component.name} has no chart version to protect")
    cite = where or (lambda text: text)
    usages = [
        _usage(source, kind, f"{chart_ref}:{version}", cite(declared_at), component, chart=True)
    ]
    values_text = chart_values(chart_ref, version) if chart_values is not None else None
    images = chart_images(
        values_text,
        version,
        image_tag_template,
        repository=chart_ref,
        overrides=overrides,
        declared_at=declared_at,
    )
    for image in images.images:
        usages.append(
            _usage(
                source,
                kind,
                image.ref,
                cite(image.where or declared_at),
                component,
                digest=image.digest,
            )
        )
    hidden = [
        Unresolved(cite(u.where), u.text, u.reason, u.component or component.name)
        for u in images.unresolved
    ]
    return usages, hidden


def _usage(
    source: UsageSource,
    kind: UsageKind,
    ref: str,
    where: str,
    component: Component,
    *,
    chart: bool = False,
    digest: str | None = None,
) -> Usage:
    return Usage(
        source,
        kind,
        ref,
        where,
        digest=digest,
        component=component.name,
        environment=component.environment,
        chart=chart,
    )
