"""``--format markdown``: a merge-request comment (GitLab or GitHub Flavored Markdown).

Layout, top to bottom: a verdict line (an incomplete run never reads as safe), protect's
rule or verify's agreement with Harbor's dry run when the report has one, a table of
errors, a table of warnings (and notices), then one folded ``<details>`` block per
repository ("repo: keeps N, deletes M": its version ranges, fate changes first when the
report comes from ``diff``, then the deletions), the list of missing data, and the summary.

The comment is kept under ``max_bytes`` (about 60 KB, UTF-8): when it would be larger, the
per-repository details give way first (fewer rows per repository, then whole repositories),
then warnings, then the verify section (fewer mismatches named, then fewer repositories);
a line says what was left out and points at the JSON/JUnit artifact. Errors and the
incomplete list are never dropped.

The per-repository blocks and their shrinking are in markdownrepos.py, the verify section
in markdownverify.py; escaping and the shared pieces in markdowntext.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harborguard.report.common import (
    NO_EVIDENCE,
    evidence_given,
    evidence_line,
    finding_place,
    human_bytes,
    is_chart_finding,
    not_checked,
    short_digest,
)
from harborguard.report.markdownrepos import fit_repositories, repository_blocks
from harborguard.report.markdowntext import (
    ARTIFACT_HINT,
    MORE_HINT,
    byte_size,
    md,
    plural,
    table_row,
)
from harborguard.report.markdownverify import verify_lines
from harborguard.report.storage import storage_text
from harborguard.report.table import FINDINGS_SHOWN

MAX_BYTES = 60_000

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_DELETES = {"in-use-deleted": "images still in use", "rollback-deleted": "rollback targets"}
_ERROR_TEXT = {
    "in-use-missing": "images in use are already missing from Harbor",
    "policy-error": "Harbor's retention job would fail",
    "verify-mismatch": "Harbor's own dry run decided otherwise",
}


def _finding_tags(finding: dict[str, Any]) -> str:
    tags = finding["tags"]
    if tags:
        return ", ".join(tags)
    if finding["digest"]:
        return short_digest(finding["digest"])
    return ""


def _finding_row(finding: dict[str, Any]) -> str:
    return table_row(md(finding["severity"]), md(finding["code"]),
                     md(finding_place(finding)) or "—", md(_finding_tags(finding)) or "—",
                     md(finding["message"]))


_FINDING_HEAD = [table_row("severity", "code", "repository", "tags", "message"),
                 "| --- | --- | --- | --- | --- |"]


# ---------------------------------------------------------------------------------------
# The parts


def _what_deleted(code: str, findings: list[dict[str, Any]]) -> str:
    """"images still in use", or Helm charts where the findings are about charts."""
    charts = sum(1 for f in findings if is_chart_finding(f))
    if code != "in-use-deleted" or not charts:
        return _DELETES[code]
    if charts == len(findings):
        return "Helm charts still deployed (a helm rollback or reinstall cannot pull them)"
    return "images and Helm charts still in use"


def _verdict(report: dict[str, Any], fail_on: str) -> str:
    findings = report["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    warnings = sum(1 for f in findings if f["severity"] == "warning")
    codes = list(dict.fromkeys(f["code"] for f in errors))
    deletes = [_what_deleted(c, [f for f in errors if f["code"] == c])
               for c in _DELETES if c in codes]
    tied = any(f["code"] in _DELETES and "order of equal timestamps" in f["message"]
               for f in errors)
    verb = "would delete (or leaves to a tie of equal timestamps)" if tied else "would delete"
    reasons = [f"the policy {verb} {' and '.join(deletes)}"] if deletes else []
    reasons += [_ERROR_TEXT.get(c, c) for c in codes if c not in _DELETES]
    why = "; ".join(reasons)
    if report["incomplete"]:
        missing = plural(len(report["incomplete"]), "item")
        tail = f"; {plural(len(errors), 'error')} in what was read" if errors else ""
        return (f"**harborguard: INCOMPLETE: {missing} could not be fetched or parsed** — "
                f"this result cannot show that "
                f"{'nothing drifts' if report.get('command') == 'drift' else 'the policy is safe'}"
                f"{tail}")
    if errors:
        counted = plural(len(errors), "error")
        if fail_on == "warning" and warnings:
            counted += f", {plural(warnings, 'warning')}"
        return f"**harborguard: {counted}** — {why}"
    # No error: for check and diff, an all-clear about what is in use only on evidence, and
    # qualified by what the evidence did not cover.
    given = (evidence_given(report) if report.get("command") in ("check", "diff", "protect")
             else None)
    if given is False:
        qualifier = f"; {NO_EVIDENCE}"
    elif given:
        unchecked = not_checked(report)
        qualifier = f"; not checked: {'; '.join(unchecked)}" if unchecked else ""
    else:
        qualifier = ""
    if warnings and fail_on == "warning":
        return (f"**harborguard: {plural(warnings, 'warning')}** (fail-on warning) — "
                f"see the warnings below{qualifier}")
    if given is False:
        return f"**harborguard: no evidence of use was given** — {NO_EVIDENCE}" + (
            f"; {plural(warnings, 'warning')} to review" if warnings else "")
    if given:
        head = ("nothing in use would be deleted among what was checked" if qualifier
                else "nothing in use would be deleted")
        rest = [qualifier[2:]] if qualifier else []
        rest += [f"{plural(warnings, 'warning')} to review"] if warnings else []
        return f"**harborguard: {head}**" + (f" — {'; '.join(rest)}" if rest else "")
    if warnings:
        return f"**harborguard: no errors** — {plural(warnings, 'warning')} to review"
    return "**harborguard: no problems found**"


def _policy_text(policy: str) -> str:
    return "each project's own policy" if policy == "harbor" else policy


def _is_drift(report: dict[str, Any]) -> bool:
    return report.get("command") == "drift"


def _meta(report: dict[str, Any]) -> str:
    source = report["source"]
    command = report.get("command")
    if _is_drift(report):
        return md(f"harborguard drift · manifests: {source.get('manifests', '?')} · "
                  f"environment: {source.get('environment', '?')} · now: {report['now']}")
    origin = source["snapshot"] or source["harbor"] or "?"
    policy = _policy_text(source["policy"])
    if "against" in source:
        policy += f" (compared with {_policy_text(source['against'])})"
    s = report["summary"]
    deletes = (f"{s['delete']} of {s['artifacts']} artifacts deleted "
               f"(up to {human_bytes(s['bytes_deleted'])})")
    return md(f"{deletes} · harborguard {command or 'simulate'} {origin} · policy: {policy} · "
              f"now: {report['now']} · order: {report['order']} · "
              f"Harbor behaviour: {report['harbor_version']}")


def _errors(report: dict[str, Any]) -> list[str]:
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    if not errors:
        return []
    return ["", f"### Errors ({len(errors)})", "", *_FINDING_HEAD,
            *(_finding_row(f) for f in errors)]


def _warning_rows(report: dict[str, Any]) -> list[tuple[str, int]]:
    """(row, findings it stands for): FINDINGS_SHOWN per code and place, then a 'more' row."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in report["findings"]:
        if f["severity"] != "error":
            groups[(f["severity"], f["code"], finding_place(f))].append(f)
    rows: list[tuple[str, int]] = []
    for (severity, code, where), items in sorted(
        groups.items(), key=lambda kv: _SEVERITY_ORDER[kv[0][0]]
    ):
        rows.extend((_finding_row(f), 1) for f in items[:FINDINGS_SHOWN])
        hidden = len(items) - FINDINGS_SHOWN
        if hidden > 0:
            rows.append((table_row(md(severity), md(code), md(where) or "—", "…",
                                   md(f"… {hidden} more {code} here ({MORE_HINT})")),
                         hidden))
    return rows


