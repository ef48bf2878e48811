"""expiry: in use and kept today by a rule that counts days, deleted by a run soon."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from harborguard.check import check
from harborguard.cli import cli
from harborguard.evidence import Usage
from harborguard.expiry import expiring
from harborguard.harborversion import resolve
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, dig, policy, rule, snapshot

HOST = "harbor.example.org"
H = timedelta(hours=1)
D = timedelta(days=1)


def _case(retention: dict[str, object]) -> tuple[RunResult, object]:
    artifacts = [art("soon", ["1.0"], T - 30 * D + H), art("week", ["2.0"], T - 25 * D),
                 art("fresh", ["3.0"], T - 10 * D), art("old", ["0.9"], T - 40 * D)]
    snap = parse_snapshot(snapshot({"app": artifacts}, retention), "test")
    now = parse_nanos(T_TEXT)

    def later(projects: Sequence[str], now_ns: int) -> RunResult:
        part = dataclasses.replace(snap, projects=tuple(
            p for p in snap.projects if p.name in projects))
        return simulate(part, now_ns, resolve(None))

    return simulate(snap, now, resolve(None)), later


def _usage(tag: str, kind: str = "running") -> Usage:
    return Usage(source="kubectl", kind=kind, ref=f"{HOST}/proj/app:{tag}",  # type: ignore[arg-type]
                 where="ns/Pod/p")


def test_a_day_rule_deletes_what_turns_too_old_before_the_next_run() -> None:
    result, later = _case(policy(rule("nDaysSinceLastPush", 30)))
    used = [_usage("1.0"), _usage("2.0"), _usage("3.0"), _usage("0.9", "rollback")]
    checked = check(result, used, [HOST])
    assert [(f.code, f.tags) for f in checked.findings] == [("rollback-deleted", ("0.9",))]
    found = expiring(result, checked.in_use, later)  # type: ignore[arg-type]
    assert sorted((f.code, f.tags) for f in found) == [
        ("in-use-deleted", ("1.0",)), ("in-use-expiring", ("2.0",))]
    assert "within the next 24 hours" in next(f.message for f in found if f.tags == ("1.0",))


def test_count_rules_do_not_expire_and_are_not_simulated_again() -> None:
    result, _ = _case(policy(rule("latestPushedK", 3)))

    def later(projects: Sequence[str], now_ns: int) -> RunResult:
        raise AssertionError("no rule counts days: nothing to simulate later")

    checked = check(result, [_usage("1.0")], [HOST])
    assert expiring(result, checked.in_use, later) == []


def test_a_rollback_target_that_expires_by_the_next_run_is_rollback_deleted() -> None:
    result, later = _case(policy(rule("nDaysSinceLastPush", 30)))
    checked = check(result, [_usage("1.0", "rollback")], [HOST])
    found = expiring(result, checked.in_use, later)  # type: ignore[arg-type]
    assert [(f.code, f.digest) for f in found] == [("rollback-deleted", dig("soon"))]


def test_check_exits_1_when_the_next_run_deletes_a_running_image(tmp_path: Path) -> None:
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(snapshot({"app": [art("soon", ["1.0"], T - 30 * D + H)]},
                                        policy(rule("nDaysSinceLastPush", 30)))))
    pods = tmp_path / "k.json"
    pods.write_text(json.dumps({"kind": "List", "items": [{
        "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": f"{HOST}/proj/app:1.0"}]}}]}))
    result = CliRunner().invoke(cli, ["check", "--snapshot", str(snap), "--kubectl-json",
                                      str(pods), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["in-use-deleted"]
