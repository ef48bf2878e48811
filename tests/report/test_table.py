"""The table: the in-use words shared with the findings, the legend, 80 columns."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report import render
from tests.report.test_formats import EXAMPLE, ROOT


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(ROOT / "examples" / "build-deploy-repo.sh"), str(repo)],
                   check=True, capture_output=True)
    result = CliRunner().invoke(cli, [
        "check", "--snapshot", str(EXAMPLE), "--manifests", str(repo), "--environment",
        "tools", "--image-tag-template", "{version}_image", "--kubectl-json",
        str(ROOT / "examples" / "cluster-kubectl.json"), "--format", "json"],
        catch_exceptions=False)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_in_use_said_in_the_same_words_with_a_legend(incident: dict[str, Any]) -> None:
    text = render("table", incident, width=200)
    row = next(line for line in text.splitlines()
               if line.startswith("delete *") and "0.0.130-20240221160838-03b2a120_image" in line)
    assert row.rstrip().endswith("running 1, declared 2, rollback 1")
    finding = next(f for f in incident["findings"] if f["code"] == "in-use-deleted")
    assert "in use in 4 places: running 1, declared 2, rollback 1" in finding["message"]
    words = " ".join(text.split())
    assert words.count("* in use: places by kind") == 1
    assert "counted from 0; immutable-tag rules by their id" in words
    assert "immutable-tag rule id " in words


def test_rows_fit_80_columns(incident: dict[str, Any]) -> None:
    narrow = render("table", incident, width=80)
    table_lines = [line for line in narrow.splitlines()
                   if re.match(r"(retain|delete|action)", line)]
    assert table_lines and all(len(line) <= 80 for line in table_lines)
    header = next(line for line in narrow.splitlines() if line.startswith("action"))
    assert "pulled" not in header and "type" in header  # dropped by priority
    # a long tag keeps its end: charts and images stay apart
    assert any(line.split()[3] == "IMAGE" and line.split()[2].endswith("_image")
               for line in table_lines if line.startswith("retain *"))
    wide = render("table", incident, width=140)
    header = next(line for line in wide.splitlines() if line.startswith("action"))
    assert "pulled" in header and "pushed (UTC)" in header


def test_legend_only_with_artifacts(tmp_path: Path) -> None:
    report = {"command": "simulate", "source": {"snapshot": "s", "harbor": None,
                                                "policy": "harbor"},
              "now": "2024-01-01T00:00:00Z", "order": "push", "harbor_version": "main",
              "projects": [], "repositories": [], "artifacts": [], "findings": [],
              "incomplete": [], "notes": [],
              "summary": {"artifacts": 0, "retain": 0, "delete": 0, "immutable": 0,
                          "bytes_deleted": 0, "errors": 0, "warnings": 0}}
    assert "* in use" not in render("table", report)


def test_a_disabled_rule_is_named_in_the_table() -> None:
    from harborguard.report import build
    from tests.builders import T, art, policy, rule, run, sel
    from tests.report.test_formats import SOURCE, S

    result = run({"app": [art("a", ["1"], T - 10 * S)]}, policy(
        rule("latestPushedK", 1, repos=[sel("app", "repoMatches", None)], disabled=True)))
    text = render("table", build.build_report(result, SOURCE), width=200)
    assert ("not covered by any rule: rule 0 (latestPushedK) covers it but is disabled: "
            "everything stays") in " ".join(text.split())
