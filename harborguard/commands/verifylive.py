"""verify, live: Harbor's own dry run of each project's stored policy, compared with the
simulation (harborguard.commands.verify does the comparison and the report).

Per project: read the policy's ID, ask (or --yes), ``POST .../executions {"dry_run":
true}``, find the new execution (its Location, else the one new item of the executions
list), check that it is a dry run (else stop it at once: exit 3), poll until every
execution ends or --wait passes (exit 3), read every task's log, fetch the artifacts right
after, simulate each repository at its task's time and compare.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import (
    HarborUnreadable,
    asked_version,
    harbor_client,
    source_choice,
    unreadable_harbor,
    whole_seconds,
)
from harborguard.commands.outcome import Outcome, finish
from harborguard.commands.verify import Comparison, compare_and_report
from harborguard.errors import InputError, SourceError
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.model import Incomplete
from harborguard.report.build import Source, build_report
from harborguard.simulate import RunResult
from harborguard.snapshot import parse_snapshot
from harborguard.sources.harbor.client import HarborClient
from harborguard.sources.harbor.executions import (
    ENDED,
    UPDATE_PERMISSION,
    ExecutionError,
    list_executions,
    list_tasks,
    start_dry_run,
    stop,
    task_log,
)
from harborguard.sources.harbor.retentions import RetentionWriteError, read_policy
from harborguard.timeutil import NS, parse_seconds, utc_now_nanos
from harborguard.verify.compare import Answer
from harborguard.verify.tasklog import TaskLog, read_task_log

# A line of progress every this many seconds while an execution runs (and on each change).
TELL_EVERY = 30.0


@dataclass(frozen=True)
class Waiting:
    """How the run waits for Harbor: the poll interval, and the sleep and clock it uses
    (tests give a short interval, or a clock that the sleep advances)."""

    interval: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


WAITING = Waiting()


@dataclass
class Run:
    """One project's dry run."""

    project: str
    policy_id: int
    execution_id: int | None = None
    record: dict[str, Any] = field(default_factory=dict)  # its item in the executions list

    @property
    def name(self) -> str:
        return f"execution {self.execution_id} of retention policy {self.policy_id} " \
               f"(project {self.project})"

    def info(self) -> dict[str, Any]:
        return {"project": self.project, "policy_id": self.policy_id, "id": self.execution_id,
                **{k: self.record.get(k) for k in ("status", "start_time", "end_time",
                                                   "dry_run", "trigger")}}


class Abort(Exception):
    """The run ends incomplete (exit 3): what is missing, and why. ``alarm``: also said
    as an error line (an execution that is not a dry run)."""

    def __init__(self, *items: Incomplete, alarm: bool = False) -> None:
        super().__init__(items[0].reason)
        self.items = items
        self.alarm = alarm


def refuse_offline_options(inv: Invocation) -> list[str]:
    """The projects of a live verify; what a live verify cannot take is refused (exit 2)."""
    for name, why in (("policy", "Harbor dry-runs the policy it stores, not a file"),
                      ("now", "Harbor runs at its own time; each repository is evaluated "
                              "at its task's")):
        if inv.get(name):
            raise InputError(f"{inv.resolver.origin(name)}: refused on a live verify "
                             f"({why}); it goes with --from-logs DIR")
    path, projects, all_projects = source_choice(inv)
    if path:
        raise InputError("verify --snapshot needs --from-logs DIR: Harbor cannot dry-run a "
                         "snapshot; give --harbor URL --project P for a live dry run")
    if all_projects:
        raise InputError("a live verify starts a job on the server per project: name them "
                         "with --project P (--all-projects is refused)")
    if not projects:
        raise InputError("verify needs --harbor URL --project P ... (a live dry run) or "
                         "--from-logs DIR with --snapshot FILE or --project P")
    return list(dict.fromkeys(projects))


def question(client: HarborClient, runs: Sequence[Run]) -> str:
    listed = ", ".join(f"{r.project} (policy {r.policy_id})" for r in runs)
    return (f"Start Harbor's dry run of the stored retention policy of {listed} on "
            f"{client.url}? It deletes nothing, but it starts a retention job on the server "
            f"(POST /api/v2.0/retentions/{{id}}/executions {{\"dry_run\": true}}) and needs "
            f"the {UPDATE_PERMISSION} permission.")


