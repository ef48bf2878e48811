"""The data a command runs on: a snapshot file or a live read of Harbor, the time to
evaluate at, the Harbor release to reproduce, and the simulation over them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harborguard.commands.invocation import Invocation
from harborguard.commands.outcome import Outcome, RefusedAfter, outcome
from harborguard.errors import InputError, SourceError
from harborguard.expiry import Later
from harborguard.harborversion import is_harbor_version, same_release
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.model import Incomplete, Snapshot
from harborguard.pipeline.reader import Stream, open_stream, stream_of
from harborguard.pipeline.step import Settings
from harborguard.policy import RetentionPolicy, load_policy_file, unknown_key_notes
from harborguard.redact import mask_url
from harborguard.report.build import Source, build_report
from harborguard.report.common import WHAT_IF
from harborguard.retention.semver_order import SemverRanker
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import (
    load_snapshot,
    parse_snapshot,
    read_snapshot_file,
    snapshot_from_bytes,
)
from harborguard.timeutil import format_nanos, parse_nanos, utc_now_nanos
from harborguard.versions import VersionPattern


class HarborUnreadable(Exception):
    """Harbor could not be read at all: the run is incomplete (exit 3)."""


def harbor_client(inv: Invocation) -> Any:
    from harborguard.sources.harbor import HarborClient

    url = inv.get("harbor")
    if not url:
        raise InputError("--project/--all-projects read a live Harbor: give --harbor URL "
                         "(or HARBOR_URL)")
    return HarborClient(
        url,
        username=inv.get("username"),
        password=inv.password(),
        ca_bundle=inv.get("ca-bundle"),
        timeout=inv.get("timeout"),
        concurrency=inv.get("concurrency"),
    )


def load_source(inv: Invocation, *, need_policies: bool, need_additions: bool = False,
                what_if: Sequence[RetentionPolicy | None] = ()) -> tuple[Snapshot, str | None]:
    """The Harbor data read whole: a snapshot file, or a live read. Returns it and the
    snapshot path. ``what_if``: the policy files simulated (--dedup asks first when one
    ranks by pulls)."""
    path, projects, all_projects = source_choice(inv)
    if path:
        return load_snapshot(path), path
    return read_live(inv, projects, all_projects, need_policies=need_policies,
                     need_additions=need_additions, what_if=what_if), None


@dataclass(frozen=True)
class Opened:
    """The Harbor data of a run, as a stream of repositories."""

    stream: Stream
    snapshot_path: str | None
    size: int  # the snapshot file's bytes (0: read live)
    # The snapshot read whole: when it was (a live read, a YAML file, or asked for), else
    # None; ``whole()`` reads it so when the stream cannot be taken (InputError: exit 2).
    snapshot: Snapshot | None
    whole: Callable[[], Snapshot]


def open_source(inv: Invocation, *, need_policies: bool, need_additions: bool = False,
                whole: bool = False, what_if: Sequence[RetentionPolicy | None] = ()
                ) -> Opened:
    """The Harbor data: a snapshot file (read as a stream unless ``whole``), or a live
    read (``what_if`` as for :func:`load_source`)."""
    path, projects, all_projects = source_choice(inv)
    if path:
        raw = read_snapshot_file(path)
        stream = None if whole else open_stream(raw, path)
        if stream is None:
            snapshot = snapshot_from_bytes(raw, path)
            return Opened(stream_of(snapshot), path, len(raw), snapshot, lambda: snapshot)
        return Opened(stream, path, len(raw), None, lambda: snapshot_from_bytes(raw, path))
    live = read_live(inv, projects, all_projects, need_policies=need_policies,
                     need_additions=need_additions, what_if=what_if)
    return Opened(stream_of(live), None, 0, live, lambda: live)


def read_live(inv: Invocation, projects: list[str], all_projects: bool, *,
              need_policies: bool, need_additions: bool,
              what_if: Sequence[RetentionPolicy | None]) -> Snapshot:
    """A live read of Harbor (with --dedup, each artifact's manifest after it)."""
    if not projects and not all_projects:
        raise InputError(
            "no data source: give --snapshot FILE, or --harbor URL with --project P "
            "(repeatable) or --all-projects"
        )
    from harborguard.sources.harbor import fetch_snapshot

    progress, stop = inv.progress("reading Harbor")
    try:
        with harbor_client(inv) as client:
            data = fetch_snapshot(client, projects, all_projects=all_projects,
                                  progress=progress, with_policies=need_policies,
                                  with_additions=need_additions)
            stop()
            if inv.get("dedup"):  # after the artifacts and their pull times
                from harborguard.commands.dedup import read_blobs

                inv.notes.append(read_blobs(inv, client, data, what_if, need_policies))
    except SourceError as exc:
        raise HarborUnreadable(str(exc)) from None
    finally:
        stop()
    try:
        return parse_snapshot(data, client.url)
    except InputError as exc:
        # Harbor's answers, not a file the user named: not understood is incomplete (3).
        raise HarborUnreadable(f"an answer could not be understood: {exc}") from None


def source_choice(inv: Invocation) -> tuple[str | None, list[str], bool]:
    """(snapshot path, projects to read live, all projects?)."""
    cli_projects = list(inv.options.get("projects") or ())
    cli_all = bool(inv.options.get("all_projects"))
    if cli_projects or cli_all:
        # The command line chose a live read: a snapshot from the environment or the
        # config file does not apply (and one on the command line is a contradiction).
        path = inv.options.get("snapshot")
        projects, all_projects = cli_projects, cli_all
    else:
        path = inv.get("snapshot")
        projects = [] if path else list(inv.get("project"))
        all_projects = False if path else bool(inv.get("all-projects"))
    if path and (projects or all_projects):
        raise InputError("give either --snapshot FILE or --project/--all-projects, not both")
    return path, projects, all_projects


def unreadable_harbor(inv: Invocation, exc: HarborUnreadable, command: str) -> Outcome:
    """Harbor could not be read: still a report (exit 3) saying what is missing, so a CI
    job keeps its artifact exactly when it needs it."""
    said = f"cannot read Harbor: {exc}"
    harbor = inv.get("harbor")
    inv.incomplete.append(Incomplete(what=mask_url(harbor) if harbor else "harbor",
                                     reason=str(exc)))
    try:
        asked = asked_version(inv)
    except InputError as bad:
        raise RefusedAfter(str(bad), [said]) from None
    result = RunResult(now_ns=whole_seconds(utc_now_nanos()), order=inv.get("order") or "push",
                       behaviour=resolve_behaviour(asked), projects=(),
                       findings=(), incomplete=())
    source = Source(harbor=mask_url(harbor) if harbor else None, snapshot=None,
                    policy=inv.get("policy") or "harbor")
    return outcome(inv, result, build_report(result, source, command=command), errors=[said])


def whole_seconds(nanos: int) -> int:
    return nanos - nanos % 1_000_000_000


def now(inv: Invocation, snapshot: Snapshot, live: bool, default: int | None = None) -> int:
    """--now, else the snapshot's taken_at, else ``default`` or the current second."""
    if inv.get("now") == "":  # given, but empty: not "the default"
        raise InputError(f"{inv.resolver.origin('now')}: empty; give an RFC 3339 time with a "
                         "zone, e.g. 2026-03-01T00:00:00Z, or leave it out")
    text = inv.get("now") or (None if live else snapshot.taken_at)
    if not text:
        return default if default is not None else whole_seconds(utc_now_nanos())
    try:
        return parse_nanos(text)
    except ValueError:
        where = inv.resolver.origin("now") if inv.get("now") else "taken_at of the snapshot"
        raise InputError(
            f"{where}: {text!r} is not an RFC 3339 time with a zone, e.g. 2026-03-01T00:00:00Z"
        ) from None


def earlier_now(inv: Invocation, snapshot: Snapshot, now_ns: int, live: bool) -> list[str]:
    """The what-if note of a --now (from the command line, the environment or a config file)
    before the time the data describes: Harbor's next run is after it, and a day rule then
    deletes what it keeps at the earlier time. A later --now deletes no less. A snapshot
    without taken_at does not say its time: any --now on it is a what-if (fail closed)."""
    if not inv.get("now"):
        return []
    if not snapshot.taken_at:
        if live:
            return []
        return [f"{WHAT_IF}the time of the data (now {format_nanos(now_ns)}, from "
                f"{inv.resolver.origin('now')}; the snapshot has no taken_at, so nothing "
                "shows that this is not before the time it was taken; Harbor's next run is "
                "later)"]
    taken_ns = parse_nanos(snapshot.taken_at)
    if now_ns >= taken_ns:
        return []
    what = "the time Harbor was read" if live else "the snapshot's taken_at"
    return [f"{WHAT_IF}the time of the data (now {format_nanos(now_ns)}, from "
            f"{inv.resolver.origin('now')}, is before {what} {snapshot.taken_at}; Harbor's "
            "next run is later)"]


def asked_version(inv: Invocation) -> str | None:
    """--harbor-version as given: one that names no Harbor release is a typo (exit 2); a
    snapshot's own odd version only gets a warning (the server said so)."""
    asked = inv.get("harbor-version")
    if asked and not is_harbor_version(asked):
        raise InputError(f"{inv.resolver.origin('harbor-version')}: {asked!r} is not a Harbor "
                         "version (for example v2.11.0 or 2.9.5); leave it out to use the "
                         "version the snapshot or server reports")
    return str(asked) if asked else None


def other_version(inv: Invocation, recorded: str | None, live: bool, verdict: bool
                  ) -> list[str]:
    """The note of a --harbor-version (from the command line, the environment or a config
    file) naming another release than the one the data was read from: the run reproduces
    a Harbor other than that one. ``verdict``: a what-if that qualifies the all-clear."""
    asked = asked_version(inv)
    if not asked or not recorded or same_release(asked, recorded):
        return []
    what = "the server's systeminfo" if live else "the snapshot's harbor_version"
    return [f"{WHAT_IF if verdict else ''}the Harbor release the data came from ({recorded}, "
            f"from {what}; simulated as {asked}, from "
            f"{inv.resolver.origin('harbor-version')})"]


def version_pattern(inv: Invocation) -> VersionPattern | None:
    source = inv.get("version-pattern")
    if not source:
        return None
    try:
        return VersionPattern(source)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@dataclass
class Prepared:
    """A loaded snapshot and everything a simulation of it is run with."""

    snapshot: Snapshot
    snapshot_path: str | None
    now_ns: int
    behaviour: Any
    pattern: VersionPattern | None
    ranker: SemverRanker | None

    def simulate(self, policy: RetentionPolicy | None, order: str) -> RunResult:
        return simulate(self.snapshot, self.now_ns, self.behaviour, policy=policy, order=order,
                        ranker=self.ranker, pattern=self.pattern)

    def later(self, policy: RetentionPolicy | None, order: str) -> Later:
        """The same simulation of some projects at a later time (expiry.py)."""
        def run_later(projects: Sequence[str], now_ns: int) -> RunResult:
            wanted = set(projects)
            part = dataclasses.replace(self.snapshot, projects=tuple(
                p for p in self.snapshot.projects if p.name in wanted))
            return simulate(part, now_ns, self.behaviour, policy=policy, order=order,
                            ranker=self.ranker, pattern=self.pattern)
        return run_later


def prepare(inv: Invocation, *, need_policies: bool, need_additions: bool = False,
            what_if: Sequence[RetentionPolicy | None] = (), verdict: bool = True) -> Prepared:
    """``verdict``: the command says whether anything in use is deleted, so a what-if
    (a --now before the data's time) is noted to qualify it."""
    pattern = version_pattern(inv)
    ranker = SemverRanker(pattern) if inv.get("order") == "semver" else None
    snapshot, snapshot_path = load_source(inv, need_policies=need_policies,
                                          need_additions=need_additions, what_if=what_if)
    now_ns = now(inv, snapshot, live=snapshot_path is None)
    if verdict:
        inv.notes.extend(earlier_now(inv, snapshot, now_ns, live=snapshot_path is None))
    inv.notes.extend(other_version(inv, snapshot.harbor_version, snapshot_path is None, verdict))
    behaviour = resolve_behaviour(asked_version(inv) or snapshot.harbor_version)
    return Prepared(snapshot, snapshot_path, now_ns, behaviour, pattern, ranker)


def settings(inv: Invocation, opened: Opened, policy: RetentionPolicy | None,
             pattern: VersionPattern | None, *, verdict: bool = True) -> Settings:
    """What the run evaluates every repository with: --now (else the snapshot's time),
    the Harbor release, the order. ``verdict``: a --now before the data's time is a
    what-if noted to qualify the command's all-clear."""
    stream = opened.stream
    header = Snapshot(stream.harbor, stream.harbor_version, stream.taken_at, (), ())
    live = opened.snapshot_path is None
    now_ns = now(inv, header, live=live)
    if verdict:
        inv.notes.extend(earlier_now(inv, header, now_ns, live=live))
    inv.notes.extend(other_version(inv, stream.harbor_version, live, verdict))
    behaviour = resolve_behaviour(asked_version(inv) or stream.harbor_version)
    order = inv.get("order")
    ranker = SemverRanker(pattern) if order == "semver" else None
    return Settings(now_ns, behaviour, policy, order, ranker, pattern)


def policy_option(inv: Invocation, *, verdict: bool = True) -> RetentionPolicy | None:
    """--policy, read (its unknown keys noted). ``verdict``: the command says whether
    anything in use is deleted, so a policy file replacing Harbor's is a what-if noted to
    qualify it."""
    policy_path = inv.get("policy")
    policy: RetentionPolicy | None = load_policy_file(policy_path) if policy_path else None
    if policy is not None:
        inv.notes.extend(unknown_key_notes(policy_path, policy))
    if policy is not None and verdict:
        inv.notes.append(f"{WHAT_IF}Harbor's own retention policies (the policy file "
                         f"{policy_path}, from {inv.resolver.origin('policy')}, replaces them)")
    return policy


def report_source(opened: Opened, policy: str) -> dict[str, Any]:
    """The report's source: the Harbor (masked in the report), the snapshot file, and
    the policy evaluated ("harbor": each project's own)."""
    return {"harbor": opened.stream.harbor, "snapshot": opened.snapshot_path, "policy": policy}
