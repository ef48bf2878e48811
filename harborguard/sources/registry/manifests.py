"""What a manifest says: its kind, the blobs it references and, for an index, its
children (the distribution and OCI manifest specifications). Pure: bytes in, a
``Parsed`` or a ``NotUnderstood`` out."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from harborguard import jsonio
from harborguard.model import Blob

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
# The Accept header of every manifest request: the four kinds harborguard reads.
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))

DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})")


class NotUnderstood(Exception):
    """A manifest harborguard cannot read; the message says why, in a few words."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One manifest: itself as a blob, what it references directly (config and layers),
    and the children of an index (read in turn)."""

    own: Blob
    blobs: tuple[Blob, ...]
    children: tuple[str, ...]


def digest_of(content: bytes, algorithm: str) -> str:
    """``algorithm:hex`` of ``content``."""
    return f"{algorithm}:{hashlib.new(algorithm, content).hexdigest()}"


def verified(digest: str, content: bytes) -> bool:
    """Whether ``content`` is what ``digest`` names (content addressing)."""
    if not DIGEST.fullmatch(digest):
        return False
    return digest_of(content, digest.split(":", 1)[0]) == digest


def parse_manifest(digest: str, content: bytes, content_type: str | None) -> Parsed:
    """The manifest ``digest`` whose bytes are ``content``; ``content_type``: what the
    registry said it is (the body's own ``mediaType`` wins, as OCI asks)."""
    try:
        body = jsonio.loads(content)
    except (ValueError, RecursionError):
        raise NotUnderstood("not JSON") from None
    if not isinstance(body, dict):
        raise NotUnderstood("not a JSON object")
    media_type = body.get("mediaType")
    if media_type is None:
        header = (content_type or "").split(";", 1)[0].strip()
        media_type = header if header in (*MANIFESTS, *INDEXES) else _guess(body)
    if not isinstance(media_type, str):
        raise NotUnderstood("mediaType is not a string")
    own = Blob(digest, len(content), media_type)
    if media_type in INDEXES:
        children = tuple(_descriptor(d, f"manifests[{i}]").digest
                         for i, d in enumerate(_list(body, "manifests")))
        return Parsed(own, (), children)
    if media_type in MANIFESTS:
        blobs = [_descriptor(body.get("config"), "config")]
        blobs.extend(_descriptor(d, f"layers[{i}]") for i, d in enumerate(_list(body, "layers")))
        return Parsed(own, tuple(blobs), ())
    raise NotUnderstood(f"media type {media_type[:80]!r} is not one harborguard reads "
                        "(OCI or Docker schema 2 manifests and indexes)")


def _guess(body: dict[str, Any]) -> str:
    """An OCI manifest or index may leave mediaType out: tell them by their fields."""
    if "manifests" in body:
        return OCI_INDEX
    if "layers" in body or "config" in body:
        return OCI_MANIFEST
    raise NotUnderstood("no mediaType, and neither layers nor manifests")


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise NotUnderstood(f"{key} is not a list")
    return value


def _descriptor(value: Any, where: str) -> Blob:
    if not isinstance(value, dict):
        raise NotUnderstood(f"{where} is not a descriptor object")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise NotUnderstood(f"{where}.digest is not a sha256 or sha512 digest")
    if type(size) is not int or size < 0:
        raise NotUnderstood(f"{where}.size is not a size in bytes")
    if not isinstance(media_type, str):
        raise NotUnderstood(f"{where}.mediaType is not a string")
    return Blob(digest, size, media_type)
