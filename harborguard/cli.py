"""The command line: the only place that reads the environment, prints and exits."""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from harborguard import __version__, console, jsonio
from harborguard.config import Resolver, load_config
from harborguard.errors import InputError, SourceError, Stopped
from harborguard.expiry import Later, expiring
from harborguard.findings import Finding, at_or_above
from harborguard.harborversion import is_harbor_version
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.model import Incomplete, Snapshot
from harborguard.policy import RetentionPolicy, load_policy_file
from harborguard.redact import mask_url
from harborguard.report import FORMATTERS, render
from harborguard.report.build import Source, add_previous_actions, build_report
from harborguard.report.json import Chunk
from harborguard.retention.semver_order import SemverRanker
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import load_snapshot, parse_snapshot
from harborguard.timeutil import parse_nanos, utc_now_nanos
from harborguard.versions import VersionPattern

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions
    from harborguard.pipeline import Fill, Parted


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2
    INCOMPLETE = 3


class BadInput(click.ClickException):
    """A core InputError at the edge: one line on stderr, exit 2, no traceback."""

    exit_code = Exit.BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"harborguard: error: {self.format_message()}", err=True)


F = TypeVar("F", bound=Callable[..., Any])


def _output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """-o "" (an unset variable in a CI script) must not mean standard output."""
    if value is not None and not value.strip():
        raise BadInput("-o/--output: the file name is empty; give a file, or leave -o out "
                       "to write to standard output")
    return value

GLOBAL_NAMES = (
    "harbor", "username", "password_stdin", "ca_bundle", "timeout", "concurrency",
    "harbor_version", "config", "quiet", "no_progress",
)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


global_options = _stack(
    click.version_option(__version__, "--version", prog_name="harborguard",
                         message="%(prog)s %(version)s"),
    click.option("--harbor", metavar="URL", help="Harbor base URL [env HARBOR_URL]."),
    click.option("--username", metavar="NAME",
                 help="Harbor user or robot account, e.g. robot$proj+ci [env HARBOR_USERNAME]."),
    click.option("--password-stdin", is_flag=True, default=None,
                 help="Read the password from standard input (else HARBOR_PASSWORD)."),
    click.option("--ca-bundle", metavar="PATH", help="CA bundle for a private CA."),
    click.option("--timeout", metavar="SECONDS",
                 help="Seconds for each request's whole answer (default 30)."),
    click.option("--concurrency", metavar="N", help="Parallel requests to Harbor (default 8)."),
    click.option("--harbor-version", metavar="V",
                 help="Harbor release whose retention behaviour to reproduce "
                      "(default: the snapshot's or server's; unknown or newer: main)."),
    click.option("--config", metavar="PATH",
                 help="Config file (default ./harborguard.yaml if present)."),
    click.option("--quiet", is_flag=True, default=None, help="No notes on stderr."),
    click.option("--no-progress", is_flag=True, default=None, help="No progress bar."),
)

source_options = _stack(
    click.option("--snapshot", "snapshot_path", metavar="FILE",
                 help="A harborguard.snapshot/v1 file (see `harborguard snapshot`)."),
    click.option("--project", "projects", metavar="P", multiple=True,
                 help="Read this project live from --harbor (repeatable)."),
    click.option("--all-projects", is_flag=True, default=None,
                 help="Read every project the account can list, live from --harbor."),
)

simulate_options = _stack(
    click.option("--policy", metavar="FILE",
                 help="Evaluate this policy (Harbor's JSON, or YAML) instead of each project's."),
    click.option("--now", metavar="TIME",
                 help="RFC 3339 time to evaluate at (default: the snapshot's taken_at, or now)."),
    click.option("--order", type=click.Choice(["push", "semver"]), default=None,
                 help="push: Harbor's behaviour (default); semver: what-if ranking by version."),
    click.option("--version-pattern", metavar="REGEX",
                 help="Read versions from tags with this regex (named groups major, minor, "
                      "patch, optional pre and key)."),
    click.option("--format", "fmt", type=click.Choice(sorted(FORMATTERS)), default=None,
                 help="Output format (default: table on a terminal, else json)."),
    click.option("-o", "--output", metavar="FILE", callback=_output_path,
                 help="Write the report to FILE atomically."),
    click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
                 help="Lowest finding severity that makes the exit code 1 (default error)."),
)

kubectl_options = _stack(
    click.option("--kubectl", "use_kubectl", is_flag=True, default=None,
                 help="Ask the cluster: runs `kubectl get pods,...,controllerrevisions -o json`."),
    click.option("--context", metavar="C", help="kubectl context."),
    click.option("--namespace", metavar="N", help="Only this namespace (default: all)."),
    click.option("--kubectl-json", metavar="FILE", multiple=True,
                 help="Saved `kubectl get ... -o json` output (repeatable)."),
)

