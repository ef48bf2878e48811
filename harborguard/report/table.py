"""``--format table``: a terminal view grouped by repository, built with rich."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harborguard.report.common import (
    LEGEND,
    NO_EVIDENCE,
    STATUS_TEXT,
    evidence_given,
    evidence_line,
    human_bytes,
    is_chart_finding,
    not_checked,
    places_by_kind,
    short_digest,
    short_reason,
)
from harborguard.report.storage import repository_storage_lines, storage_text

# Repositories with more artifacts than this list only the rows that matter.
ROWS_IN_FULL = 40
# More repositories than this: an overview line each, and tables for at most DETAILS_SHOWN
# of those that matter.
REPOS_IN_FULL = 30
DETAILS_SHOWN = 20
ACTION_STYLE = {"retain": "green", "delete": "bold red", "immutable": "cyan"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
def render(report: dict[str, Any], colour: bool = False, width: int = 120,
           **options: Any) -> str:
    """The terminal view; ``options`` (such as fail_on) are accepted and ignored."""
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
    if report.get("command") == "drift":
        return _render_drift(console, buffer, report)
    origin = source["snapshot"] or source["harbor"] or "?"
    policy = "each project's own policy" if source["policy"] == "harbor" else source["policy"]
    if "against" in source:
        against = "each project's own" if source["against"] == "harbor" else source["against"]
        policy = f"{policy} (compared with {against})"
    console.print(Text.assemble((f"harborguard {report.get('command', 'simulate')} ", "bold"),
                                origin))
    console.print(
        f"policy: {policy}; now: {report['now']}; order: {report['order']}; "
        f"Harbor behaviour: {report['harbor_version']}",
        style="dim",
    )
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for artifact in report["artifacts"]:
        by_repo[(artifact["project"], artifact["repository"])].append(artifact)
    rules_by_project = {
        p["project"]: {r["index"]: r["description"] for r in (p["policy"] or {}).get("rules", [])}
        for p in report["projects"]
    }
    repositories = report["repositories"]
    if len(repositories) <= REPOS_IN_FULL:
        for repo in repositories:
            rows = by_repo.get((repo["project"], repo["repository"]), [])
            _render_repository(console, repo, rows, rules_by_project.get(repo["project"], {}))
    else:
        # A large project: a line per repository, and tables only for the ones that need a
        # person's eye (in use, tied, changed, failed, or named by an error). A terminal
        # of tens of thousands of rows helps nobody, and rich takes a minute to lay it out.
        _render_overview(console, repositories, by_repo)
        flagged = {f["repository"] for f in report["findings"] if f["severity"] == "error"}
        notable = [r for r in repositories
                   if _notable(r, by_repo.get((r["project"], r["repository"]), []), flagged)]
        for repo in notable[:DETAILS_SHOWN]:
            rows = by_repo.get((repo["project"], repo["repository"]), [])
            _render_repository(console, repo, rows, rules_by_project.get(repo["project"], {}))
        if len(notable) > DETAILS_SHOWN:
            console.print()
            console.print(Text(f"... {len(notable) - DETAILS_SHOWN} more repositories with "
                               "artifacts in use, tied, changed or failing: --format json or "
                               "markdown lists them", style="dim"))
    if report["artifacts"]:
        console.print()
        console.print(Text(LEGEND, style="dim"))
    _render_findings(console, report)
    _render_verdict(console, report)
    from harborguard.report.protectview import text_lines
    from harborguard.report.verifyview import text_lines as verify_lines

    for lines in (text_lines(report), verify_lines(report)):
        for number, line in enumerate(lines):
            if number == 0:
                console.print()
            console.print(Text(line, style="bold" if number == 0 else ""))
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
        (f"{s['errors']} {'error' if s['errors'] == 1 else 'errors'}",
         SEVERITY_STYLE["error"] if s["errors"] else ""),
        ", ",
        (f"{s['warnings']} {'warning' if s['warnings'] == 1 else 'warnings'}",
         SEVERITY_STYLE["warning"] if s["warnings"] else ""),
    )
    if report["incomplete"]:
        verdict.append(f"; INCOMPLETE: {len(report['incomplete'])} items missing", "bold red")
    console.print(verdict)
    storage = storage_text(report)
    if storage is not None:
        console.print(Text(storage))
    return buffer.getvalue()


def _render_repository(
    console: Console, repo: dict[str, Any], rows: list[dict[str, Any]], rules: dict[int, str]
) -> None:
    console.print()
    title = Text(repo["repository"], style="bold")
    status = repo["status"]
    if status != "evaluated":
        said = STATUS_TEXT.get(status, status)
        if status == "not-in-scope" and rows and ": rule " in rows[0]["reason"]:
            said = f"{rows[0]['reason']}: everything stays"  # names the disabled rule
        title.append(f"  {len(rows)} artifacts; {said}", "dim")
        console.print(title)
        if repo.get("error"):
            console.print(Text(f"  {repo['error']}", style="red"))
        return
    deleted = sum(1 for r in rows if r["action"] == "delete")
    changed = [r for r in rows if r.get("previous_action", r["action"]) != r["action"]]
    if "previous_action" in (rows[0] if rows else {}):
        # diff: what the new policy changes comes first.
        rows = changed + [r for r in rows if r not in changed]
    applied = ", ".join(f"rule {i} ({rules.get(i, '?')})" for i in repo["rules"])
    title.append(f"  {len(rows)} artifacts: keeps {len(rows) - deleted}, deletes {deleted}")
    title.append(f"  [{applied}]", "dim")
    if changed:
        title.append(f"  {len(changed)} fate changes", "bold yellow")
    console.print(title)
    if repo.get("versions"):
        console.print(Text(f"  versions: {repo['versions']}", style="cyan"))
    for line in repository_storage_lines(repo, rows):
        console.print(Text(f"  {line}", style="dim"))
    if not rows:
        return
    hidden = 0
    if len(rows) > ROWS_IN_FULL:
        # Long repositories: every kept artifact and every deletion that matters (in use,
        # tied, changed by a diff); the rest are counted (the versions line names them).
        shown = [r for r in rows if r["action"] != "delete" or r["in_use"] or r["tie"]
                 or r.get("previous_action", r["action"]) != r["action"]]
        hidden = len(rows) - len(shown)
        rows = shown or rows[:ROWS_IN_FULL]
    width = console.width
    # Narrow terminals (80 columns): the columns that matter least go first (pulled, then
    # the time of day, then the type); long tags keep their end (`..._image`); the reason
    # and the use wrap rather than being cut.
    show_pulled, full_time, show_type = width >= 110, width >= 95, width >= 75
    tag_width = min(48 if width >= 110 else width // 3,
                    max(len(_tags_cell(row)) for row in rows))
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    diffing = any(r.get("previous_action", r["action"]) != r["action"] for r in rows)
    table.add_column("action", no_wrap=True, min_width=19 if diffing else 9)
    table.add_column("tags", no_wrap=True, min_width=tag_width, max_width=tag_width,
                     overflow="ellipsis")
    if show_type:
        table.add_column("type", no_wrap=True, min_width=5)
    table.add_column("pushed (UTC)" if full_time else "pushed", no_wrap=True,
                     min_width=19 if full_time else 10)
    if show_pulled:
        table.add_column("pulled", no_wrap=True, min_width=10)
    table.add_column("why", overflow="fold")
    table.add_column("in use", overflow="fold", min_width=10)
    for row in rows:
        action = Text(row["action"], style=ACTION_STYLE[row["action"]])
        if row["in_use"]:
            action.append(" *", "bold red" if row["action"] == "delete" else "bold")
        before = row.get("previous_action", row["action"])
        if before != row["action"]:
            action = Text.assemble((before, ACTION_STYLE[before]), " -> ", action)
        if row["tie"]:
            action.append(" (tie)", "yellow")
        pushed = row["push_time"].replace("T", " ").rstrip("Z")
        tags = _tags_cell(row)
        if len(tags) > tag_width:
            tags = tags[: tag_width - 8] + "…" + tags[-7:]
        cells: list[Text | str] = [action, tags]
        if show_type:
            cells.append(row["type"])
        cells.append(pushed if full_time else pushed[:10])
        if show_pulled:
            cells.append((row["pull_time"] or "never")[:10])
        table.add_row(*cells, short_reason(row), _usage_cell(row))
    console.print(table)
    if hidden:
        console.print(Text(f"  ... and {hidden} more deleted artifacts, none of them in use "
                           "(--format json lists every artifact)", style="dim"))


def _notable(repo: dict[str, Any], rows: list[dict[str, Any]], flagged: set[str]) -> bool:
    if repo["status"] == "failed" or repo["repository"] in flagged:
        return True
    return any(r["in_use"] or r["tie"] or r.get("previous_action", r["action"]) != r["action"]
               for r in rows)


def _render_overview(
    console: Console, repositories: list[dict[str, Any]],
    by_repo: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    """One line per repository, laid out by hand in one Text (fast for thousands)."""
    console.print()
    console.print(Text(f"{len(repositories)} repositories", style="bold"))
    name_width = min(56, max(len(r["repository"]) for r in repositories))
    text = Text()
    for n, repo in enumerate(repositories):
        rows = by_repo.get((repo["project"], repo["repository"]), [])
        deleted = sum(1 for r in rows if r["action"] == "delete")
        name = repo["repository"]
        if len(name) > name_width:
            name = name[: name_width - 1] + "…"
        if n:
            text.append("\n")
        text.append(f"  {name:<{name_width}}  {len(rows):>6} artifacts  keeps "
                    f"{len(rows) - deleted:>6}  deletes ")
        text.append(f"{deleted:>6}", ACTION_STYLE["delete"] if deleted else "")
        status = repo["status"]
        if status != "evaluated":
            text.append(f"  {STATUS_TEXT.get(status, status)}", "dim")
        elif repo.get("versions"):
            text.append(f"  {repo['versions']}", "cyan")
    console.print(text, no_wrap=True, overflow="ellipsis")


def _usage_cell(row: dict[str, Any]) -> str:
    uses = row["in_use"]
    if not uses:
        return ""
    return places_by_kind([u["kind"] for u in uses])


def _tags_cell(row: dict[str, Any]) -> str:
    return ", ".join(row["tags"]) or f"(untagged {short_digest(row['digest'])})"


# The table shows this many findings of one code in one repository (of one code overall
# when there are more than FINDINGS_IN_FULL findings, errors excepted); JSON has them all.
FINDINGS_SHOWN = 3
FINDINGS_IN_FULL = 100


def _render_findings(console: Console, report: dict[str, Any]) -> None:
    findings = sorted(
        report["findings"],
        key=lambda f: {"error": 0, "warning": 1, "info": 2}[f["severity"]],
    )
    if findings:
        console.print()
        console.print(Text("Findings", style="bold"))
        # Few findings: up to FINDINGS_SHOWN of each code per repository. Many: every
        # error still, but warnings and info only FINDINGS_SHOWN per code overall.
        many = len(findings) > FINDINGS_IN_FULL
        shown: dict[tuple[str, str], int] = defaultdict(int)
        hidden: dict[tuple[str, str], int] = defaultdict(int)
        hidden_in: dict[tuple[str, str], set[str]] = defaultdict(set)
        text = Text()
        for f in findings:
            where = f["repository"] or f["project"] or f["component"] or ""
            group = (f["code"], "" if many and f["severity"] != "error" else where)
            if shown[group] >= FINDINGS_SHOWN and not (many and f["severity"] == "error"):
                hidden[group] += 1
                hidden_in[group].add(where)
                continue
            shown[group] += 1
            if text:
                text.append("\n")
            text.append("  ")
            text.append(f"{f['severity']:<7}", SEVERITY_STYLE[f["severity"]])
            text.append(f" {f['code']}  {where}: {f['message']}" if where
                        else f" {f['code']}: {f['message']}")
        for (code, where), count in hidden.items():
            if where:
                more = f"          ... {count} more {code} in {where} (see --format json)"
            else:
                places = len(hidden_in[(code, where)])
                more = (f"          ... {count} more {code} in {places} "
                        f"{'place' if places == 1 else 'places'} (see --format json)")
            text.append("\n")
            text.append(more, "dim")
        console.print(text)
    if report["incomplete"]:
        console.print()
        console.print(Text("Missing data (the result is incomplete)", style="bold red"))
        for item in report["incomplete"]:
            console.print(f"  {item['what']}: {item['reason']}")
    for note in report.get("notes", []):
        console.print(Text(f"note: {note}", style="yellow"))


CONSEQUENCE = {
    "in-use-deleted": "is in use now; once Harbor deletes it, the next restart or rescheduling "
    "(a node drain, a certificate renewal) cannot pull the image: ImagePullBackOff",
    "rollback-deleted": "is a rollback target; rolling back to it would fail",
    "in-use-missing": "is already gone from Harbor but still referenced: a restart cannot "
    "pull it today",
    "digest-moved": "runs a build whose digest is gone; a restart would run a different build",
}


CHART_CONSEQUENCE = {
    "in-use-deleted": "is the Helm chart of a deployed release; once Harbor deletes it, a "
    "`helm rollback` or reinstall of that release cannot pull the chart",
    "rollback-deleted": "is the Helm chart of a rollback target; `helm rollback` to it would "
    "fail",
    "in-use-missing": "is a Helm chart already gone from Harbor but still deployed: a `helm "
    "rollback` or reinstall of that release cannot pull it today",
}


def _render_verdict(console: Console, report: dict[str, Any]) -> None:
    """In plain words: what this policy would break, and what to do about it. An all-clear
    only on complete evidence, and qualified by what the evidence did not cover."""
    harmful = [f for f in report["findings"] if f["code"] in CONSEQUENCE]
    line = evidence_line(report)
    if line is not None:
        console.print()
        console.print(Text(line, style="dim"))
    if not harmful:
        if report.get("command") in ("check", "diff", "protect") and not report["incomplete"]:
            console.print()
            if not evidence_given(report):
                console.print(Text(f"Not checked: {NO_EVIDENCE}.", style="bold yellow"))
                return
            unchecked = not_checked(report)
            if unchecked:
                console.print(Text("Nothing in use would be deleted among what was checked; "
                                   f"not checked: {'; '.join(unchecked)}.",
                                   style="bold yellow"))
            else:
                console.print(Text("Nothing in use would be deleted.", style="bold green"))
        return
    console.print()
    console.print(Text("What this policy would break", style="bold red"))
    for f in harmful:
        label = ":" + ", ".join(f["tags"]) if f["tags"] else "@" + (f["digest"] or "?")
        words = (CHART_CONSEQUENCE.get(f["code"]) if is_chart_finding(f) else None) \
            or CONSEQUENCE[f["code"]]
        console.print(
            Text.assemble("  - ", (f"{f['repository']}{label}", "bold"), f" {words}.")
        )
    console.print(
        "  Keep these before the policy runs: add a rule that retains them (for example "
        "`always` on the tags in use and their rollback targets), or raise the count so "
        "they stay inside it. Harbor ranks by push or pull time, never by version: "
        "--order semver only shows what a version-ordered policy would keep. Details are "
        "in the findings above; --format json lists every piece of evidence."
    )


def _render_drift(console: Console, buffer: io.StringIO, report: dict[str, Any]) -> str:
    source = report["source"]
    console.print(Text.assemble(("harborguard drift ", "bold"), source.get("manifests", "?"),
                                f"  environment: {source.get('environment', '?')}"))
    _render_findings(console, report)
    drifted = [f for f in report["findings"] if f["code"] in ("not-deployed", "not-in-manifests")]
    line = evidence_line(report)
    if line is not None:
        console.print()
        console.print(Text(line, style="dim"))
    console.print()
    if report["incomplete"]:
        console.print(Text("INCOMPLETE: some evidence could not be read; drift may be missing.",
                           style="bold red"))
    elif drifted:
        differences = "1 difference" if len(drifted) == 1 else f"{len(drifted)} differences"
        console.print(Text(f"Drift: {differences} between the manifests and the "
                           "cluster. A merged version that is not deployed is not protected "
                           "by what runs, and what runs is not protected by the manifests.",
                           style="bold yellow"))
    elif any(f["code"] in ("unresolved-reference", "unmatched-reference")
             for f in report["findings"]):
        unknown = sum(1 for f in report["findings"]
                      if f["code"] in ("unresolved-reference", "unmatched-reference"))
        console.print(Text(f"No drift among the images that could be resolved, but {unknown} "
                           f"{'reference' if unknown == 1 else 'references'} could not be "
                           "(see the warnings above): give --image-tag-template to "
                           "compare them too.",
                           style="bold yellow"))
    else:
        console.print(Text("No drift: the cluster runs what the manifests name.",
                           style="bold green"))
    return buffer.getvalue()