def _incomplete(report: dict[str, Any]) -> list[str]:
    items = report["incomplete"]
    if not items:
        return []
    return ["", f"### Missing data ({len(items)}): the result is incomplete", "",
            *(f"- {md(i['what'])}: {md(i['reason'])}" for i in items)]


def _summary(report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    counts = f"{plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')}"
    if _is_drift(report):
        drifted = sum(1 for f in report["findings"]
                      if f["code"] in ("not-deployed", "not-in-manifests"))
        text = (f"{plural(drifted, 'difference')} between the manifests and the cluster; "
                f"{counts}")
    else:
        text = (f"{s['artifacts']} artifacts in "
                f"{plural(len(report.get('repositories', [])), 'repository', 'repositories')}: "
                f"{s['delete']} deleted, {s['retain']} kept, {s['immutable']} saved by "
                f"immutable tags; up to {human_bytes(s['bytes_deleted'])} freed after garbage "
                f"collection; {counts}")
    if report["incomplete"]:
        text += f"; INCOMPLETE: {plural(len(report['incomplete']), 'item')} missing"
    changed = [a for a in report["artifacts"]
               if a.get("previous_action") not in (None, a["action"])]
    lines = ["", f"**Summary:** {md(text)}."]
    storage = storage_text(report)
    if storage is not None:
        lines += ["", md(storage) + "."]
    if any("previous_action" in a for a in report["artifacts"]):
        newly = sum(1 for a in changed if a["action"] == "delete")
        lines += ["", md(f"Against the previous policy: {plural(len(changed), 'artifact')} "
                         f"change fate ({newly} newly deleted, {len(changed) - newly} no "
                         "longer deleted).")]
    config = report["source"].get("config")
    lines += ["", md(report["tool"] + (f"; config file: {config}" if config else ""))]
    for note in report.get("notes", []):
        lines += ["", "Note: " + md(note)]
    return lines


# ---------------------------------------------------------------------------------------
# Fitting it under the size limit


def _fit_warnings(rows: list[tuple[str, int]], budget: int) -> tuple[list[str], int]:
    """The warnings section within ``budget`` bytes; and how many findings it left out."""
    if not rows:
        return [], 0
    total = sum(n for _, n in rows)
    head = ["", f"### Warnings ({total})", "", *_FINDING_HEAD]
    full = head + [r for r, _ in rows]
    if byte_size(full) <= budget:
        return full, 0
    reserve = 200  # the closing "more" row
    kept: list[str] = []
    used = byte_size(head) + reserve
    shown = 0
    for row, count in rows:
        cost = len(row.encode("utf-8")) + 1
        if used + cost > budget:
            break
        kept.append(row)
        used += cost
        shown += count
    left = total - shown
    if not kept:
        return ["", f"### Warnings ({total})", "",
                md(f"{plural(total, 'warning')} left out to keep this comment short; "
                   f"{ARTIFACT_HINT}.")], left
    tail = table_row("…", "…", "…", "…", md(f"{left} more warnings left out to keep this "
                                           f"comment short; {ARTIFACT_HINT}"))
    return [*head, *kept, tail], left


def render(report: dict[str, Any], colour: bool = False, width: int = 0, *,
           fail_on: str = "error", max_bytes: int = MAX_BYTES, **options: Any) -> str:
    """The comment. ``fail_on`` ("error" or "warning", as the CLI's --fail-on) only changes
    the verdict's wording; ``max_bytes`` is the size to stay under; colour/width are unused.
    """
    line = evidence_line(report)
    top = [_verdict(report, fail_on), "", _meta(report), *(["", md(line)] if line else [])]
    errors = _errors(report)
    incomplete = _incomplete(report)
    summary = _summary(report)
    note_reserve = 400
    budget = max_bytes - byte_size(top + errors + incomplete + summary) - note_reserve
    verify, verify_left = verify_lines(report, max(0, budget))
    budget -= byte_size(verify)
    warnings, warnings_left = _fit_warnings(_warning_rows(report), max(0, budget))
    budget -= byte_size(warnings)
    repositories, rows_left, repos_left = fit_repositories(repository_blocks(report),
                                                           max(0, budget))
    left_out: list[str] = []
    if repos_left:
        deletions = plural(sum(r.deleted for r in repos_left), "deletion")
        left_out.append(f"the details of "
                        f"{plural(len(repos_left), 'repository', 'repositories')} "
                        f"({deletions})")
    if rows_left:
        left_out.append(f"{plural(rows_left, 'artifact row')} of the repositories shown")
    if warnings_left:
        left_out.append(plural(warnings_left, "warning"))
    if verify_left:
        left_out.append(f"{plural(verify_left, 'repository', 'repositories')} of the verify "
                        "section")
    note = []
    if left_out:
        note = ["", md(f"Left out to keep this comment under {max_bytes // 1000} KB: "
                       f"{', '.join(left_out)}; {ARTIFACT_HINT}.")]
    return "\n".join([*top, *_protect(report), *verify, *errors, *warnings, *repositories,
                      *incomplete, *note, *summary]) + "\n"


def _protect(report: dict[str, Any]) -> list[str]:
    """protect: each project's rule (as Harbor's API takes it) and what it keeps."""
    from harborguard.report.protectview import project_lines, rule_json

    protect = report.get("protect")
    if not protect:
        return []
    lines = ["", "### Harbor rule (protect)", ""]
    for section in protect["projects"]:
        lines += [f"- {md(line)}" for line in project_lines(section)]
        rule = rule_json(section)
        if rule is not None:
            lines += ["", "```json", rule, "```", ""]
    return lines
