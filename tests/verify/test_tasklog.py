"""The task-log parser: the real logs users pasted into Harbor's issues (tests/data/realworld/
retention-logs, provenance in its SOURCES.md), logs written as Harbor's job.go and
tablewriter write them (tests/harborlog.py), and hostile input."""

from __future__ import annotations

import calendar
import os

import pytest

from harborguard.verify import tasklog
from harborguard.verify.tasklog import parse_task_log, read_task_log, table_seconds
from tests.builders import dig, shared_dir
from tests.harborlog import Row, render_log, render_table

LOGS = shared_dir() / "realworld" / "retention-logs"
T0 = calendar.timegm((2026, 7, 11, 14, 54, 42, 0, 0, 0))


def real(name: str) -> tasklog.TaskLog:
    return read_task_log((LOGS / name).read_bytes())


def test_every_real_log_is_read_or_said_to_be_unusable() -> None:
    names = sorted(n for n in os.listdir(LOGS) if not n.endswith(".md"))
    assert len(names) == 8
    for name in names:
        log = real(name)
        # Every real log is cut or is not a log: none may pass as a whole answer, except
        # 23530 whose one row is whole (the cut falls in its Retention error line).
        if name == "harbor-issue-23530.txt":
            assert log.incomplete_reason is None
        else:
            assert log.incomplete_reason, name


def test_zyyw_two_whole_rows_multi_tag_cell_empty_pulled_and_the_cut_third() -> None:
    log = real("harbor-issue-16592-zyyw.txt")
    assert log.repository == "tce-syu/harbor"
    assert log.dry_run is False
    assert log.candidates == 7
    assert log.run_at == calendar.timegm((2022, 3, 28, 6, 45, 54, 0, 0, 0))
    assert [r.digest[:15] for r in log.rows] == ["sha256:9ad722a6", "sha256:d32621605"[:15]]
    first = log.rows[0]
    assert first.tags == ("2.2.3", "9ad722a662")
    assert first.pulled is None
    assert first.pushed == calendar.timegm((2022, 3, 28, 6, 40, 2, 0, 0, 0))
    assert first.action == "retain"
    assert log.cut is not None and "2 row(s)" in log.cut and "line 11" in log.cut


def test_23530_immutable_row_without_run_record_and_nested_repository() -> None:
    log = real("harbor-issue-23530.txt")
    assert log.repository == "svp/qa/svp-vss/svp-5015/svp-vss-backend"
    assert log.run_at == T0  # no "Run retention process": the Load record's time
    assert [(r.tags, r.mark) for r in log.rows] == [(("build-42",), "IMMUTABLE")]
    assert log.rows[0].action == "immutable"
    assert log.cut is None
    assert any("Retention error" in n for n in log.notes)


@pytest.mark.parametrize("name, repository, cut_after", [
    ("harbor-issue-20996.txt", "docker/utils-images/alpine-tools", "line 9"),
    ("harbor-issue-22402-mirror-page.txt", "dockerhub/library/redis", "line 9"),
    ("harbor-issue-12534-jobservice-syslog.txt", "library/ubuntu", "line 7"),
])
def test_first_row_cut_reads_no_row_and_says_the_log_was_cut(name: str, repository: str,
                                                              cut_after: str) -> None:
    log = real(name)
    assert log.repository == repository
    assert log.rows == ()
    assert log.table
    assert log.cut is not None and cut_after in log.cut


def test_syslog_export_without_a_table() -> None:
    log = real("harbor-issue-16592-jobservice-syslog.txt")
    assert log.repository == "<project>/<image>"  # from the split "Repository:" record
    assert not log.table
    assert "no result table" in (log.incomplete_reason or "")


def test_header_without_leading_border_and_cut_separator() -> None:
    log = real("harbor-issue-17781.txt")
    assert log.table and log.rows == ()
    assert log.repository is None
    assert "header" in (log.incomplete_reason or "")


def test_log_endpoint_error_body_is_not_a_log() -> None:
    log = real("harbor-issue-16592-log-endpoint-error.json")
    assert log.not_a_log == ("Harbor answered with an error instead of a log "
                             "(NOT_FOUND: object is not found)")


