"""A helmfile release's ``set:`` / ``setString:`` entries, read as image values.

``set: [{name: image.tag, value: 0.0.1_image}]`` overrides the release's values the way
``helm --set`` does, after every values file. An entry that sets part of an image becomes
an ImageSpec at the same place in the values tree, so it merges over the chart's image
like a values file would; one that touches an image in a way not understood here (a list
index, an escaped dot, a list of values files) is unresolved, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from yaml.nodes import Node

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import (
    ImageField,
    ImageSpec,
    Unresolved,
    is_image_key,
    is_image_reference,
)

_FIELDS = frozenset({"registry", "repository", "name", "tag", "digest"})
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")
_IMAGE_WORDS = re.compile(r"image|tag|digest|repository|version", re.IGNORECASE)


def set_images(
    release: Node, file: str, lines: Sequence[str], component: str
) -> tuple[list[ImageSpec], list[Unresolved]]:
    """Image specs the release's ``set`` and ``setString`` entries give, in helm's order."""
    specs: list[ImageSpec] = []
    unresolved: list[Unresolved] = []

    def text(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    for key in ("set", "setString"):
        for entry in gotmpl.sequence(gotmpl.get(release, key)):
            name_node = gotmpl.get(entry, "name")
            name = gotmpl.scalar(name_node)
            value_node = gotmpl.get(entry, "value")
            value = gotmpl.scalar(value_node)
            line = gotmpl.line_of(value_node or name_node or entry)
            if name is None:
                continue
            if not _IMAGE_WORDS.search(name) and not (value and is_image_reference(value)):
                continue  # `replicas`, `ingress.host`: says nothing about an image
            where = f"{file}:{line}"
            if value is None or not _PLAIN_NAME.match(name) or gotmpl.is_templated(name):
                unresolved.append(Unresolved(
                    where, text(line),
                    f"{key} entry {name!r} sets an image value that cannot be read without "
                    "running helm (not a plain dotted name with a plain value)", component))
                continue
            spec = _spec(tuple(name.split(".")), value.strip(), line, text(line), file)
            if spec is None:
                unresolved.append(Unresolved(
                    where, text(line),
                    f"{key} entry {name!r} may set an image; it is not a key read as one",
                    component))
                continue
            specs.append(spec)
    return specs, unresolved


def _spec(
    parts: tuple[str, ...], value: str, line: int, quoted: str, file: str
) -> ImageSpec | None:
    field = ImageField(value, line, quoted, file)
    last = parts[-1]
    if is_image_key(last):
        return ImageSpec(parts, file, line, quoted, ref=field)
    if last in _FIELDS and len(parts) > 1:
        return ImageSpec(parts[:-1], file, line, quoted, fields={last: field})
    if last.endswith("Tag") and is_image_key(last[:-3]):
        return ImageSpec(parts[:-1] + (last[:-3],), file, line, quoted, fields={"tag": field})
    if is_image_reference(value):
        return ImageSpec(parts, file, line, quoted, ref=field)
    return None
