"""What the table, Markdown and JUnit formats read of a run's artifact rows, so that a run
keeps only that as its repositories stream past (harborguard.pipeline).

Those formats print the artifacts they name (deleted, changed, in use, tied; the table's
repositories in full when it shows every repository, else only those needing a person's
eye) and only count the others. A row they only count is kept as a stand-in: one dict
per repository, action and previous action, shared by every such row, with what the
counting reads (``project``, ``repository``, ``action``, ``in_use``, ``tie``,
``previous_action``). The rendered text is byte for byte the one the full rows give
(tests/report/test_needs.py). JSON (its rows stream to the file or are all printed),
Code Quality and Prometheus keep every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harborguard.findings import SEVERITY, Finding
from harborguard.report.table import REPOS_IN_FULL, _notable


class CountedRow(dict[str, Any]):
    """A stand-in for the artifact rows a format only counts (never in a JSON report)."""


# (the repository's row, its artifact rows, the findings that name it) -> rows to keep
Keeper = Callable[[dict[str, Any], list[dict[str, Any]], Sequence[Finding]],
                  list[dict[str, Any]]]


def artifact_keeper(fmt: str, repositories: int, said: Iterable[Finding]) -> Keeper | None:
    """How ``fmt`` wants each repository's artifact rows kept, for a run of
    ``repositories`` repositories; ``said``: the run's findings known before any
    repository is evaluated (the evidence's own). None: keep every row."""
    if fmt == "table":
        if repositories <= REPOS_IN_FULL:
            return None  # every repository is shown in full
        flagged = {f.repository for f in said if SEVERITY[f.code] == "error" and f.repository}
        return lambda repo, rows, found: _table(repo, rows, found, flagged)
    if fmt in ("markdown", "junit"):
        return _deleted_or_changed
    return None


def _table(repo: dict[str, Any], rows: list[dict[str, Any]], found: Sequence[Finding],
           flagged: set[str]) -> list[dict[str, Any]]:
    """A repository the table details (failed, in use, tied, changed, or named by an
    error) keeps its rows; any other is a line of counts."""
    named = flagged | {f.repository for f in found
                       if SEVERITY[f.code] == "error" and f.repository}
    if _notable(repo, rows, {name for name in named if name}):
        return rows
    return _counted(rows, lambda row: False)


def _deleted_or_changed(repo: dict[str, Any], rows: list[dict[str, Any]],
                        found: Sequence[Finding]) -> list[dict[str, Any]]:
    """Markdown and JUnit list what is deleted and what changes fate, and count the rest."""
    return _counted(rows, lambda row: row["action"] == "delete"
                    or row.get("previous_action", row["action"]) != row["action"])


def _counted(rows: list[dict[str, Any]], shown: Callable[[dict[str, Any]], bool]
             ) -> list[dict[str, Any]]:
    stand_ins: dict[tuple[str, str | None], CountedRow] = {}
    out = []
    for row in rows:
        if shown(row):
            out.append(row)
            continue
        key = (row["action"], row.get("previous_action"))
        stand_in = stand_ins.get(key)
        if stand_in is None:
            stand_in = stand_ins[key] = CountedRow(
                project=row["project"], repository=row["repository"], action=row["action"],
                in_use=(), tie=False)
            if "previous_action" in row:
                stand_in["previous_action"] = row["previous_action"]
        out.append(stand_in)
    return out
