"""Reading kubectl output as documents: all of it, or none of it.

``kubectl get ... -o json >> f`` run twice leaves two JSON documents in one file; two
``-o yaml`` outputs appended without ``---`` leave one YAML mapping with every key twice,
where a plain loader keeps only the last ``items`` and drops the first List without a word.
So JSON documents are read one after another to the end, and a key that occurs twice in one
mapping (JSON or YAML) is refused: the file cannot be read as one, and half of it must
never be taken for all of it. The common case, one document, is read by msgspec and its
keys proved unique by counting (``_one_document``); anything else is read key by key.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import msgspec
import yaml

from harborguard import jsonio, yamlload

_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_SPACE_BEFORE_COLON = re.compile(r'"[ \t\n\r]+:')
_MERGE_TAG = "tag:yaml.org,2002:merge"


class Unreadable(Exception):
    """The text cannot be read completely; the message (one line, no file name) says why
    and, where it helps, how to fix it."""


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs)


def _duplicate_message(exc: _DuplicateKey) -> str:
    where = f" at line {exc.line}" if exc.line is not None else ""
    return (f"key {_show(exc.key)} occurs twice in one object{where}, so part of the data "
            "would be lost (two outputs appended without '---'?); save one `kubectl get` "
            "output per file, or separate the documents with '---'")


def json_documents(text: str) -> list[Any]:
    """Every JSON document in ``text``, one after another (whitespace between them).

    Raises json.JSONDecodeError for text that is not JSON (line and column), Unreadable
    for a duplicate key, a number too long or nesting too deep.
    """
    one = _one_document(text)
    if one is not None:
        return [one]
    documents: list[Any] = []
    index = _JSON_SPACE.match(text).end()  # type: ignore[union-attr]
    try:
        while index < len(text):
            document, index = _DECODER.raw_decode(text, index)
            documents.append(document)
            index = _JSON_SPACE.match(text, index).end()  # type: ignore[union-attr]
    except _DuplicateKey as exc:
        raise Unreadable(_duplicate_message(exc)) from None
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:  # nesting; an integer of thousands of digits
        raise jsonio.beyond_limits(text, exc) from None
    for document in documents:
        jsonio.refuse_beyond_limits(document, text)
    return documents


def _one_document(text: str) -> Any | None:
    """``text`` as one JSON document, decoded by msgspec (which keeps the last of a key
    that occurs twice) and proved to hold no key twice without visiting its keys one by
    one; None when that cannot be proved (several documents, a key twice, space before a
    colon, anything msgspec refuses), for the reader that decides key by key.

    The proof: with no space between any string and a colon, every key's closing quote
    is followed by its colon, so the text holds at most as many keys as it has '":' whose
    quote is not escaped (where no backslash is escaped before one, those that follow a
    backslash are; a string may still hold '":' by beginning with a colon). Objects
    decoded with a key twice hold fewer keys than the text; if they hold that many, the
    text has no more, and none was dropped."""
    try:
        document = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None
    if type(document) not in (dict, list) or _SPACE_BEFORE_COLON.search(text) or \
            '\\\\":' in text:
        return None
    keys = jsonio.keys_within(document, jsonio.MAX_DEPTH)
    if keys is None or keys != text.count('":') - text.count('\\":'):
        return None
    return document


class _StrictLoader(_SAFE_LOADER):  # type: ignore[misc]
    """The safe loader, refusing a key that occurs twice in one mapping (YAML 1.2 says
    keys are unique; PyYAML keeps the last silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # '<<: *base': merged keys may be overridden, by design
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable: the base class names that error
                    continue
                if duplicate:
                    raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def yaml_documents(text: str) -> list[Any]:
    """Every non-empty YAML document in ``text``, within yamlload's bounds (aliases
    expanded, nesting).

    Raises yaml.YAMLError for text that is not YAML, Unreadable for a duplicate key, a
    number too long, nesting too deep or a text past yamlload's bounds.
    """
    try:
        yamlload.check(text)
        return [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yamlload.YamlLimitError as exc:
        raise Unreadable(str(exc)) from None
    except _DuplicateKey as exc:
        raise Unreadable(_duplicate_message(exc)) from None
    except RecursionError:
        raise Unreadable("nested too deeply to read") from None
    except yaml.YAMLError:
        raise
    except ValueError as exc:
        raise Unreadable(_value_message(exc)) from None


def _value_message(exc: ValueError) -> str:
    text = str(exc)
    if "digits" in text:
        return (f"holds an integer too long to read (more than {sys.get_int_max_str_digits()} "
                "digits); no Kubernetes field is")
    return f"holds a value that cannot be read ({text.splitlines()[0][:100] if text else '?'})"


def looks_like_kubernetes(data: Any) -> bool:
    """A Kubernetes object (a ``kind``) or List (``items``)."""
    return isinstance(data, dict) and (
        isinstance(data.get("kind"), str) or isinstance(data.get("items"), list))


def as_one(documents: list[Any]) -> Any:
    """One document as it is; several as one List (whose items may be Lists themselves:
    the parser flattens them)."""
    if len(documents) == 1:
        return documents[0]
    return {"apiVersion": "v1", "kind": "List", "items": documents}


def _show(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
