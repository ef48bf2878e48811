"""harborguard verify."""

from __future__ import annotations

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


@click.command("verify")
@source_options
@click.option("--from-logs", "from_logs", metavar="DIR",
              help="Compare with saved task logs (one file per task) instead of starting a "
                   "dry run.")
@click.option("--policy", metavar="FILE",
              help="--from-logs only: the policy Harbor ran, if not the source's.")
@click.option("--now", metavar="TIME",
              help="--from-logs only: evaluate at this time instead of each task's own.")
@click.option("--yes", is_flag=True, default=False,
              help="Live (not in this version): start the dry run without asking.")
@click.option("--wait", metavar="SECONDS", type=click.FloatRange(min=1, max=86_400),
              default=600.0, show_default=True,
              help="Live (not in this version): how long to wait for the execution to end.")
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

    Not in this version: the live dry run (--harbor URL --project P ... without
    --from-logs) exits 2 and starts nothing. When it comes it will ask Harbor to dry-run
    each project's stored policy (POST /retentions/{id}/executions {"dry_run": true}),
    which deletes nothing but starts a job on the server and needs tag-retention:update;
    it will ask first, or take --yes. Until then, save the task logs of a dry run started
    in Harbor's UI and use --from-logs.

    --from-logs DIR (with --snapshot FILE or a live source): the same comparison against
    saved task logs, one file per task, each naming its repository ("Repository:" or
    "Load N candidates from repository X"); each repository is evaluated at its log's
    "Run retention process" time unless --now is given.

    Findings: verify-mismatch (error) where Harbor decided otherwise, unexplained;
    verify-changed (warning) where the difference is explained (the artifact changed
    between the dry run and the fetch, or a tie whose order Harbor chose). Exit 1 on a
    mismatch, 3 when a log could not be read or the execution did not end in time.
    """
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with core_errors():
        inv = resolve(ctx, local, command_values(
            snapshot=snapshot_path, policy=policy, now=now, format=fmt, fail_on=fail_on),
            output)
        if from_logs is not None:
            from harborguard.commands.verify import run_verify_from_logs

            conclude(inv, run_verify_from_logs(inv, from_logs))
        # The live dry run (POST .../executions) is not built yet: nothing is started.
        raise BadInput("verify needs --from-logs DIR for now: the live dry run "
                       "(--project P --yes) is not implemented in this version")
