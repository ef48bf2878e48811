"""Container image references, normalised the way Docker does it.

The grammar and the normalisation follow distribution/reference (``ParseNormalizedNamed``
plus go-digest's validation), so a reference means here what it means to a kubelet:
``ubuntu`` is ``docker.io/library/ubuntu:latest``. One deliberate difference: a first
component is a registry only if it contains ``.`` or ``:`` or is ``localhost``. Newer
distribution/reference also treats an upper-case first component (``UPPER/case``) as a
registry; no Harbor is named like that, and rejecting it tells the operator about a typo
instead of inventing a registry called ``UPPER``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from harborguard.redact import mask_userinfo

DEFAULT_REGISTRY = "docker.io"
LEGACY_DEFAULT_REGISTRY = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_PORT = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
# Spelled out rather than \w: Python's \w is Unicode, Go's is ASCII.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_TAG_MAX = 128
_DIGEST_SHAPE = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(.*)", re.S)
# go-digest only accepts these algorithms, each with a fixed length of lower-case hex.
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX = re.compile(r"[a-f0-9]+")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")

# str.isspace()'s characters; one regex search instead of a Python loop per character.
_WHITESPACE = re.compile(r"\s")
_PULLABLE_PREFIX = "docker-pullable://"
_DOCKER_PREFIX = "docker://"


class ImageRef(NamedTuple):
    """A normalised reference. ``tag`` and ``digest`` may both be set (``name:tag@digest``);
    the digest is then what is pulled and the tag is only documentation. A NamedTuple: a
    check parses tens of thousands of distinct references, and a tuple is made in C."""

    registry: str  # "docker.io", "localhost:5000", "tools-harbor.wmcloud.org"
    path: str  # "library/ubuntu", "toolforge/builds-api"
    tag: str | None
    digest: str | None  # "sha256:<64 hex>"

    @property
    def repository(self) -> str:
        """``registry/path``: the image without tag or digest."""
        return f"{self.registry}/{self.path}"

    @property
    def pinned(self) -> bool:
        """True when a digest decides what is pulled, whatever the tag says."""
        return self.digest is not None

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.repository}{tag}{digest}"


class _Invalid(ValueError):
    """Carries only the reason; the public functions add what was being parsed."""


def parse_image_ref(text: str) -> ImageRef:
    """Parses and normalises an image reference; ValueError (one line) if it is not valid."""
    try:
        return _parse(text)
    except _Invalid as exc:
        raise ValueError(f"invalid image reference {_show(text)}: {exc}") from None


# The common shape, registry/path:tag with a dotted or ported registry, in one match; what
# it accepts the general parser below would accept and normalise the same way. Anything
# else (no registry, docker.io, digests, odd input) takes the general path.
_COMMON = re.compile(
    rf"((?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+(?::[0-9]+)?|{_DOMAIN_COMPONENT}:[0-9]+))"
    rf"/({_ALNUM}(?:{_SEPARATOR}{_ALNUM})*(?:/{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*)*)"
    r":([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
)


def _parse(text: str) -> ImageRef:
    common = _COMMON.fullmatch(text)
    if common is not None:
        host, repo_path, fast_tag = common.groups()
        lowered = host.lower()
        if lowered not in (DEFAULT_REGISTRY, LEGACY_DEFAULT_REGISTRY) and \
                len(host) + 1 + len(repo_path) <= NAME_TOTAL_LENGTH_MAX:
            return ImageRef(registry=lowered, path=repo_path, tag=fast_tag, digest=None)
    if not text:
        raise _Invalid("empty")
    if _WHITESPACE.search(text):
        raise _Invalid("contains whitespace")
    if _IDENTIFIER.fullmatch(text):
        raise _Invalid(
            "a 64-hex image ID is not a reference; name the repository (repo@sha256:...)"
        )

    name_tag, at, digest_text = text.partition("@")
    digest: str | None = None
    if at:
        reason = _digest_problem(digest_text)
        if reason:
            raise _Invalid(reason)
        digest = digest_text

    # The tag separator is the first ':' after the last '/': earlier ones belong to a port.
    colon = name_tag.find(":", name_tag.rfind("/") + 1)
    tag: str | None = None
    name = name_tag
    if colon >= 0:
        name, tag = name_tag[:colon], name_tag[colon + 1 :]
        if not tag:
            raise _Invalid("empty tag after ':'")
        if len(tag) > _TAG_MAX:
            raise _Invalid(f"tag is {len(tag)} characters long, the maximum is {_TAG_MAX}")
        if not _TAG.fullmatch(tag):
            raise _Invalid(
                f"tag {_show(tag)} is not valid (letters, digits, '_', '.', '-'; "
                "not starting with '.' or '-')"
            )
    if not name:
        raise _Invalid("missing repository name")

    registry, path = _split_registry(name)
    if not _HOST_PORT.fullmatch(registry):
        raise _Invalid(f"registry {_show(registry)} is not a valid host[:port]")
    if not path:
        raise _Invalid("missing repository path after the registry")
    if path.lower() != path:
        raise _Invalid(f"repository path {_show(path)} must be lowercase")
    for component in path.split("/"):
        if not component:
            raise _Invalid(f"repository path {_show(path)} has an empty component")
        if not _PATH_COMPONENT.fullmatch(component):
            raise _Invalid(
                f"path component {_show(component)} is not valid (lowercase letters and "
                "digits, separated by one '.', one or two '_', or dashes)"
            )
    if len(registry) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise _Invalid(f"repository name is longer than {NAME_TOTAL_LENGTH_MAX} characters")

    if tag is None and digest is None:
        tag = DEFAULT_TAG
    # Host names are case-insensitive; one spelling keeps matching a dictionary lookup.
    return ImageRef(registry=registry.lower(), path=path, tag=tag, digest=digest)


def parse_image_id(text: str) -> ImageRef | None:
    """A pod's ``status.*containerStatuses[].imageID``.

    ``repo@sha256:...`` and ``docker-pullable://repo@sha256:...`` name the registry digest
    the runtime pulled: returned as an ImageRef with ``digest`` set. ``docker://sha256:...``
    and bare ``sha256:...`` (or 64 hex) are local image IDs, which no registry knows: None.
    Anything else raises ValueError.
    """
    try:
        return _parse_image_id(text)
    except _Invalid as exc:
        raise ValueError(f"invalid imageID {_show(text)}: {exc}") from None


def _parse_image_id(text: str) -> ImageRef | None:
    value = text
    if value.startswith(_PULLABLE_PREFIX):
        value = value[len(_PULLABLE_PREFIX) :]
    elif value.startswith(_DOCKER_PREFIX):
        value = value[len(_DOCKER_PREFIX) :]
    if not value:
        raise _Invalid("empty")
    if "@" not in value:
        if _IDENTIFIER.fullmatch(value):
            return None
        shape = _DIGEST_SHAPE.fullmatch(value)
        if shape and shape.group(1) in _DIGEST_LENGTHS:
            reason = _digest_problem(value)
            if reason:
                raise _Invalid(reason)
            return None
        raise _Invalid("neither repo@digest nor a local image ID (sha256:...)")
    return _parse(value)


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_REGISTRY, OFFICIAL_PREFIX + name
    if first == LEGACY_DEFAULT_REGISTRY:
        registry, path = DEFAULT_REGISTRY, rest
    elif first == "localhost" or "." in first or ":" in first:
        registry, path = first, rest
    else:
        registry, path = DEFAULT_REGISTRY, name
    if registry == DEFAULT_REGISTRY and path and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return registry, path


def _digest_problem(text: str) -> str | None:
    """Why ``text`` is not a digest go-digest would accept, or None."""
    if not text:
        return "empty digest after '@'"
    shape = _DIGEST_SHAPE.fullmatch(text)
    if not shape:
        return f"digest {_show(text)} is not algorithm:hex"
    algorithm, encoded = shape.groups()
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        return f"digest algorithm {_show(algorithm)} is not supported (sha256, sha384, sha512)"
    if not _LOWER_HEX.fullmatch(encoded):
        return f"digest {_show(text)} must be lower-case hex after '{algorithm}:'"
    if len(encoded) != length:
        return f"{algorithm} digest must have {length} hex digits, got {len(encoded)}"
    return None


def _show(text: str, limit: int = 80) -> str:
    """repr() of user input, credentials in it masked, shortened so an error stays one
    readable line (masked first: a cut could leave a password without its '@')."""
    text = mask_userinfo(text)
    shown = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(shown)
