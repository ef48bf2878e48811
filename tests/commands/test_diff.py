"""commands.diff run from Python: a proposed policy against the current one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from harborguard.commands import Invocation
from harborguard.commands.diff import run_diff
from harborguard.errors import InputError
from harborguard.gather import EvidenceOptions
from tests.builders import T, art, policy, rule, snapshot

S = timedelta(seconds=1)


def _files(tmp_path: Path) -> tuple[str, str]:
    artifacts = [art("new", ["1.3"], T - 10 * S), art("mid", ["1.2"], T - 20 * S),
                 art("old", ["1.1"], T - 30 * S)]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(snapshot({"app": artifacts}, policy(rule("latestPushedK", 2)))))
    proposed = tmp_path / "proposed.json"
    proposed.write_text(json.dumps(policy(rule("latestPushedK", 1))))
    return str(snap), str(proposed)


def test_what_the_proposed_policy_changes(tmp_path: Path) -> None:
    snap, proposed = _files(tmp_path)
    outcome = run_diff(Invocation.of({"snapshot": snap, "policy": proposed}), EvidenceOptions())
    rows = {r["tags"][0]: (r["previous_action"], r["action"]) for r in outcome.report["artifacts"]}
    assert rows == {"1.3": ("retain", "retain"), "1.2": ("retain", "delete"),
                    "1.1": ("delete", "delete")}
    assert outcome.report["summary"]["changed"] == 1
    assert outcome.report["source"]["against"] == "harbor"
    assert outcome.report["evidence"] == []  # no evidence given: said as such


def test_diff_needs_the_proposed_policy(tmp_path: Path) -> None:
    snap, _ = _files(tmp_path)
    with pytest.raises(InputError, match="--policy NEW"):
        run_diff(Invocation.of({"snapshot": snap}), EvidenceOptions())
