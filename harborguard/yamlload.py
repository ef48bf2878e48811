"""The one YAML loader of the package: safe, and bounded in what aliases can make of a file.

YAML aliases let 1 KB stand for billions of nodes ("billion laughs"): every reader that
walks or serialises the result (values scans, ``json.dumps`` of a policy's ``extras``)
would spend minutes and gigabytes on it. A recursive anchor (``&a [*a]``) makes a cycle
that never ends. Before composing, one streaming pass over the parser's events counts the
nodes the text stands for with every alias expanded, and refuses the text past
MAX_YAML_NODES or on an alias to a node that contains it. Nesting deeper than libyaml's
limit (1,000 levels) is its own parse error; without libyaml, RecursionError is refused too.

Every YAML reader uses this module: manifests, helmfiles, values files, a chart's
values.yaml from the snapshot, policy, snapshot and config files, kubectl YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    ScalarEvent,
)
from yaml.nodes import Node

# Nodes per file (all documents), every alias expanded. An 8 MiB kubectl YAML holds about
# 400,000; composing 1,000,000 takes about 300 MB and a few seconds.
MAX_YAML_NODES = 1_000_000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLimitError(yaml.YAMLError):
    """The text is valid YAML that harborguard refuses to expand; the message says why."""


def compose_all(text: str) -> list[Node]:
    """The YAML documents as nodes (which carry line numbers). Raises yaml.YAMLError."""
    check(text)
    try:
        return [node for node in yaml.compose_all(text, Loader=_LOADER) if node is not None]
    except RecursionError:
        raise YamlLimitError("YAML nested too deeply to read") from None


def load_all(text: str) -> list[Any]:
    """Every document as Python data (safe tags only), empty documents left out."""
    check(text)
    try:
        return [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except RecursionError:
        raise YamlLimitError("YAML nested too deeply to read") from None


def load(text: str) -> Any:
    """One document as Python data, as ``yaml.safe_load`` reads it."""
    check(text)
    try:
        return yaml.load(text, Loader=_LOADER)
    except RecursionError:
        raise YamlLimitError("YAML nested too deeply to read") from None


def check(text: str, limit: int = MAX_YAML_NODES) -> None:
    """Raises YamlLimitError when the text expands past ``limit`` nodes or is recursive.

    Also raises the parser's yaml.YAMLError for text that is not YAML.
    """
    total = 0
    for size in _document_sizes(yaml.parse(text, Loader=_LOADER), limit):
        total += size
        if total > limit:
            raise _too_many(limit)


def _document_sizes(events: Iterator[Event], limit: int) -> Iterator[int]:
    """The expanded node count of each document, from the event stream (no nodes built)."""
    anchors: dict[str, int] = {}  # anchor -> expanded size of its node
    open_anchors: set[str] = set()
    # Per open collection: (its anchor, the expanded size of its children so far).
    stack: list[tuple[str | None, int]] = []
    top = 0
    for event in events:
        if isinstance(event, ScalarEvent | AliasEvent):
            if isinstance(event, AliasEvent):
                anchor = str(event.anchor or "")
                if anchor in open_anchors:
                    raise YamlLimitError(
                        f"YAML alias *{anchor} (line {_line(event)}) refers to a node that "
                        "contains it; recursive YAML is not read"
                    )
                size = anchors.get(anchor, 1)  # an undefined alias: the composer says so
            else:
                size = 1
                if event.anchor:
                    anchors[event.anchor] = 1
            top = _add(stack, top, size, limit)
        elif isinstance(event, CollectionStartEvent):
            if event.anchor:
                open_anchors.add(event.anchor)
            stack.append((event.anchor, 0))
        elif isinstance(event, CollectionEndEvent) and stack:
            opened, children = stack.pop()
            size = children + 1
            if opened:
                open_anchors.discard(opened)
                anchors[opened] = size
            top = _add(stack, top, size, limit)
        elif isinstance(event, yaml.DocumentEndEvent):
            yield top
            top = 0
            anchors.clear()  # anchors do not cross documents
            open_anchors.clear()


def _add(stack: list[tuple[str | None, int]], top: int, size: int, limit: int) -> int:
    if size > limit:
        raise _too_many(limit)
    if not stack:
        return top + size
    anchor, children = stack[-1]
    if children + size > limit:
        raise _too_many(limit)
    stack[-1] = (anchor, children + size)
    return top


def _too_many(limit: int) -> YamlLimitError:
    return YamlLimitError(
        f"YAML that expands to more than {limit:,} nodes (aliases repeating anchors, a "
        "\"billion laughs\" file?); harborguard reads at most that many per file"
    )


def _line(event: Event) -> int:
    mark = getattr(event, "start_mark", None)
    return int(getattr(mark, "line", -1)) + 1


def describe(exc: yaml.YAMLError) -> str:
    """One line: what is wrong and on which line."""
    if isinstance(exc, YamlLimitError):
        return str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return f"not valid YAML: {problem} (line {mark.line + 1}, column {mark.column + 1})"
        return f"not valid YAML: {problem}"
    return f"not valid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