manifest_options = _stack(
    click.option("--manifests", metavar="DIR",
                 help="A deployment repository checkout (toolforge-deploy layout, Helm values, "
                      "Kubernetes YAML)."),
    click.option("--environment", metavar="ENV",
                 help="Which environment's values the manifests deploy, e.g. tools."),
    click.option("--image-tag-template", metavar="TEMPLATE",
                 help="The image tag a chart version deploys, e.g. {version}_image."),
    click.option("--helm", "use_helm", is_flag=True, default=None,
                 help="Ask the cluster: runs `helm list --all-namespaces -o json`."),
    click.option("--helm-json", metavar="FILE", multiple=True,
                 help="Saved `helm list --all-namespaces -o json` output (repeatable)."),
)

evidence_options = _stack(
    kubectl_options,
    manifest_options,
    click.option("--history", metavar="N",
                 help="Also protect the N versions before HEAD in the manifests' git history "
                      "(default 1 when --manifests is a git checkout)."),
    click.option("--registry-alias", metavar="HOST", multiple=True,
                 help="Another name of the same Harbor in image references (repeatable)."),
)

EVIDENCE_NAMES = ("use_kubectl", "context", "namespace", "kubectl_json", "manifests",
                  "environment", "image_tag_template", "use_helm", "helm_json", "history")


