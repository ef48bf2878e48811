"""harborguard diff."""

from __future__ import annotations

from typing import Any

import click

from harborguard.cli import conclude_run, core_errors
from harborguard.cli.evidenceoptions import evidence_options, resolve_with_evidence
from harborguard.cli.options import (
    dedup_confirm,
    dedup_options,
    global_options,
    jobs_option,
    simulate_options,
    source_options,
    split_dedup,
)
from harborguard.commands.diff import run_diff


@click.command("diff")
@source_options
@simulate_options
@click.option("--against", metavar="FILE",
              help="The policy to compare with (default: each project's current policy).")
@evidence_options
@jobs_option
@dedup_options
@global_options
@click.pass_context
def command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
            all_projects: bool | None, policy: str | None, now: str | None,
            order: str | None, version_pattern: str | None, fmt: str | None,
            output: str | None, fail_on: str | None, against: str | None,
            registry_alias: tuple[str, ...], jobs: str | None, **local: Any) -> None:
    """What a proposed policy (--policy NEW) changes against the current one (or --against)."""
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    dedup = split_dedup(local)
    with core_errors():
        inv, evidence = resolve_with_evidence(
            ctx, local, output, snapshot=snapshot_path, policy=policy, now=now, order=order,
            format=fmt, fail_on=fail_on, version_pattern=version_pattern, jobs=jobs,
            dedup=dedup["dedup"], registry=dedup["registry"], cache_dir=dedup["cache-dir"])
        dedup_confirm(inv, dedup["yes"])
        conclude_run(inv, lambda again: run_diff(again, evidence, registry_alias, against))
