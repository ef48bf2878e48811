"""``--format json``: the harborguard.report/v1 contract, verbatim.

Each top-level key on its own line and each list item on its own line: readable in a diff
or a pager. A list is encoded in one msgspec call (one call per item costs several times
more on 100,000 artifacts) and then broken before every item: the byte sequence
``},{"<first key>":`` cannot occur inside a JSON string (every quote there is escaped), so
inserting a line break at it only ever adds whitespace between tokens.

``render_chunks`` gives the document as pieces to write one after another: a 100 MB report
is never copied into one string (each copy of that size costs a tenth of a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import msgspec

from harborguard.jsonio import dumps

_encode = msgspec.json.Encoder().encode

_ITEM_BREAK = b"},\n    {"
_SEPARATOR = b",\n    "


class Hole(NamedTuple):
    """Bytes of a report written into the file by a part of the run (harborguard.pipeline
    spills its long lists as their rows come): array ``key`` of part ``part``, without its
    brackets, ``size`` bytes long."""

    part: int
    key: tuple[str, int]  # (report list, index of the array in its Items)
    size: int


class Items(NamedTuple):
    """A report list already rendered: ``arrays``, each a JSON array of some of its items
    one per line (``[a,\n    b]``) or a Hole, written one after another as one list. A
    report may hold one in place of a list; lists rendered in pieces and joined are byte
    for byte the list rendered whole."""

    arrays: tuple[bytes | Hole, ...]
    length: int


def render_items(items: list[Any]) -> Items:
    if not items:
        return Items((), 0)
    first = items[0]
    if isinstance(first, msgspec.Struct):  # rows as structures (report/build.ArtifactRow)
        key = dumps(first.__struct_fields__[0])
        try:
            body = _encode(items)
        except (TypeError, UnicodeEncodeError, OverflowError):  # what only json takes
            return render_items(list(map(msgspec.structs.asdict, items)))
        return Items((body.replace(b"},{" + key + b":", _ITEM_BREAK + key + b":"),),
                     len(items))
    if isinstance(first, dict) and first and all(type(k) is str for k in first):
        key = dumps(next(iter(first)))
        body = dumps(items).replace(b"},{" + key + b":", _ITEM_BREAK + key + b":")
    else:
        body = b"[" + _SEPARATOR.join(dumps(item) for item in items) + b"]"
    return Items((body,), len(items))


Chunk = bytes | memoryview | Hole


def render_chunks(report: dict[str, Any]) -> list[Chunk]:
    """The document as pieces to write one after another; a Hole stands for bytes another
    process writes there (write them with the offsets ``layout`` gives)."""
    out: list[Chunk] = [b"{\n"]
    last = len(report) - 1
    for n, (key, value) in enumerate(report.items()):
        out.append(b"  " + dumps(key) + b": ")
        if isinstance(value, list):
            value = render_items(value)
        if isinstance(value, Items):
            if value.length:
                out.append(b"[\n    ")
                for i, array in enumerate(value.arrays):
                    if i:
                        out.append(_SEPARATOR)
                    out.append(array if isinstance(array, Hole) else memoryview(array)[1:-1])
                out.append(b"\n  ]")
            else:
                out.append(b"[]")
        else:
            out.append(dumps(value))
        out.append(b",\n" if n < last else b"\n}\n")
    return out


def render(report: dict[str, Any], colour: bool = False, width: int = 0,
           **options: Any) -> str:
    """The contract document; ``options`` (such as fail_on) are accepted and ignored."""
    # A whole report has no Holes (a Hole here would fail the join, not vanish).
    return b"".join(cast(list[bytes | memoryview], render_chunks(report))).decode("utf-8")


def layout(chunks: Sequence[Chunk]) -> tuple[list[tuple[int, bytes | memoryview]],
                                               dict[int, list[tuple[tuple[str, int], int]]],
                                               int]:
    """Where every piece of the document goes: (offset, bytes) of those this process
    writes, (key, offset) of each part's Holes, and the total size."""
    own: list[tuple[int, bytes | memoryview]] = []
    holes: dict[int, list[tuple[tuple[str, int], int]]] = {}
    offset = 0
    for chunk in chunks:
        if isinstance(chunk, Hole):
            holes.setdefault(chunk.part, []).append((chunk.key, offset))
            offset += chunk.size
        else:
            own.append((offset, chunk))
            offset += len(chunk)
    return own, holes, offset