def run_verify_live(inv: Invocation, *, wait: float, confirm: Callable[[str], bool],
                    tell: Callable[[str], None], waiting: Waiting | None = None) -> Outcome:
    projects = refuse_offline_options(inv)
    version = asked_version(inv)  # a typo is refused before anything starts
    waiting = waiting or WAITING
    with harbor_client(inv) as client:
        runs = []
        for project in projects:
            try:
                stored = read_policy(client, project)
            except RetentionWriteError as exc:
                return unreadable_harbor(inv, HarborUnreadable(str(exc)), "verify")
            if stored.id is None:
                inv.notes.append(f"project {project} has no retention policy: Harbor starts "
                                 "no execution, and deletes nothing there")
            else:
                runs.append(Run(project, stored.id))
        if runs and not confirm(question(client, runs)):
            raise InputError("not started: the confirmation was declined")
        try:
            for run in runs:
                _start(client, run, tell)
            _wait_for(client, runs, wait, waiting, tell)
            answers = _answers(inv, client, runs)
            data = _fetch(inv, client, projects)
        except Abort as abort:
            return _aborted(inv, client, runs, abort)
    try:
        snapshot = parse_snapshot(data, client.url)
    except InputError as exc:  # Harbor's answers, not a file the user named: incomplete
        return _aborted(inv, client, runs, Abort(Incomplete(
            client.url, f"an answer could not be understood: {exc}")))
    base_now_s = parse_seconds(snapshot.taken_at) if snapshot.taken_at else \
        whole_seconds(utc_now_nanos()) // NS
    known = {r.name for p in snapshot.projects for r in p.repositories}
    unread = {i.what for i in snapshot.incomplete}
    for answer in answers:
        if answer.repository not in known and answer.repository not in unread:
            inv.incomplete.append(Incomplete(answer.repository, f"{answer.where}: Harbor ran "
                                             "a task for it, but it is not in Harbor now "
                                             "(deleted since?): not compared"))
    behaviour = resolve_behaviour(version or snapshot.harbor_version)
    info = [r.info() for r in runs]
    return compare_and_report(inv, Comparison(
        snapshot, None, None, "harbor", base_now_s, behaviour, inv.get("order") or "push",
        answers, live=True,
        verify_info={"logs": None, "execution": info[0] if info else None,
                     "executions": info}))


def _start(client: HarborClient, run: Run, tell: Callable[[str], None]) -> None:
    what = f"project {run.project}"
    try:
        before = {r["id"] for r in list_executions(client, run.policy_id)}
        started = start_dry_run(client, run.policy_id)
    except ExecutionError as exc:
        raise Abort(Incomplete(what, f"{exc}; nothing was started")) from None
    try:
        listed = list_executions(client, run.policy_id)
    except ExecutionError as exc:
        raise Abort(Incomplete(what, f"a dry run was started (HTTP {started.status}) but "
                                     f"{exc}: whether it is a dry run is unknown; check the "
                                     "executions of its retention policy in Harbor and stop "
                                     "any that is not"), alarm=True) from None
    if started.execution_id is not None:
        run.execution_id = started.execution_id
    else:
        new = [r for r in listed if r["id"] not in before]
        if len(new) != 1:
            found = ", ".join(f"{r['id']} (dry_run {r.get('dry_run')})" for r in new) or "none"
            raise Abort(Incomplete(what, f"Harbor accepted the dry run (HTTP "
                                         f"{started.status}) without a Location header, and "
                                         f"the executions list holds {len(new)} new "
                                         f"executions ({found}): which one is harborguard's "
                                         "is unknown; check them in Harbor and stop any that "
                                         "is not a dry run"), alarm=True)
        run.execution_id = new[0]["id"]
    record = next((r for r in listed if r["id"] == run.execution_id), None)
    if record is None:
        raise Abort(Incomplete(what, f"{run.name} is not in the executions list: whether it "
                                     "is a dry run is unknown; check it in Harbor and stop it "
                                     "if it is not"), alarm=True)
    run.record = record
    if record.get("dry_run") is not True:
        flag = json.dumps(record.get("dry_run"))
        said = f"{run.name} is NOT a dry run (dry_run: {flag}): it deletes"
        problem = stop(client, run.policy_id, run.execution_id)
        if problem is not None:
            raise Abort(Incomplete(what, f"{said}, and stopping it failed ({problem}): STOP "
                                         "IT IN HARBOR NOW"), alarm=True)
        raise Abort(Incomplete(what, f"{said}; harborguard stopped it at once (PATCH "
                                     "{\"action\": \"stop\"}); what it deleted before it "
                                     "stopped is gone"), alarm=True)
    tell(f"started {run.name}")


