"""``--format junit``: JUnit XML for CI test-report readers (GitLab, Jenkins).

Shape: ``<testsuites>`` > ``<testsuite>`` > ``<testcase>`` > ``<failure>``/``<error>``/
``<system-out>``, with ``tests``, ``failures``, ``errors``, ``skipped`` (and ``time="0"``)
on every ``testsuite`` and on ``testsuites``.

- One ``testsuite`` per Harbor project, in report order, so Jenkins and GitLab group the
  cases the way an operator thinks of them ("which project's policy is wrong") and a
  whole-instance audit stays navigable; plus a last suite named ``harborguard`` for the run
  itself: a passing ``harborguard: summary`` case (the report's summary, source and notes in
  ``system-out``, so the file is never empty), one ``<error>`` case per ``incomplete`` entry
  (an incomplete run never reads as green), and findings that name no project. For check,
  diff and drift, a case ``harborguard: evidence of use`` lists what each evidence source
  covered; it is ``<skipped>`` when no evidence was given or (check, diff) something was
  not checked (the rollback window without git history, foreign-registry or unresolved
  references), so an empty failure list is never an unqualified all-clear.
- Per repository, a case ``"<repository>: retention"`` (classname: the repository). Its
  ``system-out`` holds the kept/deleted counts, the rules, the version ranges, the fate
  changes (``diff``) and the deleted artifacts. It carries the repository's own findings
  (those about no one artifact: ``version-disorder``, a repository's ``policy-error``) and
  fails for those at or above ``fail_on``.
- Per other finding, a case ``"<code>: <repository>:<tags>"``: a ``<failure
  type="<code>" message="...">`` when its severity is at or above ``fail_on``, else a
  passing case with the message in ``system-out``. ``info`` findings never fail. Each
  finding is one case, so the failures count the failing findings, once each.

``fail_on`` is the CLI's ``--fail-on`` (``error`` by default, ``warning`` for ``drift``):
the JUnit verdict then agrees with the exit code. The XML is built with ElementTree (so
it is escaped) after stripping characters XML 1.0 cannot carry (control characters, lone
surrogates, U+FFFE/U+FFFF).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from harborguard.findings import RANK
from harborguard.report.common import (
    NO_EVIDENCE,
    STATUS_TEXT,
    evidence_given,
    evidence_line,
    finding_place,
    human_bytes,
    not_checked,
    short_digest,
    short_reason,
)

RUN_SUITE = "harborguard"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _tags(tags: list[str] | None, digest: str | None) -> str:
    if tags:
        return ",".join(tags)
    return f"@{short_digest(digest)}" if digest else ""


def _subject(finding: dict[str, Any]) -> str:
    tags = _tags(finding["tags"], finding["digest"])
    where = finding_place(finding)
    if not tags:
        return where
    return f"{where}{'' if tags.startswith('@') else ':'}{tags}" if where else tags


class _Suite:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases: list[ET.Element] = []
        self.failures = 0
        self.errors = 0
        self.skipped = 0
        self._names: dict[tuple[str, str], int] = defaultdict(int)

    def case(self, classname: str, name: str) -> ET.Element:
        key = (classname, name)
        self._names[key] += 1
        if self._names[key] > 1:  # CI readers key cases by classname and name
            name = f"{name} ({self._names[key]})"
        element = ET.Element("testcase", classname=_clean(classname), name=_clean(name),
                             time="0")
        self.cases.append(element)
        return element

    def fail(self, case: ET.Element, tag: str, kind: str, message: str, text: str) -> None:
        child = ET.SubElement(case, tag, type=_clean(kind), message=_clean(message))
        child.text = _clean(text)
        if tag == "failure":
            self.failures += 1
        else:
            self.errors += 1

    def skip(self, case: ET.Element, message: str) -> None:
        ET.SubElement(case, "skipped", message=_clean(message))
        self.skipped += 1

    def element(self) -> ET.Element:
        suite = ET.Element("testsuite", name=_clean(self.name), tests=str(len(self.cases)),
                           failures=str(self.failures), errors=str(self.errors),
                           skipped=str(self.skipped), time="0")
        suite.extend(self.cases)
        return suite


def _out(case: ET.Element, lines: list[str]) -> None:
    ET.SubElement(case, "system-out").text = _clean("\n".join(lines))


def _finding_text(f: dict[str, Any], memo: dict[int, list[str]]) -> list[str]:
    """``memo``: one render's related lines by list id (the lists outlive the render)."""
    lines = [f"{f['severity']} {f['code']}: {f['message']}"]
    for key in ("project", "repository", "digest", "component", "environment", "rule"):
        if f.get(key) is not None:
            lines.append(f"{key}: {f[key]}")
    if f["tags"]:
        lines.append(f"tags: {', '.join(f['tags'])}")
    related = f["related"]
    if related:
        # Findings of one run of deleted versions share one related list (build_report).
        known = memo.get(id(related))
        if known is None:
            known = memo[id(related)] = [
                f"related: {_tags(r['tags'], None) or r['digest']} ({r['digest']})"
                for r in related]
        lines.extend(known)
    return lines


