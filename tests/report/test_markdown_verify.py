"""The Markdown report's verify section: per repository "agrees on N of M" and the
mismatches, as the table shows them; compact, and within the comment's size."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report import markdown as markdown_format
from harborguard.report import render
from harborguard.report.verifyview import SHOWN
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, policy, rule, snapshot
from tests.harborlog import Row, render_log

HEADING = "### Harbor's own dry run (verify)"


def _seconds(text: str) -> int:
    return parse_nanos(text) // 10**9


def _artifacts(prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` artifacts pushed a day apart, the newest first."""
    return [art(f"{prefix}{i}", [f"1.{count - i}"], T - timedelta(days=i + 1))
            for i in range(count)]


# latestPushedK 2: app keeps 1.4 and 1.3 and deletes 1.2 and 1.1; Harbor's log keeps 1.2
# too (one mismatch). web: Harbor agrees on both. many: 1.14 and 1.13 kept, Harbor keeps
# all 14 (12 mismatches, more than the table names).
REPOSITORIES = {"app": _artifacts("a", 4), "web": _artifacts("w", 2),
                "many": _artifacts("m", 14)}
MARKS = {"app": ["RETAIN", "RETAIN", "RETAIN", "DEL"], "web": ["RETAIN", "RETAIN"],
         "many": ["RETAIN"] * 14}


@cache
def _verify_json() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        snap = snapshot(REPOSITORIES, policy(rule("latestPushedK", 2)), version="v2.11.0")
        (base / "snap.json").write_text(json.dumps(snap))
        logs = base / "logs"
        logs.mkdir()
        for name, artifacts in REPOSITORIES.items():
            rows = [Row(a["digest"], [t["name"] for t in a["tags"]], _seconds(a["push_time"]),
                        0, _seconds(a["push_time"]), mark)
                    for a, mark in zip(artifacts, MARKS[name], strict=True)]
            (logs / f"{name}.log").write_text(render_log(f"proj/{name}", rows,
                                                         _seconds(T_TEXT) - 60))
        result = CliRunner().invoke(cli, ["verify", "--from-logs", str(logs), "--snapshot",
                                          str(base / "snap.json"), "--format", "json"],
                                    catch_exceptions=False)
        assert result.exit_code == 1, result.stderr
        return result.stdout.replace(str(logs), "LOGS")


def verify_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(_verify_json())
    return report


def section(text: str) -> list[str]:
    """The verify section's lines, up to the next heading."""
    lines = text.splitlines()
    start = lines.index(HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("### ")),
               len(lines))
    return lines[start:end]


def test_markdown_names_each_repositorys_agreement_and_its_mismatches() -> None:
    text = render("markdown", verify_report())
    lines = section(text)
    assert lines[:3] == [HEADING, "", "saved task logs in LOGS"]
    assert "- proj/app: agrees on 3 of 4, 1 mismatch" in lines
    assert "  - 1.2: Harbor RETAIN, harborguard delete" in lines
    assert "- proj/web: agrees on 2 of 2" in lines
    assert "- proj/many: agrees on 2 of 14, 12 mismatches" in lines
    many = [line for line in lines if line.startswith("  - 1.") and "harborguard delete" in line]
    assert len(many) == 1 + SHOWN  # app's one, and many's first SHOWN
    assert f"  - … and {12 - SHOWN} more (see the findings)" in lines


def test_markdown_verify_section_follows_the_verdict_and_precedes_the_errors() -> None:
    text = render("markdown", verify_report())
    assert text.index(HEADING) < text.index("### Errors (13)") < text.index("**Summary:**")


def test_markdown_verify_section_says_what_the_table_says() -> None:
    report = verify_report()
    table = render("table", report, width=200)
    for line in section(render("markdown", report))[4:]:
        if line.startswith("- proj/"):
            assert f"  {line[2:]}" in table
        elif line.startswith("  - ") and "…" not in line:
            assert f"    {line[2:]}" in table


def test_markdown_verify_escapes_names_and_says_no_row() -> None:
    report = verify_report()
    artifact = next(a for a in report["artifacts"]
                    if a["repository"] == "proj/app" and a["tags"] == ["1.2"])
    artifact["tags"] = ["1.2_*x*|<b>#1"]
    artifact["harbor_action"] = None
    lines = section(render("markdown", report))
    assert "  - 1.2\\_\\*x\\*\\|&lt;b&gt;#\u20601: Harbor no row, harborguard delete" in lines


def test_markdown_verify_section_shrinks_to_fit_and_says_so() -> None:
    report = verify_report()
    many = next(r for r in report["verify"]["repositories"] if r["repository"] == "proj/many")
    web = next(r for r in report["verify"]["repositories"] if r["repository"] == "proj/web")
    extra = [dict(web, repository=f"proj/agreeing-{i}") for i in range(3000)]
    report["verify"]["repositories"] = [*extra, many]
    text = render("markdown", report)
    assert len(text.encode()) < markdown_format.MAX_BYTES
    lines = section(text)
    # the repository with a difference is named before the ones that agree
    assert lines[4] == "- proj/many: agrees on 2 of 14, 12 mismatches"
    listed = sum(1 for line in lines if line.startswith("- proj/"))
    assert listed < 3001
    more = [line for line in lines if re.match(r"- … \d+ more repositories", line)]
    assert more == [f"- … {3001 - listed} more repositories not listed here (0 with "
                    "differences); see the JSON or JUnit report"]
    assert f"{3001 - listed} repositories of the verify section" in text


def test_markdown_verify_section_only_adds_its_own_lines() -> None:
    """Without the ``verify`` key the comment is the same less the section (the section is
    added, nothing else moves)."""
    report = verify_report()
    with_section = render("markdown", report)
    del report["verify"]
    without = render("markdown", report)
    assert HEADING not in without
    lines = with_section.splitlines()
    start = lines.index(HEADING) - 1  # the blank line before the heading
    end = start + len(section(with_section))  # its last line is the blank before "### Errors"
    assert "\n".join(lines[:start] + lines[end:]) + "\n" == without


def test_markdown_verdict_says_what_a_verify_mismatch_is() -> None:
    first = render("markdown", verify_report()).splitlines()[0]
    assert first == "**harborguard: 13 errors** — Harbor's own dry run decided otherwise"
