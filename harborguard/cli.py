"""The command line: the only place that reads the environment, prints and exits."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from harborguard import __version__
from harborguard.config import Resolver, load_config
from harborguard.errors import InputError
from harborguard.findings import at_or_above
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.policy import load_policy_file
from harborguard.report import FORMATTERS, render
from harborguard.report.build import Source, build_report
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import load_snapshot
from harborguard.timeutil import parse_nanos, utc_now_nanos


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

GLOBAL_NAMES = (
    "harbor", "username", "password_stdin", "ca_bundle", "timeout", "concurrency",
    "harbor_version", "config", "quiet", "no_progress",
)


def global_options(func: F) -> F:
    """Options accepted both before and after the subcommand (DESIGN.md, Commands)."""
    decorators = [
        click.option("--harbor", metavar="URL", help="Harbor base URL [env HARBOR_URL]."),
        click.option("--username", metavar="NAME",
                     help="Harbor user or robot account [env HARBOR_USERNAME]."),
        click.option("--password-stdin", is_flag=True, default=None,
                     help="Read the password from standard input (else HARBOR_PASSWORD)."),
        click.option("--ca-bundle", metavar="PATH", help="CA bundle for a private CA."),
        click.option("--timeout", metavar="SECONDS", help="HTTP timeout (default 30)."),
        click.option("--concurrency", metavar="N", help="Parallel requests (default 8)."),
        click.option("--harbor-version", metavar="V",
                     help="Harbor release whose retention behaviour to reproduce "
                          "(default: the snapshot's; unknown or newer: main)."),
        click.option("--config", metavar="PATH",
                     help="Config file (default ./harborguard.yaml if present)."),
        click.option("--quiet", is_flag=True, default=None, help="No notes on stderr."),
        click.option("--no-progress", is_flag=True, default=None, help="No progress bar."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _merged_globals(ctx: click.Context, local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(ctx.obj or {})
    for name in GLOBAL_NAMES:
        if local.get(name) is not None:
            merged[name] = local[name]
    return merged


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="harborguard",
                      message="%(prog)s %(version)s")
@global_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Tell, before it happens, what a Harbor tag-retention policy will delete.

    Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 bad invocation or
    unreadable input; 3 incomplete data.
    """
    ctx.obj = {k: v for k, v in options.items() if v is not None}


def _resolver(options: dict[str, Any]) -> Resolver:
    config = load_config(options.get("config") or os.environ.get("HARBORGUARD_CONFIG") or None)
    cli_values = {k.replace("_", "-"): v for k, v in options.items()}
    return Resolver(cli_values, os.environ, config)


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write report: {exc}") from None


def _exit_code(run: RunResult, fail_on: str) -> Exit:
    if run.incomplete:
        return Exit.INCOMPLETE
    if any(at_or_above(f, fail_on) for f in run.findings):  # type: ignore[arg-type]
        return Exit.FINDINGS
    return Exit.OK


def _fail(exc: InputError) -> NoReturn:
    raise BadInput(str(exc))


@cli.command()
@click.option("--snapshot", "snapshot_path", metavar="FILE",
              help="A harborguard.snapshot/v1 file (see `harborguard snapshot`).")
@click.option("--policy", metavar="FILE",
              help="Evaluate this policy (Harbor's JSON, or YAML) instead of each project's.")
@click.option("--now", metavar="TIME",
              help="RFC 3339 time to evaluate at (default: the snapshot's taken_at).")
@click.option("--order", type=click.Choice(["push", "semver"]), default=None,
              help="push: Harbor's behaviour (default); semver: what-if ranking by version.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATTERS)), default=None,
              help="Output format (default: table on a terminal, else json).")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE atomically.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest finding severity that makes the exit code 1 (default error).")
@global_options
@click.pass_context
def simulate_command(ctx: click.Context, /, snapshot_path: str | None, policy: str | None,
                     now: str | None, order: str | None, fmt: str | None, output: str | None,
                     fail_on: str | None, **local: Any) -> None:
    """Dry-run the retention policy: what each repository keeps and deletes, and why."""
    options = _merged_globals(ctx, local)
    try:
        resolver = _resolver(
            {**options, "snapshot": snapshot_path, "policy": policy, "now": now,
             "order": order, "format": fmt, "fail-on": fail_on}
        )
        snapshot_file = resolver.get("snapshot")
        if snapshot_file is None:
            raise InputError(
                "no data source: give --snapshot FILE (live --harbor/--project access is "
                "not available yet)"
            )
        order_value = resolver.get("order")
        if order_value != "push":
            raise InputError("--order semver is not available yet; use --order push")
        snapshot = load_snapshot(snapshot_file)
        policy_path = resolver.get("policy")
        policy_override = load_policy_file(policy_path) if policy_path else None
        now_text = resolver.get("now") or snapshot.taken_at
        try:
            now_ns = parse_nanos(now_text) if now_text else utc_now_nanos()
        except ValueError:
            raise InputError(
                f"--now: {now_text!r} is not an RFC 3339 time with a zone, "
                "e.g. 2026-03-01T00:00:00Z"
            ) from None
        behaviour = resolve_behaviour(resolver.get("harbor-version") or snapshot.harbor_version)
        run = simulate(snapshot, now_ns, behaviour, policy=policy_override, order=order_value)
        source = Source(
            harbor=snapshot.harbor,
            snapshot=snapshot_file,
            policy=policy_path or "harbor",
        )
        report = build_report(run, source)
        if resolver.config_path:
            report["source"]["config"] = resolver.config_path
        out_format = resolver.get("format") or (
            "table" if output is None and sys.stdout.isatty() else "json"
        )
        colour = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size((120, 24)).columns if colour else 120
        text = render(out_format, report, colour=colour, width=width)
        if output:
            _write_atomically(output, text)
        else:
            click.echo(text, nl=False)
        if not resolver.get("quiet"):
            for note in run.notes:
                click.echo(f"harborguard: note: {note}", err=True)
        ctx.exit(_exit_code(run, resolver.get("fail-on")))
    except InputError as exc:
        _fail(exc)


simulate_command.name = "simulate"


def main() -> None:
    # Runs build hundreds of thousands of acyclic objects (artifacts, decisions, report
    # rows); the cyclic collector would rescan them again and again for nothing.
    gc.disable()
    cli(prog_name="harborguard")
