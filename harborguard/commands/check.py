"""check: simulate, then cross-check the deletions against the images in use, a
repository at a time (harborguard.pipeline, harborguard.evidence_index)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harborguard.commands.evidence import (
    index_evidence,
    needs_additions,
    read_ahead,
    unmatched_harbor,
)
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
from harborguard.commands.locations import locator
from harborguard.commands.outcome import Outcome
from harborguard.commands.streaming import concluded, stream_run
from harborguard.errors import InputError
from harborguard.pipeline import CommandSpec

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions


def run_check(inv: Invocation, evidence: EvidenceOptions,
              aliases: Sequence[str] = ()) -> Outcome:
    """``aliases``: --registry-alias from the command line (the settings add their own)."""
    if not evidence.any:
        raise InputError("check needs evidence: --kubectl, --kubectl-json FILE, "
                         "--manifests DIR --environment ENV, --helm or --helm-json FILE")
    policy = policy_option(inv)
    pattern = version_pattern(inv)
    additions = needs_additions(evidence)
    ahead = read_ahead(evidence)
    try:
        opened = open_source(inv, need_policies=policy is None, need_additions=additions,
                             whole=additions, what_if=(policy,))
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "check")
    evaluated = settings(inv, opened, policy, pattern)
    index, gathered, hosts = index_evidence(inv, opened, evidence, aliases, policy, ahead)
    spec = CommandSpec("check", evaluated, inv.get("fail-on"),
              report_source(opened, inv.get("policy") or "harbor"), evidence=index,
              said=gathered.findings,
              locate=locator(gathered.components, gathered.usages, evidence.manifests),
              storage=bool(inv.get("dedup")))
    streamed = stream_run(inv, opened, spec)
    unmatched_harbor(inv, streamed, index, hosts)
    return concluded(inv, streamed)
