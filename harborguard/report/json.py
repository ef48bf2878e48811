"""``--format json``: the harborguard.report/v1 contract, verbatim.

Each top-level key on its own line and each list item on its own line: readable in a diff
or a pager. A list is encoded in one orjson call (one call per item costs several times
more on 100,000 artifacts) and then broken before every item: the byte sequence
``},{"<first key>":`` cannot occur inside a JSON string (every quote there is escaped), so
inserting a line break at it only ever adds whitespace between tokens.

``render_chunks`` gives the document as pieces to write one after another: a 100 MB report
is never copied into one string (each copy of that size costs a tenth of a second).
"""

from __future__ import annotations

from typing import Any

from harborguard.jsonio import dumps

_ITEM_BREAK = b"},\n    {"


def _list(items: list[Any], out: list[bytes | memoryview]) -> None:
    first = items[0]
    if isinstance(first, dict) and first and all(type(k) is str for k in first):
        key = dumps(next(iter(first)))
        body = dumps(items).replace(b"},{" + key + b":", _ITEM_BREAK + key + b":")
        out += (b"[\n    ", memoryview(body)[1:-1], b"\n  ]")
    else:
        out += (b"[\n    ", b",\n    ".join(dumps(item) for item in items), b"\n  ]")


def render_chunks(report: dict[str, Any]) -> list[bytes | memoryview]:
    out: list[bytes | memoryview] = [b"{\n"]
    last = len(report) - 1
    for n, (key, value) in enumerate(report.items()):
        out.append(b"  " + dumps(key) + b": ")
        if isinstance(value, list) and value:
            _list(value, out)
        else:
            out.append(dumps(value))
        out.append(b",\n" if n < last else b"\n}\n")
    return out


def render(report: dict[str, Any], colour: bool = False, width: int = 0,
           **options: Any) -> str:
    """The contract document; ``options`` (such as fail_on) are accepted and ignored."""
    return b"".join(render_chunks(report)).decode("utf-8")