def _wait_for(client: HarborClient, runs: Sequence[Run], wait: float, waiting: Waiting,
              tell: Callable[[str], None]) -> None:
    started = waiting.clock()
    deadline = started + wait
    last_told = started
    said: dict[str, str] = {}
    while True:
        pending = []
        for run in runs:
            if run.record.get("status") not in ENDED:
                try:
                    listed = list_executions(client, run.policy_id)
                except ExecutionError as exc:
                    raise Abort(Incomplete(run.name, str(exc))) from None
                record = next((r for r in listed if r["id"] == run.execution_id), None)
                if record is None:
                    raise Abort(Incomplete(run.name, "no longer in the executions list"))
                run.record = record
            if run.record.get("status") not in ENDED:
                pending.append(run)
        now = waiting.clock()
        late = now - last_told >= TELL_EVERY
        for run in runs:
            status = str(run.record.get("status"))
            if said.get(run.name) != status or late and run in pending:
                tell(f"{run.name}: {status} ({now - started:.0f} s)")
                said[run.name] = status
                last_told = now
        if not pending:
            return
        if now >= deadline:
            raise Abort(*(Incomplete(r.name, f"did not end within --wait {wait:g} s (still "
                                             f"{r.record.get('status')}); it goes on in "
                                             "Harbor: compare its task logs later with "
                                             "--from-logs DIR") for r in pending))
        waiting.sleep(max(0.0, min(waiting.interval, deadline - now)))


def _answers(inv: Invocation, client: HarborClient, runs: Sequence[Run]) -> list[Answer]:
    answers = []
    for run in runs:
        assert run.execution_id is not None
        try:
            tasks = list_tasks(client, run.policy_id, run.execution_id)
        except ExecutionError as exc:
            raise Abort(Incomplete(run.name, str(exc))) from None
        for task in tasks:
            answers.append(_answer(client, run, task))
    return answers


def _answer(client: HarborClient, run: Run, task: dict[str, Any]) -> Answer:
    assert run.execution_id is not None
    repository = f"{run.project}/{task['repository']}"
    where = f"task {task['id']} of execution {run.execution_id}"
    status = str(task.get("status"))
    got = task_log(client, run.policy_id, run.execution_id, task["id"])
    log = TaskLog(not_a_log=f"its log could not be read: {got}") if isinstance(got, str) \
        else read_task_log(got)
    problem = None
    if log.repository is not None and log.repository != repository:
        problem = f"the log names repository {log.repository}, the task {repository}"
    elif status not in ENDED:
        problem = f"the task is {status} though the execution ended"
    elif status == "Stopped":
        problem = "the task was stopped before it decided"
    elif status == "Error" and log.failure is None and not log.not_a_log:
        problem = "the task ended in Error but its log holds no \"retention job\" error"
    elif log.dry_run is False:
        problem = "the log says \"Dry Run: false\""
    if problem is not None:
        log = TaskLog(repository=repository, not_a_log=problem)
    start = task.get("start_time")
    try:
        started = parse_seconds(start) if isinstance(start, str) and start else None
    except ValueError:
        started = None
    now_s = log.run_at if log.run_at is not None else started
    if now_s is None:
        log = TaskLog(repository=repository, not_a_log="neither its log nor the task record "
                                                      "says when it ran")
        now_s = whole_seconds(utc_now_nanos()) // NS
    return Answer(run.project, repository, log, where, now_s, status)


def _fetch(inv: Invocation, client: HarborClient, projects: Sequence[str]) -> dict[str, Any]:
    """The artifacts, read right after the dry run (with the same client: a password from
    --password-stdin is read once)."""
    from harborguard.sources.harbor import fetch_snapshot

    progress, done = inv.progress("reading Harbor")
    try:
        return fetch_snapshot(client, projects, progress=progress, with_policies=True,
                              with_additions=False)
    except SourceError as exc:
        raise Abort(Incomplete(client.url, f"cannot read Harbor after the dry run: {exc}")) \
            from None
    finally:
        done()


def _aborted(inv: Invocation, client: HarborClient, runs: Sequence[Run],
             abort: Abort) -> Outcome:
    """Incomplete (exit 3): a report that says why and names the executions."""
    inv.incomplete.extend(abort.items)
    result = RunResult(now_ns=whole_seconds(utc_now_nanos()), order=inv.get("order") or "push",
                       behaviour=resolve_behaviour(asked_version(inv)), projects=(),
                       findings=(), incomplete=())
    report = build_report(result, Source(harbor=client.url, snapshot=None, policy="harbor"),
                          command="verify")
    info = [r.info() for r in runs if r.execution_id is not None]
    report["verify"] = {"logs": None, "execution": info[0] if info else None,
                        "executions": info, "repositories": []}
    return finish(inv, report, failing=False, incomplete=True,
                  errors=[i.reason for i in abort.items] if abort.alarm else [])
