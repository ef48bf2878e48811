"""Images named in Helm values and Kubernetes manifests, read as YAML nodes (with lines).

Helm values have no schema: by convention an image is ``image: repo:tag`` or a map
``image: {registry, repository | name | image, tag, digest}``. What the chart's templates
do with those keys is unknown without running them, so a map without a tag or digest is
reported as unresolved rather than guessed to be ``latest``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import yaml
from yaml.nodes import Node

from harborguard.errors import InputError
from harborguard.redact import secret_below
from harborguard.sources import gotmpl

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


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One ``image`` key in a values file: a string, or the fields of a map."""

    path: tuple[str | int, ...]  # where in the values tree: ("controller", "image")
    file: str  # relative path, or "" for a chart's values.yaml served by Harbor
    line: int
    text: str
    ref: ImageField | None = None  # `image: repo:tag`
    fields: dict[str, ImageField] = field(default_factory=dict)

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
            siblings = {key: value for key, _key_node, value in gotmpl.items(node)}
            for key, _key_node, value in gotmpl.items(node):
                imageish = is_image_key(key)
                under = not imageish and secret_below(key, secret)
                if under and gotmpl.scalar(value) is not None:
                    continue  # docs/DESIGN.md: values under secret-looking keys never reach output
                if imageish or _is_image_map(value):
                    spec = _image_spec(value, path + (key,), file, text, siblings, key)
                    if spec is not None:
                        images.append(spec)
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
                    spec = _image_spec(value, path + (lone_tag,), file, text, {}, "tag")
                    if spec is not None:
                        images.append(spec)
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
                        spec = _image_spec(entry, path + (key, name), file, text, {}, name)
                        if spec is not None:
                            images.append(spec)
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
    return ValuesScan(tuple(images), tuple(unresolved))


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


def _image_spec(
    node: Node,
    path: tuple[str | int, ...],
    file: str,
    text: Callable[[int], str],
    siblings: dict[str, Node] | None = None,
    key: str = "image",
) -> ImageSpec | None:
    written = gotmpl.scalar(node)
    line = gotmpl.line_of(node)
    if written is not None:
        value = written.strip()
        if not value:
            return None
        if key == "tag":  # a lone `imageTag`
            return ImageSpec(path, file, line, text(line),
                             fields={"tag": ImageField(value, line, text(line), file)})
        if key != "image" and not gotmpl.is_templated(value) and not (
            _LOOSE_REFERENCE.match(value) and ("/" in value or ":" in value)
        ):
            return None  # `useImage: true`, `defaultImage: none`: not a reference
        field = ImageField(value, line, text(line), file)
        tag = _sibling_tag(value, key, siblings or {}, file, text)
        if tag is not None:
            return ImageSpec(path, file, line, text(line), fields={"image": field, "tag": tag})
        return ImageSpec(path, file, line, text(line), ref=field)
    fields: dict[str, ImageField] = {}
    for name, _key_node, value_node in gotmpl.items(node):
        if name in _IMAGE_KEYS:
            field_value = gotmpl.scalar(value_node)
            if field_value is not None and field_value.strip():
                value_line = gotmpl.line_of(value_node)
                fields[name] = ImageField(field_value.strip(), value_line, text(value_line), file)
    if not fields or set(fields) <= {"tag", "digest"} and key != "image":
        # e.g. `image: {pullPolicy: Always}`: says nothing about which image.
        return None
    return ImageSpec(path, file, line, text(line), fields=fields)


def _sibling_tag(
    value: str, key: str, siblings: dict[str, Node], file: str, text: Callable[[int], str]
) -> ImageField | None:
    """The tag a tagless image string takes from a key beside it (Elastic's ``imageTag``)."""
    if gotmpl.is_templated(value) or _has_version(value):
        return None
    names = (f"{key}Tag",) + (_SIBLING_TAG_KEYS if key == "image" else ())
    for name in names:
        written = gotmpl.scalar(siblings.get(name))
        node = siblings.get(name)
        if node is not None and written is not None and written.strip():
            line = gotmpl.line_of(node)
            return ImageField(written.strip(), line, text(line), file)
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
    if spec.ref is not None:
        if gotmpl.is_templated(spec.ref.value):
            return "the image is set by a template"
        value = spec.ref.value
        if not _has_version(value):
            if default_tag is not None and own_repository is not None:
                if _same_repository(value, own_repository):
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
    if tag is None and digest is None:
        if default_tag is not None and own_repository is not None:
            if _same_repository(repository, own_repository):
                return ResolvedImage(f"{repository}:{default_tag}", repository, None, name_field)
        return "an image without a tag (the chart's templates decide it; not assumed latest)"
    ref = f"{repository}:{tag.value}" if tag is not None else repository
    if digest is not None:
        ref = f"{ref}@{digest.value}"
    pin = tag if tag is not None else digest
    assert pin is not None
    return ResolvedImage(ref, repository, digest.value if digest else None, pin)


def _same_repository(left: str, right: str) -> bool:
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
    for spec in _merge(chart_specs, list(overrides)):
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
            repository is not None and _same_repository(result.repository, repository)
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


def _merge(chart: list[ImageSpec], release: list[ImageSpec]) -> list[ImageSpec]:
    """Release values over chart values, image by image, as Helm merges maps key by key."""
    by_path: dict[tuple[str | int, ...], ImageSpec] = {}
    for spec in chart:
        by_path[spec.path] = spec
    for spec in release:
        base = by_path.get(spec.path)
        if base is None or spec.ref is not None or base.ref is not None:
            by_path[spec.path] = spec
            continue
        fields = dict(base.fields)
        fields.update(spec.fields)  # each field keeps the file and line that set it
        by_path[spec.path] = ImageSpec(spec.path, spec.file, spec.line, spec.text, None, fields)
    return list(by_path.values())


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
