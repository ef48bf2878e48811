"""--format prometheus, read back with prometheus-client's text parser (a real one)."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from harborguard.cli import cli
from harborguard.findings import Finding
from harborguard.report import prometheus
from tests.report.test_formats import EXAMPLE, ROOT, example_report, small_report

# Every family and its label names, the same whatever the command (node_exporter rejects
# a family whose label names differ between the files of its directory).
FAMILIES = {
    "harborguard_build_info": {"command", "environment", "version"},
    "harborguard_last_run_timestamp_seconds": {"command", "environment"},
    "harborguard_incomplete": {"command", "environment"},
    "harborguard_incomplete_sources": {"command", "environment", "source"},
    "harborguard_findings": {"command", "environment", "severity", "code", "project"},
    "harborguard_undeployed_seconds": {"component", "environment"},
    "harborguard_at_risk_artifacts": {"environment", "project", "repository", "kind"},
}


def parsed(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """family -> {sorted labels: value}, checking what the textfile collector requires."""
    assert text.endswith("\n")
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.name in FAMILIES, family.name
        assert family.type == "gauge" and family.documentation
        assert family.name not in families  # one block per family
        series = families.setdefault(family.name, {})
        for sample in family.samples:
            assert sample.timestamp is None  # node_exporter drops a file with timestamps
            assert set(sample.labels) == FAMILIES[family.name]
            key = tuple(sorted(sample.labels.items()))
            assert key not in series  # duplicates: the whole file is rejected
            series[key] = sample.value
    return families


def value(families: dict[str, Any], name: str, **labels: str) -> float | None:
    for key, number in families.get(name, {}).items():
        if all(dict(key).get(k) == v for k, v in labels.items()):
            return float(number)
    return None


def test_check_example_metrics() -> None:
    report = example_report()
    families = parsed(prometheus.render(report, run_at=1_700_000_000))
    assert value(families, "harborguard_last_run_timestamp_seconds") == 1_700_000_000
    assert value(families, "harborguard_incomplete", command="check") == 0
    assert value(families, "harborguard_incomplete_sources", source="harbor") == 0
    assert value(families, "harborguard_incomplete_sources", source="kubectl") == 0
    version = report["tool"].split()[1]
    assert value(families, "harborguard_build_info", version=version) == 1
    errors = sum(1 for f in report["findings"] if f["code"] == "in-use-deleted")
    assert errors and value(families, "harborguard_findings", code="in-use-deleted",
                            project="toolforge", severity="error") == errors
    # A code with no finding is 0, not missing.
    assert value(families, "harborguard_findings", code="policy-error",
                 project="toolforge") == 0
    # Every repository the evidence names, each kind, 0 included.
    used = {a["repository"] for a in report["artifacts"] if a["in_use"]}
    risk = families["harborguard_at_risk_artifacts"]
    assert {dict(k)["repository"] for k in risk} == used
    assert len(risk) == 4 * len(used)
    assert value(families, "harborguard_at_risk_artifacts", repository="toolforge/builds-api",
                 kind="running") == 1


def test_label_values_are_escaped() -> None:
    nasty = 'we"ird\\proj\nnext'
    report = small_report(extra=(Finding(code="in-use-missing", message="gone",
                                         project=nasty, repository=f"{nasty}/app"),))
    report["source"]["environment"] = 'tools"\\'
    families = parsed(prometheus.render(report))
    assert value(families, "harborguard_findings", code="in-use-missing", project=nasty,
                 environment='tools"\\') == 1
    assert prometheus.escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_an_incomplete_run_leaves_out_what_it_could_not_count() -> None:
    report = small_report(incomplete=[{"what": "proj/app", "reason": "HTTP 503"}])
    families = parsed(prometheus.render(report))
    assert value(families, "harborguard_incomplete") == 1
    assert value(families, "harborguard_incomplete_sources", source="harbor") == 1
    # No zero claims "none found" on partial data; what was found is still there.
    assert all(v > 0 for v in families.get("harborguard_findings", {}).values())
    complete = parsed(prometheus.render(small_report()))
    assert value(complete, "harborguard_findings", code="time-tie") == 0


def test_incomplete_items_are_told_by_source() -> None:
    report = copy.deepcopy(example_report())
    report["evidence"].append({"source": "manifests", "what": "deploy", "counts": {},
                               "complete": False, "note": None})
    report["incomplete"] = [
        {"what": "kubectl JSON c.json", "reason": "x"}, {"what": "helm", "reason": "x"},
        {"what": "git history of deploy", "reason": "x"}, {"what": "deploy/a.yaml", "reason": "x"},
        {"what": "deploy for environment 'tols'", "reason": "x"},
        {"what": "toolforge/builds-api", "reason": "x"}]
    families = parsed(prometheus.render(report))
    counts = {dict(k)["source"]: v for k, v in families["harborguard_incomplete_sources"].items()}
    assert counts == {"kubectl": 1, "helm": 1, "git-history": 1, "manifests": 2, "harbor": 1}


def test_drift_undeployed_seconds() -> None:
    report = {
        "tool": "harborguard 1.0.0", "command": "drift", "now": "2024-03-02T22:41:00Z",
        "source": {"environment": "tools"}, "projects": [], "artifacts": [],
        "incomplete": [], "evidence": [],
        "components": [{"component": c, "environment": "tools", "version": "1"}
                       for c in ("builds-api", "jobs-api", "envvars-api")],
        "findings": [
            {"severity": "warning", "code": "not-deployed", "project": None,
             "component": "builds-api", "since": {"commit": "ee8d247",
                                                  "time": "2024-02-22T22:41:00Z"}},
            # since unknown (no git history): left out, never 0
            {"severity": "warning", "code": "not-deployed", "project": None,
             "component": "envvars-api"}],
    }
    families = parsed(prometheus.render(report))
    series = {dict(k)["component"]: v for k, v in
              families["harborguard_undeployed_seconds"].items()}
    assert series == {"builds-api": 9 * 86400, "jobs-api": 0}
    report["incomplete"] = [{"what": "helm", "reason": "failed"}]
    series = {dict(k)["component"]: v for k, v in
              parsed(prometheus.render(report))["harborguard_undeployed_seconds"].items()}
    assert series == {"builds-api": 9 * 86400}


def test_cli_writes_the_textfile_atomically(tmp_path: Path) -> None:
    repo = tmp_path / "toolforge-deploy"
    subprocess.run(["sh", str(ROOT / "examples" / "build-deploy-repo.sh"), str(repo)],
                   check=True, capture_output=True)
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    out = textfiles / "harborguard-drift-tools.prom"
    result = CliRunner().invoke(cli, [
        "drift", "--manifests", str(repo), "--environment", "tools",
        "--helm-json", str(ROOT / "examples" / "cluster-helm.json"),
        "--image-tag-template", "{version}_image", "--format", "prometheus", "-o", str(out)],
        catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    assert os.listdir(textfiles) == [out.name]  # no temporary file left beside it
    families = parsed(out.read_text())
    assert value(families, "harborguard_findings", code="not-deployed",
                 environment="tools", command="drift") == 1
    waited = value(families, "harborguard_undeployed_seconds", component="builds-api",
                   environment="tools")
    assert waited is not None and waited > 86400  # merged in February 2024
    # check and simulate write the same families with the same labels.
    for args in (["check", "--kubectl-json", str(ROOT / "examples" / "cluster-kubectl.json")],
                 ["simulate"]):
        result = CliRunner().invoke(cli, [*args, "--snapshot", str(EXAMPLE),
                                          "--format", "prometheus"], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.stderr
        assert parsed(result.stdout)["harborguard_findings"]
