"""The Markdown report's per-repository part: one folded ``<details>`` block per repository
("repo: keeps N, deletes M": its status, version ranges and storage, fate changes first
when the report comes from ``diff``, then the deletions), and how the blocks shrink to fit
the comment's size (fewer rows per repository, then whole repositories, the ones with
errors, fate changes and deletions kept first)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harborguard.report.common import STATUS_TEXT, short_digest, short_reason
from harborguard.report.markdowntext import (
    ARTIFACT_HINT,
    MORE_HINT,
    byte_size,
    html,
    md,
    plural,
    table_row,
)
from harborguard.report.storage import repository_storage_lines

# Rows shown per repository as the comment shrinks to fit (None: all of them).
_ROW_CAPS: tuple[int | None, ...] = (None, 50, 20, 10, 5, 0)
# No row is shorter: five cells, 16 bytes of separators, and "retain"/"delete" twice in a
# fate change or a 16-character push time in a deletion; a lower bound, used to skip caps.
_MIN_ROW_BYTES = 28


def _artifact_tags(artifact: dict[str, Any]) -> str:
    return ", ".join(artifact["tags"]) or f"(untagged {short_digest(artifact['digest'])})"


class RepositoryBlock:
    """One repository's ``<details>`` block, renderable with a cap on its rows."""

    def __init__(self, repo: dict[str, Any], artifacts: list[dict[str, Any]],
                 errors: int) -> None:
        self.name = repo["repository"]
        self.errors = errors
        deleted = [a for a in artifacts if a["action"] == "delete"]
        changed = [a for a in artifacts
                   if a.get("previous_action") not in (None, a["action"])]
        self.deleted = len(deleted)
        self.changes = len(changed)
        head = f"{self.name}: keeps {len(artifacts) - len(deleted)}, deletes {len(deleted)}"
        if any("previous_action" in a for a in artifacts):
            head += f" ({plural(len(changed), 'fate change')})"
        if errors:
            head += f" — {plural(errors, 'error')}"
        self.head = [f"<details><summary>{html(head)}</summary>", ""]
        intro: list[str] = []
        if repo["status"] != "evaluated":
            intro.append(md(STATUS_TEXT.get(repo["status"], repo["status"])))
        if repo.get("error"):
            intro.append(md(repo["error"]))
        if repo.get("versions"):
            intro.append("versions: " + md(repo["versions"]))
        intro += map(md, repository_storage_lines(repo, artifacts))
        if not deleted and not changed:
            intro.append("Nothing is deleted here.")
        self.intro = [line for text in intro for line in (text, "")]
        # Rows are escaped only when a cap lets them in: a large project has tens of
        # thousands of deletions and the comment shows a few hundred.
        self._changed = changed
        changed_ids = {id(a) for a in changed}
        self._deleted = [a for a in deleted if id(a) not in changed_ids]
        self._change_rows: list[str] = []
        self._delete_rows: list[str] = []

    @property
    def rows(self) -> int:
        return len(self._changed) + len(self._deleted)

    def _changes(self, n: int) -> list[str]:
        for a in self._changed[len(self._change_rows):n]:
            self._change_rows.append(table_row(md(_artifact_tags(a)), md(a["type"]),
                                               md(a["previous_action"]), md(a["action"]),
                                               md(_why(a))))
        return self._change_rows[:n]

    def _deletes(self, n: int) -> list[str]:
        for a in self._deleted[len(self._delete_rows):n]:
            self._delete_rows.append(table_row(md(_artifact_tags(a)), md(a["type"]),
                                               a["push_time"][:16].replace("T", " "),
                                               (a["pull_time"] or "never")[:10],
                                               md(_why(a))))
        return self._delete_rows[:n]

    def lines(self, cap: int | None) -> tuple[list[str], int]:
        """The block with at most ``cap`` rows (fate changes first); and the rows left out."""
        budget = self.rows if cap is None else cap
        out = [*self.head, *self.intro]
        changes = self._changes(budget)
        deletes = self._deletes(max(0, budget - len(changes)))
        if changes:
            out += [f"**Fate changes** ({len(self._changed)})", "",
                    table_row("tags", "type", "was", "now", "why"),
                    "| --- | --- | --- | --- | --- |", *changes, ""]
        if deletes:
            title = "Other deletions" if self._changed else "Deletions"
            out += [f"**{title}** ({len(self._deleted)})", "",
                    table_row("tags", "type", "pushed (UTC)", "pulled", "why"),
                    "| --- | --- | --- | --- | --- |", *deletes, ""]
        left = self.rows - len(changes) - len(deletes)
        if left:
            out += [md(f"… {left} more not shown here ({MORE_HINT})."), ""]
        out += ["</details>", ""]
        return out, left


def _why(artifact: dict[str, Any]) -> str:
    why = short_reason(artifact)
    if artifact["tie"]:
        why = f"(tie) {why}"
    uses = artifact.get("in_use") or []
    if uses:
        kinds = ", ".join(dict.fromkeys(f"{u['source']} {u['kind']}" for u in uses))
        why = f"IN USE ({kinds}); {why}"
    return why


def repository_blocks(report: dict[str, Any]) -> list[RepositoryBlock]:
    """A block per repository of the report, in the report's order."""
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for artifact in report["artifacts"]:
        by_repo[(artifact["project"], artifact["repository"])].append(artifact)
    errors: dict[str, int] = defaultdict(int)
    for f in report["findings"]:
        if f["severity"] == "error" and f["repository"]:
            errors[f["repository"]] += 1
    return [
        RepositoryBlock(repo, by_repo.get((repo["project"], repo["repository"]), []),
                        errors[repo["repository"]])
        for repo in report.get("repositories", [])
    ]


def fit_repositories(repos: list[RepositoryBlock],
                     budget: int) -> tuple[list[str], int, list[RepositoryBlock]]:
    """The repository blocks within ``budget``; the rows left out of the repositories shown;
    the repositories left out."""
    if not repos:
        return [], 0, []
    head = ["", "### Deletions by repository", ""]
    for cap in _ROW_CAPS:
        rows = sum(r.rows if cap is None else min(cap, r.rows) for r in repos)
        if cap != 0 and rows * _MIN_ROW_BYTES > budget:
            continue  # cannot fit: do not escape rows only to measure them
        blocks = [repo.lines(cap) for repo in repos]
        lines = head + [line for block, _ in blocks for line in block]
        if byte_size(lines) <= budget:
            return lines, sum(left for _, left in blocks), []
    # Even one line per repository is too much: keep the ones that matter most.
    blocks = [repo.lines(0) for repo in repos]
    priority = sorted(range(len(repos)),
                      key=lambda i: (-repos[i].errors, -repos[i].changes, -repos[i].deleted, i))
    reserve = 300
    used = byte_size(head) + reserve
    chosen: set[int] = set()
    for i in priority:
        cost = byte_size(blocks[i][0])
        if used + cost > budget:
            break
        chosen.add(i)
        used += cost
    omitted = [repos[i] for i in range(len(repos)) if i not in chosen]
    lines = head + [line for i in sorted(chosen) for line in blocks[i][0]]
    what = (f"{plural(len(omitted), 'more repository', 'more repositories')} not shown"
            if chosen else f"The details of all {len(omitted)} repositories are not shown")
    lines += [md(f"{what} ({plural(sum(r.deleted for r in omitted), 'deletion')}); "
                 f"{ARTIFACT_HINT}."), ""]
    return lines, sum(blocks[i][1] for i in chosen), omitted