def _merged_globals(ctx: click.Context, local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(ctx.obj or {})
    for name in GLOBAL_NAMES:
        if local.get(name) is not None:
            merged[name] = local[name]
    return merged


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Tell, before it happens, what a Harbor tag-retention policy will delete.

    Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 bad invocation or
    unreadable input; 3 incomplete data (something could not be fetched or parsed).
    """
    ctx.obj = {k: v for k, v in options.items() if v is not None}


@dataclass
class _Run:
    """What one invocation resolved and loaded, shared by the commands."""

    resolver: Resolver
    options: dict[str, Any]
    incomplete: list[Incomplete] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fail_on_default: str | None = None  # drift: warning
    history: str | None = None  # how far back the manifests' git history reached
    # The report's `evidence` (check, diff, drift): what each evidence source covered.
    evidence: list[dict[str, Any]] | None = None

    def get(self, name: str) -> Any:
        if name == "fail-on" and self.fail_on_default is not None:
            return self.resolver.get(name, default=self.fail_on_default)
        return self.resolver.get(name)


def _start(ctx: click.Context, local: dict[str, Any], command: dict[str, Any]) -> _Run:
    options = _merged_globals(ctx, local)
    for name in ("projects", "all_projects", "snapshot"):
        if local.get(name):
            options[name] = local[name]
    config = load_config(options.get("config") or os.environ.get("HARBORGUARD_CONFIG") or None)
    cli_values = {k.replace("_", "-"): v for k, v in {**options, **command}.items()}
    resolver = Resolver(cli_values, os.environ, config)
    resolver.check_all()
    return _Run(resolver, options)


@contextmanager
def _edge() -> Iterator[None]:
    """Core errors become one line and the documented exit code."""
    try:
        yield
    except InputError as exc:
        raise BadInput(str(exc)) from None


def _password(run: _Run) -> str | None:
    if run.options.get("password_stdin"):
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError("--password-stdin: standard input is empty")
        return value
    return os.environ.get("HARBOR_PASSWORD") or None


def _harbor_client(run: _Run) -> Any:
    from harborguard.sources.harbor import HarborClient

    url = run.get("harbor")
    if not url:
        raise InputError("--project/--all-projects read a live Harbor: give --harbor URL "
                         "(or HARBOR_URL)")
    return HarborClient(
        url,
        username=run.get("username"),
        password=_password(run),
        ca_bundle=run.get("ca-bundle"),
        timeout=run.get("timeout"),
        concurrency=run.get("concurrency"),
    )


ProgressHook = Callable[[int, int], None]


def _progress(run: _Run, label: str) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""
    if run.get("no-progress") or run.get("quiet") or not _on_terminal(sys.stderr):
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), transient=True, console=Console(stderr=True))
    task = bar.add_task(label, total=None)
    bar.start()

    def update(done: int, known: int) -> None:
        bar.update(task, completed=done, total=max(known, 1))

    return update, bar.stop


def _load_source(run: _Run, *, need_policies: bool,
                 need_additions: bool = False) -> tuple[Snapshot, str | None]:
    """The Harbor data: a snapshot file, or a live read. Returns it and the snapshot path."""
    path, projects, all_projects = _source_choice(run)
    if path:
        return load_snapshot(path), path
    if not projects and not all_projects:
        raise InputError(
            "no data source: give --snapshot FILE, or --harbor URL with --project P "
            "(repeatable) or --all-projects"
        )
    from harborguard.sources.harbor import fetch_snapshot

    progress, stop = _progress(run, "reading Harbor")
    try:
        with _harbor_client(run) as client:
            data = fetch_snapshot(client, projects, all_projects=all_projects,
                                  progress=progress, with_policies=need_policies,
                                  with_additions=need_additions)
    except SourceError as exc:
        raise _SourceFailed(str(exc)) from None
    finally:
        stop()
    try:
        return parse_snapshot(data, client.url), None
    except InputError as exc:
        # Harbor's answers, not a file the user named: not understood is incomplete (3).
        raise _SourceFailed(f"an answer could not be understood: {exc}") from None


def _source_choice(run: _Run) -> tuple[str | None, list[str], bool]:
    """(snapshot path, projects to read live, all projects?)."""
    cli_projects = list(run.options.get("projects") or ())
    cli_all = bool(run.options.get("all_projects"))
    if cli_projects or cli_all:
        # The command line chose a live read: a snapshot from the environment or the
        # config file does not apply (and one on the command line is a contradiction).
        path = run.options.get("snapshot")
        projects, all_projects = cli_projects, cli_all
    else:
        path = run.get("snapshot")
        projects = [] if path else list(run.get("project"))
        all_projects = False if path else bool(run.get("all-projects"))
    if path and (projects or all_projects):
        raise InputError("give either --snapshot FILE or --project/--all-projects, not both")
    return path, projects, all_projects


class _SourceFailed(Exception):
    """Harbor could not be read at all: the run is incomplete (exit 3)."""


def _incomplete_exit(message: str) -> NoReturn:
    click.echo(f"harborguard: error: {message}", err=True)
    sys.exit(int(Exit.INCOMPLETE))


def _unreadable_harbor(run: _Run, exc: _SourceFailed, output: str | None,
                       command: str) -> NoReturn:
    """Harbor could not be read: still a report (exit 3) saying what is missing, so a CI
    job keeps its artifact exactly when it needs it."""
    click.echo(f"harborguard: error: cannot read Harbor: {exc}", err=True)
    harbor = run.get("harbor")
    run.incomplete.append(Incomplete(what=mask_url(harbor) if harbor else "harbor",
                                     reason=str(exc)))
    result = RunResult(now_ns=_whole_seconds(utc_now_nanos()), order=run.get("order") or "push",
                       behaviour=resolve_behaviour(_asked_version(run)), projects=(),
                       findings=(), incomplete=())
    source = Source(harbor=mask_url(harbor) if harbor else None, snapshot=None,
                    policy=run.get("policy") or "harbor")
    _emit(run, result, build_report(result, source, command=command), output)


def _whole_seconds(nanos: int) -> int:
    return nanos - nanos % 1_000_000_000


def _now(run: _Run, snapshot: Snapshot, live: bool, default: int | None = None) -> int:
    """--now, else the snapshot's taken_at, else ``default`` or the current second."""
    if run.get("now") == "":  # given, but empty: not "the default"
        raise InputError(f"{run.resolver.origin('now')}: empty; give an RFC 3339 time with a "
                         "zone, e.g. 2026-03-01T00:00:00Z, or leave it out")
    text = run.get("now") or (None if live else snapshot.taken_at)
    if not text:
        return default if default is not None else _whole_seconds(utc_now_nanos())
    try:
        return parse_nanos(text)
    except ValueError:
        where = run.resolver.origin("now") if run.get("now") else "taken_at of the snapshot"
        raise InputError(
            f"{where}: {text!r} is not an RFC 3339 time with a zone, e.g. 2026-03-01T00:00:00Z"
        ) from None


def _asked_version(run: _Run) -> str | None:
    """--harbor-version as given: one that names no Harbor release is a typo (exit 2); a
    snapshot's own odd version only gets a warning (the server said so)."""
    asked = run.get("harbor-version")
    if asked and not is_harbor_version(asked):
        raise InputError(f"{run.resolver.origin('harbor-version')}: {asked!r} is not a Harbor "
                         "version (for example v2.11.0 or 2.9.5); leave it out to use the "
                         "version the snapshot or server reports")
    return str(asked) if asked else None


def _version_pattern(run: _Run) -> VersionPattern | None:
    source = run.get("version-pattern")
    if not source:
        return None
    try:
        return VersionPattern(source)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@dataclass
class _Prepared:
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


def _prepare(run: _Run, *, need_policies: bool, need_additions: bool = False) -> _Prepared:
    pattern = _version_pattern(run)
    ranker = SemverRanker(pattern) if run.get("order") == "semver" else None
    snapshot, snapshot_path = _load_source(run, need_policies=need_policies,
                                           need_additions=need_additions)
    now_ns = _now(run, snapshot, live=snapshot_path is None)
    behaviour = resolve_behaviour(_asked_version(run) or snapshot.harbor_version)
    return _Prepared(snapshot, snapshot_path, now_ns, behaviour, pattern, ranker)


def _absence_judge(evidence: Any, gathered: Any) -> Callable[[str | None], bool]:
    """Which components' absence from the cluster the evidence can tell: a helmfile
    component whose chart images are all known, in a namespace the kubectl evidence
    covers: every namespace when kubectl read the whole cluster (live without --namespace,
    or a saved dump with kube-system and at least two other namespaces in it, as an
    all-namespaces dump has)."""
    namespaces = {u.where.split("/", 1)[0] for u in gathered.usages
                  if u.source == "kubectl" and u.where.count("/") >= 2}
    whole = (evidence.use_kubectl and evidence.namespace is None) or (
        "kube-system" in namespaces and len(namespaces) >= 3)
    unresolved = {f.component for f in gathered.findings if f.code == "unresolved-reference"}
    spaces = {c.name: c.namespace for c in gathered.components}

    def judge(component: str | None) -> bool:
        if component is None or component not in spaces or component in unresolved:
            return False
        return whole or spaces[component] in namespaces

    return judge


def _unknown_key_notes(path: str, policy: RetentionPolicy) -> list[str]:
    """A key Harbor has no field for is ignored, as Harbor's decoder ignores it; a typo
    ("tag_selector") then silently changes the policy, so say so, with the likely key."""
    from difflib import get_close_matches

    from harborguard.policy import KNOWN_KEYS

    notes = []
    for where in policy.unknown_keys:
        key = where.rsplit(".", 1)[-1]
        guess = get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.7)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        notes.append(f"{path}: {where} is not a field of Harbor's retention policy; Harbor "
                     f"ignores it, and so does this run{hint}")
    return notes


