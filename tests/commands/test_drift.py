"""commands.drift run from Python: the manifests against what the cluster runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harborguard.cli import Exit
from harborguard.commands import Invocation
from harborguard.commands.drift import run_drift
from harborguard.errors import InputError
from harborguard.gather import EvidenceOptions

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


@pytest.fixture(scope="module")
def deploy_repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    dest = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(dest)], check=True,
                   capture_output=True)
    return str(dest)


def test_a_merged_version_not_deployed_is_a_warning_that_fails(deploy_repo: str) -> None:
    evidence = EvidenceOptions(manifests=deploy_repo, environment="tools", history=0,
                               helm_json=(str(EXAMPLES / "cluster-helm.json"),))
    outcome = run_drift(Invocation.of({}), evidence)
    not_deployed = [f for f in outcome.report["findings"] if f["code"] == "not-deployed"]
    assert [f["component"] for f in not_deployed] == ["builds-api"]
    assert outcome.report["source"]["manifests"] == deploy_repo
    # drift's --fail-on is warning unless given: the warning fails the run (exit 1).
    assert outcome.failing and Exit.of(outcome) == Exit.FINDINGS
    relaxed = run_drift(Invocation.of({"fail-on": "error"}), evidence)
    assert not relaxed.failing and Exit.of(relaxed) == Exit.OK


def test_drift_needs_both_sides() -> None:
    with pytest.raises(InputError, match="give --manifests DIR"):
        run_drift(Invocation.of({}), EvidenceOptions(helm_json=("x.json",)))
    with pytest.raises(InputError, match="needs the cluster's side"):
        run_drift(Invocation.of({}), EvidenceOptions(manifests="m", environment="tools"))


def test_not_deployed_says_since_when_it_waits(deploy_repo: str) -> None:
    evidence = EvidenceOptions(manifests=deploy_repo, environment="tools", history=0,
                               helm_json=(str(EXAMPLES / "cluster-helm.json"),))
    report = run_drift(Invocation.of({}), evidence).report
    finding = next(f for f in report["findings"] if f["code"] == "not-deployed")
    head = subprocess.run(["git", "-C", deploy_repo, "rev-parse", "--short", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()
    assert finding["since"] == {"commit": head, "time": "2024-02-22T22:41:00Z"}
    assert f" days ago in {head}, not deployed" in finding["message"]
    assert "merged but not deployed" not in finding["message"]
    assert finding["location"] == {"path": "components/builds-api/values/tools.yaml.gotmpl",
                                   "line": 1}
    assert report["components"] == [{"component": "builds-api", "environment": "tools",
                                     "version": "0.0.131-20240222212602-322f874b"}]


def test_without_git_history_since_is_unknown_and_said(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    subprocess.run(["cp", "-r", str(EXAMPLES / "toolforge-deploy"), str(plain)], check=True)
    evidence = EvidenceOptions(manifests=str(plain), environment="tools", history=0,
                               helm_json=(str(EXAMPLES / "cluster-helm.json"),))
    report = run_drift(Invocation.of({}), evidence).report
    finding = next(f for f in report["findings"] if f["code"] == "not-deployed")
    assert "since" not in finding and "merged but not deployed" in finding["message"]
    assert any("since when builds-api" in note for note in report["notes"])
    # drift decides no retention: no Harbor version is compared, none is said unknown.
    assert not any("Harbor version" in note for note in report["notes"])


@pytest.mark.parametrize(("template", "compared"), [("{version}_image", ["builds-api"]),
                                                     (None, [])])
def test_only_components_the_evidence_could_tell_are_listed(
        deploy_repo: str, template: str | None, compared: list[str]) -> None:
    """Without the chart's images (no --image-tag-template) kubectl cannot tell whether
    builds-api runs its version: it is not listed, so no 0 is exported for it."""
    evidence = EvidenceOptions(manifests=deploy_repo, environment="tools", history=0,
                               image_tag_template=template,
                               kubectl_json=(str(EXAMPLES / "cluster-kubectl.json"),))
    report = run_drift(Invocation.of({}), evidence).report
    assert [c["component"] for c in report["components"]] == compared
