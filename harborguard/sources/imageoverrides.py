"""Image overrides GitOps tools apply on top of the manifests they deploy.

An override names the image that really runs, whatever the Deployment in the repository
says, so each one is evidence (or an ``unresolved-reference`` when it does not name a
whole image); never ignored:

- kustomize ``images:`` entries ``{name, newName, newTag, digest}``: a kustomization's own,
  a Flux ``Kustomization``'s ``spec.images`` (same fields);
- Argo CD's ``kustomize.images`` strings, ``kustomize edit set image`` syntax:
  ``name=newName:tag``, ``name:tag``, ``name@sha256:...``, ``name=newName@sha256:...``;
- Argo CD ``helm.parameters`` (``image.repository`` + ``image.tag``, ``image.name``, a
  full reference as value): the values they set, read like a values file;
- Argo CD's parameter override files ``.argocd-source.yaml`` and
  ``.argocd-source-<app>.yaml`` in an application's path (what Argo CD Image Updater's git
  write-back commits): ``kustomize.images`` and ``helm.parameters`` as above.

An override that only renames (``name=newName``, ``newName`` without a tag) keeps the tag
of the manifests it applies to; which manifests those are is not resolved here, so it is
unresolved, as is any value set by a template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import ImageField, ImageSpec, Unresolved, scan_values

# .argocd-source.yaml (every application of the path) and .argocd-source-<app>.yaml.
ARGOCD_SOURCE_FILE = re.compile(r"^\.argocd-source(?:-[^/]+)?\.ya?ml$")
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_RENAME_ONLY = ("an image override that sets no tag or digest: the tag comes from the "
                "manifests it applies to, which are not resolved here")


@dataclass(slots=True)
class Overrides:
    images: list[ImageSpec] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    def extend(self, other: Overrides) -> None:
        self.images.extend(other.images)
        self.unresolved.extend(other.unresolved)


def is_argocd_source_file(path: str) -> bool:
    return ARGOCD_SOURCE_FILE.match(path.rsplit("/", 1)[-1]) is not None


def kustomize_images(entries: Node | None, file: str, lines: Sequence[str],
                     owner: str = "") -> Overrides:
    """A kustomize ``images:`` list: maps (kustomize, Flux) or strings (Argo CD)."""
    found = Overrides()
    for index, entry in enumerate(gotmpl.sequence(entries)):
        line = gotmpl.line_of(entry)
        quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        path: tuple[str | int, ...] = ("images", index)
        written = gotmpl.scalar(entry)
        if written is not None:
            fields = _string_fields(written.strip())
            made = {k: ImageField(v, line, quoted, file) for k, v in fields.items() if v}
        else:
            made = {}
            for key, target in (("name", "repository"), ("newName", "repository"),
                                ("newTag", "tag"), ("digest", "digest")):
                node = gotmpl.get(entry, key)
                value = gotmpl.scalar(node)
                if node is not None and value is not None and value.strip():
                    at = gotmpl.line_of(node)
                    text = lines[at - 1].strip() if 0 < at <= len(lines) else ""
                    made[target] = ImageField(value.strip(), at, text, file)
        prefix = f"{owner}: " if owner else ""
        if any(gotmpl.is_templated(f.value) for f in made.values()):
            found.unresolved.append(Unresolved(f"{file}:{line}", quoted,
                                               f"{prefix}an image override set by a template"))
        elif "repository" not in made:
            if made or written is not None:
                found.unresolved.append(Unresolved(f"{file}:{line}", quoted,
                                                   f"{prefix}an image override without a name"))
        elif "tag" not in made and "digest" not in made:
            found.unresolved.append(Unresolved(f"{file}:{line}", quoted, prefix + _RENAME_ONLY))
        else:
            pin = made.get("tag") or made["digest"]
            found.images.append(ImageSpec(path, file, pin.line, pin.text, fields=made))
    return found


def _string_fields(text: str) -> dict[str, str]:
    """``[name=]newName[:tag][@digest]`` -> repository, tag, digest (kustomize edit set image)."""
    old, equals, new = text.partition("=")
    image = new if equals else old
    name, at, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    if equals and name in ("", "*"):
        name = old.strip()
    return {"repository": name.strip(), "tag": tag.strip(),
            "digest": digest.strip() if at else ""}


def helm_parameters(parameters: Node | None, file: str, lines: Sequence[str],
                    owner: str = "") -> Overrides:
    """Argo CD ``helm.parameters`` ``[{name: image.tag, value: "1.1"}]`` as the values they set.

    Dotted names become the values tree Helm merges, read like a values file; a parameter
    naming an image that is not part of a whole image is unresolved.
    """
    found = Overrides()
    if parameters is None:
        return found
    tree = MappingNode(_MAP_TAG, [], parameters.start_mark, parameters.end_mark)
    placed: list[tuple[Node, str]] = []
    for parameter in gotmpl.sequence(parameters):
        name = gotmpl.scalar(gotmpl.get(parameter, "name")) or ""
        value_node = gotmpl.get(parameter, "value")
        value = gotmpl.scalar(value_node)
        if value_node is None or value is None or not name:
            continue
        keys = name.split(".")
        if any(not k or "[" in k or "\\" in k for k in keys):
            if _imageish(name):
                found.unresolved.append(_hidden(parameter, file, lines, owner,
                                                f"helm parameter {name!r} may set an image; "
                                                "not read"))
            continue
        # Argo CD passes parameters as `helm --set`, which keeps `2.0` a string (only
        # integers become numbers, and they print as written): never a float to format.
        _place(tree, keys, ScalarNode(_STR_TAG, value, value_node.start_mark,
                                      value_node.end_mark, style='"'))
        placed.append((parameter, name))
    if not placed:
        return found
    scan = scan_values(tree, file, lines)
    found.images.extend(scan.images)
    found.unresolved.extend(scan.unresolved)
    covered = {spec.path for spec in scan.images}
    for parameter, name in placed:
        dotted: tuple[str | int, ...] = tuple(name.split("."))
        if _imageish(name) and not any(dotted[: len(path)] == path for path in covered):
            found.unresolved.append(_hidden(parameter, file, lines, owner,
                                            f"helm parameter {name!r} may set an image; "
                                            "not read"))
    return found


def _imageish(name: str) -> bool:
    return any(word in name.lower() for word in ("image", "tag", "repository"))


def _place(tree: MappingNode, keys: list[str], value: ScalarNode) -> None:
    node = tree
    for key in keys[:-1]:
        child = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key),
                     None)
        if not isinstance(child, MappingNode):
            child = MappingNode(_MAP_TAG, [], value.start_mark, value.end_mark)
            node.value.append((ScalarNode(_STR_TAG, key, value.start_mark, value.end_mark),
                               child))
        node = child
    node.value.append((ScalarNode(_STR_TAG, keys[-1], value.start_mark, value.end_mark), value))


def _hidden(node: Node, file: str, lines: Sequence[str], owner: str, reason: str) -> Unresolved:
    line = gotmpl.line_of(node)
    quoted = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return Unresolved(f"{file}:{line}", quoted, f"{owner}: {reason}" if owner else reason)


def rename_only(entries: Node | None, file: str, lines: Sequence[str]) -> list[Unresolved]:
    """A kustomization's ``images:`` entries that only rename (its tagged ones are read as
    values): unresolved, never dropped."""
    return [u for u in kustomize_images(entries, file, lines).unresolved
            if u.reason.endswith(_RENAME_ONLY)]


def argocd_source_file(document: Node, file: str, lines: Sequence[str]) -> Overrides:
    """An ``.argocd-source[-<app>].yaml``: the Application source fields it overrides."""
    found = kustomize_images(gotmpl.get_path(document, "kustomize.images"), file, lines)
    helm = gotmpl.get(document, "helm")
    found.extend(helm_parameters(gotmpl.get(helm, "parameters"), file, lines))
    for key in ("valuesObject", "values"):
        node = gotmpl.get(helm, key)
        if node is None:
            continue
        if gotmpl.is_mapping(node):
            scan = scan_values(node, file, lines)
            found.images.extend(scan.images)
            found.unresolved.extend(scan.unresolved)
        else:
            found.unresolved.append(_hidden(node, file, lines, "", f"helm.{key} written as "
                                            "text in a parameter override file: not read"))
    return found
