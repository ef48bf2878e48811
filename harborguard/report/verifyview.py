"""The ``verify`` section in words, for the table and Markdown (JSON has it whole): where
Harbor's answer came from, and per repository "agrees on N of M" with its mismatches."""

from __future__ import annotations

from typing import Any

from harborguard.report.common import short_digest

SHOWN = 10  # mismatches named per repository; the findings and JSON have them all
_MARK = {"retain": "RETAIN", "delete": "DEL", "immutable": "IMMUTABLE", "error": "ERR",
         None: "no row"}


def origin(section: dict[str, Any]) -> str:
    """Where Harbor's answer came from: saved logs, or the executions started."""
    if section.get("logs"):
        return f"saved task logs in {section['logs']}"
    runs = section.get("executions") or ([section["execution"]] if section.get("execution")
                                         else [])
    if not runs:
        return "no execution (no project has a retention policy)"
    return "; ".join(f"execution {r.get('id')} of retention policy {r.get('policy_id')} "
                     f"(project {r.get('project')}): {r.get('status')}" for r in runs)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"


def _label(artifact: dict[str, Any]) -> str:
    return ", ".join(artifact["tags"]) or f"(untagged {short_digest(artifact['digest'])})"


def agreement(repo: dict[str, Any]) -> str:
    """A repository's line: "agrees on N of M", its differences and its state."""
    said = f"agrees on {repo['agree']} of {repo['compared']}"
    if repo["changed"]:
        said += f", {_count(repo['changed'], 'explained difference')} (verify-changed)"
    if repo["mismatch"]:
        said += f", {_count(repo['mismatch'], 'mismatch', 'mismatches')}"
    if repo["state"] != "compared":
        said += f" ({repo['state']})"
    return said


def mismatches(report: dict[str, Any]) -> dict[str, list[str]]:
    """Per repository, each verify-mismatch in words: "tags: Harbor DEL, harborguard
    retain" (or the finding's message when the report has no row for its artifact)."""
    artifacts = {(a["repository"], a["digest"]): a for a in report["artifacts"]}
    found: dict[str, list[str]] = {}
    for finding in report["findings"]:
        if finding["code"] != "verify-mismatch":
            continue
        artifact = artifacts.get((finding["repository"], finding["digest"]))
        found.setdefault(finding["repository"], []).append(
            finding["message"] if artifact is None else
            f"{_label(artifact)}: Harbor {_MARK[artifact['harbor_action']]}, "
            f"harborguard {artifact['action']}")
    return found


def text_lines(report: dict[str, Any]) -> list[str]:
    """The whole section as plain text lines (empty when the report has none)."""
    section = report.get("verify")
    if not section:
        return []
    said = mismatches(report)
    lines = [f"Harbor's own dry run (verify): {origin(section)}"]
    for repo in section["repositories"]:
        lines.append(f"  {repo['repository']}: {agreement(repo)}")
        found = said.get(repo["repository"], [])
        lines += [f"    - {text}" for text in found[:SHOWN]]
        if len(found) > SHOWN:
            lines.append(f"    ... and {len(found) - SHOWN} more (see the findings)")
    return lines
