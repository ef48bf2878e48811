"""verify: the simulation held against Harbor's own dry run (saved task logs, or a live
execution: harborguard.commands.verifylive).

Each repository is simulated at its task's `now` (the "Run retention process" record),
then compared artifact by artifact (harborguard.verify.compare); the report is
simulate's with ``harbor_action`` on every artifact, the comparison's findings and a
``verify`` section (per repository: where its answer came from, agrees on N of M).
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import (
    HarborUnreadable,
    asked_version,
    load_source,
    now,
    unreadable_harbor,
)
from harborguard.commands.outcome import Outcome, finish
from harborguard.errors import InputError
from harborguard.findings import at_or_above
from harborguard.harborversion import Behaviour
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.model import Incomplete, Project, Repository, Snapshot
from harborguard.policy import RetentionPolicy, load_policy_file, unknown_key_notes
from harborguard.report.build import Source, build_report
from harborguard.retention.engine import RepositoryOutcome
from harborguard.simulate import RunResult, simulate
from harborguard.timeutil import NS
from harborguard.verify.compare import Answer, Verification, verify_repository
from harborguard.verify.tasklog import MAX_LOG_BYTES, TaskLog, read_task_logs

# A folder of task logs holds one file per repository task: a few thousand at most.
MAX_LOG_FILES = 100_000


@dataclass(frozen=True)
class SavedLog:
    path: str
    log: TaskLog | None  # None: the file could not be read (``problem`` says why)
    problem: str | None = None


def read_log_dir(directory: str) -> list[SavedLog]:
    """Every regular file directly in ``directory`` (not hidden), read as a task log.
    The folder itself unreadable is bad input (exit 2); a file in it is incomplete."""
    try:
        names = sorted(os.listdir(directory))
    except NotADirectoryError:
        raise InputError(f"--from-logs {directory}: not a folder; give the folder that holds "
                         "one saved task log per file") from None
    except OSError as exc:
        raise InputError(f"--from-logs {directory}: cannot read the folder "
                         f"({exc.strerror or exc})") from None
    names = [n for n in names if not n.startswith(".")]
    if len(names) > MAX_LOG_FILES:
        raise InputError(f"--from-logs {directory}: more than {MAX_LOG_FILES} files")
    root = os.path.realpath(directory)
    saved = []
    for name in names:
        path = os.path.join(directory, name)
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            saved.append(SavedLog(path, None, "a link out of the folder: not followed"))
            continue
        try:
            info = os.stat(path)
        except OSError as exc:
            saved.append(SavedLog(path, None, f"cannot read it ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            saved.append(SavedLog(path, None, "not a regular file: not opened"))
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_LOG_BYTES + 1)
        except OSError as exc:
            saved.append(SavedLog(path, None, f"cannot read it ({exc.strerror or exc})"))
            continue
        logs = read_task_logs(data)  # a jobservice log may hold several tasks
        saved.extend(SavedLog(path if len(logs) == 1 else f"{path}:{log.start_line}", log)
                     for log in logs)
    return saved


def _find_repository(snapshot: Snapshot, name: str) -> tuple[Project, Repository] | None:
    for project in snapshot.projects:
        for repo in project.repositories:
            if repo.name == name:
                return project, repo
    return None


def simulate_repository(snapshot: Snapshot, project: Project, repository: Repository,
                        now_s: int, behaviour: Behaviour, policy: RetentionPolicy | None,
                        order: str) -> RunResult:
    """``repository`` of ``project`` alone, at ``now_s``: the launch assigns rules to each
    repository on its own, so this is the repository's part of the whole run."""
    alone = dataclasses.replace(project, repositories=(repository,))
    part = dataclasses.replace(snapshot, projects=(alone,), incomplete=())
    return simulate(part, now_s * NS, behaviour, policy=policy, order=order)


def merge(base: RunResult, parts: dict[tuple[str, str], RunResult]) -> RunResult:
    """``base`` with each repository of ``parts`` (simulated at its task's time) put in."""
    projects = []
    fates = []
    for index, outcome in enumerate(base.projects):
        repos = list(outcome.repositories)
        project_fates = list(base.fates[index]) if index < len(base.fates) else []
        for number, repo in enumerate(repos):
            part = parts.get((outcome.project.name, repo.repository.name))
            if part is not None:
                repos[number] = part.projects[0].repositories[0]
                if number < len(project_fates) and part.fates:
                    project_fates[number] = part.fates[0][0]
        projects.append(dataclasses.replace(outcome, repositories=tuple(repos)))
        fates.append(tuple(project_fates))
    replaced = set(parts)
    findings = [f for f in base.findings if (f.project, f.repository) not in replaced]
    for part in parts.values():
        findings.extend(f for f in part.findings if f.repository is not None)
    return dataclasses.replace(base, projects=tuple(projects), findings=tuple(findings),
                               fates=tuple(fates))


