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
