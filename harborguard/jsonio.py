"""JSON in and out through msgspec, with the standard library as the reference.

msgspec (a compiled codec) reads a 36 MB snapshot several times as fast as ``json`` and
writes a 100 MB report more than ten times as fast; it also decodes into typed structures
(snapshot.py), skipping the fields harborguard does not read. Its edge cases differ
from ``json`` (NaN and Infinity, lone surrogates, numbers past a float's range), so
whatever msgspec refuses goes to ``json``, which then decides exactly as before: the
result, or the error a user sees, is the standard one. Integers of any size are read
exactly by both.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode
DecodeErrors = (msgspec.DecodeError, UnicodeDecodeError)


def loads(text: str | bytes | msgspec.Raw) -> Any:
    """``json.loads`` semantics (raises json.JSONDecodeError), msgspec speed."""
    try:
        return _decode(text)
    except DecodeErrors:  # ValidationError (a number past a float's range) included
        return json.loads(text if isinstance(text, str | bytes) else bytes(text))


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
