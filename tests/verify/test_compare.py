"""verify's comparison: when a tie explains a difference, and when it cannot."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, policy, rule, snapshot
from tests.harborlog import Row, render_log

# 2.0 is newest; 1.1 and 1.0 were pushed at the same second; 0.9 is oldest. latestPushedK 2
# keeps 2.0 and one of the tied two: which one is the order Harbor's sort chose.
ARTIFACTS = [art("a20", ["2.0"], T - timedelta(days=5)),
             art("a11", ["1.1"], T - timedelta(days=10)),
             art("a10", ["1.0"], T - timedelta(days=10)),
             art("a09", ["0.9"], T - timedelta(days=20))]


def _seconds(text: str) -> int:
    return parse_nanos(text) // 10**9


def _verify(tmp_path: Path, marks: list[str]) -> tuple[int, dict[str, object]]:
    snap = snapshot({"app": ARTIFACTS}, policy(rule("latestPushedK", 2)), version="v2.11.0")
    (tmp_path / "snap.json").write_text(json.dumps(snap))
    logs = tmp_path / "logs"
    logs.mkdir()
    rows = [Row(a["digest"], [t["name"] for t in a["tags"]], _seconds(a["push_time"]), 0,
                _seconds(a["push_time"]), mark) for a, mark in zip(ARTIFACTS, marks, strict=True)]
    (logs / "task-1.log").write_text(render_log("proj/app", rows, _seconds(T_TEXT) - 60))
    result = CliRunner().invoke(cli, ["verify", "--from-logs", str(logs), "--snapshot",
                                      str(tmp_path / "snap.json"), "--format", "json"],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _codes(report: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report["findings"]:  # type: ignore[attr-defined]
        if f["code"].startswith("verify"):
            out.setdefault(f["code"], []).append(f["tags"][0])
    return out


def test_the_other_order_of_a_tie_is_explained(tmp_path: Path) -> None:
    code, report = _verify(tmp_path, ["RETAIN", "DEL", "RETAIN", "DEL"])
    codes = _codes(report)
    assert code == 0
    assert "verify-mismatch" not in codes
    assert sorted(codes.get("verify-changed", [])) in ([], ["1.0", "1.1"])


@pytest.mark.parametrize("marks", [["RETAIN", "RETAIN", "RETAIN", "DEL"],
                                   ["RETAIN", "DEL", "DEL", "DEL"],
                                   ["RETAIN", "DEL", "IMMUTABLE", "DEL"]],
                         ids=["kept-three-of-k2", "kept-one-of-k2", "immutable-in-the-tie"])
def test_a_tie_never_explains_keeping_another_count(tmp_path: Path,
                                                    marks: list[str]) -> None:
    """No order of equal times makes latestPushedK 2 keep three, or one, of four, or makes
    an artifact immutable."""
    code, report = _verify(tmp_path, marks)
    assert code == 1
    assert _codes(report).get("verify-mismatch")
