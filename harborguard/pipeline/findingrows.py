"""Finding rows encoded straight from the analysis's Findings, for a report spilled to a
file: the bytes of ``render_items(finding_dicts(findings))`` with each long ``related``
list replaced by its mark (pipeline/writer.py), without building the dictionaries.

A large run has a finding per artifact (843,213 at 1,000,000 artifacts); building, marking
and encoding a dictionary for each costs 2.9 s there, encoding these structures 1.7 s.
msgspec writes a structure's fields in the order they are declared, which is the order
report/build.py's finding_dicts gives its keys; tests/pipeline/test_findingrows.py holds
the two equal. Whatever msgspec does not encode here (a lone surrogate in a tag read from
the snapshot, say) is left to the dictionaries' path (``Unencodable``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from harborguard.findings import SEVERITY, Finding
from harborguard.report.json import _ITEM_BREAK

_encode = msgspec.json.Encoder().encode
_FIRST = b'},{"severity":'
_BROKEN = _ITEM_BREAK + b'"severity":'
_EMPTY: list[Any] = []


class _Row(msgspec.Struct):
    """A finding's report row: finding_dicts's keys, in its order."""

    severity: str
    code: str
    project: Any
    repository: Any
    digest: Any
    tags: Any
    rule: Any
    related: Any
    component: Any
    environment: Any
    message: Any


class _Related(msgspec.Struct):
    digest: Any
    tags: Any


class Unencodable(Exception):
    """msgspec does not encode these findings as the dictionaries' path does."""


# (encoded list) -> (what the row holds in its place, bytes that stand for beyond its own)
Share = Callable[[bytes], tuple[msgspec.Raw, int]]


def encode_findings(findings: Sequence[Finding], share: Share, shared_from: int
                    ) -> tuple[bytes, int]:
    """The findings as a JSON array, one per line, and the bytes their marks stand for
    beyond their own. A ``related`` tuple of ``shared_from`` artifacts or more is encoded
    once and given to ``share``, which says what the rows hold in its place; a shorter one
    stays in the rows."""
    marks: dict[int, tuple[msgspec.Raw, int]] = {}
    get = marks.get
    rows: list[_Row] = []
    append_row = rows.append
    extra = 0
    try:
        for code, message, project, repository, digest, tags, rule, related, component, \
                environment in findings:
            place: msgspec.Raw | list[Any]
            if related:
                known = get(id(related))
                if known is None:
                    encoded = _encode([_Related(r.digest, r.tags) for r in related])
                    known = marks[id(related)] = (
                        share(encoded) if len(related) >= shared_from
                        else (msgspec.Raw(encoded), 0))
                place, more = known
                extra += more
            else:
                place = _EMPTY
            append_row(_Row(SEVERITY[code], code, project, repository, digest, tags, rule,
                            place, component, environment, message))
        body = _encode(rows)
    except (TypeError, UnicodeEncodeError, OverflowError):
        raise Unencodable from None
    return body.replace(_FIRST, _BROKEN), extra
