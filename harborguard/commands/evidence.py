"""Evidence of use from every source: read once (check, diff, protect), and indexed for
the run's repositories (check and diff, harborguard.evidence_index)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import Opened
from harborguard.errors import InputError
from harborguard.evidence import NOT_CHECKED
from harborguard.model import Incomplete, Snapshot
from harborguard.policy import RetentionPolicy

if TYPE_CHECKING:
    from harborguard.check import CheckResult
    from harborguard.evidence_index import EvidenceIndex
    from harborguard.gather import EvidenceOptions, Gathered
    from harborguard.pipeline import StreamedReport
    from harborguard.sources.kubectlahead import KubectlFiles


def needs_additions(evidence: EvidenceOptions) -> bool:
    """The charts' values.yaml tell the images a deployed chart runs (and the manifests'
    and Helm's evidence read the snapshot's repositories: it is read whole)."""
    return bool(evidence.manifests or evidence.use_helm or evidence.helm_json)


def hosts_of(inv: Invocation, harbor: str | None, aliases: Sequence[str]) -> list[str]:
    """The names this Harbor goes by: its URL's host and every --registry-alias."""
    from harborguard.check import alias_host, harbor_host

    try:
        named = [alias_host(a) for a in (*aliases, *inv.get("registry-alias")) if a]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    hosts = [h for h in (harbor_host(harbor), *named) if h]
    if not hosts:
        raise InputError("the snapshot names no Harbor URL: give --registry-alias HOST with "
                         "the registry name image references use")
    return hosts


def read_usages(inv: Invocation, snapshot: Snapshot | None, harbor: str | None,
                evidence: EvidenceOptions, aliases: Sequence[str],
                ahead: KubectlFiles | None = None) -> tuple[Gathered, list[str]]:
    """Evidence from every source, read once, and the registry hosts that name this Harbor;
    what could not be read goes to ``inv`` (incomplete, notes, history, evidence).
    ``snapshot``: the snapshot read whole, when the evidence needs its charts' values;
    ``ahead``: the --kubectl-json files, read while the snapshot was (read_ahead)."""
    from harborguard.gather import gather

    hosts = hosts_of(inv, harbor, aliases)
    gathered = gather(evidence, snapshot, hosts, ahead)
    inv.incomplete.extend(gathered.incomplete)
    inv.notes.extend(gathered.notes)
    inv.history = gathered.history
    inv.evidence = [covered.as_report() for covered in gathered.evidence]
    return gathered, hosts


def read_ahead(evidence: EvidenceOptions) -> KubectlFiles | None:
    """The --kubectl-json files, read in a thread while the snapshot is read."""
    if not evidence.kubectl_json:
        return None
    from harborguard.sources.kubectlahead import KubectlFiles

    return KubectlFiles(evidence.kubectl_json)


def index_evidence(inv: Invocation, opened: Opened, evidence: EvidenceOptions,
                   aliases: Sequence[str], policy: RetentionPolicy | None,
                   ahead: KubectlFiles | None = None
                   ) -> tuple[EvidenceIndex, Gathered, list[str]]:
    """Evidence from every source, indexed by the repository it names; what was read and
    the hosts that name this Harbor. ``policy``: --policy (else a project without a
    retention field is not read, and neither is what it holds)."""
    from harborguard.evidence_index import EvidenceIndex

    stream = opened.stream
    gathered, hosts = read_usages(inv, opened.snapshot, stream.harbor, evidence, aliases,
                                  ahead)
    unread = [item.what for item in stream.incomplete]
    if policy is None:
        unread.extend(entry.project.name for entry in stream.projects
                      if not entry.project.retention_known)
    index = EvidenceIndex(gathered.usages, hosts,
                          (name for entry in stream.projects for name in entry.names),
                          (entry.project.name for entry in stream.projects), unread)
    return index, gathered, hosts


def foreign_only(checked: CheckResult, hosts: Sequence[str]) -> Incomplete | None:
    """Harbor read through another name (an internal URL, a port-forward) than the one the
    cluster pulls from: nothing matched, which is not "nothing in use"."""
    if not checked.no_harbor_reference:
        return None
    return _foreign_incomplete(checked.foreign, hosts)


def unmatched_harbor(inv: Invocation, streamed: StreamedReport, index: EvidenceIndex,
                     hosts: Sequence[str]) -> None:
    """foreign_only, for a run through the pipeline; evidence that names nothing of this
    Harbor qualifies the verdict (nothing_named)."""
    nothing_named(inv, bool(index.here), index.ignored, hosts)
    foreign = streamed.checked.foreign
    if index.harbor_named + streamed.checked.harbor_named or not foreign:
        return
    inv.incomplete.append(_foreign_incomplete(foreign, hosts))


def _foreign_incomplete(foreign: Mapping[str, int], hosts: Sequence[str]) -> Incomplete:
    named = sorted(foreign, key=lambda h: (-foreign[h], h))
    return Incomplete(
        what="evidence of use",
        reason=f"no image reference names this Harbor ({', '.join(hosts)}), but "
        f"{sum(foreign.values())} name its repositories under "
        f"{', '.join(named)}; if that is this Harbor, add --registry-alias {named[0]}")


def nothing_named(inv: Invocation, named: bool, others: int, hosts: Sequence[str]) -> None:
    """Evidence none of which names this Harbor (``named`` false, ``others`` references to
    other registries: kubectl output of another kube context): the cluster may truly use
    nothing of it, so not incomplete, but an all-clear says it did not check it (a complete
    evidence entry's NOT_CHECKED note: report/common.py `not_checked`)."""
    if named or not others or not inv.evidence:
        return
    plural = "s" if others != 1 else ""
    gap = (f"anything of this Harbor ({', '.join(hosts)}): no evidence names it "
           f"({others} reference{plural}, all to other registries: is this the right "
           "cluster, kube context or environment?)")
    entries = [e for e in inv.evidence if e["complete"] and e["counts"].get("references")]
    if not entries:
        return
    plain = [e for e in entries if e["note"] is None or e["note"].startswith(NOT_CHECKED)]
    entry = (plain or entries)[0]
    rest = str(entry["note"] or "").removeprefix(NOT_CHECKED)
    entry["note"] = NOT_CHECKED + gap + (f"; {rest}" if rest else "")
