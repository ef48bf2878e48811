"""Harbor's retention task log, written as Harbor writes it: job.go's records and its
result table drawn by tablewriter v0.0.5 (RETENTION.md 6.2).

tablewriter v0.0.5, as job.go configures it: left and right borders, no top or bottom, a
centre separator ``|``; a header cell is centred (``Pad``: the odd space goes right), a
cell that reads as a number (``^-?(?:\\d{1,3}(?:,\\d{3})*|\\d+)(?:\\.\\d+)?$``) is
right-aligned, any other left-aligned; every cell has one space each side. job.go logs
the table as ``Infof("\\n%s", table)``, so the record's own line ends with ``]: `` and the
table follows, then one "Retention error for artifact" record per IMMUTABLE or ERR row.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

HEADER = ("Digest", "Tag", "Kind", "Labels", "PushedTime", "PulledTime", "CreatedTime",
          "Retention")
_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$")


@dataclass(frozen=True)
class Row:
    digest: str
    tags: Sequence[str]
    pushed: int  # UTC seconds; <= 0 is written as an empty cell
    pulled: int
    created: int
    mark: str  # RETAIN | DEL | IMMUTABLE | ERR
    error: str = ""  # the "Retention error" message of an IMMUTABLE or ERR row


def record(seconds: int, message: str, level: str = "INFO", line: int = 86) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    return f"{stamp} [{level}] [/pkg/retention/job.go:{line}]: {message}"


def table_time(seconds: int, zone_offset: int = 0) -> str:
    if seconds <= 0:
        return ""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(seconds + zone_offset))


def render_table(cells: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in HEADER]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def centred(text: str, width: int) -> str:
        gap = width - len(text)
        left = gap // 2
        return " " * left + text + " " * (gap - left)

    lines = ["|" + "|".join(f" {centred(h, w)} " for h, w in zip(HEADER, widths, strict=True))
             + "|",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in cells:
        lines.append("|" + "|".join(
            f" {c.rjust(w) if _NUMBER.match(c) else c.ljust(w)} "
            for c, w in zip(row, widths, strict=True)) + "|")
    return "\n".join(lines) + "\n"


def render_log(repository: str, rows: Sequence[Row], started: int, *, dry_run: bool = True,
               zone_offset: int = 0, failure: str | None = None) -> str:
    """The whole log of one task; ``repository`` is project/repo."""
    out = [record(started, f"Run retention process.\n Repository: {repository} \n Rule "
                           f"Algorithm: or \n Dry Run: {str(dry_run).lower()}", line=86)]
    if failure is not None:
        out.append(record(started, f"retention job: {failure}", "ERROR", 77))
        return "\n".join(out) + "\n"
    out.append(record(started, f"Load {len(rows)} candidates from repository {repository}",
                      line=101))
    cells = [(r.digest, ",".join(r.tags), "image", "", table_time(r.pushed, zone_offset),
              table_time(r.pulled, zone_offset), table_time(r.created, zone_offset), r.mark)
             for r in rows]
    out.append(record(started, "\n" + render_table(cells), line=212))
    namespace = repository.split("/", 1)[0]
    rest = repository.split("/", 1)[1]
    for r in rows:
        if r.mark in ("IMMUTABLE", "ERR"):
            out.append(record(started, f"Retention error for artifact image:{namespace}/{rest}"
                                       f":{r.digest} : {r.error or 'Immutable tag'}",
                              line=217))
    return "\n".join(out) + "\n"
