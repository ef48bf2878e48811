"""verify --from-logs DIR: logs written as Harbor writes them (tests/harborlog.py) for the
embedded Toolforge snapshot, compared through the CLI (exit codes, report/v1)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import load_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import shared_dir
from tests.conftest import validate_report
from tests.harborlog import Row, render_log

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
MARK = {"retain": "RETAIN", "delete": "DEL", "immutable": "IMMUTABLE"}


def write_logs(folder: Path, flip: str | None = None, zone_offset: int = 0) -> None:
    snap = load_snapshot(str(EXAMPLE))
    now = parse_nanos(snap.taken_at or "")
    result = simulate(snap, now, resolve(snap.harbor_version))
    for number, repo in enumerate(result.projects[0].repositories):
        rows = [Row(a.digest, a.tags, a.push_s, a.pull_s, a.created_s,
                    ("DEL" if d.action != "delete" else "RETAIN") if a.digest == flip
                    else MARK[d.action])
                for a, d in zip(repo.repository.artifacts, repo.decisions, strict=True)]
        (folder / f"task-{number}.log").write_text(
            render_log(repo.repository.name, rows, now // 10**9 - 60, zone_offset=zone_offset))


def verify(folder: Path) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(cli, ["verify", "--from-logs", str(folder), "--snapshot",
                                      str(EXAMPLE), "--format", "json"],
                                catch_exceptions=False)
    report = json.loads(result.stdout)
    validate_report(report)
    return result.exit_code, report, result.stderr


def test_logs_that_agree_exit_0(tmp_path: Path) -> None:
    write_logs(tmp_path)
    code, report, err = verify(tmp_path)
    assert code == 0, err
    rows = report["verify"]["repositories"]  # type: ignore[index]
    assert all(r["agree"] == r["compared"] == r["rows"] for r in rows)
    assert all(a["harbor_action"] == a["action"] for a in report["artifacts"])  # type: ignore[attr-defined]


def test_a_flipped_row_is_a_mismatch_naming_both_answers(tmp_path: Path) -> None:
    snap = load_snapshot(str(EXAMPLE))
    digest = snap.projects[0].repositories[0].artifacts[0].digest
    write_logs(tmp_path, flip=digest)
    code, report, _ = verify(tmp_path)
    assert code == 1
    found = [f for f in report["findings"] if f["code"] == "verify-mismatch"]  # type: ignore[attr-defined]
    assert [f["digest"] for f in found] == [digest]
    assert "Harbor's dry run: DEL; harborguard: retain" in found[0]["message"]
    assert found[0]["rule"] == 0


def test_jobservice_in_another_zone_is_one_note(tmp_path: Path) -> None:
    write_logs(tmp_path, zone_offset=2 * 3600)
    code, report, _ = verify(tmp_path)
    assert code == 0
    assert sum("UTC+2" in n for n in report["notes"]) == 4  # type: ignore[attr-defined]
    assert not [f for f in report["findings"] if f["code"].startswith("verify")]  # type: ignore[attr-defined]


def test_real_logs_of_other_registries_are_incomplete(tmp_path: Path) -> None:
    logs = shared_dir() / "realworld" / "retention-logs"
    for name in ("harbor-issue-16592-log-endpoint-error.json", "harbor-issue-17781.txt"):
        (tmp_path / name).write_bytes((logs / name).read_bytes())
    code, report, err = verify(tmp_path)
    assert code == 3
    said = {i["what"]: i["reason"] for i in report["incomplete"]}  # type: ignore[attr-defined]
    assert "object is not found" in said[str(tmp_path / logs.joinpath(
        "harbor-issue-16592-log-endpoint-error.json").name)]
    assert "names no repository" in said[str(tmp_path / "harbor-issue-17781.txt")]


def test_live_verify_is_refused_for_now() -> None:
    result = CliRunner().invoke(cli, ["verify", "--project", "p", "--yes"])
    assert result.exit_code == 2
    assert "--from-logs" in result.stderr
