"""`--helm` read live: the chart a release runs is the one of the revision `helm history`
says is deployed, not the one `helm list` names after a failed or pending upgrade (attack 5:
a failed upgrade left the running chart unprotected behind an unqualified all-clear); the
charts of the revisions Helm keeps are not needed from the registry (`helm rollback`
re-applies the chart stored in the release), their images are. Run with a fake helm 3 on
PATH (tests/fakehelm.py)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.helm import HelmRelease, release_evidence
from harborguard.sources.helmfile import Component
from harborguard.sources.helmlive import read_live
from tests.builders import art, policy, rule, sel, snapshot
from tests.fakehelm import install

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake helm is a script")

HOST = "harbor.example.org"
VERSIONS = ("1.1.0", "1.2.0", "1.3.0")


def _snapshot_data() -> dict[str, Any]:
    """proj/web images and proj/charts/web charts 1.1.0..1.3.0, pushed in that order; the
    policy reaches charts/** only and keeps the newest (1.3.0)."""
    def at(month: int) -> datetime:
        return datetime(2024, month, 1, tzinfo=UTC)

    return snapshot(
        {"web": [art(f"img-{v}", [v], at(n + 1)) for n, v in enumerate(VERSIONS)],
         "charts/web": [art(f"chart-{v}", [v], at(n + 1), kind="CHART")
                        for n, v in enumerate(VERSIONS)]},
        policy(rule("latestPushedK", 1, repos=[sel("charts/**", "repoMatches", None)])))


@pytest.fixture
def snap(tmp_path: Path) -> str:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_snapshot_data()))
    return str(path)


def _entry(revision: int, status: str, version: str) -> dict[str, Any]:
    # helm/pkg/cmd/history.go releaseInfo, as `helm history -o json` prints it.
    return {"revision": revision, "updated": "2024-02-21T17:31:52Z", "status": status,
            "chart": f"web-{version}", "app_version": version,
            "description": "Upgrade failed" if status == "failed" else "Upgrade complete"}


def _cluster(last: str = "failed") -> dict[str, Any]:
    """web/web: revision 3 (1.1.0) superseded, 4 (1.2.0) deployed, 5 (1.3.0) ``last``; each
    revision's values set image.tag to its version."""
    entries = [_entry(3, "superseded", "1.1.0"), _entry(4, "deployed", "1.2.0"),
               _entry(5, last, "1.3.0")]
    return {
        "releases": [{"name": "web", "namespace": "web", "revision": "5",
                      "updated": "2024-02-21 17:31:52 +0000 UTC", "status": last,
                      "chart": "web-1.3.0", "app_version": "1.3.0"}],
        "history": {"web/web": entries},
        "values": {"web/web": {str(e["revision"]): {"image": {
            "repository": f"{HOST}/proj/web", "tag": e["app_version"]}} for e in entries}}}


def _check(snap: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm", *extra,
                                      "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def _uses(report: dict[str, Any], repository: str, tag: str) -> list[tuple[str, str]]:
    return sorted((u["kind"], u["where"]) for a in report["artifacts"]
                  if a["repository"] == repository and tag in a["tags"] for u in a["in_use"])


def _codes(report: dict[str, Any], repository: str, tag: str) -> set[str]:
    return {f["code"] for f in report["findings"] if tag in (f.get("tags") or [])
            and f.get("repository") == repository}


@pytest.mark.parametrize("last", ["failed", "pending-upgrade"])
def test_after_a_failed_upgrade_the_deployed_revisions_chart_is_in_use(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last: str) -> None:
    install(tmp_path / "bin", _cluster(last), monkeypatch)
    code, report, err = _check(snap)
    assert code == 1, err
    # Revision 4 runs: its chart is the deployed release's, deleting it is in use deleted.
    assert _uses(report, "proj/charts/web", "1.2.0") == [("declared", "web/HelmRelease/web")]
    assert "in-use-deleted" in _codes(report, "proj/charts/web", "1.2.0")
    # The failed revision's chart is what a retry of the upgrade pulls: declared too.
    assert _uses(report, "proj/charts/web", "1.3.0") == [("declared", "web/HelmRelease/web")]
    # Revision 3, kept in helm history, is a rollback target: its images, not its chart,
    # which `helm rollback` takes from the release.
    assert _uses(report, "proj/charts/web", "1.1.0") == []
    assert not _codes(report, "proj/charts/web", "1.1.0")
    assert _uses(report, "proj/web", "1.1.0") == [("rollback", "web/HelmRelease/web revision 3")]
    assert _uses(report, "proj/web", "1.2.0") == [("declared", "web/HelmRelease/web")]
    helm = next(e for e in report["evidence"] if e["source"] == "helm")
    assert helm["complete"] is True


def test_the_table_of_a_failed_upgrade_is_no_all_clear(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "bin", _cluster(), monkeypatch)
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm", "--format",
                                      "table"])
    assert result.exit_code == 1, result.stderr
    assert "Nothing in use would be deleted." not in result.stdout
    assert "proj/charts/web:1.2.0 is the Helm chart of a deployed release" in result.stdout
    assert "proj/charts/web:1.1.0 is the Helm chart" not in result.stdout


def test_a_kept_revisions_chart_is_no_usage_its_images_are(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = _cluster("superseded")
    cluster["releases"][0].update(revision="6", status="deployed")
    cluster["history"]["web/web"].append(_entry(6, "deployed", "1.3.0"))
    cluster["history"]["web/web"][1]["status"] = "superseded"
    cluster["values"]["web/web"]["6"] = {"image": {"repository": f"{HOST}/proj/web",
                                                   "tag": "1.3.0"}}
    install(tmp_path / "bin", cluster, monkeypatch)
    code, report, err = _check(snap)
    # The policy reaches only the charts: the deployed one (1.3.0) is kept, and a kept
    # revision's chart deleted breaks nothing, `helm rollback` takes it from the release.
    assert code == 0, err
    assert _uses(report, "proj/charts/web", "1.3.0") == [("declared", "web/HelmRelease/web")]
    assert _uses(report, "proj/charts/web", "1.2.0") == []
    assert _uses(report, "proj/web", "1.2.0") == [("rollback", "web/HelmRelease/web revision 4")]


def test_kept_charts_from_elsewhere_say_nothing(
        snap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = _cluster("superseded")
    cluster["history"]["web/web"][0]["chart"] = "legacy-web-0.9.0"
    cluster["history"]["web/web"][2]["chart"] = "legacy-web-0.9.1"
    cluster["history"]["web/web"][1]["status"] = "superseded"
    cluster["history"]["web/web"][2]["status"] = "superseded"
    cluster["history"]["web/web"].append(_entry(6, "deployed", "1.3.0"))
    cluster["releases"][0].update(revision="6", status="deployed")
    cluster["values"]["web/web"]["6"] = {"image": {"repository": f"{HOST}/proj/web",
                                                   "tag": "1.3.0"}}
    install(tmp_path / "bin", cluster, monkeypatch)
    code, report, err = _check(snap)
    assert code == 0, err  # the deployed chart (1.3.0) is kept
    unmatched = [f["message"] for f in report["findings"] if f["code"] ==
                 "unmatched-reference"]
    assert not any("legacy-web" in message for message in unmatched), unmatched


# -- a release whose helmfile component is known -------------------------------------------


def test_a_component_release_after_a_failed_upgrade_runs_the_deployed_revisions_chart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harborguard.snapshot import parse_snapshot

    install(tmp_path / "bin", _cluster(), monkeypatch)
    release = HelmRelease("web", "web", 5, "", "failed", "web-1.3.0", "1.3.0", "helm")
    live, unread = read_live([release], timeout=30)
    assert not unread
    component = Component(name="web", environment="tools", release="web", namespace="web",
                          chart="web", chart_repository=f"{HOST}/proj/charts", oci=True,
                          chart_version="1.3.0", declared_at="components/web/helmfile.yaml:5")
    found = release_evidence([release], [component], "tools",
                             snapshot=parse_snapshot(_snapshot_data(), "test"), hosts=[HOST],
                             chart_values=None, image_tag_template=None, live=live)
    charts = sorted((u.ref, u.kind, u.where, u.component) for u in found.usages if u.chart)
    assert charts == [
        (f"{HOST}/proj/charts/web:1.2.0", "declared", "web/HelmRelease/web", "web"),
        (f"{HOST}/proj/charts/web:1.3.0", "declared", "web/HelmRelease/web", "web")]
    assert found.charts == 1 and not found.incomplete
    images = sorted((u.ref, u.kind) for u in found.usages if not u.chart)
    assert images == [(f"{HOST}/proj/web:1.1.0", "rollback"),
                      (f"{HOST}/proj/web:1.2.0", "declared"),
                      (f"{HOST}/proj/web:1.3.0", "rollback")]


def test_a_component_releases_kept_chart_of_another_name_says_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harborguard.snapshot import parse_snapshot

    cluster = _cluster()
    cluster["history"]["web/web"][0]["chart"] = "legacy-0.9.0"  # before the chart's rename
    install(tmp_path / "bin", cluster, monkeypatch)
    release = HelmRelease("web", "web", 5, "", "failed", "web-1.3.0", "1.3.0", "helm")
    live, _ = read_live([release], timeout=30)
    component = Component(name="web", environment="tools", release="web", namespace="web",
                          chart="web", chart_repository=f"oci://{HOST}/proj/charts", oci=True,
                          chart_version="1.3.0", declared_at="components/web/helmfile.yaml:5")
    found = release_evidence([release], [component], "tools",
                             snapshot=parse_snapshot(_snapshot_data(), "test"), hosts=[HOST],
                             chart_values=None, image_tag_template=None, live=live)
    assert sorted(u.ref for u in found.usages if u.chart) == [
        f"{HOST}/proj/charts/web:1.2.0", f"{HOST}/proj/charts/web:1.3.0"]
    assert not any("legacy-0.9.0" in f.message for f in found.findings)
