"""--format codequality: GitLab's Code Quality report, pointing into the deployment repo."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report import codequality
from tests.report.test_formats import EXAMPLE, ROOT, example_report, small_report

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def shape(issues: list[dict[str, Any]]) -> None:
    """Every key GitLab reads, of the type it reads."""
    assert isinstance(issues, list)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity",
                              "location"}
        assert issue["description"] and issue["check_name"]
        assert issue["severity"] in SEVERITIES
        assert len(issue["fingerprint"]) == 64
        assert issue["location"]["path"]
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["lines"]["begin"] >= 1
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints)  # GitLab shows one per fingerprint


@pytest.fixture(scope="module")
def deploy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(ROOT / "examples" / "build-deploy-repo.sh"), str(dest)],
                   check=True, capture_output=True)
    return dest


def run_check(repo: Path, fmt: str) -> Any:
    result = CliRunner().invoke(cli, [
        "check", "--snapshot", str(EXAMPLE), "--manifests", str(repo), "--environment",
        "tools", "--image-tag-template", "{version}_image", "--kubectl-json",
        str(ROOT / "examples" / "cluster-kubectl.json"), "--format", fmt],
        catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    return json.loads(result.stdout)


def test_findings_point_at_the_line_that_names_the_version(deploy_repo: Path) -> None:
    issues = run_check(deploy_repo, "codequality")
    shape(issues)
    values = "components/builds-api/values/tools.yaml.gotmpl"
    errors = [i for i in issues if i["severity"] == "critical"]
    assert {i["check_name"] for i in errors} == {"in-use-deleted", "rollback-deleted"}
    # 0.0.130 is a rollback target found in history, where the file was tools.yaml: the
    # widget shows the working tree, whose file is tools.yaml.gotmpl now.
    chart = next(i for i in errors if "Helm chart of a rollback target" in i["description"])
    assert "tools.yaml:1" in chart["description"]
    assert chart["location"] == {"path": values, "lines": {"begin": 1}}
    # The running 0.0.130 (the cluster and the history name it) points at the same line;
    # 0.0.128, which only an old ReplicaSet names, has no file: the README.
    places = {i["description"].split(" ", 1)[0]: i["location"]["path"] for i in errors}
    assert places == {
        "toolforge/builds-api:0.0.130-20240221160838-03b2a120_image": values,
        "toolforge/builds-api:0.0.130-20240221160838-03b2a120": values,
        "toolforge/builds-api:0.0.128-20240212150430-023b8914_image": "README.md"}
    # A warning with no file of its own points at the README.
    disorder = next(i for i in issues if i["check_name"] == "version-disorder")
    assert disorder["severity"] == "minor" and disorder["location"]["path"] == "README.md"
    # The JSON report carries the same place.
    report = run_check(deploy_repo, "json")
    located = [f for f in report["findings"] if f["severity"] == "error"]
    assert [f.get("location") for f in located].count({"path": values, "line": 1}) == 2
    assert report["source"]["environment"] == "tools"


def test_image_line_is_the_images_own(deploy_repo: Path) -> None:
    report = run_check(deploy_repo, "json")
    builder = next(a for a in report["artifacts"] if a["repository"] ==
                   "toolforge/heroku-builder" and a["in_use"])
    where = next(u["where"] for u in builder["in_use"] if u["source"] == "manifests")
    assert where.endswith(".gotmpl:5")  # the image line, not the chartVersion line


def test_fingerprints_are_stable_and_ignore_the_message() -> None:
    report = example_report()
    first = codequality.issues(report)
    changed = copy.deepcopy(report)
    for finding in changed["findings"]:
        finding["message"] += " (reworded)"
    assert [i["fingerprint"] for i in codequality.issues(changed)] == \
        [i["fingerprint"] for i in first]
    moved = copy.deepcopy(report)
    moved["findings"][0]["digest"] = "sha256:" + "0" * 64
    assert codequality.issues(moved)[0]["fingerprint"] != first[0]["fingerprint"]


def test_an_incomplete_run_is_never_green() -> None:
    report = small_report(incomplete=[{"what": "proj/app", "reason": "HTTP 503 after 4 attempts"}])
    report["findings"] = []
    report["source"]["config"] = "harborguard.yaml"
    issues = codequality.issues(report)
    shape(issues)
    assert [(i["severity"], i["check_name"], i["location"]["path"]) for i in issues] == [
        ("blocker", "incomplete", "harborguard.yaml")]
    assert "HTTP 503" in issues[0]["description"]


def test_severity_mapping() -> None:
    assert codequality.SEVERITY == {"error": "critical", "warning": "minor", "info": "info"}
