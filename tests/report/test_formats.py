"""The markdown and junit formats (and the registry): built from real reports."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.findings import Finding
from harborguard.harborversion import resolve
from harborguard.report import FORMATTERS, build, render
from harborguard.report import junit as junit_format
from harborguard.report import markdown as markdown_format
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, policy, rule, run, shared_dir, snapshot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "toolforge-snapshot.json"
S = timedelta(seconds=1)
SOURCE = build.Source(harbor="https://harbor.example.org", snapshot="snap.json", policy="harbor")
NASTY = "1.0|<script>alert(1)</script>_*x*`[a](b)"


def kubectl_example() -> Path:
    return shared_dir() / "toolforge" / "kubectl_list_example.json"


@cache
def _example_json() -> str:
    result = CliRunner().invoke(cli, ["check", "--snapshot", str(EXAMPLE), "--kubectl-json",
                                      str(kubectl_example()), "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    return result.stdout


def example_report() -> dict[str, Any]:
    """`check` on the Toolforge example: 2 errors, 57 warnings, 4 repositories."""
    report: dict[str, Any] = json.loads(_example_json())
    return report


def small_report(*, incomplete: list[dict[str, str]] | None = None,
                 extra: tuple[Finding, ...] = ()) -> dict[str, Any]:
    artifacts = [art(f"a{i}", [f"1.0.{3 - i}"], T - (i + 1) * 10 * S) for i in range(4)]
    data = snapshot({"app": artifacts}, policy(rule("latestPushedK", 2)))
    data["incomplete"] = incomplete or []
    result = simulate(parse_snapshot(data, "test"), parse_nanos(T_TEXT), resolve(None))
    return build.build_report(result, SOURCE, extra_findings=extra)


def big_report(inverted: int = 4) -> dict[str, Any]:
    """40 repositories x 120 artifacts; keep 2 each: thousands of deletions; in the first
    ``inverted`` repositories the 2 kept are the lowest versions: 118 warnings each."""
    repos: dict[str, list[dict[str, Any]]] = {}
    for r in range(40):
        items = [art(f"r{r}a{i}", [f"2.{i}.0-build_{i}"], T - (1000 - i) * S) for i in range(118)]
        # pushed last and kept; with the lowest versions, each of the 118 deletions is
        # a version-order-inversion warning
        last = "0.0" if r < inverted else "9.0"
        items += [art(f"r{r}last{i}", [f"{last}.{i}"], T - i * S) for i in range(2)]
        repos[f"service-{r}"] = items
    result = run(repos, policy(rule("latestPushedK", 2)))
    errors = tuple(
        Finding(code="in-use-deleted", message=f"error number {i} with a | pipe <b>bold</b>",
                project="proj", repository=f"proj/service-{i}", tags=(f"2.{i}.0-build_{i}",))
        for i in range(25)
    )
    return build.build_report(result, SOURCE, extra_findings=errors)


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


# ---------------------------------------------------------------------------------------
# markdown


def test_markdown_example_layout() -> None:
    report = example_report()
    text = render("markdown", report)
    lines = text.splitlines()
    assert lines[0] == ("**harborguard: 2 errors** — the policy would delete images still in "
                        "use and rollback targets")
    errors, warnings = text.index("### Errors (2)"), text.index("### Warnings (57)")
    details = text.index("<details>")
    assert errors < warnings < details < text.index("**Summary:**")
    for f in report["findings"]:
        if f["severity"] == "error":
            assert text.index(markdown_format.md(f["message"])) < warnings
    # one folded block per repository, with its counts and version ranges
    summaries = re.findall(r"<details><summary>(.*?)</summary>", text)
    assert [s.split(":")[0] for s in summaries] == [r["repository"]
                                                    for r in report["repositories"]]
    assert "toolforge/builds-api: keeps 10, deletes 86 — 2 errors" in summaries
    assert text.count("</details>") == len(summaries)
    assert ("versions: keeps 0.0.96..0.0.99, 0.0.131; deletes 0.0.77..0.0.94, "
            "0.0.100..0.0.130") in text
    # warnings are grouped like the table view: 3 shown, then one row for the rest
    assert "… 53 more version-order-inversion here" in text
    assert "IN USE (kubectl rollback)" in text
    # every table row has exactly 5 cells
    for line in lines:
        if line.startswith("| "):
            assert unescaped_pipes(line) == 6, line
    assert len(text.encode()) < markdown_format.MAX_BYTES


def test_markdown_verdicts() -> None:
    clean = small_report()
    assert render("markdown", clean).startswith("**harborguard: no problems found**\n")
    warned = small_report(extra=(Finding("time-tie", "tie", project="proj",
                                         repository="proj/app"),))
    assert render("markdown", warned).startswith("**harborguard: no errors** — 1 warning")
    assert markdown_format.render(warned, fail_on="warning").startswith(
        "**harborguard: 1 warning** (fail-on warning)")


def test_markdown_incomplete_never_reads_as_safe() -> None:
    report = small_report(incomplete=[{"what": "proj/other", "reason": "HTTP 503 | <x>"}])
    text = render("markdown", report)
    first = text.splitlines()[0]
    assert first.startswith("**harborguard: INCOMPLETE: 1 item could not be fetched")
    assert "no problems" not in text and "cannot show that the policy is safe" in first
    assert "### Missing data (1)" in text and "- proj/other: HTTP 503 \\| &lt;x&gt;" in text


def test_markdown_escapes_tags_messages_and_names() -> None:
    artifacts = [art("keep", ["9.9"], T - S), art("odd", [NASTY], T - 10 * S)]
    result = run({"we_*ird*<b>": artifacts}, policy(rule("latestPushedK", 1)))
    message = "bad | thing <script>alert('x')</script> @admin #12 *bold* _it_ \\ end"
    report = build.build_report(result, SOURCE, extra_findings=(
        Finding("in-use-missing", message, project="proj", repository="proj/we_*ird*<b>",
                tags=(NASTY,)),))
    text = render("markdown", report)
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    assert "<details><summary>proj/we_*ird*&lt;b&gt;: keeps 1, deletes 1 — 1 error</summary>" \
        in text  # raw HTML: entities only, no Markdown escapes
    escaped_tag = r"1.0\|&lt;script&gt;alert(1)&lt;/script&gt;\_\*x\*\`\[a\](b)"
    assert escaped_tag in text
    assert r"bad \| thing" in text and r"\*bold\* \_it\_ \\ end" in text
    # no GitLab mention or issue link
    assert "@admin" not in text and "#12" not in text and "@\u2060admin" in text
    for line in text.splitlines():
        if line.startswith("| "):
            assert unescaped_pipes(line) == 6, line


def test_markdown_fate_changes_first() -> None:
    artifacts = [art(f"a{i}", [f"1.0.{5 - i}"], T - (i + 1) * 10 * S) for i in range(6)]
    old = build.build_report(run({"app": artifacts}, policy(rule("latestPushedK", 4))), SOURCE)
    new = build.build_report(run({"app": artifacts}, policy(rule("latestPushedK", 2))), SOURCE)
    before = {a["digest"]: a["action"] for a in old["artifacts"]}
    for a in new["artifacts"]:  # what `diff` adds
        a["previous_action"] = before[a["digest"]]
    text = render("markdown", new)
    assert "<details><summary>proj/app: keeps 2, deletes 4 (2 fate changes)</summary>" in text
    changes, others = text.index("**Fate changes** (2)"), text.index("**Other deletions** (2)")
    assert changes < others
    assert "| 1.0.3 | IMAGE | retain | delete |" in text
    assert "2 artifacts change fate (2 newly deleted, 0 no longer deleted)" in text


def test_markdown_stays_under_the_limit_and_keeps_every_error() -> None:
    report = big_report()
    assert report["summary"]["delete"] > 3000
    warnings = report["summary"]["warnings"]
    assert 200 < warnings < 1000
    full = render("markdown", report, max_bytes=10**9)
    assert len(full.encode()) > markdown_format.MAX_BYTES  # so the limit really bites
    text = render("markdown", report)
    assert len(text.encode()) <= markdown_format.MAX_BYTES
    assert "### Errors (25)" in text
    for i in range(25):
        assert f"error number {i} with a \\| pipe &lt;b&gt;bold&lt;/b&gt;" in text
    assert "Left out to keep this comment under 60 KB" in text
    assert "see the JSON or JUnit report" in text
    assert text.index("### Errors") < text.index("### Warnings") < text.index("<details>")
    # details give way before warnings
    assert text.count("<details>") == 40 and "more not shown here" in text
    assert "warnings left out" not in text


def test_markdown_truncates_warnings_only_after_details() -> None:
    report = big_report(inverted=40)  # warnings grouped per repository still take 45 KB
    report["incomplete"] = [{"what": f"proj/gone-{i}", "reason": "HTTP 503"} for i in range(30)]
    text = render("markdown", report, max_bytes=20_000)
    assert len(text.encode()) <= 20_000
    assert "### Errors (25)" in text and text.count("error number") == 25
    assert "### Missing data (30)" in text and "proj/gone-29: HTTP 503" in text
    assert "warnings left out to keep this comment short" in text
    assert "The details of all 40 repositories are not shown (4720 deletions)" in text
    assert "the details of 40 repositories (4720 deletions), 2832 warnings;" in text
    assert text.splitlines()[0].startswith("**harborguard: INCOMPLETE")


# ---------------------------------------------------------------------------------------
# junit


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def check_counts(root: ET.Element) -> None:
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counted = {"tests": len(cases),
                   "failures": sum(len(c.findall("failure")) for c in cases),
                   "errors": sum(len(c.findall("error")) for c in cases),
                   "skipped": sum(len(c.findall("skipped")) for c in cases)}
        assert {k: int(suite.get(k, "-1")) for k in counted} == counted
        for key, value in counted.items():
            totals[key] += value
    assert {k: int(root.get(k, "-1")) for k in totals} == totals


def test_junit_example() -> None:
    report = example_report()
    root = parse(render("junit", report))
    check_counts(root)
    assert [s.get("name") for s in root.findall("testsuite")] == ["toolforge", "harborguard"]
    repos = len(report["repositories"])
    # the repository's own finding (version-disorder) is its retention case's; + the
    # run's summary and (check) its evidence of use
    own = [f for f in report["findings"] if f["digest"] is None and not f["tags"]]
    assert [f["code"] for f in own] == ["version-disorder"]
    assert int(root.get("tests", "0")) == repos + len(report["findings"]) - 1 + 2
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    retention = cases[("toolforge/builds-api", "toolforge/builds-api: retention")]
    # its errors are its artifacts', each failing once, in its own case
    assert retention.find("failure") is None
    out = retention.findtext("system-out") or ""
    assert "warning version-disorder: push order and version order disagree" in out
    assert "keeps 10, deletes 86" in out
    assert "versions: keeps 0.0.96..0.0.99, 0.0.131" in out
    passing = cases[("toolforge/jobs-api", "toolforge/jobs-api: retention")]
    assert passing.find("failure") is None and "deletes 7" in (passing.findtext("system-out")
                                                              or "")
    error_cases = [c for c in root.iter("testcase") if c.find("failure") is not None
                   and c.get("name", "").startswith(("in-use-deleted", "rollback-deleted"))]
    assert sorted(c.get("name") for c in error_cases) == [
        "in-use-deleted: toolforge/builds-api:0.0.130-20240221160838-03b2a120_image",
        "rollback-deleted: toolforge/builds-api:0.0.128-20240212150430-023b8914_image",
    ]
    assert {c.find("failure").get("type") for c in error_cases} == {  # type: ignore[union-attr]
        "in-use-deleted", "rollback-deleted"}
    assert root.get("failures") == "2" and root.get("errors") == "0"  # one per error
    # warnings pass, with the message in system-out
    warning = next(c for c in root.iter("testcase")
                   if c.get("name", "").startswith("version-order-inversion"))
    assert warning.find("failure") is None
    assert "deletes" in (warning.findtext("system-out") or "")


def test_junit_fail_on_warning() -> None:
    report = example_report()
    root = parse(junit_format.render(report, fail_on="warning"))
    check_counts(root)
    # one failure per finding: 59; a retention case fails for its own (version-disorder)
    failing_repos = {c.get("name") for c in root.iter("testcase")
                     if c.get("name", "").endswith(": retention") and c.find("failure")
                     is not None}
    assert failing_repos == {"toolforge/builds-api: retention"}
    assert int(root.get("failures", "0")) == 59 == len(report["findings"])


def test_junit_incomplete_items_are_errors() -> None:
    missing = [{"what": "proj/other", "reason": "HTTP 503 after 4 attempts"},
               {"what": "kubectl", "reason": "exit 1"}]
    root = parse(render("junit", small_report(incomplete=missing)))
    check_counts(root)
    assert root.get("errors") == "2" and root.get("failures") == "0"
    run_suite = root.findall("testsuite")[-1]
    assert run_suite.get("name") == "harborguard" and run_suite.get("errors") == "2"
    errors = [c for c in run_suite.iter("testcase") if c.find("error") is not None]
    assert [c.get("name") for c in errors] == ["incomplete: proj/other", "incomplete: kubectl"]
    assert errors[0].find("error").get("message") == (  # type: ignore[union-attr]
        "proj/other: HTTP 503 after 4 attempts")


def test_junit_survives_control_characters_and_markup() -> None:
    ugly = "v1\x00\x01\x08\x0b\x0c\x1b[31m\x7f\ufffe<&>\"'|]]>"
    artifacts = [art("keep", ["9.9"], T - S), art("odd", [ugly], T - 10 * S)]
    result = run({"app": artifacts}, policy(rule("latestPushedK", 1)))
    report = build.build_report(result, SOURCE, extra_findings=(
        Finding("in-use-deleted", f"msg {ugly}\nsecond line", project="proj",
                repository="proj/app", tags=(ugly,)),))
    report["incomplete"].append({"what": f"what{ugly}", "reason": f"why{ugly}"})
    text = render("junit", report)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", text)
    root = parse(text)
    check_counts(root)
    failure = next(c.find("failure") for c in root.iter("testcase")
                   if c.get("name", "").startswith("in-use-deleted"))
    assert failure is not None
    assert failure.get("message") == "msg v1[31m<&>\"'|]]>\nsecond line"
    names = [c.get("name") for c in root.iter("testcase")]
    assert "in-use-deleted: proj/app:v1[31m<&>\"'|]]>" in names
    assert "incomplete: whatv1[31m<&>\"'|]]>" in names


def test_junit_scales() -> None:
    report = big_report()
    root = parse(render("junit", report))
    check_counts(root)
    assert int(root.get("tests", "0")) == 40 + len(report["findings"]) + 1
    assert int(root.get("failures", "0")) == 25  # 25 errors: one failure each


# ---------------------------------------------------------------------------------------
# diff and drift reports from the CLI


def cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_diff_report_fate_changes(tmp_path: Path) -> None:
    proposed = policy(rule("latestPushedK", 20))
    (tmp_path / "p.json").write_text(json.dumps(proposed))
    report = cli_json("diff", "--snapshot", str(EXAMPLE), "--policy", str(tmp_path / "p.json"))
    changed = [a for a in report["artifacts"] if a["previous_action"] != a["action"]]
    assert changed
    text = render("markdown", report)
    assert "(compared with each project's own policy)" in text
    assert "<details><summary>toolforge/builds-api: keeps 20, deletes 76 (10 fate changes)" \
        in text
    block = text[text.index("toolforge/builds-api: keeps 20"):]
    assert block.index("**Fate changes** (10)") < block.index("**Other deletions** (76)")
    root = parse(render("junit", report))
    check_counts(root)
    assert root.get("name") == "harborguard diff"
    out = next(c.findtext("system-out") for c in root.iter("testcase")
               if c.get("name") == "toolforge/builds-api: retention")
    assert out is not None and "fate changes (10):" in out and "[delete -> retain]" in out


def test_drift_report(tmp_path: Path) -> None:
    repo = tmp_path / "toolforge-deploy"
    subprocess.run(["sh", str(ROOT / "examples" / "build-deploy-repo.sh"), str(repo)],
                   check=True, capture_output=True)
    report = cli_json("drift", "--manifests", str(repo), "--environment", "tools",
                      "--helm-json", str(ROOT / "examples" / "cluster-helm.json"),
                      "--image-tag-template", "{version}_image")
    assert report["artifacts"] == [] and report["findings"]
    text = markdown_format.render(report, fail_on="warning")
    assert text.startswith("**harborguard: 1 warning** (fail-on warning)")
    assert "<details>" not in text and "### Deletions" not in text
    assert "1 difference between the manifests and the cluster" in text
    assert "| not-deployed | builds-api (tools) |" in text
    root = parse(junit_format.render(report, fail_on="warning"))
    check_counts(root)
    assert root.get("failures") == "1"
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("not-deployed"))
    assert case.get("name") == "not-deployed: builds-api (tools)"
    assert case.get("classname") == "builds-api (tools)"
    root = parse(junit_format.render(report))  # fail-on error: the warning passes
    assert root.get("failures") == "0"


# ---------------------------------------------------------------------------------------
# the registry and the CLI


def test_every_cli_format_choice_has_a_formatter() -> None:
    offered: set[str] = set()
    for command in cli.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            if param.name == "fmt":
                assert isinstance(param.type, click.Choice)
                offered.update(param.type.choices)
    assert offered and offered <= set(FORMATTERS)
    assert {"table", "json", "markdown", "junit"} <= set(FORMATTERS)


@pytest.mark.parametrize("name", sorted(FORMATTERS))
def test_every_formatter_renders_the_example(name: str) -> None:
    report = example_report()
    text = render(name, report, colour=False, width=100)
    assert text.strip()
    assert FORMATTERS[name](report, False, 80, fail_on="warning").strip()  # options ignored
    if name == "json":
        assert json.loads(text) == report


def test_cli_writes_markdown_and_junit(tmp_path: Path) -> None:
    for name in ("markdown", "junit"):
        out = tmp_path / f"report.{name}"
        result = CliRunner().invoke(cli, ["check", "--snapshot", str(EXAMPLE), "--kubectl-json",
                                          str(kubectl_example()), "--format", name,
                                          "-o", str(out)], catch_exceptions=False)
        assert result.exit_code == 1, result.stderr
        assert out.read_text().strip()
