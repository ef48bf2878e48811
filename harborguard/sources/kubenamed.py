"""Image references a container names outside its ``image``: in env values, args and
command (a builder image the workload starts). Pure functions over decoded objects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from harborguard.imageref import parse_image_ref

# isinstance(value, OBJECT): a decoded JSON or YAML object. dict first: the usual value
# never reaches the Mapping ABC's slower check (a fifth of reading 5,000 pods).
OBJECT = (dict, Mapping)

# No image reference holds any of these: they separate words in env values and arguments
# (``--builder=REF``, ``a,b``, ``{"image": "REF"}``, a shell line).
_WORD_SEPARATORS = re.compile(r"[\s,;'\"{}\[\]()=<>|&`]+")
# Longer than any object the API server stores (etcd keeps 1.5 MiB): not a real value.
_VALUE_MAX = 2 << 20
# What $(VAR) expansion may produce for one container, all values together.
_EXPAND_BUDGET = 8 * _VALUE_MAX
# Transports of containers/image (skopeo, buildah, podman): only docker:// names a registry;
# the others name local storage or files, not an image in Harbor.
_REGISTRY_TRANSPORT = "docker://"


def named_image(value: str) -> str | None:
    """``value`` if it clearly is one image reference: a registry host (with a dot or a port,
    or ``localhost``), a repository path, and a tag or digest. Anything else, such as a URL
    with a scheme, a host and path without a tag, or free text, is None."""
    if not 3 < len(value) <= 512 or "://" in value:
        return None
    first, slash, rest = value.partition("/")
    if not slash or not (first == "localhost" or "." in first or ":" in first):
        return None
    if ":" not in rest.rpartition("/")[2] and "@" not in rest:
        return None  # no tag, no digest: a repository, a path, not one image
    try:
        parse_image_ref(value)
    except ValueError:
        return None
    return value


def container_references(container: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, reference) for each image reference in a container's env values, args and
    command: ``env NAME``, ``args[2]`` (see :func:`references_with_paths`)."""
    for label, ref, _ in references_with_paths(container):
        yield label, ref


def references_with_paths(
    container: Mapping[str, Any],
) -> Iterator[tuple[str, str, tuple[str | int, ...]]]:
    """(label, reference, path in the container) for each image reference in a container's
    env values, args and command: ``env NAME``, ``args[2]``; the path is ``("env", 0,
    "value")``, ``("args", 2)``. A value may hold several (``--builder=REF``, a shell line,
    a list): each word that :func:`named_image` accepts counts. ``$(VAR)`` is expanded
    first, as the kubelet does: in an env value from the entries before it, in command and
    args from all of them."""
    env = container.get("env")
    values: dict[str, str] = {}
    budget = _EXPAND_BUDGET

    def expanded(value: str) -> str:
        # Values built of values double at each step: past the budget, read them as written.
        nonlocal budget
        if budget <= 0:
            return value
        out = expand(value, values)
        budget -= len(out)
        return out

    if isinstance(env, list):
        for position, entry in enumerate(env):
            if not isinstance(entry, OBJECT):
                continue
            name, value = entry.get("name"), entry.get("value")
            if not isinstance(value, str):
                continue  # valueFrom: unknown here, so $(NAME) stays as it is
            value = expanded(value)
            if isinstance(name, str):
                values[name] = value
            for ref in references_in(value):
                yield f"env {name}", ref, ("env", position, "value")
    for group in ("command", "args"):
        items = container.get(group)
        if not isinstance(items, list):
            continue
        for index, value in enumerate(items):
            if isinstance(value, str):
                for ref in references_in(expanded(value)):
                    yield f"{group}[{index}]", ref, (group, index)


def expand(value: str, variables: Mapping[str, str]) -> str:
    """The kubelet's expansion of ``$(VAR)``: a known VAR is replaced, an unknown one kept
    as written, ``$$`` is one literal ``$``. Bounded: past _VALUE_MAX (values built of
    values) the result is cut, and :func:`references_in` reads nothing of it."""
    if "$" not in value:
        return value
    out: list[str] = []
    size, cursor, checkpoint = 0, 0, 0
    while cursor < len(value) - 1 and size <= _VALUE_MAX:
        if value[cursor] != "$":
            cursor += 1
            continue
        out.append(value[checkpoint:cursor])
        following = value[cursor + 1]
        closer = value.find(")", cursor + 2) if following == "(" else -1
        if following == "$":
            piece, cursor = "$", cursor + 2
        elif closer >= 0:
            name = value[cursor + 2:closer]
            piece = variables.get(name, f"$({name})")
            cursor = closer + 1
        else:
            piece, cursor = value[cursor:cursor + 2], cursor + 2
        out.append(piece)
        size += len(piece) + len(out[-2])
        checkpoint = cursor
    out.append(value[checkpoint:])
    result = "".join(out)
    return result if len(result) <= _VALUE_MAX else result[: _VALUE_MAX + 1]


def references_in(value: str) -> list[str]:
    """The image references among the words of ``value``, in order, each once."""
    if len(value) > _VALUE_MAX or "/" not in value:
        return []
    words = (w.removeprefix(_REGISTRY_TRANSPORT) for w in _WORD_SEPARATORS.split(value))
    found = (named_image(word) for word in words if "/" in word)
    return list(dict.fromkeys(ref for ref in found if ref))
