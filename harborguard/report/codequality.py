"""``--format codequality``: GitLab's Code Quality report, for the merge-request widget.

A JSON array of issues (``description``, ``check_name``, ``fingerprint``, ``severity``,
``location.path``, ``location.lines.begin``). A finding that comes from the deployment
repository points at the line that named the version (the report's ``location``:
relative to --manifests, so run with --manifests at the repository's root as CI does);
any other points at the harborguard config file the run used, else README.md, so that
the widget still shows it. Each incomplete item is a ``blocker``: an incomplete run is
never an empty, green report.

The fingerprint is what the widget tells new from fixed issues by: a hash of the code,
project, repository, digest (else the tags), component and environment, never the message
(whose words and counts change from run to run). GitLab shows only the first issue of a
fingerprint, so a repeat gets its occurrence number hashed in.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harborguard.jsonio import dumps_indented

SEVERITY = {"error": "critical", "warning": "minor", "info": "info"}
FALLBACK_PATH = "README.md"


def fingerprint(*parts: object) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fallback(report: dict[str, Any]) -> str:
    return str(report["source"].get("config") or FALLBACK_PATH)


def issues(report: dict[str, Any]) -> list[dict[str, Any]]:
    fallback = _fallback(report)
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []

    def add(description: str, check: str, severity: str, path: str, line: int,
            key: tuple[object, ...]) -> None:
        mark = fingerprint(*key)
        count = seen.get(mark, 0)
        seen[mark] = count + 1
        if count:
            mark = fingerprint(*key, count)
        out.append({"description": description, "check_name": check, "fingerprint": mark,
                    "severity": severity,
                    "location": {"path": path, "lines": {"begin": max(1, line)}}})

    for item in report["incomplete"]:
        add(f"incomplete: {item['what']}: {item['reason']}", "incomplete", "blocker",
            fallback, 1, ("incomplete", item["what"]))
    for finding in report["findings"]:
        location = finding.get("location") or {}
        reference = finding["digest"] or ",".join(finding["tags"] or ())
        add(str(finding["message"]), str(finding["code"]),
            SEVERITY.get(str(finding["severity"]), "major"),
            str(location.get("path") or fallback), int(location.get("line") or 1),
            (finding["code"], finding["project"], finding["repository"], reference,
             finding["component"], finding["environment"]))
    return out


def render(report: dict[str, Any], colour: bool = False, width: int = 0,
           **options: Any) -> str:
    return dumps_indented(issues(report)).decode("utf-8")
