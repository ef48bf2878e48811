"""harborguard snapshot."""

from __future__ import annotations

import sys
from typing import Any

import click

from harborguard.cli import Exit, core_errors
from harborguard.cli.options import (
    STANDARD_OUTPUT,
    dedup_confirm,
    dedup_options,
    global_options,
    output_path,
    resolve,
    split_dedup,
)
from harborguard.cli.output import error, say_incomplete, to_stdout
from harborguard.commands.snapshot import run_snapshot
from harborguard.outfile import write_atomically


@click.command("snapshot")
@click.option("--project", "projects", metavar="P", multiple=True,
              help="Project to read (repeatable).")
@click.option("--all-projects", is_flag=True, default=None,
              help="Every project the account can list.")
@click.option("-o", "--output", metavar="FILE", required=True, callback=output_path,
              help="Where to write the harborguard.snapshot/v1 file (atomically).")
@dedup_options
@global_options
@click.pass_context
def command(ctx: click.Context, /, projects: tuple[str, ...], all_projects: bool | None,
            output: str, **local: Any) -> None:
    """Fetch everything a simulation needs from a live Harbor into a snapshot file."""
    local.update(projects=projects, all_projects=all_projects)
    dedup = split_dedup(local)
    with core_errors():
        inv = resolve(ctx, local, dedup)
        dedup_confirm(inv, dedup["yes"])
        fetched = run_snapshot(inv, projects, all_projects)
        if fetched.content is None:
            for line in fetched.errors:
                error(line)
            sys.exit(int(Exit.INCOMPLETE))
        if output == STANDARD_OUTPUT:
            to_stdout(fetched.content)  # added to what standard output holds
        else:
            write_atomically(output, [fetched.content])
        if not inv.get("quiet"):
            click.echo(f"harborguard: wrote {output}: {fetched.summary}", err=True)
            say_incomplete(fetched.missing)
        sys.exit(int(Exit.INCOMPLETE if fetched.incomplete else Exit.OK))