def _simulate(run: _Run, *, need_additions: bool = False
              ) -> tuple[RunResult, Snapshot, Source, Later]:
    policy_path = run.get("policy")
    policy: RetentionPolicy | None = load_policy_file(policy_path) if policy_path else None
    if policy is not None:
        run.notes.extend(_unknown_key_notes(policy_path, policy))
    prepared = _prepare(run, need_policies=policy is None, need_additions=need_additions)
    result = prepared.simulate(policy, run.get("order"))
    source = Source(harbor=prepared.snapshot.harbor, snapshot=prepared.snapshot_path,
                    policy=policy_path or "harbor")
    return result, prepared.snapshot, source, prepared.later(policy, run.get("order"))


def _emit(run: _Run, result: RunResult, report: dict[str, Any], output: str | None,
          extra: Sequence[Finding] = ()) -> NoReturn:
    fail_on = run.get("fail-on")
    failing = any(at_or_above(f, fail_on) for f in [*result.findings, *extra])
    _emit_report(run, report, output, failing=failing, incomplete=bool(result.incomplete))


def _format(run: _Run, output: str | None) -> str:
    return str(run.get("format") or ("table" if output is None and _on_terminal(sys.stdout)
                                      else "json"))


def _on_terminal(stream: Any) -> bool:
    """False also for a stream that is not there (harborguard started with it closed)."""
    return stream is not None and stream.isatty()


def _emit_report(run: _Run, report: dict[str, Any], output: str | None, *, failing: bool,
                 incomplete: bool, fill: Fill | None = None) -> NoReturn:
    """Writes the report, says its notes and what is missing, and exits: 3 when anything
    is ``incomplete``, else 1 when ``failing`` (a finding at or above --fail-on), else 0.
    ``fill``: parts of the run write their shares of the JSON file (_simulate_in_parts)."""
    if run.resolver.config_path:
        report["source"]["config"] = run.resolver.config_path
    if run.incomplete:
        report["incomplete"].extend({"what": i.what, "reason": i.reason} for i in run.incomplete)
    report["notes"] = [*report.get("notes", []), *run.notes]
    if run.history:
        report["source"]["history"] = run.history
    if run.evidence is not None:
        report["evidence"] = run.evidence
    fmt = _format(run, output)
    colour = output is None and _on_terminal(sys.stdout) and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((140, 24)).columns if colour else 140
    fail_on = run.get("fail-on")
    if fmt == "json":  # written in pieces: a large report is never copied into one string
        from harborguard.report.json import render_chunks

        chunks = render_chunks(report)
        if output:
            _write_atomically(output, chunks, fill)
        else:
            _to_stdout(b"".join(chunks))  # type: ignore[arg-type]
    else:
        text = render(fmt, report, colour=colour, width=width, fail_on=fail_on)
        if output:
            _write_atomically(output, [text.encode("utf-8")])
        else:
            _to_stdout(text)
    if not run.get("quiet") and (output or fmt != "table"):
        # The table shows its notes itself; elsewhere they would be lost in the file.
        for note in report["notes"]:
            click.echo(f"harborguard: note: {note}", err=True)
    for item in report["incomplete"]:
        # Always said, even with --quiet: an incomplete result must not pass unnoticed.
        click.echo(f"harborguard: incomplete: {item['what']}: {item['reason']}", err=True)
    if incomplete or run.incomplete:
        code = Exit.INCOMPLETE
    elif failing:
        code = Exit.FINDINGS
    else:
        code = Exit.OK
    sys.exit(int(code))


