"""commands.check run from Python: evidence matched against the simulation."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from harborguard.cli import Exit
from harborguard.commands import Invocation
from harborguard.commands.check import run_check
from harborguard.errors import InputError
from harborguard.gather import EvidenceOptions
from tests.builders import T, art, policy, rule, snapshot

S = timedelta(seconds=1)


def _snapshot_file(tmp_path: Path) -> str:
    artifacts = [art("new", ["1.3"], T - 10 * S), art("mid", ["1.2"], T - 20 * S),
                 art("old", ["1.1"], T - 30 * S)]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot({"app": artifacts}, policy(rule("latestPushedK", 2)))))
    return str(path)


def _pods_file(tmp_path: Path, image: str) -> str:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"namespace": "ns", "name": "p"},
           "spec": {"containers": [{"name": "c", "image": image}]}}
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}))
    return str(path)


def _codes(report: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in report["findings"])


def test_a_running_image_the_policy_deletes_is_an_error(tmp_path: Path) -> None:
    inv = Invocation.of({"snapshot": _snapshot_file(tmp_path)})
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.1")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert "in-use-deleted" in _codes(outcome.report)
    assert outcome.report["command"] == "check"
    assert outcome.report["evidence"]  # what the kubectl file covered
    assert outcome.failing and not outcome.incomplete
    assert Exit.of(outcome) == Exit.FINDINGS


def test_a_running_image_the_policy_keeps_is_no_finding(tmp_path: Path) -> None:
    inv = Invocation.of({"snapshot": _snapshot_file(tmp_path)})
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.3")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert "in-use-deleted" not in _codes(outcome.report)
    assert Exit.of(outcome) == Exit.OK


def test_references_to_another_registry_name_make_the_run_incomplete(tmp_path: Path) -> None:
    inv = Invocation.of({"snapshot": _snapshot_file(tmp_path)})
    pods = _pods_file(tmp_path, "internal.example.org/proj/app:1.1")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert outcome.incomplete and Exit.of(outcome) == Exit.INCOMPLETE
    missing = outcome.report["incomplete"][-1]
    assert missing["what"] == "evidence of use"
    assert "--registry-alias internal.example.org" in missing["reason"]
    aliased = run_check(Invocation.of({"snapshot": _snapshot_file(tmp_path)}),
                        EvidenceOptions(kubectl_json=(pods,)), ["internal.example.org"])
    assert "in-use-deleted" in _codes(aliased.report)


def test_no_evidence_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="check needs evidence"):
        run_check(Invocation.of({"snapshot": _snapshot_file(tmp_path)}), EvidenceOptions())
