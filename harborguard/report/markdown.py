"""``--format markdown``: a merge-request comment (GitLab or GitHub Flavored Markdown).

Layout, top to bottom: a verdict line (an incomplete run never reads as safe), a table of
errors, a table of warnings (and notices), then one folded ``<details>`` block per repository
("repo: keeps N, deletes M": its version ranges, fate changes first when the report comes
from ``diff``, then the deletions), the list of missing data, and the summary.

The comment is kept under ``max_bytes`` (about 60 KB, UTF-8): when it would be larger, the
per-repository details give way first (fewer rows per repository, then whole repositories),
then warnings; a line says what was left out and points at the JSON/JUnit artifact. Errors
and the incomplete list are never dropped.

Text from the report is escaped for where it lands: table cells get Markdown escapes plus
HTML entities, ``<summary>`` (raw HTML, no Markdown inside) gets HTML entities only. A word
joiner (U+2060) goes after ``@ # ! ~ % $ &`` when a word follows, so a message such as
"ranked it #41" or a name with ``@`` does not become a GitLab issue link or a mention.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harborguard.report.common import (
    NO_EVIDENCE,
    STATUS_TEXT,
    evidence_given,
    evidence_line,
    finding_place,
    human_bytes,
    is_chart_finding,
    not_checked,
    short_digest,
    short_reason,
)
from harborguard.report.storage import repository_storage_lines, storage_text
from harborguard.report.table import FINDINGS_SHOWN

MAX_BYTES = 60_000
ARTIFACT_HINT = "see the JSON or JUnit report (the CI job's artifacts) for everything"
MORE_HINT = "see the JSON or JUnit report"

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_DELETES = {"in-use-deleted": "images still in use", "rollback-deleted": "rollback targets"}
_ERROR_TEXT = {
    "in-use-missing": "images in use are already missing from Harbor",
    "policy-error": "Harbor's retention job would fail",
}
# Rows shown per repository as the comment shrinks to fit (None: all of them).
_ROW_CAPS: tuple[int | None, ...] = (None, 50, 20, 10, 5, 0)
# No row is shorter: five cells, 16 bytes of separators, and "retain"/"delete" twice in a
# fate change or a 16-character push time in a deletion; a lower bound, used to skip caps.
_MIN_ROW_BYTES = 28

# XML 1.0 / terminal control characters (tab, newline and carriage return are handled apart).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_REFERENCE = re.compile(r"([@#!~%$&])(?=\w)")
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~])")


def _clean(value: object) -> str:
    text = _CONTROL.sub("", str(value)).replace("\t", " ")
    text = _NEWLINES.sub(" ", text)
    return _REFERENCE.sub("\\1\u2060", text)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md(value: object) -> str:
    """Inline Markdown text (a table cell or a paragraph) that renders as the literal text."""
    return _entities(_MD_PUNCT.sub(r"\\\1", _clean(value)))


def html(value: object) -> str:
    """Text inside raw HTML (``<summary>``), where Markdown is not interpreted."""
    return _entities(_clean(value)).replace('"', "&quot;")


def _size(lines: Iterable[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def _finding_tags(finding: dict[str, Any]) -> str:
    tags = finding["tags"]
    if tags:
        return ", ".join(tags)
    if finding["digest"]:
        return short_digest(finding["digest"])
    return ""


def _artifact_tags(artifact: dict[str, Any]) -> str:
    return ", ".join(artifact["tags"]) or f"(untagged {short_digest(artifact['digest'])})"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _finding_row(finding: dict[str, Any]) -> str:
    return _row(md(finding["severity"]), md(finding["code"]), md(finding_place(finding)) or "—",
                md(_finding_tags(finding)) or "—", md(finding["message"]))


_FINDING_HEAD = [_row("severity", "code", "repository", "tags", "message"),
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
        missing = _plural(len(report["incomplete"]), "item")
        tail = f"; {_plural(len(errors), 'error')} in what was read" if errors else ""
        return (f"**harborguard: INCOMPLETE: {missing} could not be fetched or parsed** — "
                f"this result cannot show that "
                f"{'nothing drifts' if report.get('command') == 'drift' else 'the policy is safe'}"
                f"{tail}")
    if errors:
        counted = _plural(len(errors), "error")
        if fail_on == "warning" and warnings:
            counted += f", {_plural(warnings, 'warning')}"
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
        return (f"**harborguard: {_plural(warnings, 'warning')}** (fail-on warning) — "
                f"see the warnings below{qualifier}")
    if given is False:
        return f"**harborguard: no evidence of use was given** — {NO_EVIDENCE}" + (
            f"; {_plural(warnings, 'warning')} to review" if warnings else "")
    if given:
        head = ("nothing in use would be deleted among what was checked" if qualifier
                else "nothing in use would be deleted")
        rest = [qualifier[2:]] if qualifier else []
        rest += [f"{_plural(warnings, 'warning')} to review"] if warnings else []
        return f"**harborguard: {head}**" + (f" — {'; '.join(rest)}" if rest else "")
    if warnings:
        return f"**harborguard: no errors** — {_plural(warnings, 'warning')} to review"
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
            rows.append((_row(md(severity), md(code), md(where) or "—", "…",
                              md(f"… {hidden} more {code} here ({MORE_HINT})")), hidden))
    return rows


class _Repository:
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
            head += f" ({_plural(len(changed), 'fate change')})"
        if errors:
            head += f" — {_plural(errors, 'error')}"
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
            self._change_rows.append(_row(md(_artifact_tags(a)), md(a["type"]),
                                          md(a["previous_action"]), md(a["action"]),
                                          md(_why(a))))
        return self._change_rows[:n]

    def _deletes(self, n: int) -> list[str]:
        for a in self._deleted[len(self._delete_rows):n]:
            self._delete_rows.append(_row(md(_artifact_tags(a)), md(a["type"]),
                                          a["push_time"][:16].replace("T", " "),
                                          (a["pull_time"] or "never")[:10], md(_why(a))))
        return self._delete_rows[:n]

    def lines(self, cap: int | None) -> tuple[list[str], int]:
        """The block with at most ``cap`` rows (fate changes first); and the rows left out."""
        budget = self.rows if cap is None else cap
        out = [*self.head, *self.intro]
        changes = self._changes(budget)
        deletes = self._deletes(max(0, budget - len(changes)))
        if changes:
            out += [f"**Fate changes** ({len(self._changed)})", "",
                    _row("tags", "type", "was", "now", "why"),
                    "| --- | --- | --- | --- | --- |", *changes, ""]
        if deletes:
            title = "Other deletions" if self._changed else "Deletions"
            out += [f"**{title}** ({len(self._deleted)})", "",
                    _row("tags", "type", "pushed (UTC)", "pulled", "why"),
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


def _repositories(report: dict[str, Any]) -> list[_Repository]:
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for artifact in report["artifacts"]:
        by_repo[(artifact["project"], artifact["repository"])].append(artifact)
    errors: dict[str, int] = defaultdict(int)
    for f in report["findings"]:
        if f["severity"] == "error" and f["repository"]:
            errors[f["repository"]] += 1
    return [
        _Repository(repo, by_repo.get((repo["project"], repo["repository"]), []),
                    errors[repo["repository"]])
        for repo in report.get("repositories", [])
    ]


def _incomplete(report: dict[str, Any]) -> list[str]:
    items = report["incomplete"]
    if not items:
        return []
    return ["", f"### Missing data ({len(items)}): the result is incomplete", "",
            *(f"- {md(i['what'])}: {md(i['reason'])}" for i in items)]


def _summary(report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    counts = f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}"
    if _is_drift(report):
        drifted = sum(1 for f in report["findings"]
                      if f["code"] in ("not-deployed", "not-in-manifests"))
        text = (f"{_plural(drifted, 'difference')} between the manifests and the cluster; "
                f"{counts}")
    else:
        text = (f"{s['artifacts']} artifacts in "
                f"{_plural(len(report.get('repositories', [])), 'repository', 'repositories')}: "
                f"{s['delete']} deleted, {s['retain']} kept, {s['immutable']} saved by "
                f"immutable tags; up to {human_bytes(s['bytes_deleted'])} freed after garbage "
                f"collection; {counts}")
    if report["incomplete"]:
        text += f"; INCOMPLETE: {_plural(len(report['incomplete']), 'item')} missing"
    changed = [a for a in report["artifacts"]
               if a.get("previous_action") not in (None, a["action"])]
    lines = ["", f"**Summary:** {md(text)}."]
    storage = storage_text(report)
    if storage is not None:
        lines += ["", md(storage) + "."]
    if any("previous_action" in a for a in report["artifacts"]):
        newly = sum(1 for a in changed if a["action"] == "delete")
        lines += ["", md(f"Against the previous policy: {_plural(len(changed), 'artifact')} "
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
    if _size(full) <= budget:
        return full, 0
    reserve = 200  # the closing "more" row
    kept: list[str] = []
    used = _size(head) + reserve
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
                md(f"{_plural(total, 'warning')} left out to keep this comment short; "
                   f"{ARTIFACT_HINT}.")], left
    tail = _row("…", "…", "…", "…", md(f"{left} more warnings left out to keep this comment "
                                      f"short; {ARTIFACT_HINT}"))
    return [*head, *kept, tail], left


def _fit_repositories(repos: list[_Repository],
                      budget: int) -> tuple[list[str], int, list[_Repository]]:
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
        if _size(lines) <= budget:
            return lines, sum(left for _, left in blocks), []
    # Even one line per repository is too much: keep the ones that matter most.
    blocks = [repo.lines(0) for repo in repos]
    priority = sorted(range(len(repos)),
                      key=lambda i: (-repos[i].errors, -repos[i].changes, -repos[i].deleted, i))
    reserve = 300
    used = _size(head) + reserve
    chosen: set[int] = set()
    for i in priority:
        cost = _size(blocks[i][0])
        if used + cost > budget:
            break
        chosen.add(i)
        used += cost
    omitted = [repos[i] for i in range(len(repos)) if i not in chosen]
    lines = head + [line for i in sorted(chosen) for line in blocks[i][0]]
    what = (f"{_plural(len(omitted), 'more repository', 'more repositories')} not shown"
            if chosen else f"The details of all {len(omitted)} repositories are not shown")
    lines += [md(f"{what} ({_plural(sum(r.deleted for r in omitted), 'deletion')}); "
                 f"{ARTIFACT_HINT}."), ""]
    return lines, sum(blocks[i][1] for i in chosen), omitted


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
    budget = max_bytes - _size(top + errors + incomplete + summary) - note_reserve
    warnings, warnings_left = _fit_warnings(_warning_rows(report), max(0, budget))
    budget -= _size(warnings)
    repositories, rows_left, repos_left = _fit_repositories(_repositories(report),
                                                            max(0, budget))
    left_out: list[str] = []
    if repos_left:
        deletions = _plural(sum(r.deleted for r in repos_left), "deletion")
        left_out.append(f"the details of "
                        f"{_plural(len(repos_left), 'repository', 'repositories')} "
                        f"({deletions})")
    if rows_left:
        left_out.append(f"{_plural(rows_left, 'artifact row')} of the repositories shown")
    if warnings_left:
        left_out.append(_plural(warnings_left, "warning"))
    note = []
    if left_out:
        note = ["", md(f"Left out to keep this comment under {max_bytes // 1000} KB: "
                       f"{', '.join(left_out)}; {ARTIFACT_HINT}.")]
    return "\n".join([*top, *_protect(report), *errors, *warnings, *repositories,
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
