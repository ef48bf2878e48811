"""Harbor's retention task log, read by content (RETENTION.md 6.2).

Harbor's job.go writes one table per repository task with tablewriter: left and right
borders, a centred header, a dashed separator, one row per candidate (right-aligned
numeric cells), then one "Retention error for artifact" record per IMMUTABLE or ERR row.
Logs reach us pasted into tickets, exported by log aggregators (a syslog prefix on every
line), cut at the 10 MB the log API returns or by a copy and paste. So every line is read
for what it holds, not where it stands: a record (``2026-07-11T14:54:42Z [INFO] [...]:``)
anywhere in the line, a table row found by its digest cell, a header by its ``Digest``
cell. Pure: text in, a :class:`TaskLog` out; nothing here raises on odd input.
"""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Harbor's API gives at most the last 10 MB of a log; a log saved from the jobservice's
# own files may be larger. Past this, a file is not read.
MAX_LOG_BYTES = 64 * 1024 * 1024

MARKS = {"RETAIN": "retain", "DEL": "delete", "IMMUTABLE": "immutable", "ERR": "error"}
# The columns of job.go's table since Harbor v2.0, in order (used when the head is cut).
COLUMNS = ("digest", "tag", "kind", "labels", "pushedtime", "pulledtime", "createdtime",
           "retention")

_RECORD = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)? \[([A-Z]+)\] "
    r"\[([^\]]*)\]:? ?(.*)")
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
_ROW = re.compile(r"\|?[ \t]*(" + _DIGEST + r")[ \t]*\|")
_HEADER = re.compile(r"(?i)(?:^|\|)[ \t]*digest[ \t]*\|.*\bretention\b")
_SEPARATOR = re.compile(r"[ \t]*\|?[-+| \t]*-{3,}[-+| \t]*")
_REPOSITORY = re.compile(r"^\s*Repository:\s*(\S+)\s*$")
_DRY_RUN = re.compile(r"^\s*Dry Run:\s*(\w+)\s*$")
_LOAD = re.compile(r"Load (\d+) candidates from repository (\S+)")
_ERROR_LINE = re.compile(r"Retention error for artifact (?:(\w+):)?\S*?:?(" + _DIGEST +
                         r") : (.*)")
_TABLE_TIME = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")


@dataclass(frozen=True, slots=True)
class LogRow:
    """One candidate row. Times are the table's, read as UTC seconds (Harbor writes them
    in the jobservice's local zone, normally UTC); None when the cell is empty."""

    digest: str
    tags: tuple[str, ...]
    pushed: int | None
    pulled: int | None
    created: int | None
    mark: str  # RETAIN | DEL | IMMUTABLE | ERR
    line: int  # 1-based line of the text
    error: str | None = None  # its "Retention error for artifact" message

    @property
    def action(self) -> str:
        """The report's ``harbor_action``: retain | delete | immutable | error."""
        return MARKS[self.mark]


@dataclass(frozen=True, slots=True)
class TaskLog:
    """What one task log says. ``incomplete_reason`` says why it cannot be trusted whole."""

    repository: str | None = None  # project/repo, from "Repository:" or "Load N ... from"
    run_at: int | None = None  # UTC seconds of "Run retention process" (else the next record)
    dry_run: bool | None = None
    candidates: int | None = None  # N of "Load N candidates"
    rows: tuple[LogRow, ...] = ()
    table: bool = False  # a header or a row was seen
    cut: str | None = None  # how the log was cut, when it was
    failure: str | None = None  # the task failed: Harbor's "retention job: ..." error
    stopped: bool = False
    not_a_log: str | None = None  # Harbor's error body, binary data, an empty file
    problems: tuple[str, ...] = ()  # lines that look like rows but cannot be read
    notes: tuple[str, ...] = field(default=())
    start_line: int = 1  # where the task starts in its file (a file may hold several)

    @property
    def incomplete_reason(self) -> str | None:
        """Why Harbor's answer for this repository is not fully known, or None."""
        if self.not_a_log:
            return self.not_a_log
        if self.stopped:
            return "the task was stopped before it decided (\"Retention job is stopped\")"
        if self.failure is not None:
            return None  # a failed task is an answer: it deletes nothing (compared apart)
        if self.problems:
            return "; ".join(self.problems[:3]) + (
                f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else "")
        if self.cut:
            return self.cut
        if not self.table:
            return "the log holds no result table (cut before it, or not a retention task log)"
        return None


def read_task_log(data: bytes) -> TaskLog:
    """A task log from the bytes of a file or of the log endpoint's answer."""
    problem = _unreadable(data)
    if problem is not None:
        return problem
    return parse_task_log(data.decode("utf-8", errors="replace"))


def read_task_logs(data: bytes) -> list[TaskLog]:
    """The task logs of a file, which may hold several one after another (a jobservice log
    collected by syslog): each task starts at its "Run retention process" record."""
    problem = _unreadable(data)
    if problem is not None:
        return [problem]
    return parse_task_logs(data.decode("utf-8", errors="replace"))


