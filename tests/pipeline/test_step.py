"""A run whose Harbor version is unknown (the snapshot has none, or one not understood):
every repository is decided under every distinct released behaviour and main
(pipeline/step.py decide_versions); a needed artifact whose fate depends on the version
makes the run incomplete, any other is counted in a note (attack notes 1, 1b, 1c)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import T, art, dig, policy, rule, snapshot
from tests.retention.test_acrossversions import NESTED_IMMUTABLE

HOST = "harbor.example.org"


def _pods(*running: str) -> dict[str, Any]:
    """A kubectl list of one running pod per ``repository:tag`` of proj (by digest)."""
    items = []
    for i, ref in enumerate(running):
        repo, _, tag = ref.partition(":")
        image = f"{HOST}/proj/{repo}:{tag}"
        items.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p{i}", "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "image": image}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "image": image, "imageID": f"{HOST}/proj/{repo}@{dig(tag)}",
                "ready": True, "restartCount": 0}]}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _write(tmp_path: Path, version: str | None, *running: str) -> tuple[str, str]:
    data = snapshot({"team/app": [art("v2", ["v2"]), art("v1", ["v1"], T - timedelta(days=9))],
                     "other": [art("o2", ["o2"]), art("o1", ["o1"], T - timedelta(days=9))]},
                    policy(rule("latestPushedK", 1)), NESTED_IMMUTABLE, version=version)
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(data))
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps(_pods(*running)))
    return str(snap), str(pods)


def _check(snap: str, pods: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--kubectl-json", pods,
                                      "--format", "json", *extra])
    return result.exit_code, json.loads(result.stdout), result.stderr


@pytest.mark.parametrize("version", [None, "dev"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_needed_artifact_whose_fate_depends_on_the_version_is_incomplete(
        tmp_path: Path, version: str | None, jobs: str) -> None:
    snap, pods = _write(tmp_path, version, "team/app:v1")
    code, report, err = _check(snap, pods, "--jobs", jobs)
    assert code == 3
    assert report["incomplete"] == [{"what": "proj/team/app:v1", "reason": report[
        "incomplete"][0]["reason"]}]
    reason = report["incomplete"][0]["reason"]
    assert reason.startswith("its fate depends on the Harbor version (immutable by main; delete")
    assert "pass --harbor-version (systeminfo reports it to a logged-in user)" in reason
    # The decision shown is main's (DESIGN.md), but no all-clear rests on it: incomplete.
    v1 = next(a for a in report["artifacts"] if a["tags"] == ["v1"])
    assert v1["action"] == "immutable"
    assert "in-use-deleted" not in [f["code"] for f in report["findings"]]
    assert any("the actions of 1 artifact depend on it" in n for n in report["notes"])


def test_a_version_dependent_artifact_nothing_needs_is_a_note(tmp_path: Path) -> None:
    snap, pods = _write(tmp_path, None, "other:o2")
    code, report, _ = _check(snap, pods)
    assert code == 0 and report["incomplete"] == []
    assert report["notes"] == [
        "Harbor version unknown: the actions of 1 artifact depend on it (shown as Harbor's "
        "main branch decides them, as for a missing version; released Harbors decide them "
        "otherwise); pass --harbor-version (systeminfo reports it to a logged-in user)"]


def test_an_unknown_version_nothing_depends_on_is_said_once(tmp_path: Path) -> None:
    data = snapshot({"app": [art("v2", ["v2"]), art("v1", ["v1"], T - timedelta(days=9))]},
                    policy(rule("latestPushedK", 1)))
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["simulate", "--snapshot", str(snap), "--format", "json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert report["notes"] == ["Harbor version unknown; no decision here depends on it"]


def test_a_known_version_is_exact_and_says_nothing_of_it(tmp_path: Path) -> None:
    snap, pods = _write(tmp_path, "v2.11.0", "team/app:v1")
    code, report, _ = _check(snap, pods)
    assert code == 1 and report["incomplete"] == [] and report["notes"] == []
    snap, pods = _write(tmp_path, None, "team/app:v1")
    code, report, _ = _check(snap, pods, "--harbor-version", "v2.11.0")
    assert code == 1 and report["incomplete"] == [] and report["notes"] == []
