"""The ``protect`` section in words, for the table, Markdown and JUnit formats (JSON has it
whole): per project, what happened to the policy, the rule's lists, and what it keeps."""

from __future__ import annotations

import json
from typing import Any

STATUS_WORDS = {
    "no-policy": "no retention policy: Harbor deletes nothing, nothing to protect",
    "launch-failed": "Harbor's retention job cannot start: left as it is",
    "no-room": "NO ROOM for harborguard's rule (15 rules already): not changed",
    "in-sync": "already holds the rule the evidence needs: nothing to change",
    "changed": "changed (not sent: --policy-out to review, --apply to send)",
    "applied": "applied to Harbor, read back and re-simulated",
}

SHOWN = 10  # artifacts named per list; JSON has them all


def _names(rows: list[dict[str, Any]]) -> str:
    # repository:tags, or repository@digest for an untagged artifact
    shown = [f"{r['repository']}:{','.join(r['tags'])}" if r["tags"]
             else f"{r['repository']}@{r['digest']}" for r in rows[:SHOWN]]
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    return "; ".join(shown) + more


def project_lines(section: dict[str, Any]) -> list[str]:
    """One project's lines (without the rule's JSON)."""
    status = STATUS_WORDS.get(section["status"], section["status"])
    if section["status"] == "in-sync" and not section["protected"]:
        status = ("already holds the rule harborguard can write: nothing more it can change, "
                  "and the evidence is still at risk (below)")
    lines = [f"{section['project']}: retention policy {section['policy_id']}: {status}"]
    untagged = section["rule"] is not None and _keeps_untagged(section["rule"])
    if section["rule"] is not None:
        lines.append(f"rule {section['rule_index']}: always, repositories "
                     f"{', '.join(section['repositories'])}; tags "
                     f"{', '.join(section['tags']) or 'none'}"
                     + ("; and every untagged artifact there (untagged:true)" if untagged
                        else ""))
    lines.append(f"keeps {len(section['keeps'])} artifacts"
                 + (f", {len(section['beyond_evidence'])} beyond the evidence (the same tag in "
                    "another listed repository"
                    + (", or untagged beside a needed untagged one" if untagged else "")
                    + ", or kept by the previous rule"
                    + f"): {_names(section['beyond_evidence'])}"
                    if section["beyond_evidence"] else ", none beyond the evidence"))
    if section["kept_to_deleted"]:
        lines.append(f"no longer kept (no evidence needs them now): "
                     f"{_names(section['kept_to_deleted'])}")
    if section["untagged"]:
        listed = set(section["repositories"]) if untagged else set()
        kept = sum(1 for u in section["untagged"] if u["repository"] in listed)
        if kept:
            lines.append(f"{kept} needed artifacts have no tag: the rule keeps them "
                         "(untagged:true)")
        if len(section["untagged"]) > kept:
            lines.append(f"{len(section['untagged']) - kept} needed artifacts have no tag and "
                         "their repository is not listed by the rule (protect-untagged)")
    if section["unprotected"]:
        lines.append(f"not listed: {_names(section['unprotected'])} "
                     f"({section['unprotected'][0]['reason']})")
    check = section["check"]
    lines.append("check on the changed policy: "
                 + ("no in-use-deleted or rollback-deleted" if section["protected"] else
                    f"{check.get('in-use-deleted', 0)} in-use-deleted, "
                    f"{check.get('rollback-deleted', 0)} rollback-deleted"))
    return lines


def _keeps_untagged(rule: dict[str, Any]) -> bool:
    """The rule's tag selector carries ``untagged: true`` (docs/RETENTION.md 3.2)."""
    for selector in rule.get("tag_selectors") or []:
        extras = selector.get("extras") if isinstance(selector, dict) else None
        try:
            data = json.loads(extras) if isinstance(extras, str) else extras
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("untagged") is True:
            return True
    return False


def rule_json(section: dict[str, Any]) -> str | None:
    return None if section["rule"] is None else json.dumps(section["rule"], indent=2)


def text_lines(report: dict[str, Any]) -> list[str]:
    """The whole section as plain text lines (empty when the report has none)."""
    protect = report.get("protect")
    if not protect:
        return []
    lines = ["Harbor rule (protect):"]
    for section in protect["projects"]:
        lines.extend(f"  {line}" for line in project_lines(section))
    if protect.get("policy_out"):
        lines.append(f"  policy written to {protect['policy_out']} (Harbor's PUT body)")
    return lines
