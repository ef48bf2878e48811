"""JSON in and out through orjson, with the standard library as the reference.

orjson (a compiled codec) reads a 36 MB snapshot about twice as fast as ``json`` and
writes a 100 MB report more than ten times as fast. Its edge cases differ (integers past
64 bits, NaN, lone surrogates), so whatever orjson refuses goes to ``json``, which then
decides exactly as before: the result, or the error a user sees, is the standard one.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    """``json.loads`` semantics (raises json.JSONDecodeError), orjson speed."""
    if _may_hold_big_integer(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_RUN = b"0" * 19  # 19 digits or more: possibly past 64 bits
_SPACE = b" \t\n\r"
_DIGIT = b"0123456789"


def _may_hold_big_integer(text: str | bytes) -> bool:
    """True when a number token may lie outside 64 bits, where orjson gives a float and
    ``json`` an exact int. Long digit runs are found with bytes.find on a copy whose
    digits are all '0' (a regular expression takes seconds on 36 MB); each is then looked
    at: a value follows a key's ':', '[' or ','; it ends at ',', ']', '}' or the end
    (after a fraction, exponent or spaces). A digest's digits follow "sha256:", not a key,
    so digests never send a snapshot to the slow path."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    marked = data.translate(_ZEROS)
    n = len(data)
    pos = marked.find(_RUN)
    while pos != -1:
        end = pos + len(_RUN)
        while end < n and marked[end] == 48:
            end += 1
        if _is_number_token(data, pos, end, n):
            return True
        pos = marked.find(_RUN, end)
    return False


def _is_number_token(data: bytes, start: int, end: int, n: int) -> bool:
    i = start - 1
    if i >= 0 and data[i] == 45:  # '-'
        i -= 1
    while i >= 0 and data[i] in _SPACE:
        i -= 1
    if i >= 0 and data[i] == 58:  # ':' after a key's closing quote
        i -= 1
        while i >= 0 and data[i] in _SPACE:
            i -= 1
        if i < 0 or data[i] != 34:
            return False
    elif i >= 0 and data[i] not in b"[,":
        return False
    j = end
    if j < n and data[j] == 46:  # '.'
        j += 1
        while j < n and data[j] in _DIGIT:
            j += 1
    if j < n and data[j] in b"eE":
        j += 1
        if j < n and data[j] in b"+-":
            j += 1
        while j < n and data[j] in _DIGIT:
            j += 1
    while j < n and data[j] in _SPACE:
        j += 1
    return j == n or data[j] in b",]}"


# ASCII with escapes, as json.dumps writes by default: a lone surrogate (a file name that
# is not UTF-8, as Python decodes it) is written as \udcff instead of failing to encode.
_std_encode = json.JSONEncoder(separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. Tuples become arrays; values orjson cannot encode (integers past
    64 bits) go through ``json``."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _std_encode(value).encode("ascii")


def dumps_indented(value: Any) -> bytes:
    """Indented UTF-8 JSON with a final newline (saved snapshots)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (json.dumps(value, indent=2) + "\n").encode("utf-8")