def _to_stdout(data: bytes | str) -> None:
    """The report on standard output, flushed here: a full disk or a closed pipe's error
    must be said (exit 2, as for -o FILE), not lost at exit. A reader that went away
    (``| head``) is not an error of ours."""
    try:
        click.echo(data, nl=False)
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        pass
    except OSError as exc:
        raise InputError(f"standard output: cannot write the report: "
                         f"{exc.strerror or exc}") from None


def _write_atomically(path: str, chunks: Sequence[Chunk], fill: Fill | None = None) -> None:
    """Writes ``chunks`` to a temporary file beside ``path`` and renames it into place, so
    a reader never sees half a report. Holes among the chunks are left for ``fill``
    (the parts of a run write them); if it fails, nothing is written: _PartsFailed.
    A symbolic link is followed (the file it names is replaced, the link stays); a path
    that is not a regular file (/dev/null, a named pipe) is written to, never replaced."""
    from harborguard.report.json import layout

    if not path:
        raise InputError("-o/--output: the file name is empty")
    own, holes, size = layout(chunks)
    target = Path(os.path.realpath(path))
    existing = _existing_mode(target)
    if existing is not None and not stat.S_ISREG(existing):
        if holes:
            raise _PartsFailed  # parts write at offsets: only into a regular file
        try:
            with open(target, "wb") as handle:
                handle.writelines(chunk for _, chunk in own)
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc}") from None
        return
    directory = target.parent
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    try:
        with console.deferred():  # a signal now waits until the file is tracked
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
            console.track(tmp)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc}") from None
    try:
        console.test_point("writing")
        with os.fdopen(fd, "wb") as handle:
            if not holes:
                handle.writelines(chunk for _, chunk in own)
            else:
                for offset, chunk in own:
                    handle.seek(offset)
                    handle.write(chunk)
                handle.truncate(size)
                handle.flush()
                if fill is None or not fill(tmp, holes):
                    raise _PartsFailed
        # mkstemp makes the file private; give it the mode a plain write would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, existing & 0o777 if existing is not None else 0o666 & ~mask)
        with console.deferred():
            os.replace(tmp, target)
            console.untrack(tmp)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        console.untrack(tmp)
        raise InputError(f"{path}: cannot write: {exc}") from None
    except BaseException:  # _PartsFailed, or interrupted: no partial file left behind
        # (should a signal cut this short, console.stopped removes the tracked file)
        Path(tmp).unlink(missing_ok=True)
        console.untrack(tmp)
        raise


def _existing_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode
    except OSError:
        return None


def _command_values(**values: Any) -> dict[str, Any]:
    return {k.replace("_", "-"): v for k, v in values.items()}


# A snapshot file this large is simulated in parts on several CPUs (JSON output only):
# about 10,000 artifacts. Below it, reading the file once more costs more than it saves.
PARTS_FROM_BYTES = 4_000_000


@cli.command("simulate")
@source_options
@simulate_options
@click.option("--jobs", metavar="N",
              help="Processes for a snapshot file written as JSON, at most 4 (default: "
                   "one per CPU available from a 4 MB snapshot on; 1: one process).")
@global_options
@click.pass_context
def simulate_command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
                     all_projects: bool | None, policy: str | None, now: str | None,
                     order: str | None, version_pattern: str | None, fmt: str | None,
                     output: str | None, fail_on: str | None, jobs: str | None,
                     **local: Any) -> None:
    """Dry-run the retention policy: what each repository keeps and deletes, and why."""
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with _edge():
        run = _start(ctx, local, _command_values(
            snapshot=snapshot_path, policy=policy, now=now, order=order, format=fmt,
            fail_on=fail_on, version_pattern=version_pattern, jobs=jobs))
        in_parts = _simulate_in_parts(run, output)
        if in_parts is not None:
            parted, notes = in_parts
            before = list(run.notes)
            run.notes.extend(notes)
            try:
                _emit_report(run, parted.report, output, failing=parted.failing,
                             incomplete=bool(parted.report["incomplete"]), fill=parted.fill)
            except _PartsFailed:
                run.notes[:] = before  # a part could not write its share: run whole, below
            finally:
                parted.close()
        try:
            result, _, source, _ = _simulate(run)
        except _SourceFailed as exc:
            _unreadable_harbor(run, exc, output, "simulate")
        report = build_report(result, source)
        _emit(run, result, report, output)


class _PartsFailed(Exception):
    """A part could not write its share of the report: run whole instead."""


