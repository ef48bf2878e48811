"""Kubernetes objects written as JSON in the ``--manifests`` tree (``.json``).

``kubectl apply -f dir/`` and Argo CD directory sources read ``.json`` files beside YAML
ones. A repository also holds JSON that is not Kubernetes (package.json, renovate.json, a
chart's values.schema.json, tsconfig.json with comments): only objects with ``apiVersion``
and ``kind`` (a List among them) are read, and JSON that is not one is no problem. JSON is
YAML (tabs between tokens included), so the YAML parser reads it with the lines ``where``
cites. A file that cannot be parsed yet names ``apiVersion`` and ``kind`` is a problem: it
may be an object that ``kubectl apply`` reads (a stream of several), never skipped silently.
"""

from __future__ import annotations

import yaml

from harborguard.sources import gotmpl
from harborguard.sources.helmfile import ValuesFile
from harborguard.sources.helmlayers import TreeReader, UnreadableFile
from harborguard.sources.kubeyaml import is_kubernetes_object

_NAMES_AN_OBJECT = ('"apiVersion"', '"kind"')


def read_json_objects(reader: TreeReader, path: str) -> ValuesFile | str | None:
    """The file's Kubernetes objects (as a ValuesFile of them), a problem line, or None when
    absent or not a Kubernetes object."""
    try:
        text = reader.read(path)
    except UnreadableFile as exc:
        return f"{path}: {exc}"
    if text is None:
        return None
    try:
        documents = gotmpl.compose(text)
    except yaml.YAMLError as exc:
        if all(name in text for name in _NAMES_AN_OBJECT):
            return (f"{path}: names apiVersion and kind but is not one JSON object that "
                    f"could be read ({gotmpl.yaml_error(exc)})")
        return None
    objects = tuple(d for d in documents if gotmpl.is_mapping(d) and is_kubernetes_object(d))
    if not objects:
        return None
    return ValuesFile(path, gotmpl.Rendered(text, tuple(text.split("\n")), {}), objects)
