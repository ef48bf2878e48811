"""Small helpers every formatter uses, so the formats name things the same way."""

from __future__ import annotations

import re
from typing import Any

from harborguard.evidence import NOT_CHECKED, places_by_kind
from harborguard.findings import CHART_BREAKS

__all__ = ["places_by_kind"]  # the table's "in use" words, shared with check's findings


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


def is_chart_finding(finding: dict[str, Any]) -> bool:
    """A finding about a Helm chart artifact: what breaks is a helm rollback or reinstall."""
    return CHART_BREAKS in str(finding["message"])


def evidence_given(report: dict[str, Any]) -> bool | None:
    """Whether any evidence of use was read; None for reports that take none (simulate)."""
    if "evidence" not in report:
        return None
    return bool(report["evidence"])


NO_EVIDENCE = ("no evidence of use was given (--kubectl, --kubectl-json, --manifests, --helm "
               "or --helm-json), so this does not show whether anything in use would be "
               "deleted")


# A note that makes the run a what-if (a --now before the data's time, a --policy file, from
# any origin): what follows it is what the all-clear did not check.
WHAT_IF = "what-if: "


def not_checked(report: dict[str, Any]) -> list[str]:
    """What an all-clear must be qualified by: what the evidence did not cover."""
    out = []
    for entry in report.get("evidence", []):
        if entry["source"] == "git-history" and not entry["counts"].get("requested"):
            why = str(entry["note"] or "not read").removeprefix("not read: ")
            out.append(f"the rollback window (git history not read: {why})")
        elif entry["complete"] and str(entry["note"] or "").startswith(NOT_CHECKED):
            out.append(str(entry["note"]).removeprefix(NOT_CHECKED))
    for entry in report.get("evidence", []):
        # A live kubectl limited to one namespace: the rest of the cluster was not read.
        namespace = re.search(r"--namespace (\S+)", str(entry["what"]))
        if entry["source"] == "kubectl" and namespace and "kubectl " in str(entry["what"]):
            out.append(f"namespaces other than {namespace.group(1)} (--namespace)")
    sources = {entry["source"] for entry in report.get("evidence", [])}
    if sources and not sources & {"kubectl", "helm"}:
        out.append("what runs in the cluster (no --kubectl, --kubectl-json, --helm or "
                   "--helm-json evidence)")
    out.extend(note.removeprefix(WHAT_IF) for note in report.get("notes", ())
               if str(note).startswith(WHAT_IF))
    if report.get("order") == "semver":
        out.append("Harbor's own ranking (this is the --order semver what-if; Harbor ranks "
                   "count rules by push or pull time)")
    counts: dict[str, int] = {}
    for finding in report["findings"]:
        counts[finding["code"]] = counts.get(finding["code"], 0) + 1
    foreign = counts.get("foreign-registry", 0)
    if foreign:
        out.append(f"{_count(foreign, 'reference')} to another registry host "
                   "(foreign-registry; add --registry-alias HOST if it is this Harbor)")
    moved = counts.get("digest-moved", 0)
    if moved:
        out.append(f"{_count(moved, 'running build')} already gone from Harbor whose tag now "
                   "names another build, which a restart would run instead (digest-moved)")
    # A reference into a project of this Harbor that was not read (the unparseable ones
    # name no project): what that project's policy deletes is unknown.
    unread = [f["project"] for f in report["findings"]
              if f["code"] == "unmatched-reference" and f.get("project")]
    if unread:
        out.append(f"{_count(len(unread), 'image')} in projects of this Harbor that were not "
                   f"read: {', '.join(sorted(set(unread)))} (unmatched-reference; add "
                   "--project NAME to check them)")
    unresolved = counts.get("unresolved-reference", 0)
    if unresolved:
        out.append(f"{_count(unresolved, 'reference')} that could not be resolved "
                   "(unresolved-reference)")
    return out


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def evidence_line(report: dict[str, Any]) -> str | None:
    """``Evidence: kubectl FILE (4 objects, 4 workloads, 8 references); ...``; None for
    reports that take no evidence."""
    given = evidence_given(report)
    if given is None:
        return None
    if not given:
        return "Evidence: none given"
    parts = []
    for entry in report["evidence"]:
        counts = dict(entry["counts"])
        state = "" if entry["complete"] else "; INCOMPLETE"
        if entry["source"] == "git-history" and not counts.get("requested"):
            parts.append(f"git-history {entry['what']} ({entry['note'] or 'not read'}{state})")
            continue
        if entry["source"] == "git-history":
            shown = [f"{counts.pop('versions', 0)} of {counts.pop('requested', 0)} versions back"]
        else:
            shown = []
        shown += [_count(n, key.removesuffix("s")) if key.endswith("s") else f"{n} {key}"
                  for key, n in counts.items()]
        parts.append(f"{entry['source']} {entry['what']} ({', '.join(shown)}{state})")
    return "Evidence: " + "; ".join(parts)


LEGEND = ("* in use: places by kind (running: a pod runs it; declared: a controller or the "
          "manifests name it; rollback: a rollback target). rule N: the policy's rule N, "
          "counted from 0; immutable-tag rules by their id.")
