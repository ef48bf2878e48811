"""The ``verify`` section in words, for the table (JSON has it whole): where Harbor's answer
came from, and per repository "agrees on N of M" with its mismatches."""

from __future__ import annotations

from typing import Any

from harborguard.report.common import short_digest

SHOWN = 10  # mismatches named per repository; the findings and JSON have them all
_MARK = {"retain": "RETAIN", "delete": "DEL", "immutable": "IMMUTABLE", "error": "ERR",
         None: "no row"}


def _origin(section: dict[str, Any]) -> str:
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


def text_lines(report: dict[str, Any]) -> list[str]:
    """The whole section as plain text lines (empty when the report has none)."""
    section = report.get("verify")
    if not section:
        return []
    artifacts = {(a["repository"], a["digest"]): a for a in report["artifacts"]}
    mismatches: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        if finding["code"] == "verify-mismatch":
            mismatches.setdefault(finding["repository"], []).append(finding)
    lines = [f"Harbor's own dry run (verify): {_origin(section)}"]
    for repo in section["repositories"]:
        said = f"agrees on {repo['agree']} of {repo['compared']}"
        if repo["changed"]:
            said += f", {_count(repo['changed'], 'explained difference')} (verify-changed)"
        if repo["mismatch"]:
            said += f", {_count(repo['mismatch'], 'mismatch', 'mismatches')}"
        if repo["state"] != "compared":
            said += f" ({repo['state']})"
        lines.append(f"  {repo['repository']}: {said}")
        found = mismatches.get(repo["repository"], [])
        for finding in found[:SHOWN]:
            artifact = artifacts.get((finding["repository"], finding["digest"]))
            if artifact is None:
                lines.append(f"    - {finding['message']}")
                continue
            lines.append(f"    - {_label(artifact)}: Harbor {_MARK[artifact['harbor_action']]}, "
                         f"harborguard {artifact['action']}")
        if len(found) > SHOWN:
            lines.append(f"    ... and {len(found) - SHOWN} more (see the findings)")
    return lines