def _artifact_line(a: dict[str, Any]) -> str:
    tags = ", ".join(a["tags"]) or f"(untagged {short_digest(a['digest'])})"
    extra = " (tie)" if a["tie"] else ""
    uses = a.get("in_use") or []
    if uses:
        extra += " IN USE: " + "; ".join(f"{u['source']} {u['kind']} {u['where']}" for u in uses)
    return f"  {tags}  {a['type']}  pushed {a['push_time']}  {short_reason(a)}{extra}"


def _repository_text(repo: dict[str, Any], artifacts: list[dict[str, Any]],
                     rules: dict[int, str]) -> list[str]:
    deleted = [a for a in artifacts if a["action"] == "delete"]
    immutable = sum(1 for a in artifacts if a["action"] == "immutable")
    freed = sum(a["size"] for a in deleted)
    saved = f" ({immutable} of them by immutable tags)" if immutable else ""
    lines = [f"{repo['repository']}: {len(artifacts)} artifacts: keeps "
             f"{len(artifacts) - len(deleted)}{saved}, deletes {len(deleted)}; "
             f"up to {human_bytes(freed)} freed after garbage collection"]
    if repo["status"] != "evaluated":
        lines.append(f"status: {repo['status']}: {STATUS_TEXT.get(repo['status'], '')}")
    if repo.get("error"):
        lines.append(f"error: {repo['error']}")
    if repo["rules"]:
        lines.append("rules: " + ", ".join(f"{i} ({rules.get(i, '?')})" for i in repo["rules"]))
    if repo.get("versions"):
        lines.append(f"versions: {repo['versions']}")
    changed = [a for a in artifacts if a.get("previous_action") not in (None, a["action"])]
    if changed:
        lines.append(f"fate changes ({len(changed)}):")
        lines.extend(f"{_artifact_line(a)}  [{a['previous_action']} -> {a['action']}]"
                     for a in changed)
    if deleted:
        lines.append(f"deleted ({len(deleted)}):")
        lines.extend(_artifact_line(a) for a in deleted)
    return lines


def _summary_text(report: dict[str, Any], fail_on: str) -> list[str]:
    s = report["summary"]
    source = report["source"]
    lines = [f"{report['tool']} {report.get('command', '')}".rstrip()
             + f"; now {report['now']}; order {report['order']}; Harbor behaviour "
             f"{report['harbor_version']}; fail-on {fail_on}"]
    lines.extend(f"{key}: {source[key]}" for key in
                 ("harbor", "snapshot", "policy", "against", "manifests", "environment",
                  "config") if source.get(key) is not None)
    lines.append(
        f"{s['artifacts']} artifacts in {len(report.get('repositories', []))} repositories: "
        f"{s['delete']} deleted, {s['retain']} kept, {s['immutable']} saved by immutable tags; "
        f"up to {human_bytes(s['bytes_deleted'])} freed; errors: {s['errors']}, "
        f"warnings: {s['warnings']}")
    if report["incomplete"]:
        lines.append(f"INCOMPLETE: {len(report['incomplete'])} items missing")
    lines.extend(f"note: {n}" for n in report.get("notes", []))
    return lines


def _evidence_case(run: _Suite, report: dict[str, Any]) -> None:
    """``harborguard: evidence of use`` (check, diff, drift): what each source covered. An
    empty failure list is an all-clear only when this case passes: without evidence, or
    with something the evidence did not cover, it is skipped, saying what."""
    given = evidence_given(report)
    if given is None:
        return
    case = run.case(RUN_SUITE, f"{RUN_SUITE}: evidence of use")
    lines = [evidence_line(report) or ""]
    lines += [f"{e['source']} {e['what']}: {e['note']}" for e in report["evidence"] if e["note"]]
    if not given:
        run.skip(case, f"not checked: {NO_EVIDENCE}")
    elif report.get("command") != "drift" and not_checked(report):
        run.skip(case, f"not checked: {'; '.join(not_checked(report))}")
    _out(case, lines)


