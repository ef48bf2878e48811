"""Evidence of use from every source, matched against a simulation (check, diff)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harborguard.commands.invocation import Invocation
from harborguard.errors import InputError
from harborguard.findings import Finding
from harborguard.model import Incomplete, Snapshot
from harborguard.simulate import RunResult

if TYPE_CHECKING:
    from harborguard.check import CheckResult
    from harborguard.gather import EvidenceOptions, Gathered


def needs_additions(evidence: EvidenceOptions) -> bool:
    """The charts' values.yaml tell the images a deployed chart runs."""
    return bool(evidence.manifests or evidence.use_helm or evidence.helm_json)


def read_usages(inv: Invocation, snapshot: Snapshot, evidence: EvidenceOptions,
                aliases: Sequence[str]) -> tuple[Gathered, list[str]]:
    """Evidence from every source, read once, and the registry hosts that name this Harbor;
    what could not be read goes to ``inv`` (incomplete, notes, history, evidence)."""
    from harborguard.check import alias_host, harbor_host
    from harborguard.gather import gather

    try:
        named = [alias_host(a) for a in (*aliases, *inv.get("registry-alias")) if a]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    hosts = [h for h in (harbor_host(snapshot.harbor), *named) if h]
    if not hosts:
        raise InputError("the snapshot names no Harbor URL: give --registry-alias HOST with "
                         "the registry name image references use")
    gathered = gather(evidence, snapshot, hosts)
    inv.incomplete.extend(gathered.incomplete)
    inv.notes.extend(gathered.notes)
    inv.history = gathered.history
    inv.evidence = [covered.as_report() for covered in gathered.evidence]
    return gathered, hosts


def foreign_only(checked: CheckResult, hosts: Sequence[str]) -> Incomplete | None:
    """Harbor read through another name (an internal URL, a port-forward) than the one the
    cluster pulls from: nothing matched, which is not "nothing in use"."""
    if not checked.no_harbor_reference:
        return None
    named = sorted(checked.foreign, key=lambda h: (-checked.foreign[h], h))
    return Incomplete(
        what="evidence of use",
        reason=f"no image reference names this Harbor ({', '.join(hosts)}), but "
        f"{sum(checked.foreign.values())} name its repositories under "
        f"{', '.join(named)}; if that is this Harbor, add --registry-alias {named[0]}")


def cross_check(inv: Invocation, result: RunResult, snapshot: Snapshot,
                evidence: EvidenceOptions,
                aliases: Sequence[str]) -> tuple[CheckResult, list[Finding]]:
    """Evidence from every source, matched against the simulation: (CheckResult, findings)."""
    from harborguard.check import check
    from harborguard.commands.locations import locator

    gathered, hosts = read_usages(inv, snapshot, evidence, aliases)
    checked = check(result, gathered.usages, hosts)
    inv.locate = locator(checked.in_use, gathered.components, gathered.usages,
                         evidence.manifests)
    missing = foreign_only(checked, hosts)
    if missing is not None:
        inv.incomplete.append(missing)
    return checked, [*checked.findings, *gathered.findings]
