"""The Markdown report's text: escaping for where text lands (a table cell or paragraph,
or raw HTML such as ``<summary>``), and the small pieces every section builds with (a
table row, a count with its noun, a section's size in bytes, the pointers to the full
report).

Text from the report is escaped for where it lands: table cells get Markdown escapes plus
HTML entities, ``<summary>`` (raw HTML, no Markdown inside) gets HTML entities only. A word
joiner (U+2060) goes after ``@ # ! ~ % $ &`` when a word follows, so a message such as
"ranked it #41" or a name with ``@`` does not become a GitLab issue link or a mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ARTIFACT_HINT = "see the JSON or JUnit report (the CI job's artifacts) for everything"
MORE_HINT = "see the JSON or JUnit report"

# XML 1.0 / terminal control characters (tab, newline and carriage return are handled apart).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_REFERENCE = re.compile(r"([@#!~%$&])(?=\w)")
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~])")


def _clean(value: object) -> str:
    text = _CONTROL.sub("", str(value)).replace("\t", " ")
    text = _NEWLINES.sub(" ", text)
    return _REFERENCE.sub("\\1\u2060", text)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md(value: object) -> str:
    """Inline Markdown text (a table cell or a paragraph) that renders as the literal text."""
    return _entities(_MD_PUNCT.sub(r"\\\1", _clean(value)))


def html(value: object) -> str:
    """Text inside raw HTML (``<summary>``), where Markdown is not interpreted."""
    return _entities(_clean(value)).replace('"', "&quot;")


def byte_size(lines: Iterable[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def table_row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"
