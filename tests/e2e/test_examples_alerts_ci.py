"""The CI and alerting examples: the rules check (promtool when installed, else their
shape), they use only metrics harborguard writes, and the CI jobs' shell runs: a kubectl
that cannot be downloaded or cannot read the cluster fails the job, never a silent skip."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.report.test_prometheus import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "examples" / "alerts" / "harborguard.rules.yml"
CI = ROOT / "examples" / "ci" / "gitlab-ci.yml"


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    (group,) = data["groups"]
    assert group["name"]
    return list(group["rules"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed "
                    "(Debian: apt-get install prometheus); the YAML shape is checked below")
def test_promtool_checks_the_rules() -> None:
    done = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_shape_and_metrics() -> None:
    found = rules()
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        # Only metrics and labels harborguard writes.
        for metric in re.findall(r"\bharborguard_\w+", rule["expr"]):
            assert metric in FAMILIES, metric
        for label in re.findall(r"\$labels\.(\w+)", str(rule["annotations"])):
            names = set().union(*(FAMILIES[m] for m in re.findall(r"\bharborguard_\w+",
                                                                 rule["expr"])))
            assert label in names, (rule["alert"], label)
    exprs = {r["alert"]: r["expr"] for r in found}
    # The alerts the issue asks for: undeployed too long, in use deleted, missing,
    # incomplete, and a stale textfile.
    assert "harborguard_undeployed_seconds > 86400" in exprs["HarborguardUndeployedTooLong"]
    assert 'kind=~"running|declared"' in exprs["HarborguardInUseImageWouldBeDeleted"]
    assert 'kind="missing"' in exprs["HarborguardReferencedImageMissing"]
    assert "harborguard_incomplete == 1" in exprs["HarborguardRunIncomplete"]
    assert "time() - harborguard_last_run_timestamp_seconds" in exprs["HarborguardMetricsStale"]


def ci() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CI.read_text())
    return data


def test_ci_example_settings() -> None:
    data = ci()
    assert data["variables"]["GIT_DEPTH"] == "0"  # the whole rollback window
    base = data[".harborguard"]
    assert base["parallel"]["matrix"] == [{"HARBORGUARD_ENVIRONMENT": ["tools", "toolsbeta"]}]
    check = data["harborguard-check"]
    assert check["artifacts"]["reports"]["codequality"].startswith("harborguard-codequality-")
    text = CI.read_text()
    assert "&& cluster=" not in text
    for line in text.splitlines():
        if re.search(r"\bcurl -", line) and not line.lstrip().startswith("#"):
            assert re.search(r"curl -f|curl --fail|curl -[a-zA-Z]*f", line), line
    assert '"PUT"' in text  # the comment is edited in place
    assert "--format prometheus" in text and "PUSHGATEWAY_URL" in text


def job_script(name: str) -> str:
    data = ci()
    job = data[name]
    lines = [*data[".harborguard"]["before_script"], *job["script"]]
    return "\n".join(lines) + "\n"


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_job(tmp_path: Path, name: str, *, kubectl: int = 0, curl: int = 0,
            codes: dict[str, int] | None = None) -> subprocess.CompletedProcess[str]:
    """The job's shell, as the runner runs it (each line must succeed), with stubs for
    the tools it calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for tool in ("apt-get", "pip", "chmod"):
        stub(bin_dir, tool, "exit 0\n")
    stub(bin_dir, "curl", f'echo "curl $*" >> {log}\nexit {curl}\n')
    stub(bin_dir, "kubectl", f'echo "kubectl $*" >> {log}\necho {{}}\nexit {kubectl}\n')
    cases = "".join(f"  {command}) exit {code} ;;\n" for command, code in (codes or {}).items())
    stub(bin_dir, "harborguard", f'echo "harborguard $*" >> {log}\n'
                                 f'case "$1" in\n{cases}esac\nexit 0\n')
    script = job_script(name).replace("/usr/local/bin/kubectl", str(tmp_path / "kubectl"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HARBORGUARD_ENVIRONMENT": "tools",
           "HOME": str(tmp_path), "KUBECTL_VERSION": "v1.29.0",
           "HARBORGUARD_PIP_SPEC": "harborguard"}
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(["sh", "-e", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, check=False)


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls"
    return log.read_text().splitlines() if log.exists() else []


def test_a_kubectl_that_cannot_be_downloaded_fails_the_job(tmp_path: Path) -> None:
    done = run_job(tmp_path, "harborguard-check", curl=22)
    assert done.returncode != 0
    assert not any(c.startswith("harborguard") for c in calls(tmp_path))


def test_a_cluster_that_cannot_be_read_fails_the_job(tmp_path: Path) -> None:
    done = run_job(tmp_path, "harborguard-alerts", kubectl=1)
    assert done.returncode != 0
    assert not any(c.startswith("harborguard") for c in calls(tmp_path))


def test_check_job_exit_codes(tmp_path: Path) -> None:
    done = run_job(tmp_path, "harborguard-check", codes={"check": 1})
    assert done.returncode == 1, done.stderr
    made = [c for c in calls(tmp_path) if c.startswith("harborguard check")]
    assert len(made) == 3 and all("--environment tools" in c and
                                  "--image-tag-template {version}_image" in c for c in made)
    assert run_job(tmp_path, "harborguard-check", codes={"snapshot": 3, "check": 1}
                   ).returncode == 3


def test_alerts_job_writes_both_textfiles(tmp_path: Path) -> None:
    done = run_job(tmp_path, "harborguard-alerts", codes={"drift": 1})
    assert done.returncode == 1, done.stderr
    made = calls(tmp_path)
    assert any(c.startswith("harborguard drift") and "--format prometheus -o "
               "./harborguard-drift-tools.prom" in c for c in made)
    assert any(c.startswith("harborguard check") and "--format prometheus -o "
               "./harborguard-check-tools.prom" in c for c in made)
    assert not any("metrics/job" in c for c in made)  # no Pushgateway unless asked
    assert os.environ.get("PUSHGATEWAY_URL") is None


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_unit_tests_the_alerts(tmp_path: Path) -> None:
    """The rules fire on the series harborguard writes (promtool test rules)."""
    import json

    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'harborguard_undeployed_seconds{component="builds-api",'
                           'environment="tools"}', "values": "777600x400"},
                {"series": 'harborguard_undeployed_seconds{component="jobs-api",'
                           'environment="tools"}', "values": "0x400"},
                {"series": 'harborguard_at_risk_artifacts{environment="tools",project='
                           '"toolforge",repository="toolforge/builds-api",kind="running"}',
                 "values": "1x400"},
                {"series": 'harborguard_at_risk_artifacts{environment="tools",project='
                           '"toolforge",repository="toolforge/builds-api",kind="missing"}',
                 "values": "0x400"},
                {"series": 'harborguard_incomplete{command="drift",environment="tools"}',
                 "values": "1x400"},
                # written at time 0, never again: stale after 26 hours
                {"series": 'harborguard_last_run_timestamp_seconds{command="drift",'
                           'environment="tools"}', "values": "0x1700"},
                {"series": 'harborguard_last_run_timestamp_seconds{command="check",'
                           'environment="tools"}', "values": "0x1700"},
            ],
            "alert_rule_test": [
                {"eval_time": "2h", "alertname": "HarborguardUndeployedTooLong",
                 "exp_alerts": [{"exp_labels": {"severity": "warning",
                                                "component": "builds-api",
                                                "environment": "tools"},
                                 "exp_annotations": {
                                     "summary": "builds-api in tools: merged 9d 0h 0m 0s "
                                                "ago, not deployed",
                                     "description": "The version toolforge-deploy names for "
                                     "builds-api is not what runs in tools; deploy it or "
                                     "revert it (harborguard drift shows the commit)."}}]},
                {"eval_time": "2h", "alertname": "HarborguardReferencedImageMissing",
                 "exp_alerts": []},
                {"eval_time": "2h", "alertname": "HarborguardInUseImageWouldBeDeleted",
                 "exp_alerts": [{"exp_labels": {
                     "severity": "critical", "environment": "tools", "project": "toolforge",
                     "repository": "toolforge/builds-api"},
                     "exp_annotations": {
                         "summary": "toolforge/builds-api (tools): 1 artifacts in use would "
                                    "be deleted by Harbor's retention policy",
                         "description": "The next restart or rescheduling after Harbor's "
                         "retention runs cannot pull the image (ImagePullBackOff). Run "
                         "harborguard check to see which, and change the policy before it "
                         "runs."}}]},
                {"eval_time": "3h", "alertname": "HarborguardRunIncomplete",
                 "exp_alerts": [{"exp_labels": {"severity": "warning", "command": "drift",
                                                "environment": "tools"},
                                 "exp_annotations": {
                                     "summary": "harborguard drift (tools) could not read "
                                                "everything",
                                     "description": "harborguard_incomplete_sources says "
                                     "which source; the job log names each item. Until it "
                                     "reads everything, nothing it does not report is known "
                                     "to be safe."}}]},
                {"eval_time": "27h", "alertname": "HarborguardMetricsStale",
                 "exp_alerts": [
                     {"exp_labels": {"severity": "warning", "command": command,
                                     "environment": "tools"},
                      "exp_annotations": {
                          "summary": f"harborguard {command} (tools) last ran 1d 3h 0m 0s ago",
                          "description": "Its metrics describe an old state; see the "
                                         "scheduled pipeline's last jobs."}}
                     for command in ("check", "drift")]},
                {"eval_time": "2h", "alertname": "HarborguardMetricsStale", "exp_alerts": []},
                {"eval_time": "2h", "alertname": "HarborguardMetricsAbsent", "exp_alerts": []},
            ],
        }],
    }
    path = tmp_path / "tests.yml"
    path.write_text(json.dumps(tests))  # JSON is YAML
    done = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
