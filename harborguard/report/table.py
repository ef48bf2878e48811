"""``--format table``: a terminal view grouped by repository, built with rich."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

ACTION_STYLE = {"retain": "green", "delete": "bold red", "immutable": "cyan"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
STATUS_TEXT = {
    "no-policy": "the project has no retention policy: everything stays",
    "no-rules": "the policy has no rules: everything stays",
    "launch-failed": "the retention job fails before it starts: everything stays",
    "not-in-scope": "not covered by any rule: everything stays",
    "failed": "Harbor's task fails here: everything stays",
    "no-rule-ran": "no rule ran (empty tag selectors): everything stays",
}


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def _short_digest(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest


def render(report: dict[str, Any], colour: bool = False, width: int = 120) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=colour,
        no_color=not colour,
        color_system="auto" if colour else None,
        width=width,
        highlight=False,
        soft_wrap=False,
    )
    source = report["source"]
    origin = source["snapshot"] or source["harbor"] or "?"
    policy = "each project's own policy" if source["policy"] == "harbor" else source["policy"]
    console.print(
        Text.assemble(
            ("harborguard simulate", "bold"),
            f"  {origin}  policy: {policy}  now: {report['now']}  "
            f"order: {report['order']}  Harbor: {report['harbor_version']}",
        )
    )
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for artifact in report["artifacts"]:
        by_repo[(artifact["project"], artifact["repository"])].append(artifact)
    rules_by_project = {
        p["project"]: {r["index"]: r["description"] for r in (p["policy"] or {}).get("rules", [])}
        for p in report["projects"]
    }
    for repo in report["repositories"]:
        rows = by_repo.get((repo["project"], repo["repository"]), [])
        _render_repository(console, repo, rows, rules_by_project.get(repo["project"], {}))
    _render_findings(console, report)
    s = report["summary"]
    console.print()
    verdict = Text.assemble(
        ("Summary: ", "bold"),
        f"{s['artifacts']} artifacts in {len(report['repositories'])} repositories: ",
        (f"{s['delete']} deleted", ACTION_STYLE["delete"] if s["delete"] else ""),
        ", ",
        (f"{s['retain']} kept", ACTION_STYLE["retain"]),
        ", ",
        (f"{s['immutable']} saved by immutable tags", ACTION_STYLE["immutable"]),
        f"; up to {human_bytes(s['bytes_deleted'])} freed after garbage collection; ",
        (f"{s['errors']} errors", SEVERITY_STYLE["error"] if s["errors"] else ""),
        ", ",
        (f"{s['warnings']} warnings", SEVERITY_STYLE["warning"] if s["warnings"] else ""),
    )
    if report["incomplete"]:
        verdict.append(f"; INCOMPLETE: {len(report['incomplete'])} items missing", "bold red")
    console.print(verdict)
    return buffer.getvalue()


def _render_repository(
    console: Console, repo: dict[str, Any], rows: list[dict[str, Any]], rules: dict[int, str]
) -> None:
    console.print()
    title = Text(repo["repository"], style="bold")
    status = repo["status"]
    if status != "evaluated":
        title.append(f"  {len(rows)} artifacts; {STATUS_TEXT.get(status, status)}", "dim")
        console.print(title)
        if repo.get("error"):
            console.print(Text(f"  {repo['error']}", style="red"))
        return
    deleted = sum(1 for r in rows if r["action"] == "delete")
    applied = ", ".join(f"rule {i} ({rules.get(i, '?')})" for i in repo["rules"])
    title.append(f"  {len(rows)} artifacts: keeps {len(rows) - deleted}, deletes {deleted}")
    title.append(f"  [{applied}]", "dim")
    console.print(title)
    if not rows:
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("action", no_wrap=True)
    table.add_column("tags", overflow="fold", max_width=48)
    table.add_column("digest", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("pushed", no_wrap=True)
    table.add_column("pulled", no_wrap=True)
    table.add_column("why", overflow="fold")
    for row in rows:
        action = Text(row["action"], style=ACTION_STYLE[row["action"]])
        if row["tie"]:
            action.append(" (tie)", "yellow")
        table.add_row(
            action,
            ", ".join(row["tags"]) or "(untagged)",
            _short_digest(row["digest"]),
            row["type"],
            row["push_time"].replace("T", " ").rstrip("Z"),
            (row["pull_time"] or "never").replace("T", " ").rstrip("Z"),
            row["reason"],
        )
    console.print(table)


def _render_findings(console: Console, report: dict[str, Any]) -> None:
    if report["findings"]:
        console.print()
        console.print(Text("Findings", style="bold"))
        for f in report["findings"]:
            where = f["repository"] or f["project"] or ""
            line = Text("  ")
            line.append(f"{f['severity']:<7}", SEVERITY_STYLE[f["severity"]])
            line.append(f" {f['code']}  {where}: {f['message']}")
            console.print(line)
    if report["incomplete"]:
        console.print()
        console.print(Text("Missing data (the result is incomplete)", style="bold red"))
        for item in report["incomplete"]:
            console.print(f"  {item['what']}: {item['reason']}")
    for note in report.get("notes", []):
        console.print(Text(f"note: {note}", style="yellow"))