def _protect_cases(run: _Suite, report: dict[str, Any]) -> None:
    """protect: a case per project with its rule and what it keeps (its findings fail
    their own cases)."""
    from harborguard.report.protectview import project_lines, rule_json

    for section in (report.get("protect") or {}).get("projects", []):
        case = run.case(RUN_SUITE, f"{RUN_SUITE}: protect {section['project']}")
        rule = rule_json(section)
        _out(case, [*project_lines(section), *([rule] if rule else [])])


def render(report: dict[str, Any], colour: bool = False, width: int = 0, *,
           fail_on: str = "error", **options: Any) -> str:
    """The JUnit document. ``fail_on`` ("error" or "warning"): the lowest finding severity
    that makes a case fail, as the CLI's --fail-on; colour and width are unused."""
    threshold = RANK[fail_on]
    suites: dict[str | None, _Suite] = {}  # None: the run suite

    def suite(project: str | None) -> _Suite:
        if project not in suites:
            suites[project] = _Suite(project or RUN_SUITE)
        return suites[project]

    for project in report.get("projects", []):
        suite(project["project"])
    rules = {p["project"]: {r["index"]: r["description"]
                            for r in (p["policy"] or {}).get("rules", [])}
             for p in report.get("projects", [])}
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for artifact in report["artifacts"]:
        by_repo[(artifact["project"], artifact["repository"])].append(artifact)
    rows = {(r["project"], r["repository"]) for r in report.get("repositories", [])}
    # A repository's own findings (about no one artifact) are its retention case's.
    own: dict[tuple[str | None, str], list[dict[str, Any]]] = defaultdict(list)
    for f in report["findings"]:
        if (f["repository"] and f["digest"] is None and not f["tags"]
                and (f["project"], f["repository"]) in rows):
            own[(f["project"], f["repository"])].append(f)
    owned = {id(f) for found in own.values() for f in found}

    for repo in report.get("repositories", []):
        target = suite(repo["project"])
        case = target.case(repo["repository"], f"{repo['repository']}: retention")
        mine = own.get((repo["project"], repo["repository"]), [])
        bad = [f for f in mine if f["severity"] != "info" and RANK[f["severity"]] >= threshold]
        if bad:
            codes = ", ".join(dict.fromkeys(f["code"] for f in bad))
            counted = (f"{len(bad)} error" if fail_on == "error"
                       else f"{len(bad)} finding") + ("" if len(bad) == 1 else "s")
            if fail_on != "error":
                counted += f" at {fail_on} or above"
            target.fail(case, "failure", codes, f"{counted}: {codes}",
                        "\n".join(f"{f['code']}: {f['message']}" for f in bad))
        lines = _repository_text(repo, by_repo.get((repo["project"], repo["repository"]), []),
                                 rules.get(repo["project"], {}))
        lines.extend(f"{f['severity']} {f['code']}: {f['message']}" for f in mine
                     if f not in bad)
        _out(case, lines)

    run = suite(None)
    run.case(RUN_SUITE, f"{RUN_SUITE}: summary")
    _out(run.cases[-1], _summary_text(report, fail_on))
    _evidence_case(run, report)
    _protect_cases(run, report)
    for item in report["incomplete"]:
        case = run.case(RUN_SUITE, f"incomplete: {item['what']}")
        run.fail(case, "error", "incomplete", f"{item['what']}: {item['reason']}",
                 f"could not be fetched or parsed: {item['what']}: {item['reason']}\n"
                 "the result is incomplete: a missing part may hold images the policy deletes")

    related_lines: dict[int, list[str]] = {}  # the report's lists live through this loop
    for f in report["findings"]:
        if id(f) in owned:
            continue
        target = suite(f["project"])
        classname = finding_place(f) or RUN_SUITE
        case = target.case(classname, f"{f['code']}: {_subject(f)}")
        text = _finding_text(f, related_lines)
        if f["severity"] != "info" and RANK[f["severity"]] >= threshold:
            target.fail(case, "failure", f["code"], f["message"], "\n".join(text))
        else:
            _out(case, text)

    # The run suite last: project suites first, in report order.
    ordered = [s for key, s in suites.items() if key is not None] + [suites[None]]
    root = ET.Element(
        "testsuites", name=_clean(f"harborguard {report.get('command', '')}".rstrip()),
        tests=str(sum(len(s.cases) for s in ordered)),
        failures=str(sum(s.failures for s in ordered)),
        errors=str(sum(s.errors for s in ordered)),
        skipped=str(sum(s.skipped for s in ordered)), time="0",
    )
    root.extend(s.element() for s in ordered)
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")