def _simulate_in_parts(run: _Run, output: str | None) -> tuple[Parted, list[str]] | None:
    """simulate's JSON report from a large snapshot file, in parts on several CPUs
    (harborguard.parts), and the notes to add once it is written. None when the run is
    not one for parts, or anything went wrong in one: the caller then runs whole, and
    reports any error as a run in one process does (the files read here are regular
    files, which can be read again)."""
    from harborguard import parallel

    jobs = run.get("jobs")  # a bad value is an error of its own (exit 2), parts or not
    try:
        if _format(run, output) != "json" or not parallel.can_fork():
            return None
        path, projects, all_projects = _source_choice(run)
        policy_path = run.get("policy")
        if not path or projects or all_projects or policy_path and not _regular(policy_path):
            return None
        mode = _existing_mode(Path(os.path.realpath(output))) if output else None
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
            pattern = _version_pattern(run)
            ranker = SemverRanker(pattern) if run.get("order") == "semver" else None
            order = run.get("order")
            fail_on = run.get("fail-on")
        except InputError:
            return None
        default_now = _whole_seconds(utc_now_nanos())  # one `now` for every part

        def settings(snapshot: Snapshot) -> tuple[int, Any]:
            now_ns = _now(run, snapshot, live=False, default=default_now)
            return now_ns, resolve_behaviour(_asked_version(run) or snapshot.harbor_version)

        from harborguard.pipeline import Run, simulate_in_parts

        parted = simulate_in_parts(path, fd, opened.st_size, jobs, Run(
            policy, policy_path or "harbor", order, ranker, pattern, fail_on, settings),
            to_file=bool(output))
    finally:
        os.close(fd)
    if parted is None:
        return None
    notes = _unknown_key_notes(policy_path, policy) if policy is not None and policy_path else []
    return parted, notes


def _needs_additions(evidence: EvidenceOptions) -> bool:
    """The charts' values.yaml tell the images a deployed chart runs."""
    return bool(evidence.manifests or evidence.use_helm or evidence.helm_json)


def _regular(path: str) -> bool:
    return stat.S_ISREG(_existing_mode(Path(path)) or 0)


def _evidence(run: _Run, values: dict[str, Any]) -> EvidenceOptions:
    from harborguard.gather import EvidenceOptions

    history = run.get("history")
    manifests = run.get("manifests")
    environment = run.get("environment")
    if manifests and not environment:
        raise InputError("--manifests needs --environment ENV (e.g. tools): which values apply")
    return EvidenceOptions(
        use_kubectl=bool(values.get("use_kubectl")),
        context=values.get("context"),
        namespace=values.get("namespace"),
        kubectl_json=tuple(values.get("kubectl_json") or ()),
        manifests=manifests,
        environment=environment,
        history=history,
        use_helm=bool(values.get("use_helm")),
        helm_json=tuple(values.get("helm_json") or ()),
        image_tag_template=run.get("image-tag-template"),
        timeout=run.get("timeout"),
    )


def _cross_check(run: _Run, result: RunResult, snapshot: Snapshot, evidence: EvidenceOptions,
                 aliases: Sequence[str]) -> tuple[Any, list[Finding]]:
    """Evidence from every source, matched against the simulation: (CheckResult, findings)."""
    from harborguard.check import alias_host, check, harbor_host
    from harborguard.gather import gather

    try:
        named = [alias_host(a) for a in (*aliases, *run.get("registry-alias")) if a]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    hosts = [h for h in (harbor_host(snapshot.harbor), *named) if h]
    if not hosts:
        raise InputError("the snapshot names no Harbor URL: give --registry-alias HOST with "
                         "the registry name image references use")
    gathered = gather(evidence, snapshot, hosts)
    run.incomplete.extend(gathered.incomplete)
    run.notes.extend(gathered.notes)
    run.history = gathered.history
    run.evidence = [covered.as_report() for covered in gathered.evidence]
    checked = check(result, gathered.usages, hosts)
    if checked.no_harbor_reference:
        # Harbor read through another name (an internal URL, a port-forward) than the one
        # the cluster pulls from: nothing matched, which is not "nothing in use".
        named = sorted(checked.foreign, key=lambda h: (-checked.foreign[h], h))
        run.incomplete.append(Incomplete(
            what="evidence of use",
            reason=f"no image reference names this Harbor ({', '.join(hosts)}), but "
            f"{sum(checked.foreign.values())} name its repositories under "
            f"{', '.join(named)}; if that is this Harbor, add --registry-alias {named[0]}"))
    return checked, [*checked.findings, *gathered.findings]


def _split(local: dict[str, Any]) -> dict[str, Any]:
    """Takes the evidence options out of a command's keyword arguments."""
    return {name: local.pop(name, None) for name in EVIDENCE_NAMES}


def _start_with_evidence(ctx: click.Context, local: dict[str, Any],
                         **command: Any) -> tuple[_Run, EvidenceOptions]:
    """_start for the commands that take EVIDENCE (check, diff)."""
    values = _split(local)
    run = _start(ctx, local, _command_values(
        **command, manifests=values["manifests"], environment=values["environment"],
        history=values["history"], image_tag_template=values["image_tag_template"]))
    run.evidence = []  # no evidence given: said as such, never "nothing in use"
    return run, _evidence(run, values)


