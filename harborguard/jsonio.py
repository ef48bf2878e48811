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
from typing import Any

import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode
DecodeErrors = (msgspec.DecodeError, UnicodeDecodeError)


def loads(text: str | bytes) -> Any:
    """``json.loads`` semantics (raises json.JSONDecodeError), msgspec speed."""
    try:
        return _decode(text)
    except DecodeErrors:  # ValidationError (a number past a float's range) included
        return json.loads(text)


# ASCII with escapes, as json.dumps writes by default: a lone surrogate (a file name that
# is not UTF-8, as Python decodes it) is written as \udcff instead of failing to encode.
_std_encode = json.JSONEncoder(separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. Tuples become arrays; what msgspec cannot encode (a lone
    surrogate) goes through ``json``."""
    try:
        return _encode(value)
    except (TypeError, UnicodeEncodeError, OverflowError):
        return _std_encode(value).encode("ascii")


def dumps_indented(value: Any) -> bytes:
    """Indented UTF-8 JSON with a final newline (saved snapshots)."""
    try:
        return msgspec.json.format(_encode(value), indent=2) + b"\n"
    except (TypeError, UnicodeEncodeError, OverflowError):
        return (json.dumps(value, indent=2) + "\n").encode("utf-8")
