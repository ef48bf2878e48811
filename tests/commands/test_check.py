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
from harborguard.config import ConfigFile, Resolver
from harborguard.errors import InputError
from harborguard.gather import EvidenceOptions
from tests.builders import D, T, art, policy, rule, snapshot

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



def test_evidence_naming_nothing_of_this_harbor_qualifies_the_all_clear(tmp_path: Path) -> None:
    # round-1 #11 addendum: kubectl output of the wrong kube context names only other
    # registries; the cluster may truly use nothing of this Harbor (not incomplete), but
    # "nothing in use would be deleted" says what it did not check.
    from harborguard.report.common import not_checked

    inv = Invocation.of({"snapshot": _snapshot_file(tmp_path)})
    pods = _pods_file(tmp_path, "docker.io/library/nginx:1.25")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert Exit.of(outcome) == Exit.OK and not outcome.report["incomplete"]
    said = [n for n in not_checked(outcome.report) if "this Harbor" in n]
    assert said == ["anything of this Harbor (harbor.example.org): no evidence names it "
                    "(1 reference, all to other registries: is this the right cluster, "
                    "kube context or environment?)"]
    assert "not checked: anything of this Harbor" in _verdict(outcome.report)
    # One reference to this Harbor, whatever it names: no such qualifier.
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.3")
    outcome = run_check(Invocation.of({"snapshot": _snapshot_file(tmp_path)}),
                        EvidenceOptions(kubectl_json=(pods,)))
    assert not [n for n in not_checked(outcome.report) if "this Harbor" in n]

def test_no_evidence_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="check needs evidence"):
        run_check(Invocation.of({"snapshot": _snapshot_file(tmp_path)}), EvidenceOptions())


def _day_rule_snapshot(tmp_path: Path) -> str:
    # Pushed 45 days before the snapshot: nDaysSinceLastPush 30 deletes it at taken_at.
    path = tmp_path / "days.json"
    path.write_text(json.dumps(snapshot({"app": [art("old", ["1.0"], T - 45 * D)]},
                                        policy(rule("nDaysSinceLastPush", 30)))))
    return str(path)


def _verdict(report: dict[str, Any]) -> str:
    from harborguard.report.markdown import render

    return render(report).splitlines()[0]


@pytest.mark.parametrize("where", ["config", "env", "cli"])
def test_a_now_before_the_datas_time_is_a_named_what_if(tmp_path: Path, where: str) -> None:
    # A `now:` left in ./harborguard.yaml or HARBORGUARD_NOW moves the run to a time at
    # which 1.0 is still young; Harbor's next run (after taken_at) deletes it.
    earlier = "2025-12-01T00:00:00Z"
    config = ConfigFile(str(tmp_path / "harborguard.yaml"),
                        {"now": earlier} if where == "config" else {})
    env = {"HARBORGUARD_NOW": earlier} if where == "env" else {}
    cli = {"snapshot": _day_rule_snapshot(tmp_path), **({"now": earlier} if where == "cli"
                                                         else {})}
    inv = Invocation(Resolver(cli, env, config))
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.0")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert _codes(outcome.report) == [] and Exit.of(outcome) == Exit.OK
    origin = {"config": "harborguard.yaml: key 'now'", "env": "HARBORGUARD_NOW",
              "cli": "--now"}[where]
    [note] = [n for n in outcome.report["notes"] if n.startswith("what-if: ")]
    assert origin in note and earlier in note and "2026-01-01T00:00:00Z" in note
    verdict = _verdict(outcome.report)
    assert "among what was checked" in verdict and "the time of the data" in verdict


def test_a_now_at_or_after_the_datas_time_is_no_what_if(tmp_path: Path) -> None:
    inv = Invocation.of({"snapshot": _day_rule_snapshot(tmp_path), "now": "2026-01-01T00:00:00Z"})
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.3")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert not [n for n in outcome.report["notes"] if n.startswith("what-if: ")]


def test_a_policy_file_from_the_config_file_is_a_named_what_if(tmp_path: Path) -> None:
    proposal = tmp_path / "proposed.json"
    proposal.write_text(json.dumps(policy(rule("latestPushedK", 5))))
    config = ConfigFile(str(tmp_path / "harborguard.yaml"), {"policy": str(proposal)})
    inv = Invocation(Resolver({"snapshot": _snapshot_file(tmp_path)}, {}, config))
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.1")  # Harbor's own K 2 deletes it
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert Exit.of(outcome) == Exit.OK
    [note] = [n for n in outcome.report["notes"] if n.startswith("what-if: ")]
    assert str(proposal) in note and "harborguard.yaml: key 'policy'" in note
    verdict = _verdict(outcome.report)
    assert "among what was checked" in verdict and "Harbor's own retention polic" in verdict


