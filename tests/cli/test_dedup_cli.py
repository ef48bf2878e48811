"""--dedup from the command line: a live read through the fake Harbor (token flow, pulls
recorded, the confirmation a pull-based policy needs), through a real distribution
registry (--registry), from a snapshot taken with --dedup, and in a diff."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report.common import human_bytes
from tests.builders import art, policy, rule, snapshot
from tests.conftest import SNAPSHOT_VALIDATOR, validate_report
from tests.distribution import OCI_LAYER, Registry, distribution
from tests.fakeharbor import FakeHarbor

__all__ = ["distribution"]  # the fixture, used below

NOW = "2026-01-01T00:00:00Z"
USERS = {"robot$ci": "s3cret-pw"}
ENV = {"HARBOR_USERNAME": "robot$ci", "HARBOR_PASSWORD": "s3cret-pw"}
OCI = "application/vnd.oci.image.manifest.v1+json"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})},
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def sha(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def manifest(number: int) -> tuple[str, bytes, str]:
    """An image: a shared 1000-byte base layer and its own layer of 100 x number bytes."""
    body = {"schemaVersion": 2, "mediaType": OCI,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha(b"config %d" % number), "size": 50},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha(b"base"), "size": 1000},
                       {"mediaType": OCI_LAYER, "digest": sha(b"own %d" % number),
                        "size": 100 * number}]}
    content = json.dumps(body).encode()
    return sha(content), content, OCI


def harbor_data(digests: list[str], retention: dict[str, Any]) -> dict[str, Any]:
    artifacts = []
    for number, digest in enumerate(digests, start=1):
        artifact = art(f"a{number}", [f"1.0.{number}"], None, size=5000)
        artifact["push_time"] = f"2025-12-{10 + number:02d}T00:00:00.000Z"
        artifact["digest"] = digest
        artifacts.append(artifact)
    return snapshot({"app": artifacts}, retention)


PULL_POLICY = policy(rule("nDaysSinceLastPull", 1000), rule("latestPushedK", 1))
PUSH_POLICY = policy(rule("latestPushedK", 1))


def fake_harbor(retention: dict[str, Any]) -> FakeHarbor:
    images = [manifest(n) for n in (1, 2, 3)]
    return FakeHarbor(harbor_data([m[0] for m in images], retention), users=USERS,
                      manifests={m[0]: (m[1], m[2]) for m in images})


def own_bytes(numbers: list[int]) -> int:
    """Distinct bytes of images ``numbers``: each manifest, config and own layer, plus the
    base layer once."""
    return sum(len(manifest(n)[1]) + 50 + 100 * n for n in numbers) + 1000


def test_pull_based_policy_needs_yes_without_a_terminal(tmp_path: Path) -> None:
    with fake_harbor(PULL_POLICY) as fake:
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--dedup", "--cache-dir", str(tmp_path / "c"),
                                "--format", "json")
        assert code == 2, err
        assert "--yes" in err and "--registry" in err and "Traceback" not in err
        assert fake.requests_to(r"/artifacts$")  # the artifacts were read first
        assert not fake.requests_to(r"^/v2/")
        assert all(a["pull_time"].startswith("0001")
                   for a in fake.project("proj").repos["proj/app"].artifacts)


def test_yes_records_pulls_and_the_report_says_how_many(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    with fake_harbor(PULL_POLICY) as fake:
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--dedup", "--yes", "--cache-dir", cache,
                                "--format", "json")
        assert code == 0, err
        report = json.loads(out)
        validate_report(report)
        # The simulation is of the registry as it was: never pulled.
        assert all(a["pull_time"] is None for a in report["artifacts"])
        assert any("Harbor recorded 3 pulls" in n for n in report["notes"])
        assert all(not a["pull_time"].startswith("0001")
                   for a in fake.project("proj").repos["proj/app"].artifacts)
        s = report["summary"]
        assert s["bytes_stored_dedup"] == own_bytes([1, 2, 3])
        # Never pulled: nDaysSinceLastPull keeps none; latestPushedK 1 keeps one image.
        assert s["bytes_kept_dedup"] in {own_bytes([n]) for n in (1, 2, 3)}
        assert s["bytes_freed_dedup"] == s["bytes_stored_dedup"] - s["bytes_kept_dedup"]
        assert report["repositories"][0]["bytes_stored_dedup"] == own_bytes([1, 2, 3])
        assert report["projects"][0]["bytes_kept_dedup"] == s["bytes_kept_dedup"]
        assert len(fake.requests_to(r"^/service/token$")) == 1
        assert "s3cret-pw" not in out + err
        # A second run: every manifest from the cache, no request, no pull, no question.
        before = len(fake.requests_to(r"^/v2/"))
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--dedup", "--cache-dir", cache,
                                "--format", "json")
        assert code == 0, err
        assert len(fake.requests_to(r"^/v2/")) == before
        assert any("Harbor recorded 0 pulls" in n and "3 from the cache" in n
                   for n in json.loads(out)["notes"])


def test_snapshot_with_dedup_gives_the_same_figures_offline(tmp_path: Path) -> None:
    target = tmp_path / "snap.json"
    with fake_harbor(PUSH_POLICY) as fake:
        code, _, err = invoke("--harbor", fake.url, "snapshot", "--project", "proj", "--dedup",
                              "--cache-dir", str(tmp_path / "c"), "-o", str(target))
        assert code == 0, err
        assert "3 manifests read through Harbor" in err
        code, live, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                 "--now", NOW, "--dedup", "--cache-dir", str(tmp_path / "c"),
                                 "--format", "json")
        assert code == 0, err
    data = json.loads(target.read_text())
    SNAPSHOT_VALIDATOR.validate(data)
    blobs = data["projects"][0]["repositories"][0]["artifacts"][0]["blobs"]
    assert {b["size"] for b in blobs} == {len(manifest(1)[1]), 50, 1000, 100}
    code, offline, err = invoke("simulate", "--snapshot", str(target), "--now", NOW, "--dedup",
                                "--format", "json")
    assert code == 0, err
    figures = json.loads(offline)["summary"]
    assert figures == json.loads(live)["summary"]
    # latestPushedK 1 keeps one image; the others free all but the base layer.
    assert figures["bytes_kept_dedup"] in {own_bytes([n]) for n in (1, 2, 3)}
    assert figures["bytes_freed_dedup"] == own_bytes([1, 2, 3]) - figures["bytes_kept_dedup"]
    # Pushed in the last 90 days: all of its bytes are the growth.
    assert figures["growth_bytes_per_30d"] == figures["bytes_kept_dedup"] * 30 // 90
    code, table, _ = invoke("simulate", "--snapshot", str(target), "--now", NOW, "--dedup",
                            "--format", "table")
    assert "each blob counted once" in table and "Harbor's sizes summed" in table


def test_a_snapshot_without_blobs_is_incomplete_with_dedup(tmp_path: Path) -> None:
    target = tmp_path / "plain.json"
    target.write_text(json.dumps(harbor_data([manifest(1)[0]], PUSH_POLICY)))
    code, out, err = invoke("simulate", "--snapshot", str(target), "--dedup",
                            "--format", "json")
    assert code == 3
    assert "proj/app" in err and "snapshot --dedup" in err
    code, _, _ = invoke("simulate", "--snapshot", str(target), "--format", "json")
    assert code == 0


def test_a_manifest_that_cannot_be_read_is_named_and_incomplete(tmp_path: Path) -> None:
    with fake_harbor(PUSH_POLICY) as fake:
        fake.fault(r"^/v2/.*/manifests/", 404, times=None)
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--dedup", "--cache-dir", str(tmp_path / "c"),
                                "--format", "json")
    assert code == 3
    report = json.loads(out)
    named = [i["what"] for i in report["incomplete"]]
    assert len(named) == 3 and all(w.startswith("proj/app@sha256:") for w in named)
    assert all("HTTP 404" in i["reason"] for i in report["incomplete"])


def test_diff_says_what_keeping_every_release_costs(tmp_path: Path) -> None:
    keep_all = tmp_path / "keep.yaml"
    keep_all.write_text(json.dumps(policy(rule("always"))))
    with fake_harbor(PUSH_POLICY) as fake:
        code, out, err = invoke("diff", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--policy", str(keep_all), "--dedup",
                                "--cache-dir", str(tmp_path / "c"), "--format", "json")
        assert code == 0, err
        code, table, _ = invoke("diff", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--policy", str(keep_all), "--dedup",
                                "--cache-dir", str(tmp_path / "c"), "--format", "markdown")
    s = json.loads(out)["summary"]
    assert s["bytes_kept_dedup"] == own_bytes([1, 2, 3])
    more = own_bytes([1, 2, 3]) - s["previous"]["bytes_kept_dedup"]
    assert 0 < more < own_bytes([1, 2, 3])
    assert f"keeps {human_bytes(more)} more than today (deduplicated)" in table.replace("\n", " ")


def test_registry_behind_harbor_records_no_pull(distribution: Registry,
                                                tmp_path: Path) -> None:
    repository = "proj/app"
    base = distribution.blob(repository, b"base" * 250, OCI_LAYER)
    digests = []
    for number in (1, 2):
        layer = distribution.blob(repository, b"own %d " % number * 20, OCI_LAYER)
        digests.append(distribution.image(repository, [base, layer],
                                          b'{"n": %d}' % number)[0])
    with FakeHarbor(harbor_data(digests, PULL_POLICY), users=USERS) as fake:
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "proj",
                                "--now", NOW, "--dedup", "--registry", distribution.url,
                                "--cache-dir", str(tmp_path / "c"), "--format", "json")
        assert code == 0, err  # no question: nothing is recorded
        assert not fake.requests_to(r"^/v2/")
    report = json.loads(out)
    assert any("records no pull" in n for n in report["notes"])
    assert report["summary"]["bytes_stored_dedup"] > 1000
    assert report["summary"]["bytes_kept_dedup"] < report["summary"]["bytes_stored_dedup"]