def _unreadable(data: bytes) -> TaskLog | None:
    if len(data) > MAX_LOG_BYTES:
        return TaskLog(not_a_log=f"larger than {MAX_LOG_BYTES // (1024 * 1024)} MiB, the most "
                                 "harborguard reads of a task log")
    if not data.strip():
        return TaskLog(not_a_log="empty: no task log")
    if b"\0" in data:
        return TaskLog(not_a_log="binary data (NUL bytes), not a task log")
    return None


def harbor_error_body(text: str) -> str | None:
    """Harbor's ``{"errors": [...]}`` body (the log endpoint's answer for a task it lost),
    in words; None when ``text`` is not one."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        body = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    said = []
    for error in errors[:3]:
        if not isinstance(error, dict):
            continue
        message = _inner_message(error.get("message"))
        said.append(f"{error.get('code', 'error')}: {message}" if message else
                    str(error.get("code", "error")))
    return "Harbor answered with an error instead of a log (" + "; ".join(said)[:300] + ")"


def _inner_message(message: Any) -> str:
    """Harbor nests a JSON error in ``message`` ({"code":10010,"message":"object is not
    found",...}); its own message reads better."""
    if not isinstance(message, str):
        return ""
    try:
        inner = json.loads(message)
    except (ValueError, RecursionError):
        return message.replace("\n", " ").strip()
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return str(inner["message"])
    return message.replace("\n", " ").strip()


def table_seconds(text: str) -> int | None:
    """``2026/07/11 11:57:13`` as UTC seconds; None for an empty cell. ValueError else."""
    if not text:
        return None
    m = _TABLE_TIME.fullmatch(text)
    if m is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = map(int, m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(text)
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _record_seconds(stamp: str, zone: str | None) -> int:
    seconds = calendar.timegm(
        (int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]),
         int(stamp[14:16]), int(stamp[17:19]), 0, 0, 0))
    if zone and zone not in ("Z",):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


class _Reader:
    """The parse state of one log."""

    def __init__(self) -> None:
        self.repository: str | None = None
        self.repository_from_load: str | None = None
        self.run_at: int | None = None
        self.first_record: int | None = None
        self.dry_run: bool | None = None
        self.candidates: int | None = None
        self.columns: tuple[str, ...] | None = None
        self.rows: list[LogRow] = []
        self.errors: dict[str, str] = {}
        self.table = False
        self.headless = False
        self.partial: tuple[int, str] | None = None  # a row line that is not whole
        self.partial_error: int | None = None
        self.failure: str | None = None
        self.stopped = False
        self.problems: list[str] = []
        self.last_content = 0
        self.last_kind = ""  # what the last line with content was

    def line(self, number: int, line: str) -> None:
        if not line.strip():
            return
        self.last_content = number
        self.last_kind = "other"
        record = _RECORD.search(line)
        if record is not None:
            self._record(number, record)
            return
        row = _ROW.search(line)
        if row is not None:
            self._row(number, line[row.start():], row.group(1))
            return
        header = _HEADER.search(line)
        if header is not None:
            self._header(line[header.start():])
            self.last_kind = "header"
            return
        if self.table and _SEPARATOR.fullmatch(line):
            self.last_kind = "header"
            return
        # A continuation line of the "Run retention process" record, maybe prefixed.
        tail = line.rsplit("]: ", 1)[-1] if "]: " in line else line
        repository = _REPOSITORY.match(tail)
        if repository is not None:
            self.repository = repository.group(1)
            return
        dry = _DRY_RUN.match(tail)
        if dry is not None:
            self.dry_run = dry.group(1).lower() == "true"
            return
        if "Retention error for" in line:
            self.partial_error = number
            return
        if self.table and self.columns is not None and line.lstrip().startswith("|") \
                and not _SEPARATOR.fullmatch(line):
            # A row line without a readable digest cell: cut inside it, or mangled.
            self.partial = (number, line.strip()[:60])

    def _record(self, number: int, record: re.Match[str]) -> None:
        seconds = _record_seconds(record.group(1), record.group(2))
        if self.first_record is None:
            self.first_record = seconds
        level, message = record.group(3), record.group(5)
        if "Run retention process" in message:
            self.run_at = seconds
            return
        load = _LOAD.search(message)
        if load is not None:
            self.candidates = int(load.group(1))
            self.repository_from_load = load.group(2)
            if self.run_at is None:
                self.run_at = seconds
            return
        error = _ERROR_LINE.search(message)
        if error is not None:
            self.errors[error.group(2)] = error.group(3).strip()
            return
        if "Retention error for" in message:
            self.partial_error = number
            return
        if "Retention job is stopped" in message:
            self.stopped = True
            return
        if level == "ERROR" and "retention job" in message:
            self.failure = message.strip()
            return
        header = _HEADER.search(message)
        if header is not None:
            self._header(message[header.start():])

    def _header(self, line: str) -> None:
        cells = [c.strip().lower().replace(" ", "") for c in line.strip().strip("|").split("|")]
        self.columns = tuple(cells)
        self.table = True

    def _row(self, number: int, text: str, digest: str) -> None:
        self.table = True
        if self.columns is None:
            self.columns = COLUMNS  # the head of the log is gone: the usual layout
            self.headless = True
        if self.partial is not None:
            self.problems.append(f"line {self.partial[0]}: a table row that is not whole "
                                 f"({self.partial[1]!r})")
            self.partial = None
        stripped = text.strip()
        cells = [c.strip() for c in stripped.removeprefix("|").split("|")]
        whole = stripped.endswith("|")
        if whole:
            cells.pop()
        if not whole or len(cells) < len(self.columns):
            self.partial = (number, stripped[:60] + ("..." if len(stripped) > 60 else ""))
            return
        if len(cells) != len(self.columns):
            self.problems.append(f"line {number}: {len(cells)} cells where the header has "
                                 f"{len(self.columns)}")
            return
        cell = dict(zip(self.columns, cells, strict=True))
        mark = cell.get("retention", "").upper()
        if mark not in MARKS:
            self.problems.append(f"line {number}: Retention {cell.get('retention')!r} is not "
                                 "one of RETAIN, DEL, IMMUTABLE, ERR")
            return
        try:
            pushed = table_seconds(cell.get("pushedtime", ""))
            pulled = table_seconds(cell.get("pulledtime", ""))
            created = table_seconds(cell.get("createdtime", ""))
        except ValueError as exc:
            self.problems.append(f"line {number}: {str(exc)!r} is not a time "
                                 "(YYYY/MM/DD hh:mm:ss)")
            return
        tags = tuple(t for t in cell.get("tag", "").split(",") if t.strip())
        self.rows.append(LogRow(digest, tuple(t.strip() for t in tags), pushed, pulled,
                                created, mark, number))

    def result(self) -> TaskLog:
        cut = None
        notes: list[str] = []
        problems = list(self.problems)
        if self.partial is not None:
            if self.partial[0] == self.last_content:
                cut = (f"the log is cut inside a table row (line {self.partial[0]}: "
                       f"{self.partial[1]!r}); read up to the last whole row, "
                       f"{len(self.rows)} row(s)")
            else:
                problems.append(f"line {self.partial[0]}: a table row that is not whole "
                                f"({self.partial[1]!r})")
        if cut is None and self.candidates is not None and self.table \
                and len(self.rows) < self.candidates:
            cut = (f"the log holds {len(self.rows)} of the {self.candidates} rows its "
                   "\"Load N candidates\" line announces: it was cut")
        if self.repository and self.repository_from_load \
                and self.repository != self.repository_from_load:
            problems.append(f"\"Repository: {self.repository}\" but \"Load N candidates from "
                            f"repository {self.repository_from_load}\": the lines of two "
                            "tasks are mixed; give one task per file")
        if self.candidates is not None and len(self.rows) > self.candidates:
            problems.append(f"{len(self.rows)} rows where \"Load {self.candidates} "
                            "candidates\" announces fewer")
        if cut is None and self.last_kind == "header":
            cut = (f"the log ends inside the table's header, after {len(self.rows)} row(s)")
        if cut is None and self.headless and self.rows:
            cut = ("the log's head is cut (rows without the table's header): rows before "
                   "the first one read may be missing")
        if self.partial_error is not None and self.partial_error == self.last_content:
            notes.append("the log is cut inside its last \"Retention error\" line")
        if self.table and self.candidates is None and cut is None:
            notes.append("no \"Load N candidates\" line: whether every row is there cannot "
                         "be checked")
        rows = tuple(
            LogRow(r.digest, r.tags, r.pushed, r.pulled, r.created, r.mark, r.line,
                   self.errors.get(r.digest)) if r.digest in self.errors else r
            for r in self.rows)
        return TaskLog(
            repository=self.repository or self.repository_from_load,
            run_at=self.run_at if self.run_at is not None else self.first_record,
            dry_run=self.dry_run, candidates=self.candidates, rows=rows, table=self.table,
            cut=cut, failure=self.failure if not self.rows else None, stopped=self.stopped,
            problems=tuple(problems), notes=tuple(notes))


def parse_task_log(text: str) -> TaskLog:
    """A task log from its text (any prefixes, any cut)."""
    error = harbor_error_body(text)
    if error is not None:
        return TaskLog(not_a_log=error)
    return _parse(text.splitlines(), 1)


def parse_task_logs(text: str) -> list[TaskLog]:
    """The task logs of a text holding one or more tasks, in order."""
    error = harbor_error_body(text)
    if error is not None:
        return [TaskLog(not_a_log=error)]
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines) if _starts_task(line)]
    if len(starts) < 2:
        return [_parse(lines, 1)]
    bounds = [0, *starts[1:], len(lines)]  # what precedes the first start is its task's
    return [_parse(lines[begin:end], begin + 1) for begin, end in itertools.pairwise(bounds)]


def _starts_task(line: str) -> bool:
    record = _RECORD.search(line) if "Run retention process" in line else None
    return record is not None and "Run retention process" in record.group(5)


def _parse(lines: list[str], first: int) -> TaskLog:
    reader = _Reader()
    for number, line in enumerate(lines, first):
        reader.line(number, line.replace("\t", " "))
    return dataclasses.replace(reader.result(), start_line=first)
