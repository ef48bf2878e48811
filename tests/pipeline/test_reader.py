"""The streaming snapshot reader (pipeline/reader.py) says what the whole reader says of a
partial list, a missing ranking time and a null policy the project names (attack notes 4,
5, 8), in one process and in parts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import T, art, policy, rule, snapshot


def _data() -> dict[str, Any]:
    return snapshot({f"app{i}": [art(f"a{i}", ["2.0"]), art(f"b{i}", ["1.0"],
                                                          T - timedelta(days=3))]
                     for i in range(4)}, policy(rule("latestPushedK", 1)), version="v2.11.0")


def _simulate(tmp_path: Path, data: dict[str, Any], jobs: str) -> tuple[int, Any, str]:
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["simulate", "--snapshot", str(snap), "--format", "json",
                                      "--jobs", jobs])
    return result.exit_code, json.loads(result.stdout) if result.stdout else None, result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_repository_list_shorter_than_its_artifact_count_is_incomplete(
        tmp_path: Path, jobs: str) -> None:
    data = _data()
    data["projects"][0]["repositories"][2]["repository"]["artifact_count"] = 12
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 3
    assert [(i["what"], i["reason"].split(":")[1]) for i in report["incomplete"]] == [
        ("proj/app2", " 2 items for artifact_count 12")]
    assert report["summary"]["artifacts"] == 8  # every listed artifact is still reported
    data["projects"][0]["repositories"][2]["repository"]["artifact_count"] = 2
    data["projects"][0]["project"]["repo_count"] = 5
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 3
    assert [(i["what"], i["reason"].split(":")[1]) for i in report["incomplete"]] == [
        ("proj", " 4 items for repo_count 5")]
    data["projects"][0]["project"]["repo_count"] = 4
    assert _simulate(tmp_path, data, jobs)[0] == 0


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_digest_listed_twice_is_incomplete(tmp_path: Path, jobs: str) -> None:
    # attack2 N1: the length agrees with artifact_count, one digest is repeated.
    data = _data()
    repo = data["projects"][0]["repositories"][2]
    repo["artifacts"][1] = dict(repo["artifacts"][0])
    repo["repository"]["artifact_count"] = 2
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 3
    assert [i["what"] for i in report["incomplete"]] == ["proj/app2"]
    assert "read while it changed" in report["incomplete"][0]["reason"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_repository_or_project_listed_twice_is_incomplete(tmp_path: Path, jobs: str) -> None:
    # attack3 R4: a repeated repository (repo_count agreeing) or project is a list read
    # while it changed; the figures are never doubled silently.
    data = _data()
    repos = data["projects"][0]["repositories"]
    repos[3] = json.loads(json.dumps(repos[1]))
    data["projects"][0]["project"]["repo_count"] = 4
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 3
    assert [i["what"] for i in report["incomplete"]] == ["proj/app1"]
    assert "lists proj/app1 twice" in report["incomplete"][0]["reason"]
    data = _data()
    data["projects"].append(json.loads(json.dumps(data["projects"][0])))
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 3
    assert [i["what"] for i in report["incomplete"]] == ["proj"]

@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("value", ["absent", None])
def test_a_missing_tag_time_is_an_error_naming_it(tmp_path: Path, jobs: str,
                                                  value: Any) -> None:
    data = _data()
    tag = data["projects"][0]["repositories"][3]["artifacts"][1]["tags"][0]
    if value == "absent":
        del tag["push_time"]
    else:
        tag["push_time"] = value
    code, report, err = _simulate(tmp_path, data, jobs)
    assert code == 2 and report is None
    assert err.startswith("harborguard: error: ") and len(err.strip().splitlines()) == 1
    assert "projects[0].repositories[3].artifacts[1].tags[0].push_time: is missing or null" in err


def test_a_null_policy_the_project_names_is_incomplete(tmp_path: Path) -> None:
    data = _data()
    data["projects"][0]["retention"] = None
    data["projects"][0]["project"]["metadata"] = {"retention_id": "7"}
    code, report, err = _simulate(tmp_path, data, "1")
    assert code == 3 and [i["what"] for i in report["incomplete"]] == ["proj"]
    assert "policy 7 not in the snapshot" in report["incomplete"][0]["reason"]
    assert report["summary"]["delete"] == 0  # not evaluated, nothing said to be deleted
