"""Attack findings 6b and 12: `--helm` reads what each release runs from its own values
(`helm get values -a`) and what `helm rollback` brings back from `helm history`, through the
CLI with a fake helm 3 on PATH (tests/fakehelm.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import art, policy, rule, snapshot
from tests.fakehelm import calls, install

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake helm is a script")

HOST = "harbor.example.org"
CHART_VALUES = "image:\n  repository: harbor.example.org/proj/img\n  tag: 2.0.0\n"


def computed(tag: str) -> dict[str, Any]:
    """What `helm get values -a -o json` prints: the chart's defaults, the release's over them."""
    return {"image": {"pullPolicy": "IfNotPresent", "repository": f"{HOST}/proj/img",
                      "tag": tag}, "replicaCount": 1, "service": {"port": 80}}


def entry(revision: int, status: str, chart: str) -> dict[str, Any]:
    # helm/pkg/cmd/history.go releaseInfo, as `helm history -o json` prints it.
    return {"revision": revision, "updated": f"2026-02-2{revision}T10:00:00.000000000Z",
            "status": status, "chart": chart, "app_version": chart.rsplit("-", 1)[-1],
            "description": "Upgrade complete" if revision > 1 else "Install complete"}


@pytest.fixture
def snap(tmp_path: Path) -> str:
    """proj/mychart 2.0.0 (values.yaml: img 2.0.0) and 1.0.0; proj/img 2.0.0, 1.0.0, 0.9.0;
    latestPushedK 1 keeps only the newest of each repository."""
    from datetime import UTC, datetime

    def at(day: int) -> datetime:
        return datetime(2025, 12, day, tzinfo=UTC)

    new_chart = art("chart-2", ["2.0.0"], at(20), kind="CHART")
    data = snapshot({"mychart": [new_chart, art("chart-1", ["1.0.0"], at(10), kind="CHART")],
                     "img": [art("img-2", ["2.0.0"], at(20)), art("img-1", ["1.0.0"], at(10)),
                             art("img-09", ["0.9.0"], at(5))]},
                    policy(rule("latestPushedK", 1)))
    data["projects"][0]["repositories"][0]["additions"] = {
        new_chart["digest"]: {"values.yaml": CHART_VALUES}}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(data))
    return str(path)


def release(revision: int = 3, status: str = "deployed") -> dict[str, Any]:
    return {"name": "web", "namespace": "web", "revision": str(revision), "status": status,
            "updated": "2026-02-23 10:00:00.0 +0000 UTC", "chart": "mychart-2.0.0",
            "app_version": "2.0.0"}


def check(snap: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm", "--format", "json"],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def uses(report: dict[str, Any], tag: str) -> list[tuple[str, str]]:
    return [(u["kind"], u["where"]) for a in report["artifacts"] if a["repository"] ==
            "proj/img" and tag in a["tags"] for u in a["in_use"]]


def codes(report: dict[str, Any], tag: str) -> set[str]:
    return {f["code"] for f in report["findings"] if tag in (f.get("tags") or [])
            and f.get("repository") == "proj/img"}


def test_the_release_values_decide_the_image_and_earlier_revisions_are_rollback_targets(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Installed with mychart 1.0.0 and img 0.9.0, upgraded to chart 2.0.0, then
    # `helm upgrade --set image.tag=1.0.0`: the chart's default (2.0.0) is not what runs.
    log = install(tmp_path / "bin", {
        "releases": [release()],
        "history": {"web/web": [entry(1, "superseded", "mychart-1.0.0"),
                                entry(2, "superseded", "mychart-2.0.0"),
                                entry(3, "deployed", "mychart-2.0.0")]},
        "values": {"web/web": {"1": computed("0.9.0"), "2": computed("2.0.0"),
                               "3": computed("1.0.0")}}}, monkeypatch)
    code, report, err = check(snap)
    assert code == 1, err
    assert uses(report, "1.0.0") == [("declared", "web/HelmRelease/web")]
    assert "in-use-deleted" in codes(report, "1.0.0")
    assert uses(report, "0.9.0") == [("rollback", "web/HelmRelease/web revision 1")]
    assert "rollback-deleted" in codes(report, "0.9.0")
    # Revision 2 ran 2.0.0, which the policy keeps.
    assert uses(report, "2.0.0") == [("rollback", "web/HelmRelease/web revision 2")]
    helm = next(e for e in report["evidence"] if e["source"] == "helm")
    assert helm["complete"] is True
    assert helm["note"] is None  # values and history read: nothing left "not checked"
    assert ["history", "web", "-n", "web", "-o", "json"] in calls(log)
    assert ["get", "values", "web", "-n", "web", "-a", "-o", "json"] in calls(log)
    assert ["get", "values", "web", "-n", "web", "--revision", "1", "-a", "-o", "json"] in \
        calls(log)


def test_values_that_keep_the_chart_default_with_a_kept_history_are_an_unqualified_all_clear(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "bin", {"releases": [release(2)],
                               "history": {"web/web": [entry(1, "superseded", "mychart-2.0.0"),
                                                       entry(2, "deployed", "mychart-2.0.0")]},
                               "values": {"web/web": {"1": computed("2.0.0"),
                                                      "2": computed("2.0.0")}}}, monkeypatch)
    code, report, err = check(snap)
    assert code == 0, err
    assert uses(report, "2.0.0") == [("declared", "web/HelmRelease/web")]
    assert next(e for e in report["evidence"] if e["source"] == "helm")["note"] is None
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm", "--format", "table"])
    assert "Nothing in use would be deleted." in result.stdout
    assert "not checked" not in result.stdout


def test_a_failed_upgrade_runs_the_deployed_revision_its_images_rollback(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # helm list names revision 3 (failed); helm history says revision 2 is deployed.
    install(tmp_path / "bin", {"releases": [release(3, "failed")],
                               "history": {"web/web": [entry(2, "deployed", "mychart-2.0.0"),
                                                       entry(3, "failed", "mychart-2.0.0")]},
                               "values": {"web/web": {"2": computed("1.0.0"),
                                                      "3": computed("0.9.0")}}}, monkeypatch)
    code, report, err = check(snap)
    assert code == 1, err  # what runs is known: not incomplete
    assert uses(report, "1.0.0") == [("declared", "web/HelmRelease/web")]
    assert uses(report, "0.9.0") == [("rollback", "web/HelmRelease/web revision 3")]


@pytest.mark.parametrize(
    ("variable", "command", "says"),
    [("FAKE_HELM_FAIL", "get values", "`helm get values web -n web -a -o json` failed with exit "
      "code 1: Error: query: failed to query with labels: secrets is forbidden"),
     ("FAKE_HELM_FAIL", "history", "`helm history web -n web -o json` failed with exit code 1"),
     ("FAKE_HELM_GARBAGE", "get values", "`helm get values web -n web -a -o json` printed "
      "output that is not JSON"),
     ("FAKE_HELM_GARBAGE", "history", "`helm history web -n web -o json` printed output that "
      "is not JSON")],
)
def test_a_release_helm_cannot_read_is_named_and_qualifies_the_verdict(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str,
        command: str, says: str) -> None:
    """A helm that answers only `helm list` (or cannot read one release) leaves that release
    as `--helm-json` reads it: its chart's values, and the verdict names the release values
    and rollback window as not checked; never an all-clear that claims them."""
    install(tmp_path / "bin", {"releases": [release(2)]}, monkeypatch)
    monkeypatch.setenv(variable, command)
    code, report, err = check(snap)
    assert code != 3, err
    assert any(n.startswith("helm release web/web: ") and says in n
               for n in report["notes"]), report["notes"]
    helm = next(e for e in report["evidence"] if e["source"] == "helm")
    assert helm["complete"] is True
    assert helm["note"].startswith("not checked: ")
    assert "the rollback window" in helm["note"] and "the release values" in helm["note"]


def test_a_chart_from_elsewhere_whose_values_name_this_harbor_protects_that_image(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Attack 50: Bitnami's nginx chart with `--set image.registry=harbor.example.org`.
    shop = {**release(1), "name": "shop", "namespace": "shop", "chart": "nginx-15.0.0"}
    install(tmp_path / "bin", {"releases": [shop], "values": {"shop/shop": {"1": {
        "image": {"registry": HOST, "repository": "proj/img", "tag": "1.0.0"},
        "metrics": {"image": {"registry": "docker.io", "repository": "bitnami/exporter"}}}}}},
        monkeypatch)
    code, report, err = check(snap)
    assert code == 1, err
    assert uses(report, "1.0.0") == [("declared", "shop/HelmRelease/shop")]
    # The exporter (no tag: the chart's templates decide) is Docker Hub's: not this run's.
    assert not report["incomplete"]


def test_saved_helm_list_keeps_its_qualifier(snap: str, tmp_path: Path) -> None:
    saved = tmp_path / "helm.json"
    saved.write_text(json.dumps([release()]))
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm-json", str(saved),
                                      "--format", "json"])
    note = json.loads(result.stdout)["evidence"][0]["note"]
    assert "`helm history` was not read" in note and "`helm get values`" in note