@cli.command("check")
@source_options
@simulate_options
@evidence_options
@global_options
@click.pass_context
def check_command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
                  all_projects: bool | None, policy: str | None, now: str | None,
                  order: str | None, version_pattern: str | None, fmt: str | None,
                  output: str | None, fail_on: str | None, registry_alias: tuple[str, ...],
                  **local: Any) -> None:
    """Simulate, then cross-check deletions against images in use: the cluster (--kubectl),
    the deployment repository (--manifests, --history) and Helm (--helm)."""
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with _edge():
        run, evidence = _start_with_evidence(
            ctx, local, snapshot=snapshot_path, policy=policy, now=now, order=order,
            format=fmt, fail_on=fail_on, version_pattern=version_pattern)
        if not evidence.any:
            raise InputError("check needs evidence: --kubectl, --kubectl-json FILE, "
                             "--manifests DIR --environment ENV, --helm or --helm-json FILE")
        try:
            result, snapshot, source, later = _simulate(
                run, need_additions=_needs_additions(evidence))
        except _SourceFailed as exc:
            _unreadable_harbor(run, exc, output, "check")
        checked, findings = _cross_check(run, result, snapshot, evidence, registry_alias)
        findings.extend(expiring(result, checked.in_use, later))
        report = build_report(result, source, in_use=checked.in_use, extra_findings=findings,
                              command="check")
        _emit(run, result, report, output, extra=findings)


@cli.command("diff")
@source_options
@simulate_options
@click.option("--against", metavar="FILE",
              help="The policy to compare with (default: each project's current policy).")
@evidence_options
@global_options
@click.pass_context
def diff_command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
                 all_projects: bool | None, policy: str | None, now: str | None,
                 order: str | None, version_pattern: str | None, fmt: str | None,
                 output: str | None, fail_on: str | None, against: str | None,
                 registry_alias: tuple[str, ...], **local: Any) -> None:
    """What a proposed policy (--policy NEW) changes against the current one (or --against)."""
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with _edge():
        run, evidence = _start_with_evidence(
            ctx, local, snapshot=snapshot_path, policy=policy, now=now, order=order,
            format=fmt, fail_on=fail_on, version_pattern=version_pattern)
        new_path = run.get("policy")
        if not new_path:
            raise InputError("diff needs the proposed policy: --policy NEW")
        new_policy = load_policy_file(new_path)
        old_policy = load_policy_file(against) if against else None
        run.notes.extend(_unknown_key_notes(new_path, new_policy))
        if old_policy is not None:
            run.notes.extend(_unknown_key_notes(against or "", old_policy))
        try:
            prepared = _prepare(run, need_policies=old_policy is None,
                                need_additions=_needs_additions(evidence))
        except _SourceFailed as exc:
            _unreadable_harbor(run, exc, output, "diff")
        order_value = run.get("order")
        result = prepared.simulate(new_policy, order_value)
        previous = prepared.simulate(old_policy, order_value)
        source = Source(harbor=prepared.snapshot.harbor, snapshot=prepared.snapshot_path,
                        policy=new_path)
        in_use = None
        findings: list[Finding] = []
        if evidence.any:
            checked, findings = _cross_check(run, result, prepared.snapshot, evidence,
                                             registry_alias)
            findings.extend(expiring(result, checked.in_use,
                                     prepared.later(new_policy, order_value)))
            in_use = checked.in_use
        report = build_report(result, source, in_use=in_use, extra_findings=findings,
                              command="diff")
        add_previous_actions(report, previous)
        report["source"]["against"] = against or "harbor"
        _emit(run, result, report, output, extra=findings)


@cli.command("drift")
@kubectl_options
@manifest_options
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATTERS)), default=None,
              help="Output format (default: table on a terminal, else json).")
@click.option("-o", "--output", metavar="FILE", callback=_output_path,
              help="Write the report to FILE atomically.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest finding severity that makes the exit code 1 (default warning).")