@dataclass
class Comparison:
    """What a verify run compares: the source, the simulation settings, the answers."""

    snapshot: Snapshot
    snapshot_path: str | None
    policy: RetentionPolicy | None
    policy_label: str
    base_now_s: int
    behaviour: Behaviour
    order: str
    answers: list[Answer]
    live: bool
    verify_info: dict[str, Any]


def compare_and_report(inv: Invocation, c: Comparison) -> Outcome:
    base = simulate(c.snapshot, c.base_now_s * NS, c.behaviour, policy=c.policy, order=c.order)
    by_repo = {(a.project, a.repository): a for a in c.answers}
    parts = {}
    for answer in c.answers:
        found = _find_repository(c.snapshot, answer.repository)
        if found is None:
            continue
        project, repo = found
        parts[(answer.project, answer.repository)] = simulate_repository(
            c.snapshot, project, repo, answer.now_s, c.behaviour, c.policy, c.order)
    result = merge(base, parts)

    def resimulate(project_name: str, repository: Repository, now_s: int) -> RepositoryOutcome:
        project = next(p for p in c.snapshot.projects if p.name == project_name)
        run = simulate_repository(c.snapshot, project, repository, now_s, c.behaviour,
                                  c.policy, c.order)
        return run.projects[0].repositories[0]

    verification = Verification()
    for outcome in result.projects:
        for repo_outcome in outcome.repositories:
            verify_repository(verification, outcome.project.name, repo_outcome,
                              by_repo.get((outcome.project.name,
                                           repo_outcome.repository.name)),
                              resimulate, live=c.live)
    source = Source(harbor=c.snapshot.harbor, snapshot=c.snapshot_path, policy=c.policy_label)
    report = build_report(result, source, extra_findings=verification.findings,
                          command="verify")
    for row in report["artifacts"]:
        row["harbor_action"] = verification.actions.get(
            (row["project"], row["repository"], row["digest"]))
    report["incomplete"].extend({"what": i.what, "reason": i.reason}
                                for i in verification.incomplete)
    report["notes"].extend(verification.notes)
    report["verify"] = {**c.verify_info, "repositories": verification.repositories}
    fail_on = inv.get("fail-on")
    failing = any(at_or_above(f, fail_on) for f in [*result.findings, *verification.findings])
    return finish(inv, report, failing=failing,
                  incomplete=bool(result.incomplete or verification.incomplete))


def answers_from_logs(inv: Invocation, saved: Sequence[SavedLog], snapshot: Snapshot,
                      now_override: int | None, base_now_s: int) -> list[Answer]:
    """An answer per repository from the saved logs; what cannot be used is incomplete."""
    chosen: dict[str, Answer] = {}
    for item in saved:
        if item.log is None:
            inv.incomplete.append(Incomplete(item.path, item.problem or "not read"))
            continue
        log = item.log
        if log.not_a_log:
            inv.incomplete.append(Incomplete(item.path, log.not_a_log))
            continue
        if not log.repository:
            inv.incomplete.append(Incomplete(item.path, "names no repository (no "
                                             "\"Repository:\" or \"Load N candidates from "
                                             "repository\" line): skipped"))
            continue
        found = _find_repository(snapshot, log.repository)
        if found is None:
            inv.incomplete.append(Incomplete(item.path, f"repository {log.repository} is not "
                                             "in the source (another project, or deleted "
                                             "since): not compared"))
            continue
        run_at = log.run_at if log.run_at is not None else base_now_s
        answer = Answer(found[0].name, log.repository, log, item.path,
                        now_override if now_override is not None else run_at)
        earlier = chosen.get(log.repository)
        if earlier is not None:
            later, other = (answer, earlier) if answer.now_s >= earlier.now_s else \
                (earlier, answer)
            inv.notes.append(f"{other.where} and {later.where} are both logs of "
                             f"{log.repository}: {later.where}, the later, is compared")
            answer = later
        chosen[log.repository] = answer
    return list(chosen.values())


def run_verify_from_logs(inv: Invocation, directory: str) -> Outcome:
    saved = read_log_dir(directory)
    policy_path = inv.get("policy")
    policy = load_policy_file(policy_path) if policy_path else None
    if policy is not None:
        inv.notes.extend(unknown_key_notes(policy_path, policy))
    try:
        snapshot, snapshot_path = load_source(inv, need_policies=policy is None)
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "verify")
    base_now_s = now(inv, snapshot, live=snapshot_path is None) // NS
    override = base_now_s if inv.get("now") else None
    behaviour = resolve_behaviour(asked_version(inv) or snapshot.harbor_version)
    answers = answers_from_logs(inv, saved, snapshot, override, base_now_s)
    if not saved:
        inv.incomplete.append(Incomplete(directory, "holds no task log: nothing to compare"))
    return compare_and_report(inv, Comparison(
        snapshot, snapshot_path, policy, policy_path or "harbor", base_now_s, behaviour,
        inv.get("order") or "push", answers, live=False,
        verify_info={"logs": directory, "execution": None}))
