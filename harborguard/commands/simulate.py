"""simulate: what each repository keeps and deletes, and why (harborguard.pipeline)."""

from __future__ import annotations

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import (
    HarborUnreadable,
    open_source,
    policy_option,
    report_source,
    settings,
    unreadable_harbor,
    version_pattern,
)
from harborguard.commands.outcome import Outcome
from harborguard.commands.streaming import concluded, stream_run
from harborguard.pipeline import CommandSpec


def run_simulate(inv: Invocation) -> Outcome:
    policy = policy_option(inv, verdict=False)  # no all-clear to qualify
    pattern = version_pattern(inv)
    try:
        opened = open_source(inv, need_policies=policy is None, what_if=(policy,))
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "simulate")
    spec = CommandSpec("simulate", settings(inv, opened, policy, pattern, verdict=False),
                       inv.get("fail-on"),
              report_source(opened, inv.get("policy") or "harbor"),
              storage=bool(inv.get("dedup")))
    return concluded(inv, stream_run(inv, opened, spec))
