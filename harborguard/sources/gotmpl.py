"""Reading helmfile's Go-templated YAML (``.gotmpl``, helmfile.yaml) without executing it.

Templates can run programs (``exec``), read secrets and the environment; a CI job that only
wants to know which versions the repository names must never do that. So only a small
subset is resolved (``.Values.x`` from the same environment's values, ``.Environment.Name``)
and every other ``{{ ... }}`` is replaced by an inert token. Line numbers are kept, because
every usage names the line that declared it.
"""

from __future__ import annotations

import functools
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

# dotted path ("chartVersion", "image.tag") -> (value, "path:line" where it was declared);
# None when unset, False when it cannot be known (written twice: the branches of an `if`).
ValuesLookup = Callable[[str], "tuple[str, str] | None | bool"]


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
            before = match.string[match.start() - 1 : match.start()]
            if value.startswith('"') and before in ("'", '"'):
                value = value[1:-1]  # `"{{ .Values.v | quote }}"`: quoted once, as written
            if origin:
                origins.setdefault(line_no, origin)
            return value

        out.append(_STASHED.sub(substitute, line))
    return Rendered("\n".join(out), source_lines, origins)


def _resolve(
    action: str, environment: str, lookup: ValuesLookup | None
) -> tuple[str, str | None] | None:
    """The value of a trivial pipeline: ``.Values.x | quote``, ``default "a" .Values.x``...

    Only pure text functions are understood (quote, squote, toString, trim, default with a
    literal); anything else stays a template, and so unresolved.
    """
    stages = [stage.strip() for stage in action.split("|")]
    if not stages or any(not stage for stage in stages):
        return None
    head = stages[0].split(None, 1)
    if len(head) == 2 and head[0] in _TEXT_FUNCTIONS:
        stages[0:1] = [head[1], head[0]]  # `quote .Values.x` is `.Values.x | quote`
    found = _operand(stages[0], environment, lookup)
    if isinstance(found, bool):
        return None
    value, origin = found if found is not None else (None, None)
    quoted = False
    for stage in stages[1:]:
        words = stage.split(None, 1)
        if words[0] in ("quote", "squote") and len(words) == 1:
            quoted = True
        elif words[0] in ("toString", "trim") and len(words) == 1:
            pass
        elif words[0] == "default" and len(words) == 2:
            literal = _literal(words[1])
            if literal is None:
                return None
            if not value:
                value, origin = literal, None
        else:
            return None
    if value is None or not _SAFE_VALUE.match(value):
        return None
    return (f'"{value}"' if quoted else value), origin


_TEXT_FUNCTIONS = frozenset({"quote", "squote", "toString", "trim"})


def _operand(
    text: str, environment: str, lookup: ValuesLookup | None
) -> tuple[str, str | None] | None | bool:
    """A pipeline's first command: its value, None when the value is unset, False if unknown."""
    if _ENV_NAME.match(text):
        return environment, None
    literal = _literal(text)
    if literal is not None:
        return literal, None
    words = text.split(None, 1)
    if words[0] == "default" and len(words) == 2:
        # `default "x" .Values.y`: y when set and not empty, else x.
        head, _, rest = words[1].partition(" ")
        fallback = _literal(head)
        if fallback is None:
            return False
        found = _operand(rest.strip(), environment, lookup)
        if isinstance(found, bool):
            return False
        if found is None or not found[0]:
            return fallback, None
        return found
    match = _VALUES.match(text)
    if match is None or lookup is None:
        return False
    return lookup(match.group(1)[1:])


_STRING_LITERAL = re.compile(r'^"([^"\\]*)"$')


def _literal(text: str) -> str | None:
    match = _STRING_LITERAL.match(text.strip())
    return match.group(1) if match else None


def is_templated(value: str) -> bool:
    """A value still holding a masked action, or a raw one in a file helmfile does not render."""
    return bool(TOKEN.search(value)) or "{{" in value


def compose(text: str) -> list[Node]:
    """The YAML documents as nodes (which carry line numbers), bounded (yamlload.py).

    Raises yaml.YAMLError. The rollback window reads the same files at many commits:
    identical text is parsed once (nodes are never modified by the readers)."""
    if len(text) > _CACHED_TEXT:
        return yamlload.compose_all(text)
    return list(_compose_cached(text))


_CACHED_TEXT = 256 * 1024  # larger files are parsed each time: the cache stays small


@functools.lru_cache(maxsize=2048)
def _compose_cached(text: str) -> tuple[Node, ...]:
    return tuple(yamlload.compose_all(text))


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
