"""--jobs is only a partition of the repository stream, for every command and format: the
report (file or standard output), the messages and the exit code of ``--jobs 2`` and
``--jobs 3`` are byte for byte those of ``--jobs 1`` (check with the deployment
repository's evidence and its findings' locations, diff, drift, simulate)."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import harborguard.cli.output
import harborguard.commands.drift
from harborguard.cli import cli
from tests.builders import policy, rule
from tests.pipeline.test_parts import (
    JOINED,
    _count_joined,  # noqa: F401 - counts the parts joined
    _random_snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "examples" / "toolforge-snapshot.json"
PODS = ROOT / "examples" / "cluster-kubectl.json"
FORMATS = ("json", "table", "markdown", "junit", "codequality", "prometheus")


@pytest.fixture(autouse=True)
def _one_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same wall clock for both runs (drift's `now`, Prometheus's last run)."""
    monkeypatch.setattr(harborguard.cli.output, "time", SimpleNamespace(time=lambda: 1.8e9))
    monkeypatch.setattr(harborguard.commands.drift, "utc_now_nanos", lambda: 1_800_000_000 * 10**9)


@pytest.fixture(scope="module")
def deploy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/toolforge-deploy as a git repository with its history."""
    dest = tmp_path_factory.mktemp("deploy") / "toolforge-deploy"
    subprocess.run(["sh", str(ROOT / "examples" / "build-deploy-repo.sh"), str(dest)],
                   check=True, capture_output=True)
    return dest


def _runs(args: list[str], fmt: str, tmp_path: Path, jobs: int) -> list[tuple[int, bytes, str]]:
    """(exit code, report, stderr) with --jobs 1 and --jobs ``jobs``."""
    out = []
    for n in (1, jobs):
        target = tmp_path / f"report-{n}.{fmt}"
        target.unlink(missing_ok=True)
        to_file = ["-o", str(target)] if fmt == "json" else []
        result = CliRunner().invoke(cli, [*args, "--format", fmt, *to_file, "--jobs", str(n)],
                                    catch_exceptions=False)
        report = target.read_bytes() if fmt == "json" else result.stdout_bytes
        out.append((result.exit_code, report, result.stderr))
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("jobs", (2, 3))
def test_check_in_parts_is_check_in_one(tmp_path: Path, fmt: str, jobs: int) -> None:
    args = ["check", "--snapshot", str(SNAPSHOT), "--kubectl-json", str(PODS)]
    JOINED.clear()
    one, parts = _runs(args, fmt, tmp_path, jobs)
    assert parts == one and one[0] == 1 and JOINED == [jobs]
    assert b"in-use-deleted" in one[1] or b"in use" in one[1].lower()


@pytest.mark.parametrize("fmt", FORMATS)
def test_diff_in_parts_is_diff_in_one(tmp_path: Path, fmt: str) -> None:
    proposed = tmp_path / "proposed.json"
    proposed.write_text(json.dumps(policy(rule("latestPushedK", 3))))
    for extra in ([], ["--kubectl-json", str(PODS)]):
        args = ["diff", "--snapshot", str(SNAPSHOT), "--policy", str(proposed), *extra]
        JOINED.clear()
        one, parts = _runs(args, fmt, tmp_path, 3)
        assert parts == one and one[0] in (0, 1) and JOINED == [3]
        assert b"changed" in one[1] or fmt != "json"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", (3, 4))
def test_simulate_and_diff_of_random_snapshots(tmp_path: Path, fmt: str, seed: int) -> None:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(random.Random(seed))))
    proposed = tmp_path / "proposed.json"
    proposed.write_text(json.dumps(policy(rule("latestPushedK", 2))))
    for args in (["simulate", "--snapshot", str(path)],
                 ["diff", "--snapshot", str(path), "--policy", str(proposed)]):
        one, parts = _runs(args, fmt, tmp_path, 2)
        assert parts == one and one[0] in (0, 1, 3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_with_the_deployment_repository_in_parts(tmp_path: Path, fmt: str,
                                                       deploy_repo: Path) -> None:
    """The manifests' and history's evidence, each finding located in the repository."""
    args = ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(deploy_repo),
            "--environment", "tools", "--image-tag-template", "{version}_image",
            "--kubectl-json", str(PODS)]
    JOINED.clear()
    one, parts = _runs(args, fmt, tmp_path, 2)
    assert parts == one and one[0] == 1 and JOINED == [2]
    if fmt == "json":
        assert b'"location":' in one[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_drift_with_jobs_is_drift(tmp_path: Path, fmt: str, deploy_repo: Path) -> None:
    """drift reads no snapshot: --jobs is checked and changes nothing."""
    args = ["drift", "--manifests", str(deploy_repo), "--environment", "tools",
            "--helm-json", str(ROOT / "examples" / "cluster-helm.json")]
    one, parts = _runs(args, fmt, tmp_path, 3)
    assert parts == one and one[0] in (0, 1)
    bad = CliRunner().invoke(cli, [*args, "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs" in bad.stderr