def _rows() -> list[Row]:
    return [
        Row(dig("a"), ["v2", "latest"], T0 - 100, T0 - 50, T0 - 100, "RETAIN"),
        Row(dig("b"), [], T0 - 200, 0, T0 - 200, "DEL"),
        Row(dig("c"), ["1759"], T0 - 300, 0, T0 - 300, "IMMUTABLE"),
        Row(dig("d"), ["3"], T0 - 400, 0, T0 - 500, "ERR", "the deleting artifact is "
            "referenced by others"),
    ]


def test_a_log_as_harbor_writes_it() -> None:
    text = render_log("p/team/app", _rows(), T0)
    assert "|      1759 |" in text and "|         3 |" in text  # right-aligned in 9
    log = parse_task_log(text)
    assert log.repository == "p/team/app"
    assert log.dry_run is True
    assert log.candidates == 4 and log.run_at == T0
    assert log.incomplete_reason is None and log.notes == ()
    assert [r.action for r in log.rows] == ["retain", "delete", "immutable", "error"]
    assert log.rows[0].tags == ("v2", "latest")
    assert log.rows[1].tags == () and log.rows[1].pulled is None
    assert log.rows[2].tags == ("1759",) and log.rows[2].error == "Immutable tag"
    assert log.rows[3].tags == ("3",)
    assert log.rows[3].error == "the deleting artifact is referenced by others"
    assert log.rows[3].created == T0 - 500


def test_numeric_tags_are_right_aligned_and_headers_centred() -> None:
    table = render_table([("sha256:" + "0" * 64, "3", "image", "", "", "", "", "DEL")])
    header, _, row = table.splitlines()
    assert header.startswith("|                                 Digest                  ")
    assert "| Tag |" in header
    assert "|   3 |" in row


@pytest.mark.parametrize("prefix", [
    "Jul 20 12:01:25 172.25.0.1 jobservice[9724]: ",
    "2026-07-11T14:54:42.123456789Z stdout F ",
    "Mar 25 08:03:29 <host> jobservice[25099]: ",
])
def test_a_prefix_on_every_line(prefix: str) -> None:
    text = "".join(prefix + line + "\n" for line in render_log("p/app", _rows(), T0)
                   .splitlines())
    log = parse_task_log(text)
    assert log.repository == "p/app"
    assert [r.mark for r in log.rows] == ["RETAIN", "DEL", "IMMUTABLE", "ERR"]
    assert log.incomplete_reason is None


def test_aggregator_export_lines_between_records() -> None:
    lines = []
    for line in render_log("p/app", _rows(), T0).splitlines():
        lines += ["2022-03-25 08:03:29\t", "jobservice.log",
                  f"Mar 25 08:03:29 <host> jobservice[25099]: {line}", ""]
    log = parse_task_log("\n".join(lines))
    assert len(log.rows) == 4 and log.incomplete_reason is None


def test_cut_inside_the_last_row_reads_the_whole_rows_before_it() -> None:
    text = render_log("p/app", _rows()[:3], T0)
    cut = text[: text.index(dig("c")) + 30]
    log = parse_task_log(cut)
    assert [r.mark for r in log.rows] == ["RETAIN", "DEL"]
    assert log.cut is not None and "2 row(s)" in log.cut
    assert log.incomplete_reason == log.cut


def test_a_row_cut_in_the_middle_of_the_log_is_a_problem() -> None:
    text = render_log("p/app", _rows()[:3], T0)
    row_b = next(line for line in text.splitlines() if dig("b") in line)
    log = parse_task_log(text.replace(row_b, row_b[:50]))
    assert log.problems and "not whole" in log.problems[0]
    assert log.incomplete_reason is not None


def test_fewer_rows_than_candidates_is_a_cut() -> None:
    text = render_log("p/app", _rows(), T0)
    row_d = next(line for line in text.splitlines() if dig("d") in line)
    log = parse_task_log(text.replace(row_d + "\n", ""))
    assert "3 of the 4 rows" in (log.cut or "")


