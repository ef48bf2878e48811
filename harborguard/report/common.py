"""Small helpers every formatter uses, so the formats name things the same way."""

from __future__ import annotations

import re
from typing import Any


def finding_place(finding: dict[str, Any]) -> str:
    """Where a finding is: its repository, else its component (and environment), else its
    project."""
    if finding["repository"]:
        return str(finding["repository"])
    if finding.get("component"):
        env = finding.get("environment")
        return f"{finding['component']} ({env})" if env else str(finding["component"])
    return str(finding["project"] or "")


STATUS_TEXT = {
    "no-policy": "the project has no retention policy: everything stays",
    "policy-unreadable": "NOT EVALUATED: the retention policy could not be read",
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


def short_digest(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest


_RANKED = re.compile(r"rule (\d+) \((\w+) (\d+)[^)]*\) ranked it (#\d+) of \d+ by (\w+)[^;]*")


def short_reason(row: dict[str, Any]) -> str:
    """The report's reason, shortened to fit a line; JSON keeps the full sentence."""
    if row["action"] == "retain" and row["retained_by"]:
        rules = row["retained_by"]
        return ("rule " if len(rules) == 1 else "rules ") + ", ".join(map(str, rules))
    reason = str(row["reason"])
    if row["action"] == "immutable":
        return reason.removeprefix("not kept by any rule; protected by ")
    reason = reason.removeprefix("not kept by any rule: ")
    return _RANKED.sub(r"\4 by \5, rule \1 keeps \3", reason)