@global_options
@click.pass_context
def drift_command(ctx: click.Context, /, fmt: str | None, output: str | None,
                  fail_on: str | None, **local: Any) -> None:
    """Versions merged to the manifests but not running (not-deployed), and the reverse."""
    from harborguard.drift import helm_drift, image_drift
    from harborguard.gather import gather

    values = _split(local)
    with _edge():
        run = _start(ctx, local, _command_values(
            format=fmt, fail_on=fail_on, manifests=values["manifests"],
            environment=values["environment"], image_tag_template=values["image_tag_template"],
            history=0))
        evidence = _evidence(run, values)
        if not evidence.manifests:
            raise InputError("drift compares the manifests with the cluster: give --manifests DIR "
                             "--environment ENV")
        cluster = (evidence.use_helm or evidence.helm_json or evidence.use_kubectl
                   or evidence.kubectl_json)
        if not cluster:
            raise InputError("drift needs the cluster's side: --helm, --helm-json FILE, "
                             "--kubectl or --kubectl-json FILE")
        gathered = gather(evidence, None, ())
        run.incomplete.extend(gathered.incomplete)
        run.notes.extend(gathered.notes)
        run.evidence = [covered.as_report() for covered in gathered.evidence]
        environment = evidence.environment or ""
        findings: list[Finding] = list(gathered.findings)  # unresolved-reference: never silence
        if evidence.use_helm or evidence.helm_json:
            findings.extend(helm_drift(gathered.components, gathered.releases, environment))
        if gathered.kubectl_read:
            declared = [u for u in gathered.usages if u.source == "manifests"]
            findings.extend(image_drift(declared, gathered.usages, environment,
                                        judge_absent=_absence_judge(evidence, gathered)))
        run.fail_on_default = "warning"
        result = RunResult(
            now_ns=_whole_seconds(utc_now_nanos()), order="push",
            behaviour=resolve_behaviour(None),
            projects=(), findings=tuple(findings), incomplete=(),
        )
        report = build_report(result, Source(harbor=None, snapshot=None, policy="harbor"),
                              command="drift")
        report["source"]["manifests"] = evidence.manifests
        report["source"]["environment"] = environment
        _emit(run, result, report, output)


@cli.command("snapshot")
@click.option("--project", "projects", metavar="P", multiple=True,
              help="Project to read (repeatable).")
@click.option("--all-projects", is_flag=True, default=None,
              help="Every project the account can list.")
@click.option("-o", "--output", metavar="FILE", required=True, callback=_output_path,
              help="Where to write the harborguard.snapshot/v1 file (atomically).")
@global_options
@click.pass_context
def snapshot_command(ctx: click.Context, /, projects: tuple[str, ...],
                     all_projects: bool | None, output: str, **local: Any) -> None:
    """Fetch everything a simulation needs from a live Harbor into a snapshot file."""

    from harborguard.sources.harbor import fetch_snapshot

    local.update(projects=projects, all_projects=all_projects)
    with _edge():
        run = _start(ctx, local, {})
        if not projects and not all_projects:
            projects = tuple(run.get("project"))
            all_projects = run.get("all-projects")
        if not projects and not all_projects:
            raise InputError("give --project P (repeatable) or --all-projects")
        progress, stop = _progress(run, "reading Harbor")
        try:
            with _harbor_client(run) as client:
                data = fetch_snapshot(client, list(projects), all_projects=bool(all_projects),
                                      progress=progress)
        except SourceError as exc:
            stop()
            _incomplete_exit(str(exc))
        finally:
            stop()
        _write_atomically(output, [jsonio.dumps_indented(data)])
        missing = data.get("incomplete") or []
        if not run.get("quiet"):
            repos = sum(len(p.get("repositories", [])) for p in data.get("projects", []))
            click.echo(f"harborguard: wrote {output}: {len(data.get('projects', []))} projects, "
                       f"{repos} repositories" + (f"; {len(missing)} items could not be read"
                                                  if missing else ""), err=True)
            for item in missing:
                click.echo(f"harborguard: incomplete: {item['what']}: {item['reason']}", err=True)
        sys.exit(int(Exit.INCOMPLETE if missing else Exit.OK))


def main() -> None:
    # Runs build hundreds of thousands of acyclic objects (artifacts, decisions, report
    # rows); the cyclic collector would rescan them again and again for nothing.
    gc.disable()
    # Ctrl-C, or stopped politely (a CI job cancelled): unwind, so a run in parts stops
    # its other processes and no temporary report file is left behind; exit 130 or 143
    # (harborguard.console: the console entry point installs the handlers first).
    console.install()
    try:
        code = _run()
        console.test_point("decided")
        console.finishing()  # from here on a signal changes nothing: the run's own code
    except Stopped as stop:
        code = console.stopped(stop)
    console.test_point("final")
    _exit_now(code)


def _run() -> int:
    """The command line's exit code; a Stopped run raises Stopped (caught by main)."""
    try:
        cli(prog_name="harborguard", standalone_mode=True)
        return 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        click.echo(str(done.code), err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: fail closed
        # An unexpected error must never read as "no findings" (0) or "findings" (1).
        click.echo(f"harborguard: internal error: {type(exc).__name__}: {exc} "
                   "(the result is incomplete; please report this)", err=True)
        return int(Exit.INCOMPLETE)


def _exit_now(code: int) -> NoReturn:
    """Exits without tearing down the heap: freeing a large run's millions of objects one
    by one takes a quarter of a second and changes nothing. Output is flushed first (all
    files harborguard writes are closed by then); a reader that went away (``| head``) is
    not an error of ours."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`2>&-`)
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass
    os._exit(code)
