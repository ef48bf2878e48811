"""A chart kept in the deployment repository (helmfile ``chart: ./chart``): what it runs.

Its ``values.yaml`` lies under the release's values (merged image by image, as Helm merges
maps), and two things only the chart says are read without running its templates:

- ``Chart.yaml``'s ``appVersion``: the tag of an image whose values set none, when the
  templates default the tag to it (``helm create``'s scaffold:
  ``{{ .Values.image.tag | default .Chart.AppVersion }}``). Cited at Chart.yaml's line;
- a full image reference written literally in a template (no ``{{`` on its line);
- a template line that writes the repository literally and takes the rest from values
  (``image: host/proj/web:{{ .Values.tag }}``): rendered with the release's values (chart
  values.yaml, release values files, inline values, ``set:``) when only trivial pipelines
  are used (gotmpl.py), else unresolved naming the line. A line built wholly from values
  (``{{ .Values.image.repository }}:...``) is left to the image map in the values, or, when
  no image map holds its lookups (``{{ .Values.reg }}/{{ .Values.repo }}:..``), to
  charttemplates.py, which renders it: a usage or unresolved, never dropped.

A file of the chart that cannot be read is a problem (the run is incomplete), never skipped.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import Node

from harborguard.sources import gotmpl
from harborguard.sources.helmchart import merge_values
from harborguard.sources.helmlayers import TreeReader, UnreadableFile
from harborguard.sources.helmvalues import ImageField, ImageSpec, Unresolved

# `image: host/path:tag` (quoted or not, in a list item or not), nothing templated.
_LITERAL_IMAGE = re.compile(r"""^\s*(?:-\s*)?image:\s*["']?([^"'\s{}]+)["']?\s*(?:#.*)?$""")
_APP_VERSION = re.compile(r"\.Chart\.AppVersion\b")
# `image: host/path:{{ ... }}`, `image: {{ .Values.registry }}/proj/web:{{ ... }}`: part of
# the repository path written literally (a `/` beside a name), the rest templated.
_IMAGE_LINE = re.compile(r"""^\s*(?:-\s*)?image:\s*(.*\{\{.*)$""")
_ACTION = re.compile(r"\{\{.*?\}\}")
# `{{ .Chart.AppVersion }}` alone in an action: Chart.yaml's appVersion, as written there.
_APP_VERSION_ACTION = re.compile(r"\{\{-?\s*\.Chart\.AppVersion\s*-?\}\}")
# werf's `image: {{ .Values.werf.image.<name> }}`: the image werf built, set at deploy time;
# no values file of the repository names it, so it is unresolved (never left to the values).
_WERF_IMAGE = re.compile(r"""^\s*(?:-\s*)?image:.*\.Values\.(?:global\.)?werf\.image\b""")
_LITERAL_PATH = re.compile(r"[\w.-]/|/[\w.-]")


@dataclass(slots=True)
class LocalChart:
    directory: str
    app_version: ImageField | None = None  # Chart.yaml's appVersion, with its line
    uses_app_version: bool = False  # a template reads .Chart.AppVersion
    literals: list[ImageSpec] = field(default_factory=list)  # full references in templates
    # Template lines naming a repository literally, the rest templated: (path, line, text).
    templated: list[tuple[str, int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files_read: int = 0
    # Every template file as written: (path, text), read as Kubernetes YAML by
    # charttemplates.py once its expressions are rendered or masked.
    templates: list[tuple[str, str]] = field(default_factory=list)


def read_local_chart(reader: TreeReader, directory: str, *,
                     chart_yaml_optional: bool = False) -> LocalChart | None:
    """The chart folder's Chart.yaml and templates; None when it holds no Chart.yaml,
    unless ``chart_yaml_optional`` (werf's ``.helm``: werf writes a default Chart.yaml)."""
    chart = LocalChart(directory)
    chart_file = posixpath.join(directory, "Chart.yaml")
    try:
        text = reader.read(chart_file)
    except UnreadableFile as exc:
        chart.problems.append(f"{chart_file}: {exc}")
        return chart
    if text is None and not chart_yaml_optional:
        return None
    documents: list[Node] = []
    if text is not None:
        chart.files_read += 1
        try:
            documents = gotmpl.compose(text)
        except yaml.YAMLError as exc:
            chart.problems.append(f"{chart_file}: {gotmpl.yaml_error(exc)}")
    node = gotmpl.get(documents[0], "appVersion") if documents else None
    value = gotmpl.scalar(node)
    if node is not None and value is not None and value.strip():
        line = gotmpl.line_of(node)
        lines = (text or "").splitlines()
        quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        chart.app_version = ImageField(value.strip(), line, quoted, chart_file)
    templates = posixpath.join(directory, "templates")
    for path in sorted({*reader.glob(f"{templates}/*"), *reader.glob(f"{templates}/*/*")}):
        try:
            body = reader.read(path)
        except UnreadableFile as exc:
            chart.problems.append(f"{path}: {exc}")
            continue
        if body is None:
            continue
        chart.files_read += 1
        chart.templates.append((path, body))
        chart.uses_app_version = chart.uses_app_version or bool(_APP_VERSION.search(body))
        for number, line_text in enumerate(body.splitlines(), start=1):
            if _templated_path(line_text) or _WERF_IMAGE.match(line_text):
                chart.templated.append((path, number, line_text))
                continue
            found = _LITERAL_IMAGE.match(line_text)
            if found is None or not _pinned(found[1]):
                continue
            ref = ImageField(found[1], number, line_text.strip(), path)
            chart.literals.append(ImageSpec(("templates", path, number), path, number,
                                            line_text.strip(), ref=ref))
    return chart


def read_as_image_line(line: str) -> bool:
    """A template line read_local_chart reads (a literal or templated ``image:``), or
    leaves to the image map of the values (``image: {{ .Values.image }}``)."""
    return bool(_LITERAL_IMAGE.match(line) or _IMAGE_LINE.match(line)
                or _WERF_IMAGE.match(line))


def app_version_text(chart: LocalChart, text: str) -> str:
    """``{{ .Chart.AppVersion }}`` replaced by Chart.yaml's appVersion, as written."""
    if chart.app_version is None:
        return text
    return _APP_VERSION_ACTION.sub(chart.app_version.value.replace("\\", "\\\\"), text)


def _templated_path(line: str) -> bool:
    found = _IMAGE_LINE.match(line)
    return found is not None and bool(_LITERAL_PATH.search(_ACTION.sub(" ", found[1])))


def _pinned(value: str) -> bool:
    """``host/path:tag`` or ``...@sha256:``: a literal that names one image."""
    name = value.split("@", 1)[0]
    return "@" in value or name.rfind(":") > name.rfind("/") >= 0


def release_images(chart: LocalChart, chart_specs: list[ImageSpec],
                   release_specs: list[ImageSpec]) -> list[ImageSpec]:
    """The chart's values under the release's, the appVersion tag where the values set no
    tag and the templates default to it, then the templates' literal images."""
    merged = merge_values(chart_specs, release_specs)
    if chart.uses_app_version and chart.app_version is not None:
        merged = [_with_app_version(spec, chart.app_version) for spec in merged]
    return merged + chart.literals


def _with_app_version(spec: ImageSpec, app_version: ImageField) -> ImageSpec:
    if spec.ref is not None or "tag" in spec.fields or "digest" in spec.fields:
        return spec
    if not any(k in spec.fields for k in ("repository", "name", "image")):
        return spec
    fields = {**spec.fields, "tag": app_version}
    return ImageSpec(spec.path, spec.file, spec.line, spec.text, None, fields)


def templated_images(
    chart: LocalChart, lookup: gotmpl.ValuesLookup, component: str | None
) -> tuple[list[ImageSpec], list[Unresolved]]:
    """The chart's templated image lines rendered with the release's values: an image
    each, or unresolved naming the line when the template is more than a value lookup."""
    images: list[ImageSpec] = []
    unresolved: list[Unresolved] = []
    # `{{ .Chart.AppVersion }}` is Chart.yaml's appVersion (backslashes kept as written).
    app_version = (chart.app_version.value.replace("\\", "\\\\")
                   if chart.app_version is not None else None)
    for path, number, text in chart.templated:
        written = text if app_version is None else _APP_VERSION_ACTION.sub(app_version, text)
        rendered = gotmpl.render(written, "", lookup).text
        found = _LITERAL_IMAGE.match(rendered)
        if found is None or gotmpl.TOKEN.search(rendered) or not _pinned(found[1]):
            unresolved.append(Unresolved(
                f"{path}:{number}", text.strip(),
                "the chart's template builds this image from values or functions that "
                "cannot be read without running helm", component))
            continue
        ref = ImageField(found[1], number, text.strip(), path)
        images.append(ImageSpec(("templates", path, number), path, number, text.strip(),
                                ref=ref))
    return images, unresolved
