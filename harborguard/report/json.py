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

import os
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from harborguard.jsonio import dumps

_ITEM_BREAK = b"},\n    {"
_SEPARATOR = b",\n    "


class Hole(NamedTuple):
    """Bytes of a report that another process writes into the file: array ``key`` of
    part ``part`` (harborguard.parallel), without its brackets, ``size`` bytes long."""

    part: int
    key: tuple[str, int]  # (report list, index of the array in its Items)
    size: int


class Items(NamedTuple):
    """A report list already rendered: ``arrays``, each a JSON array of some of its items
    one per line (``[a,\n    b]``), written one after another as one list. A report may
    hold one in place of a list; lists rendered in the parts of a run and joined are byte
    for byte the list rendered whole. Arrays are kept whole (not sliced into their
    insides) so that a part sends them to another process without a copy."""

    arrays: tuple[bytes | Hole, ...]
    length: int


def render_items(items: list[Any]) -> Items:
    if not items:
        return Items((), 0)
    first = items[0]
    if isinstance(first, dict) and first and all(type(k) is str for k in first):
        key = dumps(next(iter(first)))
        body = dumps(items).replace(b"},{" + key + b":", _ITEM_BREAK + key + b":")
    else:
        body = b"[" + _SEPARATOR.join(dumps(item) for item in items) + b"]"
    return Items((body,), len(items))


def join_items(parts: Sequence[Items]) -> Items:
    return Items(tuple(a for p in parts for a in p.arrays), sum(p.length for p in parts))


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


def hollow(report: dict[str, Any], part: int) -> dict[tuple[str, int], bytes]:
    """Takes a part's rendered arrays (render_part) out of its report, leaving Holes: the
    report goes to the process that lays out the file, the arrays stay to be written."""
    arrays: dict[tuple[str, int], bytes] = {}
    for key in PART_LISTS:
        items = report[key]
        holes = []
        for i, array in enumerate(items.arrays):
            assert isinstance(array, bytes)
            arrays[(key, i)] = array
            holes.append(Hole(part, (key, i), len(array) - 2))
        report[key] = Items(tuple(holes), items.length)
    return arrays


def write_array(fd: int, array: bytes, offset: int) -> None:
    """One array, without its brackets, where ``layout`` placed its Hole."""
    view = memoryview(array)[1:-1]
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


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


# The lists a run in parts (harborguard.parallel) renders in each part and joins.
PART_LISTS = ("projects", "repositories", "artifacts", "findings")


def render_part(report: dict[str, Any]) -> dict[str, Any]:
    """A part's report with its long lists rendered (small to send back, no re-encoding)."""
    for key in PART_LISTS:
        report[key] = render_items(report[key])
    return report


def join_parts(parts: Sequence[dict[str, Any]], notes: Sequence[str] = ()) -> dict[str, Any]:
    """The whole run's report from its parts' (render_part), in order: the long lists and
    the incomplete entries and notes joined, the summary's counts added up; ``notes``
    (run-wide, known only from all parts) come last."""
    report = dict(parts[0])
    for key in PART_LISTS:
        report[key] = join_items([p[key] for p in parts])
    report["incomplete"] = [item for p in parts for item in p["incomplete"]]
    report["notes"] = [note for p in parts for note in p["notes"]] + list(notes)
    report["summary"] = {key: sum(p["summary"][key] for p in parts) for key in report["summary"]}
    return report
