"""Reading helmfile's Go-templated YAML (``.gotmpl``, helmfile.yaml) without executing it.

Templates can run programs (``exec``), read secrets and the environment; a CI job that only
wants to know which versions the repository names must never do that. So only a small
subset is resolved (``.Values.x`` from the same environment's values, ``.Environment.Name``)
and every other ``{{ ... }}`` is replaced by an inert token. Line numbers are kept, because
every usage names the line that declared it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harborguard import yamlload

# Go template actions, including multi-line ones and trim markers ({{- ... -}}).
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_STASHED = re.compile(r"\x00(\d+)\x00")
_TOKEN_TEXT = "__hgtpl{}__"
TOKEN = re.compile(r"__hgtpl\d+__")
_VALUES = re.compile(r"^\.(?:State)?Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)$")
_ENV_NAME = re.compile(r"^\.Environment\.Name$")
# A substituted value must not change the YAML structure around it, whatever the quoting.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/:@+-]*$")
_NULL_TAG = "tag:yaml.org,2002:null"

# dotted path ("chartVersion", "image.tag") -> (value, "path:line" where it was declared)
ValuesLookup = Callable[[str], "tuple[str, str] | None"]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str  # YAML with the same line count as the source
    lines: tuple[str, ...]  # the source lines, to quote in messages
    # 1-based line -> where a substituted `.Values` value was declared.
    origins: dict[int, str]


def render(text: str, environment: str, lookup: ValuesLookup | None = None) -> Rendered:
    """Resolves the supported subset and masks every other template action."""
    actions: list[str] = []

    def stash(match: re.Match[str]) -> str:
        actions.append(match.group(1).strip())
        # Keep the newlines of a multi-line action so the lines after it keep their numbers.
        return f"\x00{len(actions) - 1}\x00" + "\n" * match.group(0).count("\n")

    staged = _ACTION.sub(stash, text)
    source_lines = tuple(text.split("\n"))
    if not actions:
        return Rendered(text, source_lines, {})
    origins: dict[int, str] = {}
    out: list[str] = []
    for number, line in enumerate(staged.split("\n"), start=1):
        if "\x00" not in line:
            out.append(line)
            continue
        if not _STASHED.sub("", line).strip():
            # A line of actions only is control flow ({{- if }}, {{ end }}) or a block a
            # function would print (toYaml ... | nindent); neither has a value to read.
            out.append("")
            continue

        def substitute(match: re.Match[str], line_no: int = number) -> str:
            index = int(match.group(1))
            resolved = _resolve(actions[index], environment, lookup)
            if resolved is None:
                return _TOKEN_TEXT.format(index)
            value, origin = resolved
            if origin:
                origins.setdefault(line_no, origin)
            return value

        out.append(_STASHED.sub(substitute, line))
    return Rendered("\n".join(out), source_lines, origins)


def _resolve(
    action: str, environment: str, lookup: ValuesLookup | None
) -> tuple[str, str | None] | None:
    if _ENV_NAME.match(action):
        return (environment, None) if _SAFE_VALUE.match(environment) else None
    match = _VALUES.match(action)
    if match is None or lookup is None:
        return None
    found = lookup(match.group(1)[1:])
    if found is None or not _SAFE_VALUE.match(found[0]):
        return None
    return found


def is_templated(value: str) -> bool:
    """A value still holding a masked action, or a raw one in a file helmfile does not render."""
    return bool(TOKEN.search(value)) or "{{" in value


def compose(text: str) -> list[Node]:
    """The YAML documents as nodes (which carry line numbers), bounded (yamlload.py).

    Raises yaml.YAMLError."""
    return yamlload.compose_all(text)


def yaml_error(exc: yaml.YAMLError) -> str:
    """One line: what is wrong and on which line."""
    return yamlload.describe(exc)


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def scalar(node: Node | None) -> str | None:
    """A scalar's text exactly as written (versions like 0.10 stay strings); None for null."""
    if not isinstance(node, ScalarNode) or node.tag == _NULL_TAG:
        return None
    value = node.value
    return value if isinstance(value, str) else None


def items(node: Node | None) -> Iterator[tuple[str, Node, Node]]:
    """(key, key node, value node) of a mapping with scalar keys; later duplicates win."""
    if not isinstance(node, MappingNode):
        return
    for key_node, value_node in node.value:
        key = scalar(key_node)
        if key is not None:
            yield key, key_node, value_node


def get(node: Node | None, key: str) -> Node | None:
    found: Node | None = None
    for name, _key_node, value in items(node):
        if name == key:
            found = value
    return found


def get_path(node: Node | None, dotted: str) -> Node | None:
    for part in dotted.split("."):
        node = get(node, part)
        if node is None:
            return None
    return node


def sequence(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def is_mapping(node: Node | None) -> bool:
    return isinstance(node, MappingNode)
