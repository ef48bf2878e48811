"""simulate: what each repository keeps and deletes, and why.

A large snapshot file written as JSON is simulated in parts on several CPUs
(harborguard.pipeline): :func:`run_in_parts` says whether the run is one for parts and
starts them; the CLI writes their report, and runs whole (:func:`run_simulate`) if any
part could not write its share.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harborguard.commands.dedup import add_storage
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import (
    HarborUnreadable,
    asked_version,
    now,
    simulate_policy,
    source_choice,
    unreadable_harbor,
    version_pattern,
    whole_seconds,
)
from harborguard.commands.outcome import Outcome, finish, outcome
from harborguard.errors import InputError
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.model import Snapshot
from harborguard.outfile import existing_mode, is_regular
from harborguard.policy import load_policy_file, unknown_key_notes
from harborguard.report.build import build_report
from harborguard.retention.semver_order import SemverRanker
from harborguard.timeutil import utc_now_nanos

if TYPE_CHECKING:
    from harborguard.pipeline import Parted

# A snapshot file this large is simulated in parts on several CPUs (JSON output only):
# about 10,000 artifacts. Below it, reading the file once more costs more than it saves.
PARTS_FROM_BYTES = 4_000_000


def run_simulate(inv: Invocation) -> Outcome:
    """The whole run in this process."""
    try:
        simulated = simulate_policy(inv, verdict=False)  # no all-clear to qualify
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "simulate")
    report = build_report(simulated.result, simulated.source)
    add_storage(inv, report, simulated.result)
    return outcome(inv, simulated.result, report)


@dataclass(frozen=True)
class InParts:
    """A run in parts: its outcome (the parts write their shares when the report file is
    written: Outcome.fill) and how to stop them if it is not."""

    outcome: Outcome
    close: Callable[[], None]


def run_in_parts(inv: Invocation) -> InParts | None:
    """The run in parts, or None when it is not one for parts or a part failed (then the
    caller runs whole; the report file's writer raises outfile.PartsFailed if a part cannot
    write its share, and the caller runs whole then too)."""
    in_parts = _simulate_in_parts(inv, inv.output)
    if in_parts is None:
        return None
    parted, notes = in_parts
    return InParts(finish(inv, parted.report, failing=parted.failing,
                          incomplete=bool(parted.report["incomplete"]), notes=notes,
                          fill=parted.fill), parted.close)


def _simulate_in_parts(inv: Invocation, output: str | None) -> tuple[Parted, list[str]] | None:
    """simulate's JSON report from a large snapshot file, in parts on several CPUs
    (harborguard.pipeline), and the notes to add once it is written. None when the run is
    not one for parts, or anything went wrong in one: the caller then runs whole, and
    reports any error as a run in one process does (the files read here are regular
    files, which can be read again)."""
    from harborguard import parallel

    jobs = inv.get("jobs")  # a bad value is an error of its own (exit 2), parts or not
    try:
        if inv.format != "json" or not parallel.can_fork() or inv.get("dedup"):
            return None
        path, projects, all_projects = source_choice(inv)
        policy_path = inv.get("policy")
        if (not path or path == "-" or projects or all_projects
                or policy_path and not is_regular(policy_path)):
            return None
        mode = existing_mode(Path(os.path.realpath(output))) if output else None
        if mode is not None and not stat.S_ISREG(mode):
            return None  # parts write at offsets: only into a regular file
        # Looked at before it is opened: opening a named pipe would take what it holds.
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None  # a pipe can be read only once
        if jobs is None:
            if info.st_size < PARTS_FROM_BYTES:
                return None
            jobs = parallel.available_cpus()
        jobs = min(jobs, parallel.MAX_PARTS)
        fd = os.open(path, os.O_RDONLY)
    except (InputError, OSError):
        return None
    try:
        # One open file for every part: a snapshot replaced while they read it (renamed
        # over, as `snapshot -o` does) is still the same file for all of them.
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return None
        try:
            policy = load_policy_file(policy_path) if policy_path else None
            pattern = version_pattern(inv)
            ranker = SemverRanker(pattern) if inv.get("order") == "semver" else None
            order = inv.get("order")
            fail_on = inv.get("fail-on")
        except InputError:
            return None
        default_now = whole_seconds(utc_now_nanos())  # one `now` for every part

        def settings(snapshot: Snapshot) -> tuple[int, Any]:
            now_ns = now(inv, snapshot, live=False, default=default_now)
            return now_ns, resolve_behaviour(asked_version(inv) or snapshot.harbor_version)

        from harborguard.pipeline import Run, simulate_in_parts

        parted = simulate_in_parts(path, fd, opened.st_size, jobs, Run(
            policy, policy_path or "harbor", order, ranker, pattern, fail_on, settings),
            to_file=bool(output))
    finally:
        os.close(fd)
    if parted is None:
        return None
    notes = unknown_key_notes(policy_path, policy) if policy is not None and policy_path else []
    return parted, notes
