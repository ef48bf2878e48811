"""check: simulate, then cross-check the deletions against the images in use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harborguard.commands.dedup import add_storage
from harborguard.commands.evidence import cross_check, needs_additions
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import HarborUnreadable, simulate_policy, unreadable_harbor
from harborguard.commands.outcome import Outcome, outcome
from harborguard.errors import InputError
from harborguard.expiry import expiring
from harborguard.report.build import build_report

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions


def run_check(inv: Invocation, evidence: EvidenceOptions,
              aliases: Sequence[str] = ()) -> Outcome:
    """``aliases``: --registry-alias from the command line (the settings add their own)."""
    if not evidence.any:
        raise InputError("check needs evidence: --kubectl, --kubectl-json FILE, "
                         "--manifests DIR --environment ENV, --helm or --helm-json FILE")
    try:
        simulated = simulate_policy(inv, need_additions=needs_additions(evidence))
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "check")
    result = simulated.result
    checked, findings = cross_check(inv, result, simulated.snapshot, evidence, aliases)
    findings.extend(expiring(result, checked.in_use, simulated.later))
    report = build_report(result, simulated.source, in_use=checked.in_use,
                          extra_findings=findings, command="check")
    add_storage(inv, report, result)
    return outcome(inv, result, report, extra=findings)
