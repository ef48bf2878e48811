"""verify on the command line: --from-logs DIR with logs written as Harbor writes them
(tests/harborlog.py) for the embedded Toolforge snapshot, and the live dry run against the
fake Harbor over HTTP (exit codes, the question, report/v1, the table's "agrees on N of M")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.commands import verifylive
from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import load_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import shared_dir
from tests.conftest import validate_report
from tests.fakeharbor import FakeHarbor
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


USER, PASSWORD = "robot$toolforge+verify", "s3cret-pw"
ENV = {"HARBOR_USERNAME": USER, "HARBOR_PASSWORD": PASSWORD}


@pytest.fixture(autouse=True)
def no_real_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls without sleeping, on a clock that only the sleeps move (no timed test)."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += max(seconds, 0.25)

    monkeypatch.setattr(verifylive, "WAITING",
                        verifylive.Waiting(interval=1.0, sleep=sleep, clock=lambda: clock[0]))


def live(fake: FakeHarbor, *extra: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["verify", "--harbor", fake.url, "--project", "toolforge",
                                      *extra], env=ENV, input=stdin, catch_exceptions=False)
    assert PASSWORD not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def posts(fake: FakeHarbor) -> int:
    return sum(s.method == "POST" for s in fake.seen)


def test_live_without_a_terminal_and_without_yes_sends_nothing() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        code, out, err = live(fake)
        assert code == 2 and out == "" and "--yes" in err
        assert posts(fake) == 0 and fake.count == 0


@pytest.mark.parametrize(("extra", "words"), [
    (("--policy", "p.json"), "--policy: refused on a live verify"),
    (("--now", "2026-03-01T00:00:00Z"), "--now: refused on a live verify"),
])
def test_live_policy_and_now_are_refused(extra: tuple[str, ...], words: str) -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        code, out, err = live(fake, "--yes", *extra)
        assert code == 2 and out == "" and words in err
        assert len(err.strip().splitlines()) == 1
        assert fake.count == 0


def test_live_asks_on_a_terminal_and_a_no_starts_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harborguard.cli.verify.on_terminal", lambda stream: True)
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        code, _, err = live(fake, "--format", "json", stdin="n\n")
        assert code == 2 and "declined" in err
        assert "deletes nothing" in err and "tag-retention:update" in err
        assert "starts a retention job on the server" in err
        assert posts(fake) == 0
        code, out, err = live(fake, "--format", "json", stdin="y\n")
        assert code == 0, err
        assert posts(fake) == 1 and fake.executions.posted == [{"dry_run": True}]
        validate_report(json.loads(out))


def test_live_agreement_in_the_table() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        fake.executions.polls_to_end = 3
        code, out, err = live(fake, "--yes", "--format", "table")
    assert code == 0, err
    assert "execution 1 of retention policy 7 (project toolforge): Success" in out
    assert "toolforge/builds-api: agrees on 96 of 96" in out
    assert "started execution 1 of retention policy 7" in err  # progress on stderr
    assert ": Running (" in err


def test_live_mismatch_exits_1_and_the_table_names_it() -> None:
    snap = json.loads(EXAMPLE.read_text())
    kept = snap["projects"][0]["repositories"][1]["artifacts"][0]
    with FakeHarbor(snap, users={USER: PASSWORD}) as fake:
        fake.executions.marks = {kept["digest"]: "DEL"}
        code, out, err = live(fake, "--yes", "--format", "table")
    assert code == 1, err
    assert "toolforge/jobs-api: agrees on 16 of 17, 1 mismatch" in out
    tags = ", ".join(t["name"] for t in kept["tags"])
    assert f"- {tags}: Harbor DEL, harborguard retain" in out


def test_live_execution_that_never_ends_exits_3_naming_it() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        fake.executions.polls_to_end = None
        code, out, err = live(fake, "--yes", "--wait", "5", "--format", "json")
    assert code == 3
    report = json.loads(out)
    validate_report(report)
    assert "execution 1 of retention policy 7 (project toolforge): did not end within " \
           "--wait 5 s" in err


def test_live_real_run_is_stopped_and_exits_3() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        fake.executions.real_run = True
        code, _, err = live(fake, "--yes", "--format", "json")
        assert [s.method for s in fake.seen].count("PATCH") == 1
        assert fake.executions.stopped == [1]
    assert code == 3
    assert "harborguard: error: execution 1 of retention policy 7 (project toolforge) is NOT " \
           "a dry run" in err
    assert "stopped it at once" in err


def test_live_403_names_tag_retention_update() -> None:
    reads = {"project:read", "repository:list", "artifact:list", "artifact-addition:read",
             "immutable-tag:list", "tag-retention:read"}
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD},
                    permissions={USER: reads}) as fake:
        code, _, err = live(fake, "--yes", "--format", "json")
        assert not fake.executions.executions
    assert code == 3
    assert "tag-retention:update" in err and USER in err


def test_help_says_what_the_live_run_does() -> None:
    text = CliRunner().invoke(cli, ["verify", "--help"]).stdout
    assert "tag-retention:update" in text and "deletes" in text and "--yes" in text
    assert "not in this version" not in text


def test_from_logs_table_says_where_the_answer_came_from(tmp_path: Path) -> None:
    write_logs(tmp_path)
    result = CliRunner().invoke(cli, ["verify", "--from-logs", str(tmp_path), "--snapshot",
                                      str(EXAMPLE), "--format", "table"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert f"Harbor's own dry run (verify): saved task logs in {tmp_path}" in result.stdout
    assert "toolforge/heroku-builder: agrees on 13 of 13" in result.stdout


def test_one_file_of_every_task_agrees_as_separate_files_do(tmp_path: Path) -> None:
    # A jobservice log collected by syslog: every task one after another in one file.
    write_logs(tmp_path)
    prefix = "Feb 26 09:59:00 10.0.0.1 jobservice[77]: "
    tasks = sorted(tmp_path.glob("task-*.log"))
    whole = "".join(prefix + line + "\n" for task in tasks
                    for line in task.read_text().splitlines())
    for task in tasks:
        task.unlink()
    (tmp_path / "jobservice.log").write_text(whole)
    code, report, err = verify(tmp_path)
    assert code == 0, err
    rows = report["verify"]["repositories"]  # type: ignore[index]
    assert len(rows) == len(tasks) and all(r["agree"] == r["rows"] for r in rows)
