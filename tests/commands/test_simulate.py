"""commands.simulate run from Python: settings in, an outcome out (no click, no exit)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from harborguard.cli import Exit
from harborguard.commands import Invocation
from harborguard.commands.loading import open_source
from harborguard.commands.simulate import run_simulate
from harborguard.commands.streaming import PARTS_FROM_BYTES, parts
from harborguard.errors import InputError
from tests.builders import T, art, policy, rule, snapshot
from tests.fakeharbor import FakeHarbor

S = timedelta(seconds=1)


def _snapshot_file(tmp_path: Path, retention: dict[str, Any] | None) -> str:
    artifacts = [art("new", ["1.3"], T - 10 * S), art("mid", ["1.2"], T - 20 * S),
                 art("old", ["1.1"], T - 30 * S)]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot({"app": artifacts}, retention)))
    return str(path)


def _actions(report: dict[str, Any]) -> dict[str, str]:
    return {row["tags"][0]: row["action"] for row in report["artifacts"]}


def test_a_snapshot_is_simulated_with_each_projects_policy(tmp_path: Path) -> None:
    path = _snapshot_file(tmp_path, policy(rule("latestPushedK", 2)))
    outcome = run_simulate(Invocation.of({"snapshot": path}))
    assert _actions(outcome.report) == {"1.3": "retain", "1.2": "retain", "1.1": "delete"}
    assert outcome.report["command"] == "simulate"
    assert outcome.report["source"]["snapshot"] == path
    assert (outcome.failing, outcome.incomplete, outcome.errors) == (False, False, ())
    assert Exit.of(outcome) == Exit.OK


def test_policy_file_and_its_unknown_keys(tmp_path: Path) -> None:
    path = _snapshot_file(tmp_path, None)
    proposed = tmp_path / "policy.json"
    proposed.write_text(json.dumps({**policy(rule("latestPushedK", 1)), "tag_selector": "x"}))
    outcome = run_simulate(Invocation.of({"snapshot": path, "policy": str(proposed)}))
    assert _actions(outcome.report) == {"1.3": "retain", "1.2": "delete", "1.1": "delete"}
    assert outcome.report["source"]["policy"] == str(proposed)
    assert any("tag_selector is not a field" in note for note in outcome.report["notes"])


def test_bad_settings_raise_input_error(tmp_path: Path) -> None:
    path = _snapshot_file(tmp_path, None)
    with pytest.raises(InputError, match="is not an RFC 3339 time"):
        run_simulate(Invocation.of({"snapshot": path, "now": "yesterday"}))
    with pytest.raises(InputError, match="no data source"):
        run_simulate(Invocation.of({}))


def test_a_live_read_with_the_password_given(tmp_path: Path) -> None:
    data = json.loads(Path(_snapshot_file(tmp_path, policy(rule("latestPushedK", 2)))).read_text())
    with FakeHarbor(data, users={"admin": "pw"}) as fake:
        settings = {"harbor": fake.url, "username": "admin", "project": ["proj"]}
        outcome = run_simulate(Invocation.of(settings, password=lambda: "pw"))
        assert _actions(outcome.report) == {"1.3": "retain", "1.2": "retain", "1.1": "delete"}
        refused = run_simulate(Invocation.of(settings, password=lambda: "wrong"))
        url = fake.url
    # Harbor not read: still a report, saying what is missing (exit 3).
    assert refused.incomplete and Exit.of(refused) == Exit.INCOMPLETE
    assert refused.errors[0].startswith("cannot read Harbor: ")
    assert refused.report["incomplete"][0]["what"] == url
    assert "pw" not in json.dumps(refused.report)


def test_a_small_snapshot_is_not_run_in_parts(tmp_path: Path) -> None:
    path = _snapshot_file(tmp_path, policy(rule("latestPushedK", 2)))
    inv = Invocation.of({"snapshot": path}, format="json")
    assert parts(inv, open_source(inv, need_policies=True)) == 1
    asked = Invocation.of({"snapshot": path, "jobs": 3}, format="json")
    assert Path(path).stat().st_size < PARTS_FROM_BYTES
    assert parts(asked, open_source(asked, need_policies=True)) in (1, 3)  # 1: no fork
