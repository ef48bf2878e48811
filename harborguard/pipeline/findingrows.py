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

from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

import msgspec

from harborguard.findings import SEVERITY, Finding
from harborguard.report.json import _ITEM_BREAK

_encode = msgspec.json.Encoder().encode
_FIRST = b'},{"severity":'
_BROKEN = _ITEM_BREAK + b'"severity":'
_EMPTY: list[Any] = []
_PLACE = itemgetter(0)  # what a row holds for its related list
_MORE = itemgetter(1)  # the bytes a mark stands for beyond its own


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


class Shares(Protocol):
    """Where the long ``related`` lists go (pipeline/writer.py's Spill): each is written
    once, and a row holds a mark in its place."""

    def write_list(self, encoded: bytes) -> tuple[int, msgspec.Raw, int]:
        """Writes ``encoded``: where it was written, the row's mark, and the bytes the
        mark stands for beyond its own."""

    def list_tail(self, start: int, length: int) -> tuple[msgspec.Raw, int]:
        """The mark of ``[`` followed by ``length`` bytes written from ``start``, and the
        bytes it stands for beyond its own."""


class _Longest(NamedTuple):
    """The longest related list met so far, written whole: a shorter one that ends it is
    a tail of its bytes."""

    related: tuple[Any, ...]
    start: int  # where its bytes were written
    ends: list[int]  # ends[i]: its bytes up to the comma after item i (the last: all)


def encode_findings(findings: Sequence[Finding], shares: Shares, shared_from: int
                    ) -> tuple[bytes, int]:
    """The findings as a JSON array, one per line, and the bytes their marks stand for
    beyond their own. A ``related`` tuple of ``shared_from`` artifacts or more is written
    once (``shares``) and a mark stands in the rows for it; a shorter one stays in the
    rows. The analysis's lists of the kept older versions are each the end of the
    repository's longest one (report/build.py's version-order-inversion findings name
    them newest first): such a list is not encoded or written again, its mark names its
    part of the longest one's bytes (``[`` and the items from its first on)."""
    if not findings:
        return b"[]", 0
    # By columns, the rows built by C-level maps: a large run has a finding per artifact.
    codes, messages, projects, repositories, digests, tags, rules, relateds, components, \
        environments = zip(*findings, strict=True)
    ids = list(map(id, relateds))
    marks: dict[int, tuple[msgspec.Raw | list[Any], int]] = {}
    longest: _Longest | None = None
    try:
        for key, related in dict(zip(ids, relateds, strict=True)).items():  # once each
            count = len(related)
            if not count:
                marks[key] = (_EMPTY, 0)
            elif count < shared_from:
                marks[key] = (msgspec.Raw(_encode([_Related(*r) for r in related])), 0)
            elif longest is not None and count <= len(longest.related) \
                    and longest.related[len(longest.related) - count:] == related:
                # Its first item follows the bracket or the comma of the one before.
                skip = 1 if count == len(longest.related) else \
                    longest.ends[len(longest.related) - count - 1]
                marks[key] = shares.list_tail(longest.start + skip, longest.ends[-1] - skip)
            else:
                items = [_encode(_Related(*r)) for r in related]
                start, mark, more = shares.write_list(b"[" + b",".join(items) + b"]")
                marks[key] = (mark, more)
                # After the bracket, each item and its comma (the last one's bracket):
                # ends[-1] is the list's length.
                longest = _Longest(related, start, [
                    1 + end for end in accumulate(len(item) + 1 for item in items)])
        placed = list(map(marks.__getitem__, ids))
        extra = sum(map(_MORE, placed))
        body = _encode(list(map(
            _Row, map(SEVERITY.__getitem__, codes), codes, projects, repositories, digests,
            tags, rules, map(_PLACE, placed), components, environments, messages)))
    except (TypeError, UnicodeEncodeError, OverflowError):
        raise Unencodable from None
    return body.replace(_FIRST, _BROKEN), extra
