"""The deduplicated storage figures (harborguard/storage.py), pure."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.storage import storage_figures
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, policy, rule, snapshot

D = timedelta(days=1)


def blob(name: str, size: int, media_type: str = "application/octet-stream") -> dict[str, Any]:
    return {"digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest(), "size": size,
            "media_type": media_type}


def image(name: str, pushed_days_ago: int, own: int, tags: list[str],
          *layers: dict[str, Any]) -> dict[str, Any]:
    artifact = art(name, tags, T - pushed_days_ago * D)
    artifact["blobs"] = [blob("m-" + name, 100), blob("c-" + name, 10), blob("l-" + name, own),
                         *layers]
    return artifact


BASE = blob("base", 1000)
KEEP_NEWEST = policy(rule("latestPushedK", 1))


def three_images() -> dict[str, Any]:
    return snapshot({"app": [image("a1", 200, 500, ["1"], BASE),
                             image("a2", 100, 300, ["2"], BASE),
                             image("a3", 10, 200, ["3"], BASE)]}, KEEP_NEWEST)


def figures(data: dict[str, Any]) -> Any:
    run = simulate(parse_snapshot(data, "test"), parse_nanos(T_TEXT), resolve(None))
    return storage_figures(run)


def test_each_blob_counts_once() -> None:
    found = figures(three_images())
    s = found.summary
    assert s.stored == 3 * 110 + 1000 + 500 + 300 + 200
    assert s.kept == 110 + 1000 + 200  # a3
    # a1 and a2 deleted: the shared base layer stays with a3.
    assert s.freed == 110 + 500 + 110 + 300
    # Only a3 was pushed in the last 90 days: all of its bytes were new among kept ones.
    assert s.growth_per_30d == (110 + 1000 + 200) * 30 // 90
    assert found.repositories[("proj", "proj/app")] == s
    assert found.projects["proj"] == s
    assert found.missing == ()


def test_growth_counts_only_bytes_no_earlier_kept_artifact_holds() -> None:
    data = snapshot({"app": [image("old", 200, 500, ["1"], BASE),
                             image("new", 30, 200, ["2"], BASE)]},
                    policy(rule("latestPushedK", 5)))
    s = figures(data).summary
    assert s.freed == 0
    assert s.growth_per_30d == 310 * 30 // 90  # the base layer came with the older one


def test_a_blob_another_project_keeps_is_not_freed() -> None:
    data = three_images()
    other = snapshot({"lib": [image("o1", 5, 7, ["1"], blob("l-a1", 500))]},
                     KEEP_NEWEST, project="other")
    data["projects"].extend(other["projects"])
    found = figures(data)
    assert found.repositories[("proj", "proj/app")].freed == 110 + 110 + 300
    assert found.summary.freed == 110 + 110 + 300
    assert found.projects["other"].kept == 110 + 7 + 500


def test_an_artifact_without_blobs_is_named_as_missing() -> None:
    data = three_images()
    del data["projects"][0]["repositories"][0]["artifacts"][1]["blobs"]
    found = figures(data)
    assert [m.what for m in found.missing] == ["proj/app"]
    assert "1 artifacts without blobs" in found.missing[0].reason
    assert found.summary.stored == 3 * 110 + 1000 + 500 + 200 - 110


def test_figures_are_unknown_not_zero_when_some_manifest_is_missing(tmp_path: Path) -> None:
    """An artifact without blobs makes its repository's, its project's and the run's
    figures null (never a 0 that looks measured), and freed null everywhere."""
    snapshot = Path(__file__).resolve().parents[1] / "examples" / "toolforge-snapshot.json"
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                           str(snapshot), "--dedup", "--format", "json", "-o", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 3, done.stderr
    report = json.loads(out.read_text())
    for key in ("bytes_stored_dedup", "bytes_kept_dedup", "bytes_freed_dedup",
                "growth_bytes_per_30d"):
        assert report["summary"][key] is None
        assert all(row[key] is None for row in report["repositories"])
        assert all(row[key] is None for row in report["projects"])
    table = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                            str(snapshot), "--dedup", "--format", "table"],
                           capture_output=True, text=True, check=False)
    assert table.returncode == 3
    assert "unknown, some manifests were not read" in table.stdout
