"""JSON in and out through msgspec, with the standard library as the reference.

msgspec (a compiled codec) reads a 36 MB snapshot several times as fast as ``json`` and
writes a 100 MB report more than ten times as fast; it also decodes into typed structures
(snapshot.py), skipping the fields harborguard does not read. Its edge cases differ
from ``json`` (NaN and Infinity, lone surrogates, numbers past a float's range), so
whatever msgspec refuses goes to ``json``, which then decides exactly as before: the
result, or the error a user sees, is the standard one. Integers of any size are read
exactly by both.

Two things become json.JSONDecodeError (BeyondLimits) too, so that every reader says
"not valid JSON (line, column: what)" with its own exit code rather than crash: arrays
and objects nested more than MAX_DEPTH (500) levels deep (msgspec and ``json`` recurse,
and so does much code that walks a value), and an integer longer than Python converts
from text (4,300 digits, sys.get_int_max_str_digits(), a guard against quadratic time).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode
DecodeErrors = (msgspec.DecodeError, UnicodeDecodeError)


def loads(text: str | bytes | msgspec.Raw) -> Any:
    """``json.loads`` semantics (raises json.JSONDecodeError), msgspec speed. Arrays and
    objects nested more than MAX_DEPTH levels deep are refused (BeyondLimits)."""
    try:
        value = _decode(text)
    except DecodeErrors:  # ValidationError (a number past a float's range) included
        value = _std_loads(text)
    except RecursionError:
        raise _too_deep(text) from None
    if type(value) in _CONTAINERS and _deeper_than(value, MAX_DEPTH):
        raise _too_deep(text)
    return value


def refuse_beyond_limits(value: Any, text: str) -> None:
    """For readers with a decoder of their own: raise BeyondLimits for a value read from
    ``text`` that nests deeper than MAX_DEPTH, as loads() does."""
    if type(value) in _CONTAINERS and _deeper_than(value, MAX_DEPTH):
        raise _too_deep(text)


def beyond_limits(text: str, exc: BaseException) -> BeyondLimits:
    """The BeyondLimits a decoder's RecursionError or ValueError (digits) stands for."""
    if isinstance(exc, RecursionError):
        return _too_deep(text)
    return _too_long(text, exc if isinstance(exc, ValueError) else ValueError(str(exc)))


def _std_loads(text: str | bytes | msgspec.Raw) -> Any:
    try:
        return json.loads(text if isinstance(text, str | bytes) else bytes(text))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError as exc:  # int(): more digits than sys.get_int_max_str_digits()
        raise _too_long(text, exc) from None


# Deeper than this, a value read would be walked by recursive code (comparisons, copies,
# redaction) near the interpreter's recursion limit (1,000 frames): refused where it is
# read, with its place in the file, rather than failing somewhere later. Harbor's and
# Kubernetes' own documents are a dozen levels deep.
MAX_DEPTH = 500
_CONTAINERS = (dict, list)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays/objects."""
    return keys_within(value, limit) is None


def keys_within(value: Any, limit: int) -> int | None:
    """How many keys the objects in ``value`` hold together, or None when it nests more
    than ``limit`` arrays/objects: level by level (no recursion, each container visited
    once), each level's objects and arrays taken in one comprehension apiece."""
    level = [value]
    depth = keys = 0
    while level:
        depth += 1
        if depth > limit:
            return None
        objects = [item for item in level if type(item) is dict]
        keys += sum(map(len, objects))
        below = [child for item in objects for child in item.values()
                 if type(child) in _CONTAINERS]
        below += [child for item in level if type(item) is not dict for child in item
                  if type(child) in _CONTAINERS]
        level = below
    return keys


class BeyondLimits(json.JSONDecodeError):
    """Valid JSON, perhaps, but past what can be read (nesting, digits): no other reader
    (YAML) should try it either."""


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+')


def _text(text: str | bytes | msgspec.Raw) -> str:
    return text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")


def _too_deep(text: str | bytes | msgspec.Raw) -> BeyondLimits:
    doc = _text(text)
    depth = 0
    for match in _TOKEN.finditer(doc):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return BeyondLimits(
                    f"arrays and objects nested too deeply to read (more than {MAX_DEPTH} "
                    "levels here)", doc, match.start())
        elif char in "]}":
            depth -= 1
    return BeyondLimits("arrays and objects nested too deeply to read", doc, 0)


def _too_long(text: str | bytes | msgspec.Raw, exc: ValueError) -> BeyondLimits:
    doc = _text(text)
    limit = sys.get_int_max_str_digits()
    for match in _NUMBER.finditer(doc):
        number = match.group()
        digits = len(number.lstrip("-"))
        if number[0] != '"' and limit and digits > limit:
            return BeyondLimits(
                f"a number of {digits} digits (at most {limit} are read)", doc, match.start())
    return BeyondLimits(f"a number that cannot be read ({exc})", doc, 0)


# What msgspec cannot encode (a lone surrogate: a file name that is not UTF-8, as Python
# decodes it) goes through ``json``, whose output with ensure_ascii=False is msgspec's
# byte for byte for every other character; the surrogates are then written as \udcff
# escapes. So one odd string changes only its own bytes, not those of the strings beside
# it (a report rendered in parts is the report rendered whole).
_std_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> bytes:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. Tuples become arrays."""
    try:
        return _encode(value)
    except (TypeError, UnicodeEncodeError, OverflowError):
        return _escape_surrogates(_std_encode(value))


def dumps_indented(value: Any) -> bytes:
    """Indented UTF-8 JSON with a final newline (saved snapshots)."""
    try:
        return msgspec.json.format(_encode(value), indent=2) + b"\n"
    except (TypeError, UnicodeEncodeError, OverflowError):
        return _escape_surrogates(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
