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
from harborguard.report.build import Source, build_report
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.storage import storage_figures
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, policy, rule, snapshot
from tests.retention.helpers import ALL_TAGS, imm

D = timedelta(days=1)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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
    example = json.loads((EXAMPLES / "toolforge-snapshot.json").read_text())
    repository = example["projects"][0]["repositories"][1]
    del repository["artifacts"][3]["blobs"]
    snapshot = tmp_path / "without-one.json"
    snapshot.write_text(json.dumps(example))
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                           str(snapshot), "--dedup", "--format", "json", "-o", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 3, done.stderr
    assert "toolforge/jobs-api" in done.stderr and "1 artifacts without blobs" in done.stderr
    report = json.loads(out.read_text())
    for key in ("bytes_stored_dedup", "bytes_kept_dedup", "bytes_freed_dedup",
                "growth_bytes_per_30d"):
        assert report["summary"][key] is None
        assert all(row[key] is None for row in report["projects"])
    for row in report["repositories"]:
        # freed is unknown everywhere (the missing blobs may be kept ones); the other
        # figures only where an artifact's blobs are missing.
        assert row["bytes_freed_dedup"] is None
        known = row["repository"] != "toolforge/jobs-api"
        assert (row["bytes_stored_dedup"] is not None) is known
        assert (row["bytes_kept_dedup"] is not None) is known
    table = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                            str(snapshot), "--dedup", "--format", "table"],
                           capture_output=True, text=True, check=False)
    assert table.returncode == 3
    assert "unknown, some manifests were not read" in table.stdout


# One hand-built case per figure, each checked against its definition (issue 15).

def test_bytes_deleted_stays_harbors_sizes_summed() -> None:
    """The naive figure is unchanged by --dedup: Harbor's `size` of each deleted artifact,
    summed, shared layers counted every time."""
    data = three_images()
    for number, artifact in enumerate(data["projects"][0]["repositories"][0]["artifacts"]):
        artifact["size"] = 5000 + number
    run = simulate(parse_snapshot(data, "test"), parse_nanos(T_TEXT), resolve(None))
    report = build_report(run, Source(None, "test", None))
    assert report["summary"]["bytes_deleted"] == 5000 + 5001  # a1 and a2, not a3


def test_bytes_kept_counts_immutable_artifacts_as_kept() -> None:
    """kept = retain or immutable: an artifact only an immutable-tag rule saves holds its
    blobs; they are neither freed nor missing from kept."""
    data = three_images()
    data["projects"][0]["immutable_rules"] = [
        imm(1, [{**ALL_TAGS[0], "pattern": "1"}])]  # a1's tag
    found = figures(data)
    s = found.summary
    assert s.kept == 110 + 1000 + 200 + 110 + 500  # a3, and a1 saved by immutability
    assert s.freed == 110 + 300  # only a2's own blobs
    assert s.stored == 3 * 110 + 1000 + 500 + 300 + 200


def test_bytes_freed_only_blobs_no_kept_artifact_of_any_repository_or_project_holds() -> None:
    """freed: blobs of deleted artifacts that no kept artifact anywhere in the run holds,
    per repository too (the kept blobs of every project are known before any repository's
    figure: two passes)."""
    shared = blob("shared across repositories", 4000)
    data = snapshot({"app": [image("a1", 200, 500, ["1"], BASE, shared),
                             image("a2", 10, 300, ["2"], BASE)],
                     "web": [image("w1", 5, 70, ["1"], shared)]}, KEEP_NEWEST)
    other = snapshot({"lib": [image("o1", 300, 9, ["1"], blob("l-a1", 500)),
                              image("o2", 3, 8, ["2"])]}, KEEP_NEWEST, project="other")
    data["projects"].extend(other["projects"])
    found = figures(data)
    # a1 is deleted: its base layer stays with a2, the shared layer with web's w1 (another
    # repository); its manifest, config and own layer are freed.
    assert found.repositories[("proj", "proj/app")].freed == 110 + 500
    assert found.repositories[("proj", "proj/web")].freed == 0
    # o1 (project "other") is deleted too and references a1's own layer "l-a1": held by
    # deleted artifacts only, it is freed, and counted once in the run's figure.
    assert found.repositories[("other", "other/lib")].freed == 110 + 9 + 500
    assert found.summary.freed == 110 + 500 + 110 + 9
    assert found.projects["proj"].freed == 110 + 500


def test_growth_is_the_last_90_days_new_kept_bytes_per_30_days() -> None:
    """growth: kept artifacts pushed in the 90 days before now, the bytes no kept artifact
    pushed before them holds, times 30 / 90. An artifact pushed 91 days ago is outside the
    window (its blobs are not new afterwards), one pushed 89 days ago inside; deleted
    artifacts add nothing."""
    # Those tagged 1-3 and 5 are kept; "gone" is deleted; "later" was pushed after `now`
    # (a --now in the past): not in the 90 days before it.
    keep_releases = policy(rule("latestPushedK", 4, tags=[{
        "kind": "doublestar", "decoration": "matches", "pattern": "{1,2,3,5}"}]))
    data = snapshot({"app": [image("old", 91, 900, ["1"], BASE),
                             image("edge", 89, 300, ["2"], BASE),
                             image("new", 1, 30, ["3"], BASE, blob("l-edge", 300)),
                             image("gone", 0, 7777, ["4"]),
                             image("later", -5, 40, ["5"])]}, keep_releases)
    found = figures(data)
    s = found.summary
    assert s.kept == 4 * 110 + 1000 + 900 + 300 + 30 + 40
    assert s.freed == 110 + 7777
    assert s.growth_per_30d == ((110 + 300) + (110 + 30)) * 30 // 90
