"""Options shared by the commands (global, source, simulation, format and output, --jobs,
--dedup), and the settings of an invocation: each option from the command line, else the
environment, else the config file (harborguard.config). The evidence options of check,
diff, drift and protect are in evidenceoptions.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from harborguard import __version__
from harborguard.cli import BadInput
from harborguard.cli.output import on_terminal, progress_bar
from harborguard.commands import Invocation
from harborguard.config import Resolver, load_config
from harborguard.errors import InputError
from harborguard.outfile import STANDARD_OUTPUT_NAMES
from harborguard.report import FORMATTERS

F = TypeVar("F", bound=Callable[..., Any])


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """-o "" (an unset variable in a CI script) must not mean standard output; -o - does,
    as in most tools (a file named "-" is ./-), and so do the names of standard output
    (/dev/stdout...): a report then goes where it goes without -o, a snapshot (whose -o is
    required) into standard output as it is (cli/snapshot.py). Never a file renamed over
    the one standard output names: `exec >>run.log` keeps what the log holds."""
    if value is not None and not value.strip():
        raise BadInput("-o/--output: the file name is empty; give a file, or leave -o out "
                       "to write to standard output")
    if value in STANDARD_OUTPUT_NAMES:
        return STANDARD_OUTPUT if param.required else None
    return value


STANDARD_OUTPUT = "/dev/stdout"


GLOBAL_NAMES = (
    "harbor", "username", "password_stdin", "ca_bundle", "timeout", "concurrency",
    "harbor_version", "config", "quiet", "no_progress",
)


def option_group(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options applied as one decorator, in the order given."""
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


global_options = option_group(
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
                      "(default: the snapshot's or server's; another one is a noted "
                      "what-if; newer: main; missing or not understood: every release "
                      "compared)."),
    click.option("--config", metavar="PATH",
                 help="Config file (default ./harborguard.yaml if present)."),
    click.option("--quiet", is_flag=True, default=None, help="No notes on stderr."),
    click.option("--no-progress", is_flag=True, default=None, help="No progress bar."),
)

source_options = option_group(
    click.option("--snapshot", "snapshot_path", metavar="FILE",
                 help="A harborguard.snapshot/v1 file (see `harborguard snapshot`); - reads "
                      "standard input."),
    click.option("--project", "projects", metavar="P", multiple=True,
                 help="Read this project live from --harbor (repeatable)."),
    click.option("--all-projects", is_flag=True, default=None,
                 help="Read every project the account can list, live from --harbor."),
)

format_option = click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATTERS)), default=None,
    help="Output format (default: table on a terminal, else json); prometheus: "
         "node_exporter textfile metrics; codequality: GitLab Code Quality.")
report_output_option = click.option(
    "-o", "--output", metavar="FILE", callback=output_path,
    help="Write the report to FILE atomically.")

simulate_options = option_group(
    click.option("--policy", metavar="FILE",
                 help="Evaluate this policy (Harbor's JSON, or YAML) instead of each project's."),
    click.option("--now", metavar="TIME",
                 help="RFC 3339 time to evaluate at (default: the snapshot's taken_at, or now)."),
    click.option("--order", type=click.Choice(["push", "semver"]), default=None,
                 help="push: Harbor's behaviour (default); semver: what-if ranking by version."),
    click.option("--version-pattern", metavar="REGEX",
                 help="Read versions from tags with this regex (named groups major, minor, "
                      "patch, optional pre and key)."),
    format_option,
    report_output_option,
    click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
                 help="Lowest finding severity that makes the exit code 1 (default error)."),
)

dedup_options = option_group(
    click.option("--dedup", is_flag=True, default=None,
                 help="Deduplicated storage figures: read each artifact's manifest through "
                      "Harbor's /v2/ API (Harbor records a pull for each; asked first when "
                      "a rule ranks by pulls) or --registry [env HARBORGUARD_DEDUP]."),
    click.option("--registry", metavar="URL",
                 help="With --dedup: read manifests from the distribution registry behind "
                      "Harbor (records no pull) [env HARBORGUARD_REGISTRY]."),
    click.option("--cache-dir", metavar="DIR",
                 help="With --dedup: the manifest cache (default ~/.cache/harborguard/"
                      "manifests) [env HARBORGUARD_CACHE_DIR]."),
    click.option("--yes", is_flag=True, default=None,
                 help="With --dedup: record the pulls without asking."),
)


def split_dedup(local: dict[str, Any]) -> dict[str, Any]:
    """Takes the --dedup options out of a command's keyword arguments (long names)."""
    return {name.replace("_", "-"): local.pop(name, None)
            for name in ("dedup", "registry", "cache_dir", "yes")}


def dedup_confirm(inv: Invocation, yes: bool | None) -> None:
    """How --dedup asks before Harbor records pulls: --yes, else a terminal, else no one
    to ask (then the run is refused, exit 2)."""
    if yes:
        inv.confirm = lambda question: True
    elif on_terminal(sys.stdin) and on_terminal(sys.stderr):
        inv.confirm = lambda question: click.confirm(question, default=False, err=True)


def _merged_globals(ctx: click.Context, local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(ctx.obj or {})
    for name in GLOBAL_NAMES:
        if local.get(name) is not None:
            merged[name] = local[name]
    return merged


def command_values(**values: Any) -> dict[str, Any]:
    """A command's own options under their long names."""
    return {k.replace("_", "-"): v for k, v in values.items()}


def resolve(ctx: click.Context, local: dict[str, Any], command: dict[str, Any],
            output: str | None = None) -> Invocation:
    """The invocation's settings: the group's and the command's global options
    (``local``), the command's own (``command``, long names), the environment and the
    config file. Every value given anywhere is checked here (a bad one: exit 2)."""
    options = _merged_globals(ctx, local)
    for name in ("projects", "all_projects", "snapshot"):
        if local.get(name):
            options[name] = local[name]
    config = load_config(options.get("config") or os.environ.get("HARBORGUARD_CONFIG") or None)
    cli_values = {k.replace("_", "-"): v for k, v in {**options, **command}.items()}
    resolver = Resolver(cli_values, os.environ, config)
    resolver.check_all()
    inv = Invocation(resolver, options, output=output, password=lambda: _password(options))
    inv.format = str(inv.get("format") or ("table" if output is None and on_terminal(sys.stdout)
                                           else "json"))
    quiet = bool(inv.get("no-progress") or inv.get("quiet"))
    inv.progress = lambda label: progress_bar(label, quiet=quiet)
    return inv


def _password(options: dict[str, Any]) -> str | None:
    if options.get("password_stdin"):
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError("--password-stdin: standard input is empty")
        return value
    return os.environ.get("HARBOR_PASSWORD") or None


jobs_option = click.option(
    "--jobs", metavar="N",
    help="Processes the snapshot's repositories are evaluated in, at most 4 (default: one "
         "per CPU available from a 4 MB snapshot file on; 1: one process; --dedup: one). "
         "The report is the same whatever N.")
drift_jobs_option = click.option(
    "--jobs", metavar="N",
    help="As for the other commands (at most 4); drift reads no snapshot, so there is no "
         "repository to share out: the report is the same whatever N.")