def test_a_head_cut_off_by_the_10_mb_limit() -> None:
    text = render_log("p/app", _rows(), T0)
    tail = text[text.index("| " + dig("b")):]
    log = parse_task_log(tail)
    assert len(log.rows) == 3
    assert "head is cut" in (log.incomplete_reason or "")


def test_failed_and_stopped_tasks() -> None:
    failed = parse_task_log(render_log("p/app", [], T0, failure="unknown template: foo"))
    assert failed.failure is not None and "unknown template" in failed.failure
    assert failed.incomplete_reason is None  # an answer: the task failed
    stopped = parse_task_log(render_log("p/app", [], T0, failure="x").replace(
        "[ERROR]", "[INFO]").replace("retention job: x", "Retention job is stopped"))
    assert stopped.stopped and "stopped" in (stopped.incomplete_reason or "")


def test_times_in_the_table_are_read_as_utc() -> None:
    assert table_seconds("2026/07/11 11:57:13") == calendar.timegm((2026, 7, 11, 11, 57, 13,
                                                                    0, 0, 0))
    assert table_seconds("") is None
    with pytest.raises(ValueError):
        table_seconds("2026/13/11 11:57:13")


def test_unknown_retention_mark_is_a_problem() -> None:
    text = render_log("p/app", _rows()[:1], T0).replace("RETAIN    |", "KEEP      |")
    log = parse_task_log(text)
    assert log.rows == () and "KEEP" in log.problems[0]


@pytest.mark.parametrize("data, said", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x00\x01\x02 | sha256:" + b"0" * 64 + b" |", "binary"),
    (b"hello\nno table here\n", "no result table"),
    (b"|" * 10_000 + b"\n" + b"| x | y |\n" * 1000, "no result table"),
    (b'{"errors": "not a list"}', "no result table"),
    (b"\xff\xfe garbage \xc3\x28", "no result table"),
])
def test_hostile_input_is_named_never_read_as_an_answer(data: bytes, said: str) -> None:
    log = read_task_log(data)
    assert said in (log.incomplete_reason or "")
    assert log.rows == ()


def test_a_log_over_the_cap_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasklog, "MAX_LOG_BYTES", 1000)
    log = read_task_log(render_log("p/app", _rows() * 10, T0).encode())
    assert "larger than" in (log.not_a_log or "")


def test_a_large_log_is_read_in_bounded_time() -> None:
    rows = [Row(dig(str(i)), [str(i)], T0 - i, 0, T0 - i, "DEL") for i in range(20_000)]
    log = read_task_log(render_log("p/app", rows, T0).encode())
    assert len(log.rows) == 20_000 and log.incomplete_reason is None


def test_a_file_of_two_tasks_is_read_as_two_tasks() -> None:
    # A jobservice log collected by syslog holds one task after another; each table belongs
    # to the "Run retention process" record before it.
    prefix = "Mar  1 00:00:00 10.0.0.1 jobservice[77]: "
    one, two = render_log("p/one", _rows()[:2], T0), render_log("p/two", _rows()[2:], T0 + 1)
    text = "".join(prefix + line + "\n" for line in (one + two).splitlines())
    logs = tasklog.read_task_logs(text.encode())
    assert [(log.repository, log.run_at, log.start_line) for log in logs] == [
        ("p/one", T0, 1), ("p/two", T0 + 1, len(one.splitlines()) + 1)]
    assert [[r.mark for r in log.rows] for log in logs] == [["RETAIN", "DEL"],
                                                            ["IMMUTABLE", "ERR"]]
    assert all(log.incomplete_reason is None for log in logs)
    assert logs[1].rows[0].line > len(one.splitlines())  # lines of the whole file
    assert tasklog.read_task_logs(one.encode()) == [parse_task_log(one)]


def test_two_tasks_mixed_line_by_line_are_not_an_answer() -> None:
    one, two = render_log("p/one", _rows()[:2], T0), render_log("p/two", _rows()[2:], T0)
    mixed = one.splitlines()[:4] + two.splitlines()[4:]  # one's head, two's Load and table
    [log] = tasklog.read_task_logs("\n".join(mixed).encode())
    assert log.incomplete_reason is not None and "p/two" in log.incomplete_reason
