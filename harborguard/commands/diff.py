"""diff: what a proposed policy changes against the current one (or --against)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harborguard.commands.dedup import add_storage
from harborguard.commands.evidence import cross_check, needs_additions
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import HarborUnreadable, prepare, unreadable_harbor
from harborguard.commands.outcome import Outcome, outcome
from harborguard.errors import InputError
from harborguard.expiry import expiring
from harborguard.findings import Finding
from harborguard.policy import load_policy_file, unknown_key_notes
from harborguard.report.build import Source, add_previous_actions, build_report

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions


def run_diff(inv: Invocation, evidence: EvidenceOptions, aliases: Sequence[str] = (),
             against: str | None = None) -> Outcome:
    """--policy NEW against ``against`` (a policy file), else each project's own policy."""
    new_path = inv.get("policy")
    if not new_path:
        raise InputError("diff needs the proposed policy: --policy NEW")
    new_policy = load_policy_file(new_path)
    old_policy = load_policy_file(against) if against else None
    inv.notes.extend(unknown_key_notes(new_path, new_policy))
    if old_policy is not None:
        inv.notes.extend(unknown_key_notes(against or "", old_policy))
    try:
        prepared = prepare(inv, need_policies=old_policy is None,
                           need_additions=needs_additions(evidence),
                           what_if=(new_policy, old_policy))
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "diff")
    order = inv.get("order")
    result = prepared.simulate(new_policy, order)
    previous = prepared.simulate(old_policy, order)
    source = Source(harbor=prepared.snapshot.harbor, snapshot=prepared.snapshot_path,
                    policy=new_path)
    in_use = None
    findings: list[Finding] = []
    if evidence.any:
        checked, findings = cross_check(inv, result, prepared.snapshot, evidence, aliases)
        findings.extend(expiring(result, checked.in_use, prepared.later(new_policy, order)))
        in_use = checked.in_use
    report = build_report(result, source, in_use=in_use, extra_findings=findings,
                          command="diff")
    add_previous_actions(report, previous)
    add_storage(inv, report, result, previous)
    report["source"]["against"] = against or "harbor"
    return outcome(inv, result, report, extra=findings)
