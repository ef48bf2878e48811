"""harborguard verify."""

from __future__ import annotations

import sys
from typing import Any

import click

from harborguard.cli import BadInput, conclude, core_errors
from harborguard.cli.options import (
    command_values,
    format_option,
    global_options,
    report_output_option,
    resolve,
    source_options,
)
from harborguard.cli.output import on_terminal


@click.command("verify")
@source_options
@click.option("--from-logs", "from_logs", metavar="DIR",
              help="Compare with saved task logs (a file per task, or a jobservice log of "
                   "several, split at each \"Run retention process\") instead of starting "
                   "a dry run.")
@click.option("--policy", metavar="FILE",
              help="--from-logs only: the policy Harbor ran, if not the source's.")
@click.option("--now", metavar="TIME",
              help="--from-logs only: evaluate at this time instead of each task's own.")
@click.option("--yes", is_flag=True, default=False,
              help="Live: start the dry run without asking (it deletes nothing, but starts a "
                   "retention job on the server and needs tag-retention:update). Without a "
                   "terminal a live verify needs it.")
@click.option("--wait", metavar="SECONDS", type=click.FloatRange(min=1, max=86_400),
              default=600.0, show_default=True,
              help="Live: how long to wait for the execution to end; past it the run is "
                   "incomplete (exit 3) and names the execution.")
@format_option
@report_output_option
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest finding severity that makes the exit code 1 (default error).")
@global_options
@click.pass_context
def command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
            all_projects: bool | None, from_logs: str | None, policy: str | None,
            now: str | None, yes: bool, wait: float, fmt: str | None, output: str | None,
            fail_on: str | None, **local: Any) -> None:
    """Hold the simulation against Harbor's own dry run, artifact by artifact.

    Live (--harbor URL --project P ...; --all-projects is refused): asks Harbor to
    dry-run each project's stored policy (POST /api/v2.0/retentions/{id}/executions
    {"dry_run": true}). That deletes nothing, but it starts a retention job on the
    server and needs the tag-retention:update permission (tag-retention:read for the
    logs), so harborguard asks first; --yes skips the question, and without a terminal
    --yes is required (exit 2, nothing sent). An execution that is not a dry run is
    stopped at once (exit 3). harborguard waits for the execution (progress on stderr,
    at most --wait seconds), reads every task's log, reads the artifacts right after,
    and evaluates each repository at its task's time. --policy and --now are refused:
    Harbor runs its stored policy at its own time.

    --from-logs DIR (with --snapshot FILE or a live source): the same comparison against
    saved task logs (a file per task, or several tasks one after another in a
    jobservice log), each naming its repository ("Repository:" or
    "Load N candidates from repository X"); each repository is evaluated at its log's
    "Run retention process" time unless --now is given. Nothing is started.

    Findings: verify-mismatch (error) where Harbor decided otherwise, unexplained;
    verify-changed (warning) where the difference is explained (the artifact changed
    between the dry run and the fetch, or a tie whose order Harbor chose). Exit 1 on a
    mismatch, 3 when a log could not be read or the execution did not end in time.
    """
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with core_errors():
        live = from_logs is None
        if live and not yes and not on_terminal(sys.stdin):
            raise BadInput("a live verify asks before it starts a job on Harbor and there is "
                           "no terminal: give --yes to start the dry run without asking, or "
                           "--from-logs DIR to compare saved task logs")
        inv = resolve(ctx, local, command_values(
            snapshot=snapshot_path, policy=policy, now=now, format=fmt, fail_on=fail_on),
            output)
        if not live:
            assert from_logs is not None
            from harborguard.commands.verify import run_verify_from_logs

            conclude(inv, run_verify_from_logs(inv, from_logs))
        from harborguard.commands.verifylive import run_verify_live

        quiet = bool(inv.get("quiet"))

        def tell(line: str) -> None:
            if not quiet:
                click.echo(f"harborguard: {line}", err=True)

        def confirm(question: str) -> bool:
            return yes or click.confirm(question, default=False, err=True)

        conclude(inv, run_verify_live(inv, wait=wait, confirm=confirm, tell=tell))
