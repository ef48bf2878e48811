"""Images an object of a kind harborguard does not know names beside its pod spec.

An operator's resource keeps a pod spec and names what it runs elsewhere too: a
``monitoring.coreos.com`` Prometheus runs ``spec.image`` and adds ``spec.containers`` as
sidecars (read as its pod spec), a custom resource has ``spec.initImage`` beside
``spec.template.spec``. Reading the pod spec alone drops those silently. So for every kind
but the built-in ones (whose other fields are Kubernetes' own), the rest of the object
(not ``metadata``, not the containers and volumes of the pod spec, which
``kubepods.pod_images`` reads) is searched: every full image reference in a string (a
registry host, a path, a tag or digest; :func:`kubenamed.references_in`) is an image the
object names, and what names an image under a key with ``image`` in its name without being
one reference (an image map, a host and path without a tag, a template) is reported as
unreadable. A custom resource without any pod spec (a CloudNativePG Cluster's
``spec.imageName``) is searched the same way. Pure functions over decoded objects, shared by
kubectl.py and kubeyaml.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harborguard.sources import gotmpl
from harborguard.sources.kubenamed import OBJECT, references_in
from harborguard.sources.kubepods import (
    CONTAINER_GROUPS,
    POD_SPEC_PATHS,
    SEARCH_DEPTH,
    Path,
    image_map,
)

# API groups whose objects name images without running them: a kustomization's ``images``,
# Flux's ImageRepository and ImagePolicy.
NOT_WORKLOADS = ("kustomize.config.k8s.io/", "image.toolkit.fluxcd.io/")
# Kubernetes' own kinds: what they run is their pod spec, their other fields name no image.
BUILT_IN_KINDS = frozenset((*POD_SPEC_PATHS, "ControllerRevision"))
# A template left in a value (masked by gotmpl.render, or raw in a file it does not render).
TEMPLATE = re.compile(rf"{gotmpl.TOKEN.pattern}|\{{\{{.*?\}}\}}", re.DOTALL)
# A line of YAML text whose key names an image: ``  repository: host/path``, ``- image: x``.
_TEXT_KEY = re.compile(r"\s*(?:-\s+)?[\w.-]*(?:image|repository|repo)[\w.-]*\s*:\s+(\S+)",
                       re.IGNORECASE)
# What a template is read as: a word that is a registry host, a path part and a tag at once.
FILLED = "template.invalid"


@dataclass(frozen=True, slots=True)
class BesideImage:
    """An image named outside the pod spec. ``ref``: the image reference, or None when
    what names an image there cannot be read as one (``what`` says what it is)."""

    path: Path  # from the object to the text naming it
    ref: str | None
    what: str = "an image reference"


def images_beside_pod_spec(
    item: Mapping[str, Any], kind: str, spec_path: tuple[str, ...] | None
) -> Iterator[BesideImage]:
    """What ``item`` names beside its pod spec at ``spec_path`` (None: it has none), in
    document order; nothing for the built-in kinds (without a pod spec: nothing for the
    kinds of Kubernetes' own API groups either, a ConfigMap, an Ingress)."""
    if kind in BUILT_IN_KINDS or (spec_path is None and not custom_api(item.get("apiVersion"))):
        return
    skipped = {("metadata",), *((*spec_path, key) for key in (*CONTAINER_GROUPS, "volumes"))
               } if spec_path is not None else {("metadata",)}
    stack: list[tuple[Any, Path, str, bool]] = [(item, (), "", False)]
    while stack:
        node, where, key, registry_beside = stack.pop()
        if isinstance(node, str):
            yield from _in_text(node, where, _names_images(key))
            continue
        if _names_images(key) and isinstance(node, OBJECT) and (
                _map_names_host(node) or (registry_beside and image_map(node))):
            yield BesideImage(where, None, "an image map")
            continue
        if isinstance(node, Mapping | list) and len(where) >= SEARCH_DEPTH:
            yield BesideImage(where, None, f"objects nested deeper than {SEARCH_DEPTH} levels")
            continue
        if isinstance(node, OBJECT):
            children = [(str(k), v) for k, v in node.items()]
            registry = any("registry" in name.lower() and isinstance(value, str)
                           and _is_host(value.strip()) for name, value in children)
            for name, value in reversed(children):
                if (*where, name) not in skipped:
                    stack.append((value, (*where, name), name, registry))
        elif isinstance(node, list):
            for index in range(len(node) - 1, -1, -1):
                stack.append((node[index], (*where, index), key, registry_beside))


def custom_api(api_version: Any) -> bool:
    """An ``apiVersion`` of a group outside Kubernetes' own (``monitoring.coreos.com/v1``;
    not ``v1``, ``apps/v1``, ``networking.k8s.io/v1``), and not one whose objects name
    images without running them (a kustomization's ``images``, Flux's image policies)."""
    if not isinstance(api_version, str) or api_version.startswith(NOT_WORKLOADS):
        return False
    group = api_version.rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def _names_images(key: str) -> bool:
    """``image``, ``initImage``, ``images``, ``sidecarImages``, ``imageName``,
    ``imageRepository``...: ``image`` anywhere in the key, in any case (not
    ``imagePullPolicy``, ``imagePullSecrets``)."""
    lowered = key.lower()
    return "image" in lowered and "imagepull" not in lowered


def _is_host(value: str) -> bool:
    """``harbor.example.org``, ``registry:5000``, ``localhost``: a registry host alone."""
    return bool(value) and "/" not in value and " " not in value and "://" not in value and (
        value == "localhost" or "." in value or ":" in value)


def _in_text(value: str, where: Path, image_key: bool) -> Iterator[BesideImage]:
    templated = gotmpl.is_templated(value)
    text = TEMPLATE.sub(FILLED, value) if templated else value
    refs = references_in(text)
    for ref in refs:
        if FILLED in ref:
            yield BesideImage(where, None, "an image reference through a template")
        else:
            yield BesideImage(where, ref)
    if "\n" in value and any(named_in_text(line) for line in value.splitlines()):
        yield BesideImage(where, None, "an image without a tag or digest in text")
    if refs or not image_key:
        return
    if templated:
        yield BesideImage(where, None, "an image that is a template")
    elif _names_host(value.strip()):
        yield BesideImage(where, None, "an image without a tag or digest")


def named_in_text(line: str) -> bool:
    """A line of YAML text (Helm values held in a string) whose ``image``, ``repository``
    or ``repo`` key names a registry host and path without a tag: ``repository: host/app``."""
    match = _TEXT_KEY.match(line)
    if match is None:
        return False
    value = match.group(1).strip("\"'")
    return "://" not in value and _names_host(value) and not references_in(value)


def _names_host(value: str) -> bool:
    """``quay.io/prometheus/prometheus``: a registry host (a dot, a port, ``localhost``)
    before the first ``/``."""
    first, slash, rest = value.partition("/")
    return bool(slash and rest) and (first == "localhost" or "." in first or ":" in first)


def _map_names_host(value: Mapping[str, Any]) -> bool:
    """An image map naming a registry: a ``registry``, or a ``repository`` (``repo``,
    ``name``) that starts with a host or is a template."""
    registry = value.get("registry")
    if image_map(value) and isinstance(registry, str) and registry.strip():
        return True
    return any(isinstance(repository, str) and (
        _names_host(repository.strip()) or gotmpl.is_templated(repository))
        for repository in (value.get(k) for k in ("repository", "repo", "name")))
