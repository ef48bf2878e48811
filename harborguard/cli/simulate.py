"""harborguard simulate."""

from __future__ import annotations

from typing import Any

import click

from harborguard.cli import conclude_run, core_errors
from harborguard.cli.options import (
    command_values,
    dedup_confirm,
    dedup_options,
    global_options,
    jobs_option,
    resolve,
    simulate_options,
    source_options,
    split_dedup,
)
from harborguard.commands.simulate import run_simulate


@click.command("simulate")
@source_options
@simulate_options
@jobs_option
@dedup_options
@global_options
@click.pass_context
def command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
            all_projects: bool | None, policy: str | None, now: str | None,
            order: str | None, version_pattern: str | None, fmt: str | None,
            output: str | None, fail_on: str | None, jobs: str | None,
            **local: Any) -> None:
    """Dry-run the retention policy: what each repository keeps and deletes, and why."""
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    dedup = split_dedup(local)
    with core_errors():
        inv = resolve(ctx, local, {**command_values(
            snapshot=snapshot_path, policy=policy, now=now, order=order, format=fmt,
            fail_on=fail_on, version_pattern=version_pattern, jobs=jobs), **dedup}, output)
        dedup_confirm(inv, dedup["yes"])
        conclude_run(inv, run_simulate)
