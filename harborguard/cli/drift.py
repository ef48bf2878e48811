"""harborguard drift."""

from __future__ import annotations

from typing import Any

import click

from harborguard.cli import conclude, core_errors
from harborguard.cli.evidenceoptions import (
    evidence_settings,
    kubectl_options,
    manifest_options,
    split_evidence,
)
from harborguard.cli.options import (
    command_values,
    drift_jobs_option,
    format_option,
    global_options,
    report_output_option,
    resolve,
)
from harborguard.commands.drift import run_drift


@click.command("drift")
@kubectl_options
@manifest_options
@format_option
@report_output_option
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest finding severity that makes the exit code 1 (default warning).")
@drift_jobs_option
@global_options
@click.pass_context
def command(ctx: click.Context, /, fmt: str | None, output: str | None,
            fail_on: str | None, jobs: str | None, **local: Any) -> None:
    """Versions merged to the manifests but not running (not-deployed), and the reverse.

    A not-deployed finding says since when it waits: the first-parent commit that put the
    version into the manifests (--format prometheus: harborguard_undeployed_seconds).
    """
    values = split_evidence(local)
    with core_errors():
        inv = resolve(ctx, local, command_values(
            format=fmt, fail_on=fail_on, manifests=values["manifests"],
            environment=values["environment"], image_tag_template=values["image_tag_template"],
            history=0, jobs=jobs), output)
        conclude(inv, run_drift(inv, evidence_settings(inv, values)))
