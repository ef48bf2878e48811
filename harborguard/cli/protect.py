"""harborguard protect."""

from __future__ import annotations

import sys
from typing import Any

import click

from harborguard.cli import BadInput, conclude, core_errors
from harborguard.cli.evidenceoptions import evidence_options, resolve_with_evidence
from harborguard.cli.options import (
    global_options,
    simulate_options,
    source_options,
)
from harborguard.cli.output import on_terminal
from harborguard.commands.protect import apply_protect, confirmation, run_protect
from harborguard.outfile import write_atomically


@click.command("protect")
@source_options
@simulate_options
@click.option("--policy-out", metavar="FILE",
              help="Write the changed policy as Harbor's PUT /retentions/{id} body (JSON, or "
                   "YAML for .yaml/.yml), for review. One project only.")
@click.option("--apply", "apply", is_flag=True, default=False,
              help="Send the changed policy to Harbor (live --project only), then read it "
                   "back and re-simulate. Asks first, unless --yes.")
@click.option("--yes", is_flag=True, default=False,
              help="With --apply: do not ask (CI). Without a terminal, --apply needs it.")
@click.option("--allow-incomplete", is_flag=True, default=False,
              help="Write or apply even when evidence is incomplete: the rule then only grows "
                   "(no tag is dropped from it). The run still exits 3.")
@evidence_options
@global_options
@click.pass_context
def command(ctx: click.Context, /, snapshot_path: str | None, projects: tuple[str, ...],
            all_projects: bool | None, policy: str | None, now: str | None,
            order: str | None, version_pattern: str | None, fmt: str | None,
            output: str | None, fail_on: str | None, registry_alias: tuple[str, ...],
            policy_out: str | None, apply: bool, yes: bool, allow_incomplete: bool,
            **local: Any) -> None:
    """Keep what runs and what a rollback needs, as one Harbor retention rule.

    Computes, per project, harborguard's own rule: `always` on the tags the evidence needs
    (in use, declared, rollback targets), in the repositories other enabled rules already
    run in, marked so a later run replaces only it. The report is the changed policy's
    simulation, with each artifact's previous action and check's findings on it; `protect`
    in the JSON report holds the rule, what it lists and keeps beyond the evidence.

    Nothing is sent without --apply. Exit 0: the evidence is protected; 1: an error
    finding remains (an untagged artifact deleted, no room for the rule); 3: incomplete
    (nothing is written or applied then, unless --allow-incomplete).
    """
    local.update(projects=projects, all_projects=all_projects, snapshot=snapshot_path)
    with core_errors():
        if yes and not apply:
            raise BadInput("--yes goes with --apply")
        if apply and not yes and not on_terminal(sys.stdin):
            raise BadInput("--apply asks for confirmation and there is no terminal: give "
                           "--yes to apply without asking")
        inv, evidence = resolve_with_evidence(
            ctx, local, output, snapshot=snapshot_path, policy=policy, now=now, order=order,
            format=fmt, fail_on=fail_on, version_pattern=version_pattern)
        run = run_protect(inv, evidence, registry_alias, policy_out=policy_out, apply=apply,
                          allow_incomplete=allow_incomplete)
        if run.policy_out is not None and policy_out is not None:
            write_atomically(policy_out, [run.policy_out])
        result = run.outcome
        if run.pending:
            if not yes:
                click.echo(confirmation(run), err=True)
                if not click.confirm("Apply these changes to Harbor?", err=True):
                    raise BadInput("not applied: the confirmation was declined")
            result = apply_protect(run)
        conclude(inv, result)