def _versioned_snapshot(tmp_path: Path, version: str) -> str:
    path = tmp_path / "versioned.json"
    artifacts = [art("new", ["1.3"], T - 10 * S), art("old", ["1.1"], T - 30 * S)]
    path.write_text(json.dumps(snapshot({"app": artifacts}, policy(rule("latestPushedK", 2)),
                                        version=version)))
    return str(path)


@pytest.mark.parametrize("where", ["config", "env", "cli"])
def test_a_harbor_version_other_than_the_recorded_one_is_a_named_what_if(
        tmp_path: Path, where: str) -> None:
    # attack2 N3: HARBORGUARD_HARBOR_VERSION or `harbor-version:` left from another Harbor
    # (or set to main) simulates a Harbor other than the one the snapshot was read from.
    config = ConfigFile(str(tmp_path / "harborguard.yaml"),
                        {"harbor-version": "main"} if where == "config" else {})
    env = {"HARBORGUARD_HARBOR_VERSION": "main"} if where == "env" else {}
    cli = {"snapshot": _versioned_snapshot(tmp_path, "v2.11.0-abc1234"),
           **({"harbor-version": "main"} if where == "cli" else {})}
    inv = Invocation(Resolver(cli, env, config))
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.3")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert Exit.of(outcome) == Exit.OK
    origin = {"config": "harborguard.yaml: key 'harbor-version'",
              "env": "HARBORGUARD_HARBOR_VERSION", "cli": "--harbor-version"}[where]
    [note] = [n for n in outcome.report["notes"] if n.startswith("what-if: ")]
    assert origin in note and "v2.11.0-abc1234" in note and "main" in note
    verdict = _verdict(outcome.report)
    assert "among what was checked" in verdict and "v2.11.0-abc1234" in verdict


@pytest.mark.parametrize("asked", ["v2.11.0", "2.11.0"])
def test_the_recorded_harbor_version_asked_again_is_no_what_if(tmp_path: Path,
                                                              asked: str) -> None:
    inv = Invocation.of({"snapshot": _versioned_snapshot(tmp_path, "v2.11.0-abc1234"),
                         "harbor-version": asked})
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.3")
    outcome = run_check(inv, EvidenceOptions(kubectl_json=(pods,)))
    assert not [n for n in outcome.report["notes"] if n.startswith("what-if: ")]
    unrecorded = Invocation.of({"snapshot": _snapshot_file(tmp_path), "harbor-version": asked})
    outcome = run_check(unrecorded, EvidenceOptions(kubectl_json=(pods,)))
    assert not [n for n in outcome.report["notes"] if n.startswith("what-if: ")]


@pytest.mark.parametrize("where", ["env", "cli"])
def test_a_now_on_a_snapshot_without_taken_at_is_a_named_what_if(tmp_path: Path,
                                                                 where: str) -> None:
    # attack2 N8: without taken_at nothing shows the data's time; a `now` before its own push
    # times gave an unqualified all-clear. Any explicit now is then a what-if (fail closed).
    path = Path(_day_rule_snapshot(tmp_path))
    data = json.loads(path.read_text())
    del data["taken_at"]
    path.write_text(json.dumps(data))
    earlier = "2025-11-01T00:00:00Z"  # before the push of 1.0 (2025-11-17)
    env = {"HARBORGUARD_NOW": earlier} if where == "env" else {}
    cli = {"snapshot": str(path), **({"now": earlier} if where == "cli" else {})}
    pods = _pods_file(tmp_path, "harbor.example.org/proj/app:1.0")
    outcome = run_check(Invocation(Resolver(cli, env, ConfigFile(None, {}))),
                        EvidenceOptions(kubectl_json=(pods,)))
    [note] = [n for n in outcome.report["notes"] if n.startswith("what-if: ")]
    assert earlier in note and "taken_at" in note
    assert {"env": "HARBORGUARD_NOW", "cli": "--now"}[where] in note
    assert "among what was checked" in _verdict(outcome.report)
    unasked = run_check(Invocation.of({"snapshot": str(path)}),
                        EvidenceOptions(kubectl_json=(pods,)))
    assert not [n for n in unasked.report["notes"] if n.startswith("what-if: ")]
