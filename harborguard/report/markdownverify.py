"""The Markdown report's verify section (only when the report has a ``verify`` key): where
Harbor's answer came from, then per repository "agrees on N of M" and its mismatches, in
the words of the table (harborguard.report.verifyview).

It is a list, one line per repository and one per mismatch named. To stay within the
comment's size it shrinks step by step: fewer mismatches named per repository, then none
(each stays in the errors table, and the repository's line counts them), then fewer
repositories, those with a difference or not compared first; a last line counts
the repositories not listed and how many of them differ.
"""

from __future__ import annotations

from typing import Any

from harborguard.report.markdowntext import MORE_HINT, byte_size, md, plural
from harborguard.report.verifyview import SHOWN, agreement, mismatches, origin

HEADING = "### Harbor's own dry run (verify)"
# (repositories listed, mismatches named per repository), tried in turn (None: all).
_STEPS: tuple[tuple[int | None, int], ...] = (
    (None, SHOWN), (None, 3), (None, 0), (200, 0), (50, 0), (10, 0), (0, 0))


def _differs(repo: dict[str, Any]) -> bool:
    return bool(repo["mismatch"] or repo["changed"] or repo["state"] != "compared")


def _lines(report: dict[str, Any], listed: int | None, named: int) -> tuple[list[str], int]:
    """The section listing at most ``listed`` repositories and naming at most ``named``
    mismatches of each; and how many repositories it leaves out."""
    section = report["verify"]
    every = section["repositories"]
    shown = every
    if listed is not None and listed < len(every):
        # those with a difference first (sorted is stable: each group in the report's order)
        shown = sorted(every, key=lambda r: not _differs(r))[:listed]
    said = mismatches(report)
    out = ["", HEADING, "", md(origin(section)), ""]
    for repo in shown:
        out.append("- " + md(f"{repo['repository']}: {agreement(repo)}"))
        found = said.get(repo["repository"], [])
        if named:
            out += ["  - " + md(text) for text in found[:named]]
            if len(found) > named:
                out.append("  - " + md(f"… and {len(found) - named} more (see the findings)"))
    left = len(every) - len(shown)
    if left:
        differ = sum(1 for r in every if _differs(r)) - sum(1 for r in shown if _differs(r))
        out.append("- " + md(f"… {plural(left, 'more repository', 'more repositories')} "
                             f"not listed here ({differ} with differences); {MORE_HINT}"))
    return out, left


def verify_lines(report: dict[str, Any], budget: int) -> tuple[list[str], int]:
    """The section within ``budget`` bytes if it can be (its last step otherwise); and
    how many repositories it leaves out. Empty when the report has no ``verify`` key."""
    if not report.get("verify"):
        return [], 0
    lines: list[str] = []
    left = 0
    for listed, named in _STEPS:
        lines, left = _lines(report, listed, named)
        if byte_size(lines) <= budget:
            break
    return lines, left
