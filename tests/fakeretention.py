"""The fake Harbor's retention executions (swagger.yaml /retentions/{id}/executions...,
RETENTION.md 6.1): a POST starts one (201, empty body, ``Location``), the list shows them
newest first, a PATCH {"action": "stop"} stops one, and each task's log is written as
job.go and tablewriter v0.0.5 write it (tests/harborlog.py).

What Harbor would decide is taken from harborguard's engine over the fake's data at the
execution's start (the plumbing is under test here, not the engine); tests change it:
``marks`` (digest -> mark) overrides a row, ``failing`` (repository -> error) fails a
task, ``lost_logs`` (repository) answers its log with a 404 JSON body, ``zone_offset``
writes the table in another zone, ``polls_to_end`` keeps an execution Running for that
many list reads (None: it never ends), ``real_run`` starts a run that is not a dry run
whatever the body said, ``location`` leaves the Location header out when False. A
repository the engine fails (``failed``) gets a failed task; a failed launch, no task.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from tests.harborlog import Row, render_log

if TYPE_CHECKING:
    from tests.fakeharbor import FakeHarbor, _Project

_MARK = {"retain": "RETAIN", "delete": "DEL", "immutable": "IMMUTABLE"}


@dataclass
class _Execution:
    id: int
    policy_id: int
    dry_run: bool
    started: int
    tasks: list[dict[str, Any]]
    logs: dict[int, str]
    status: str = "Running"
    polls: int = 0
    ended: int | None = None

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "policy_id": self.policy_id, "start_time": _when(self.started),
                "end_time": _when(self.ended) if self.ended else "", "status": self.status,
                "trigger": "MANUAL", "dry_run": self.dry_run}


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


@dataclass
class FakeExecutions:
    harbor: FakeHarbor
    marks: dict[str, str] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)
    lost_logs: set[str] = field(default_factory=set)
    zone_offset: int = 0
    polls_to_end: int | None = 0
    real_run: bool = False
    location: bool = True
    clock: int | None = None  # the execution's start (UTC seconds); None: the real time
    executions: list[_Execution] = field(default_factory=list)
    posted: list[Any] = field(default_factory=list)  # the POST bodies
    stopped: list[int] = field(default_factory=list)

    def route(self, method: str, parts: list[str], body: bytes, user: str | None,
              query: dict[str, list[str]], raw_path: str) -> Any:
        from tests.fakeharbor import _Answer, _error

        owner, _ = self.harbor._retentions.get(int(parts[1]), (None, None))
        match method, parts[2:]:
            case "POST", ["executions"]:
                self.harbor._require(user, owner, "tag-retention:update")
                assert owner is not None
                try:
                    asked = json.loads(body or b"{}")
                except ValueError:
                    raise _error(400, "BAD_REQUEST", "invalid body") from None
                self.posted.append(asked)
                run = self._start(owner, int(parts[1]),
                                  bool(asked.get("dry_run")) and not self.real_run)
                headers = {"Location": f"/api/v2.0/retentions/{parts[1]}/executions/{run.id}"} \
                    if self.location else {}
                return _Answer(201, None, {**headers, "Content-Type": "text/plain"}, text="")
            case "GET", ["executions"]:
                self.harbor._require(user, owner, "tag-retention:read")
                for run in self.executions:
                    self._advance(run)
                runs = [r.payload() for r in reversed(self.executions)
                        if r.policy_id == int(parts[1])]
                return self.harbor._page(runs, query, raw_path)
            case "PATCH", [("executions"), eid]:
                self.harbor._require(user, owner, "tag-retention:update")
                run = self._find(int(parts[1]), eid)
                if json.loads(body or b"{}").get("action") != "stop":
                    raise _error(400, "BAD_REQUEST", "only stop is supported")
                self.stopped.append(run.id)
                if run.status == "Running":
                    run.status, run.ended = "Stopped", run.started + 1
                return _Answer(200, None, text="")
            case "GET", [("executions"), eid, "tasks"]:
                self.harbor._require(user, owner, "tag-retention:read")
                return self.harbor._page(self._find(int(parts[1]), eid).tasks, query,
                                         raw_path)
            case "GET", [("executions"), eid, "tasks", tid]:
                self.harbor._require(user, owner, "tag-retention:read")
                run = self._find(int(parts[1]), eid)
                task = next((t for t in run.tasks if str(t["id"]) == tid), None)
                if task is None or task["repository"] in self.lost_logs:
                    raise _error(404, "NOT_FOUND", json.dumps(
                        {"code": 10010, "message": "object is not found", "details": "x"}))
                return _Answer(200, None, {"Content-Type": "text/plain"},
                               text=run.logs[task["id"]])
        raise _error(404, "NOT_FOUND", f"no route for {'/'.join(parts)}")

    def _find(self, policy_id: int, eid: str) -> _Execution:
        from tests.fakeharbor import _error

        for run in self.executions:
            if str(run.id) == eid and run.policy_id == policy_id:
                return run
        raise _error(404, "NOT_FOUND", f"execution {eid} not found")

    def _advance(self, run: _Execution) -> None:
        run.polls += 1
        if run.status == "Running" and self.polls_to_end is not None \
                and run.polls > self.polls_to_end:
            run.ended = run.started + 2
            run.status = "Error" if any(t["status"] == "Error" for t in run.tasks) \
                else "Success"

    def _start(self, project: _Project, policy_id: int, dry_run: bool) -> _Execution:
        started = self.clock if self.clock is not None else int(time.time())
        document = {"schema": "harborguard.snapshot/v1", "taken_at": _when(started),
                    "projects": [{"project": project.payload, "retention": project.retention,
                                  "immutable_rules": project.rules,
                                  "repositories": [{"repository": r.payload,
                                                    "artifacts": r.artifacts}
                                                   for r in project.repos.values()]}]}
        snap = parse_snapshot(document, "fake")
        result = simulate(snap, started * 1_000_000_000, resolve(self.harbor.version))
        eid = len(self.executions) + 1
        tasks: list[dict[str, Any]] = []
        logs: dict[int, str] = {}
        for outcome in result.projects[0].repositories:
            if outcome.status in ("no-policy", "no-rules", "not-in-scope", "launch-failed"):
                continue  # Harbor starts no task there (a failed launch starts none)
            name = outcome.repository.name
            short = name.split("/", 1)[1]
            tid = 100 * eid + len(tasks) + 1
            # A repository the engine says Harbor fails (an unregistered selector kind...)
            # fails here too, with the engine's words; ``failing`` fails any other.
            failure = self.failing.get(short) or (
                outcome.error or "failed" if outcome.status == "failed" else None)
            rows = [Row(a.digest, a.tags, a.push_s, a.pull_s, a.created_s,
                        self.marks.get(a.digest, _MARK[d.action]))
                    for a, d in zip(outcome.repository.artifacts, outcome.decisions,
                                    strict=True)]
            logs[tid] = render_log(name, rows, started, dry_run=dry_run,
                                   zone_offset=self.zone_offset, failure=failure)
            deleted = sum(r.mark == "DEL" for r in rows)
            tasks.append({"id": tid, "execution_id": eid, "repository": short,
                          "job_id": f"job{tid}", "status": "Error" if failure else "Success",
                          "status_code": 3, "status_revision": 1,
                          "start_time": _when(started), "end_time": _when(started + 1),
                          "total": len(rows), "retained": len(rows) - deleted})
        run = _Execution(eid, policy_id, dry_run, started, tasks, logs)
        self.executions.append(run)
        return run
