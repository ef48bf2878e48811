"""Images named in Helm values and Kubernetes manifests, read as YAML nodes (with lines).

Helm values have no schema: by convention an image is ``image: repo:tag`` or a map
``image: {registry, repository | name | image, tag, digest}``. What the chart's templates
do with those keys is unknown without running them, so a map without a tag or digest is
reported as unresolved rather than guessed to be ``latest``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from yaml.nodes import Node, ScalarNode

from harborguard.redact import secret_below
from harborguard.sources import gotmpl
from harborguard.sources.helmscalar import NotRenderable, helm_text

# Keys that name a version: a template we cannot resolve there hides a usage.
_VERSION_KEYS = frozenset({"tag", "version", "chartVersion", "appVersion", "digest"})
_IMAGE_KEYS = ("registry", "repository", "name", "image", "tag", "digest")
# registry host (with a dot or a port) / path : tag and/or @digest, nothing else: so URLs,
# bare host names (registry-admission's allowedRegistries) and paths do not match.
_FULL_REFERENCE = re.compile(
    r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?|[a-z0-9-]+:\d+|localhost)"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$"
)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value that names a version or an image but cannot be known without templates."""

    where: str  # "path:line" or "commit:path:line"
    text: str  # the line as written
    reason: str
    component: str | None = None


@dataclass(frozen=True, slots=True)
class ImageField:
    value: str
    line: int
    text: str  # the source line
    file: str = ""  # "" for a chart's values.yaml served by Harbor: not a file of ours
    problem: str | None = None  # why Helm would not print it as written (a YAML boolean)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One ``image`` key in a values file: a string, or the fields of a map."""

    path: tuple[str | int, ...]  # where in the values tree: ("controller", "image")
    file: str  # relative path, or "" for a chart's values.yaml served by Harbor
    line: int
    text: str
    ref: ImageField | None = None  # `image: repo:tag`
    fields: dict[str, ImageField] = field(default_factory=dict)
    # Set on the images of one key (or map) written more than once: the branches of a
    # masked `{{ if }}`. Helm renders one of them; which is unknown, so each is in use.
    branch: str | None = None

    @property
    def naming_field(self) -> ImageField:
        """The field that names the image: cited when it cannot be resolved."""
        fields = self.fields
        named = self.ref or fields.get("repository") or fields.get("name") or fields.get("image")
        return named or next(iter(fields.values()))


@dataclass(frozen=True, slots=True)
class ValuesScan:
    images: tuple[ImageSpec, ...]
    unresolved: tuple[Unresolved, ...]


