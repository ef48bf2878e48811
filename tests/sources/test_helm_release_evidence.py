"""Helm releases as evidence: what a release's chart field, status and chart values say
(issue 12, second round of attacks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import D, T, art, policy, rule, snapshot

HOST = "tools-harbor.wmcloud.org"


def _chart(name: str, tags: list[str], days: int) -> dict[str, Any]:
    return art(name, tags, T - days * D, kind="CHART")


def _snap(tmp_path: Path, repos: dict[str, list[dict[str, Any]]], keep: int,
          values: dict[str, str] | None = None) -> str:
    data = snapshot(repos, policy(rule("latestPushedK", keep)), project="toolforge")
    data["harbor"] = f"https://{HOST}"
    if values:
        repo = data["projects"][0]["repositories"][0]
        repo["additions"] = {digest: {"values.yaml": text} for digest, text in values.items()}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(data))
    return str(path)


def _releases(tmp_path: Path, *items: dict[str, Any]) -> str:
    path = tmp_path / "helm.json"
    path.write_text(json.dumps([{"name": "app", "namespace": "app", "revision": "3",
                                 "updated": "2026-01-30 10:00:00.0 +0000 UTC",
                                 "status": "deployed", "app_version": "1", **item}
                                for item in items]))
    return str(path)


def _check(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["check", *args, "--format", "json"],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def _codes(report: dict[str, Any]) -> list[tuple[str, tuple[str, ...] | None]]:
    return sorted((f["code"], tuple(f["tags"]) if f["tags"] else None)
                  for f in report["findings"] if f["severity"] != "warning")


def _app(tmp_path: Path, values: str | None = None) -> str:
    charts = [_chart(f"c{n}", [f"0.0.{n}"], 10 - n) for n in range(1, 6)]
    images = [art(f"i{n}", [f"0.0.{n}_image"], T - (20 - n) * D) for n in range(1, 6)]
    digests = {c["digest"]: values for c in charts} if values is not None else None
    return _snap(tmp_path, {"app": charts + images}, 5, digests)


def test_chart_values_that_name_no_image_leave_the_images_to_the_template(
        tmp_path: Path) -> None:
    snap = _app(tmp_path, values="replicaCount: 1\nservice: {port: 80}\n")
    helm = _releases(tmp_path, {"chart": "app-0.0.4"})
    code, report, _ = _check("--snapshot", snap, "--helm-json", helm,
                             "--image-tag-template", "{version}_image")
    assert code == 1 and ("in-use-deleted", ("0.0.4_image",)) in _codes(report)
    code, report, err = _check("--snapshot", snap, "--helm-json", helm)
    assert code == 3 and "names no image" in json.dumps(report["findings"])


@pytest.mark.parametrize("status", ["failed", "pending-upgrade", "pending-install",
                                    "pending-rollback"])
def test_a_release_whose_last_operation_did_not_finish_is_incomplete_without_the_cluster(
        tmp_path: Path, status: str) -> None:
    snap = _app(tmp_path)
    helm = _releases(tmp_path, {"chart": "app-0.0.5", "status": status})
    code, report, _ = _check("--snapshot", snap, "--helm-json", helm,
                             "--image-tag-template", "{version}_image")
    assert code == 3
    assert any(status in i["reason"] and "helm history app" in i["reason"]
               for i in report["incomplete"])


def test_a_repository_without_charts_does_not_hold_a_release_chart(tmp_path: Path) -> None:
    images = [art(f"i{n}", [f"v1.1{n}.0"], T - (10 - n) * D) for n in range(5)]
    snap = _snap(tmp_path, {"app": images}, 2)
    helm = _releases(tmp_path, {"chart": "app-v1.13.0"})
    code, report, err = _check("--snapshot", snap, "--helm-json", helm,
                               "--image-tag-template", "{version}_image")
    assert code == 0, err
    assert [f["code"] for f in report["findings"]] == ["unmatched-reference"]


def test_a_chart_version_with_build_metadata_is_helms_oci_tag(tmp_path: Path) -> None:
    charts = [_chart("c1", ["0.0.1"], 1), _chart("c2", ["0.0.2_build1"], 9)]
    snap = _snap(tmp_path, {"app": charts}, 1)
    helm = _releases(tmp_path, {"chart": "app-0.0.2+build1"})
    code, report, err = _check("--snapshot", snap, "--helm-json", helm,
                               "--image-tag-template", "{version}_image")
    assert ("in-use-deleted", ("0.0.2_build1",)) in _codes(report), err
    assert code in (1, 3)


def test_a_helm_file_that_never_ends_or_starts_with_a_bom(tmp_path: Path) -> None:
    snap = _app(tmp_path)
    result = CliRunner().invoke(cli, ["check", "--snapshot", snap, "--helm-json", "/dev/zero"])
    assert result.exit_code == 2 and "MiB" in result.stderr
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + Path(_releases(tmp_path, {"chart": "app-0.0.5"}))
                     .read_bytes())
    code, report, err = _check("--snapshot", snap, "--helm-json", str(path),
                               "--image-tag-template", "{version}_image")
    assert code == 1, err  # read: its image 0.0.5_image is deleted
    assert ("in-use-deleted", ("0.0.5_image",)) in _codes(report)
