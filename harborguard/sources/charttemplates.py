"""A chart's templates read as Kubernetes YAML, as plain manifests are (kubeyaml.py).

localchart.py reads a template's ``image:`` lines; an image named anywhere else in a pod
spec (an env value, an argument, a command, an image volume's ``reference``) or by an
object of a kind harborguard does not know is read here. Each template file is rendered
with the release's values (gotmpl.render: ``.Values`` lookups resolved, every other action
masked, lines kept) and, when that is YAML, scanned by kubeyaml.scan_kubernetes: a value
naming an image through a template it cannot resolve is unresolved there.

A file that is no YAML even so (control structures, ``toYaml | nindent`` into a flow) keeps
localchart's image-line reading; each other line of it naming an image of a registry host
is unresolved, never dropped. An ``image:`` line is left to another reader only when one
read it (no usage is counted twice): localchart (a literal, or a literal path templated
around: a usage or unresolved there), or the values' image map every ``.Values`` lookup of
the line lies under. Any other ``image:`` line (``{{ .Values.reg }}/{{ .Values.repo }}:..``,
``{{ printf ... }}``) is read here: a usage, or unresolved. Line numbers are the template
file's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

import yaml

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import ImageSpec, Unresolved
from harborguard.sources.kubeyaml import ManifestImage, is_kubernetes_object, scan_kubernetes
from harborguard.sources.localchart import LocalChart, app_version_text, read_as_image_line

# Files of templates/ helm never renders as objects.
_NOT_OBJECTS = ("NOTES.txt",)
# A registry host (a dotted name or localhost, a port maybe), then a path and a tag or a
# digest: what an unparsed line names as an image. A template in it counts as any word.
_HOST_IMAGE = re.compile(
    r"(?<![\w./:-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+|localhost)(?::\d+)?"
    r"/[\w.-]+(?:/[\w.-]+)*(?::[\w.-]+|@sha256:[0-9a-f]+)", re.IGNORECASE)
_ACTION = re.compile(r"\{\{.*?\}\}")
_VALUES_LOOKUP = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")


def template_images(
    chart: LocalChart, lookup: gotmpl.ValuesLookup, component: str | None,
    values_images: Sequence[ImageSpec] = (),
) -> tuple[list[tuple[str, ManifestImage]], list[Unresolved]]:
    """(template path, image) of each image the chart's templates name beyond the
    ``image:`` lines another reader read (localchart, or the image maps of the values,
    ``values_images``), and what names one through what cannot be read."""
    found: list[tuple[str, ManifestImage]] = []
    unresolved: list[Unresolved] = []
    taken = {(spec.file, spec.line) for spec in chart.literals}
    taken |= {(path, number) for path, number, _ in chart.templated}
    maps = {spec.path for spec in values_images if spec.path[:1] != ("templates",)}
    for path, body in chart.templates:
        if posixpath.basename(path) in _NOT_OBJECTS:
            continue
        written = body.split("\n")
        read = {n for n, text in enumerate(written, start=1)
                if (path, n) in taken or _read_from_values(text, maps)}
        rendered = gotmpl.render(app_version_text(chart, body), "", lookup)
        try:
            documents = gotmpl.compose(rendered.text)
        except yaml.YAMLError:
            unresolved.extend(_unread_lines(path, written, read, component))
            continue
        for document in documents:
            if not (gotmpl.is_mapping(document) and is_kubernetes_object(document)):
                continue
            images, hidden = scan_kubernetes(document, path, written)
            found.extend((path, image) for image in images
                         if image.line not in read)
            unresolved.extend(
                Unresolved(u.where, u.text, u.reason, u.component or component)
                for u in hidden if _line_of(u.where) not in read)
    return found, unresolved


def _unread_lines(path: str, lines: list[str], read: set[int],
                  component: str | None) -> list[Unresolved]:
    """Lines of a template that is no YAML naming an image that no other reader read."""
    return [
        Unresolved(f"{path}:{number}", text.strip(),
                   "a line of a chart template that is not YAML harborguard can read "
                   "without running helm names an image here", component)
        for number, text in enumerate(lines, start=1)
        if number not in read
        and (_HOST_IMAGE.search(_ACTION.sub("template.invalid", text))
             or (read_as_image_line(text) and "{{" in text))
    ]


def _read_from_values(line: str, maps: set[tuple[str | int, ...]]) -> bool:
    """An ``image:`` line whose every ``.Values`` lookup lies under an image map the
    values reader read (``{{ .Values.image.repository }}:{{ .Values.image.tag }}``)."""
    if not read_as_image_line(line):
        return False
    lookups = [tuple(found[1].split(".")[1:]) for found in _VALUES_LOOKUP.finditer(line)]
    return bool(lookups) and all(
        any(looked[:len(spec)] == spec for spec in maps) for looked in lookups)


def _line_of(where: str) -> int:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