def scan_values(root: Node, file: str, lines: Sequence[str]) -> ValuesScan:
    """Every ``image`` key of a Helm values document, and version values hidden by templates."""
    images: list[ImageSpec] = []
    unresolved: list[Unresolved] = []

    def text(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def walk(node: Node, path: tuple[str | int, ...], secret: bool = False) -> None:
        written = gotmpl.scalar(node)
        if written is not None:
            # A full reference under another key (a buildpacks `builder:`, a sidecar list)
            # is an image in use as much as one under `image:`. Not under a secret-looking
            # key: there a scalar is never read, whatever it looks like.
            if not secret and _FULL_REFERENCE.match(written.strip()):
                line = gotmpl.line_of(node)
                field = ImageField(written.strip(), line, text(line), file)
                images.append(ImageSpec(path, file, line, text(line), ref=field))
            return
        if gotmpl.is_mapping(node):
            entries = list(gotmpl.items(node))
            siblings = {key: value for key, _key_node, value in entries}
            counts = Counter(key for key, _key_node, _value in entries)
            for key, _key_node, value in entries:
                # A key written twice (the branches of a masked `{{ if }}`): each counts.
                branch = f"{file}:{gotmpl.line_of(node)}:{key}" if counts[key] > 1 else None
                imageish = is_image_key(key)
                under = not imageish and secret_below(key, secret)
                if under and gotmpl.scalar(value) is not None:
                    continue  # docs/DESIGN.md: values under secret-looking keys never reach output
                if path == ("global",) and key == "image" and _registry_only(value):
                    continue  # `global.image.registry`: read as the global registry below
                if imageish or _is_image_map(value):
                    specs = _image_specs(value, path + (key,), file, text, siblings, key, branch)
                    if specs:
                        images.extend(specs)
                        continue
                if key in _VERSION_KEYS:
                    written = gotmpl.scalar(value)
                    if written is not None and gotmpl.is_templated(written):
                        line = gotmpl.line_of(value)
                        unresolved.append(
                            Unresolved(f"{file}:{line}", text(line), f"{key} is set by a template")
                        )
                        continue
                lone_tag = _lone_image_tag(key, siblings)
                if lone_tag is not None:
                    # `imageTag: X` without its `image:` (a release overriding the chart's
                    # tag): merged over the chart's image by path, or unresolved alone.
                    specs = _image_specs(value, path + (lone_tag,), file, text, {}, "tag", branch)
                    if specs:
                        images.extend(specs)
                        continue
                if key == "images" and not gotmpl.is_mapping(value):
                    # kustomize: `images: [{name, newName, newTag, digest}]`.
                    for index, entry in enumerate(gotmpl.sequence(value)):
                        spec = _kustomize_image(entry, path + (key, index), file, text)
                        if spec is not None:
                            images.append(spec)
                if _is_images_key(key) and gotmpl.is_mapping(value):
                    # `images: {worker: {repository, tag}, ...}`: each entry is an image.
                    for name, _name_node, entry in gotmpl.items(value):
                        specs = _image_specs(entry, path + (key, name), file, text, {}, name)
                        if specs:
                            images.extend(specs)
                        else:
                            walk(entry, path + (key, name), under)
                    continue
                # A map under a secret-looking key (`tokenReviewer:`, `secretsSync:`) may
                # still hold the image of a component: only its `image` keys are read.
                walk(value, path + (key,), under)
        else:
            for index, item in enumerate(gotmpl.sequence(node)):
                walk(item, path + (index,), secret)

    walk(root, ())
    registry = _global_registry(root, file, text)
    if registry is not None:
        images = with_global_registry(images, registry)
        images.append(ImageSpec(GLOBAL_REGISTRY, file, registry.line, registry.text,
                                fields={"registry": registry}))
    return ValuesScan(tuple(images), tuple(unresolved))


# Where a chart reads the registry of every image from (Bitnami's common.images.image:
# `default .image.registry .global.imageRegistry`; others name it `global.image.registry`).
GLOBAL_REGISTRY: tuple[str | int, ...] = ("global", "imageRegistry")


def _global_registry(root: Node, file: str, text: Callable[[int], str]) -> ImageField | None:
    """``global.imageRegistry`` (or ``global.image.registry``), "" when set empty or null."""
    scope = gotmpl.get(root, "global")
    for node in (gotmpl.get(scope, "imageRegistry"), gotmpl.get_path(scope, "image.registry")):
        if node is not None and isinstance(node, ScalarNode):
            line = gotmpl.line_of(node)
            return ImageField((gotmpl.scalar(node) or "").strip(), line, text(line), file)
    return None


def _registry_only(node: Node) -> bool:
    return gotmpl.get(node, "registry") is not None and not any(
        gotmpl.get(node, key) is not None for key in ("repository", "name", "image", "tag")
    )


def with_global_registry(specs: list[ImageSpec], registry: ImageField) -> list[ImageSpec]:
    """Image maps whose repository names no registry host take the global one (it wins
    over their own ``registry``, as in Bitnami's common.images.image); "" changes nothing."""
    if not registry.value:
        return specs
    out: list[ImageSpec] = []
    for spec in specs:
        named = spec.fields.get("repository") or spec.fields.get("name")
        if spec.ref is None and spec.path != GLOBAL_REGISTRY and named is not None and not (
            names_registry(named.value)
        ):
            spec = replace(spec, fields={**spec.fields, "registry": registry})
        out.append(spec)
    return out


def names_registry(name: str) -> bool:
    """``host.example/proj/x``, ``host:5000/x``, ``localhost/x``: the name carries its registry."""
    first, slash, _rest = name.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def is_image_key(key: str) -> bool:
    """``image``, ``sidecarImage``, ``initimage``: a key that by its name holds an image."""
    return key == "image" or key.endswith(("Image", "image"))


def _is_images_key(key: str) -> bool:
    return key == "images" or key.endswith(("Images", "images"))


def _is_image_map(node: Node) -> bool:
    """A map with a ``repository`` and a ``tag`` or ``digest``, whatever its key."""
    return gotmpl.is_mapping(node) and gotmpl.get(node, "repository") is not None and (
        gotmpl.get(node, "tag") is not None or gotmpl.get(node, "digest") is not None
    )


def _kustomize_image(
    node: Node, path: tuple[str | int, ...], file: str, text: Callable[[int], str]
) -> ImageSpec | None:
    """A kustomization's image override: ``newName`` (or ``name``) with ``newTag``/``digest``."""
    fields: dict[str, ImageField] = {}
    for key, target in (("name", "repository"), ("newName", "repository"), ("newTag", "tag"),
                        ("digest", "digest")):
        node_value = gotmpl.get(node, key)
        value = gotmpl.scalar(node_value)
        if node_value is not None and value is not None and value.strip():
            line = gotmpl.line_of(node_value)
            fields[target] = ImageField(value.strip(), line, text(line), file)
    if "tag" not in fields and "digest" not in fields:
        return None  # a rename only: the manifests' own tag still holds
    line = gotmpl.line_of(node)
    return ImageSpec(path, file, line, text(line), fields=fields)


def _lone_image_tag(key: str, siblings: dict[str, Node]) -> str | None:
    """``imageTag`` with no ``image`` beside it: the image key whose tag it sets."""
    if not key.endswith("Tag") or len(key) <= 3:
        return None
    owner = key[:-3]
    if not is_image_key(owner) or owner in siblings:
        return None
    return owner


# A tagless image string (`image: docker.elastic.co/elasticsearch/elasticsearch`) takes its
# tag from one of these keys beside it: `<key>Tag` first, then `tag`, then `version`.
_SIBLING_TAG_KEYS = ("tag", "version")
# Under a key like `sidecarImage`, a string is an image only if it looks like a reference.
_LOOSE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")


def _image_specs(
    node: Node,
    path: tuple[str | int, ...],
    file: str,
    text: Callable[[int], str],
    siblings: dict[str, Node] | None = None,
    key: str = "image",
    branch: str | None = None,
) -> list[ImageSpec]:
    """The image a key names; one per branch when a field is written twice in its map."""
    line = gotmpl.line_of(node)
    written = gotmpl.scalar(node)
    if written is not None:
        field = _field(node, file, text)
        if field is None:
            return []
        value = field.value
        if key == "tag":  # a lone `imageTag`
            return [ImageSpec(path, file, line, text(line), fields={"tag": field}, branch=branch)]
        if key != "image" and not gotmpl.is_templated(value) and not (
            _LOOSE_REFERENCE.match(value) and ("/" in value or ":" in value)
        ):
            return []  # `useImage: true`, `defaultImage: none`: not a reference
        tag = _sibling_tag(value, key, siblings or {}, file, text)
        if tag is not None:
            return [ImageSpec(path, file, line, text(line), fields={"image": field, "tag": tag},
                              branch=branch)]
        return [ImageSpec(path, file, line, text(line), ref=field, branch=branch)]
    written_fields: dict[str, list[ImageField]] = {}
    for name, _key_node, value_node in gotmpl.items(node):
        if name in _IMAGE_KEYS:
            found = _field(value_node, file, text)
            if found is not None:
                written_fields.setdefault(name, []).append(found)
    if not written_fields or set(written_fields) <= {"tag", "digest"} and key != "image":
        # e.g. `image: {pullPolicy: Always}`: says nothing about which image.
        return []
    if all(len(values) == 1 for values in written_fields.values()):
        fields = {name: values[0] for name, values in written_fields.items()}
        return [ImageSpec(path, file, line, text(line), fields=fields, branch=branch)]
    # `tag:` twice in one map: the masked `{{ if }}`/`{{ else }}` branches of a .gotmpl.
    # Which one helmfile renders is not known here, so every one is an image in use.
    names = list(written_fields)
    if math.prod(len(values) for values in written_fields.values()) > _MAX_BRANCHES:
        why = f"written more than {_MAX_BRANCHES} ways in one map (template branches)"
        fields = {name: replace(values[0], problem=why) for name, values in written_fields.items()}
        return [ImageSpec(path, file, line, text(line), fields=fields, branch=branch)]
    return [
        ImageSpec(path, file, line, text(line), fields=dict(zip(names, chosen, strict=True)),
                  branch=branch or f"{file}:{line}")
        for chosen in itertools.product(*written_fields.values())
    ]


_MAX_BRANCHES = 64  # combinations of fields written more than once in one image map


def _field(node: Node, file: str, text: Callable[[int], str]) -> ImageField | None:
    """A values scalar as Helm prints it (helmscalar.py), or None when empty."""
    written = gotmpl.scalar(node)
    if written is None or not written.strip():
        return None
    line = gotmpl.line_of(node)
    shown = helm_text(node)
    if isinstance(shown, NotRenderable):
        return ImageField(written.strip(), line, text(line), file, problem=str(shown))
    return ImageField(shown.strip(), line, text(line), file)


def _sibling_tag(
    value: str, key: str, siblings: dict[str, Node], file: str, text: Callable[[int], str]
) -> ImageField | None:
    """The tag a tagless image string takes from a key beside it (Elastic's ``imageTag``)."""
    if gotmpl.is_templated(value) or _has_version(value):
        return None
    names = (f"{key}Tag",) + (_SIBLING_TAG_KEYS if key == "image" else ())
    for name in names:
        node = siblings.get(name)
        found = _field(node, file, text) if node is not None else None
        if found is not None:
            return found
    return None


def is_image_reference(value: str) -> bool:
    """A full reference (host/path:tag or @digest), as under any key."""
    return bool(_FULL_REFERENCE.match(value.strip()))


def _has_version(ref: str) -> bool:
    """A tag or a digest in a reference (a colon after the last slash is a tag)."""
    if "@" in ref:
        return True
    return ref.rfind(":") > ref.rfind("/")


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    ref: str
    repository: str
    digest: str | None
    pin: ImageField  # the field that names the version (or the image, for a template tag)


def resolve_image(
    spec: ImageSpec, *, default_tag: str | None = None, own_repository: str | None = None
) -> ResolvedImage | str:
    """The image a values entry names, or why it cannot be known.

    ``default_tag`` is the ``--image-tag-template`` tag; it only fills the image stored in
    the chart's own Harbor repository (``own_repository``), the one the chart's CI builds.
    """
    problem = next((f.problem for f in (spec.ref, *spec.fields.values())
                    if f is not None and f.problem), None)
    if problem is not None:
        return problem
    if spec.ref is not None:
        if gotmpl.is_templated(spec.ref.value):
            return "the image is set by a template"
        value = spec.ref.value
        if not _has_version(value):
            if default_tag is not None and own_repository is not None:
                if same_repository(value, own_repository):
                    return ResolvedImage(f"{value}:{default_tag}", value, None, spec.ref)
            return "an image without a tag (the chart's templates decide it; not assumed latest)"
        return ResolvedImage(value, _repository_of(value), digest_of(value), spec.ref)
    fields = spec.fields
    if any(gotmpl.is_templated(f.value) for f in fields.values()):
        return "part of the image is set by a template"
    name_field = fields.get("repository") or fields.get("name") or fields.get("image")
    if name_field is None:
        return "an image tag without a repository"
    repository = name_field.value
    registry = fields.get("registry")
    if registry is not None and not repository.startswith(registry.value.rstrip("/") + "/"):
        repository = f"{registry.value.rstrip('/')}/{repository}"
    tag = fields.get("tag")
    digest = fields.get("digest")
    if tag is None and digest is None and name_field is fields.get("image") and _has_version(
        name_field.value
    ):
        # `envimage: {image: host/proj/x:1.0}`: the `image` string is a whole reference.
        return ResolvedImage(repository, _repository_of(repository), digest_of(repository),
                             name_field)
    if tag is None and digest is None:
        if default_tag is not None and own_repository is not None:
            if same_repository(repository, own_repository):
                return ResolvedImage(f"{repository}:{default_tag}", repository, None, name_field)
        return "an image without a tag (the chart's templates decide it; not assumed latest)"
    ref = f"{repository}:{tag.value}" if tag is not None else repository
    if digest is not None:
        ref = f"{ref}@{digest.value}"
    pin = tag if tag is not None else digest
    assert pin is not None
    return ResolvedImage(ref, repository, digest.value if digest else None, pin)


def same_repository(left: str, right: str) -> bool:
    def norm(text: str) -> str:
        return text.removeprefix("oci://").rstrip("/").lower()

    return norm(left) == norm(right)


def _repository_of(ref: str) -> str:
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    # A colon after the last slash starts the tag; one before it is a registry port.
    return name[:colon] if colon > slash else name


def digest_of(ref: str) -> str | None:
    _, at, digest = ref.partition("@")
    return digest if at and digest.startswith("sha256:") else None
