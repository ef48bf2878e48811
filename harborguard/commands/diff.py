"""diff: what a proposed policy changes against the current one (or --against), a
repository at a time (harborguard.pipeline)."""

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
from harborguard.policy import load_policy_file, unknown_key_notes

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
    pattern = version_pattern(inv)
    additions = needs_additions(evidence)
    ahead = read_ahead(evidence)
    try:
        opened = open_source(inv, need_policies=old_policy is None, need_additions=additions,
                             whole=additions and evidence.any,
                             what_if=(new_policy, old_policy))
    except HarborUnreadable as exc:
        return unreadable_harbor(inv, exc, "diff")
    evaluated = settings(inv, opened, new_policy, pattern)
    spec = CommandSpec("diff", evaluated, inv.get("fail-on"), report_source(opened, new_path),
              previous=evaluated._replace(policy=old_policy), storage=bool(inv.get("dedup")))
    if evidence.any:
        index, gathered, hosts = index_evidence(inv, opened, evidence, aliases, new_policy,
                                                ahead)
        spec = spec._replace(evidence=index, said=gathered.findings, locate=locator(
            gathered.components, gathered.usages, evidence.manifests))
    streamed = stream_run(inv, opened, spec)
    if evidence.any:
        unmatched_harbor(inv, streamed, index, hosts)
    streamed.report["source"]["against"] = against or "harbor"
    return concluded(inv, streamed)
