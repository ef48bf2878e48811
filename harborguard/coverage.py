"""What each evidence source covered: the report's ``evidence`` entries.

Pure: built from what ``gather`` read, so a CI log shows what was checked, and a verdict
can say what was not (the rollback window without git history, for one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harborguard.evidence import NOT_CHECKED, Covered, CoveredSource
from harborguard.model import Incomplete

# Why the git history (the rollback window) was not read: the verdicts quote it.
HISTORY_ZERO = "--history 0"
NOT_A_CHECKOUT = "not a git checkout"

if TYPE_CHECKING:
    from harborguard.sources.githistory import HistoryEvidence
    from harborguard.sources.helm import HelmRelease, ReleaseEvidence
    from harborguard.sources.kubectl import KubectlEvidence
    from harborguard.sources.manifests import ManifestEvidence


def _state(source: CoveredSource, what: str, counts: dict[str, int],
           unread: Sequence[Incomplete], note: str | None = None) -> Covered:
    if unread:
        more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
        note = f"{unread[0].what}: {unread[0].reason}{more}"
    return Covered(source, what, counts, complete=not unread, note=note)


def kubectl(what: str, evidence: KubectlEvidence | None,
            unread: Sequence[Incomplete]) -> Covered:
    """``evidence`` None: kubectl could not be run at all (``unread`` says why)."""
    from harborguard.sources.kuberevisions import rollback_not_covered

    counts = {"objects": 0, "workloads": 0, "references": 0}
    note = None
    if evidence is not None:
        counts = {"objects": evidence.objects, "workloads": evidence.workloads,
                  "references": len(evidence.usages)}
        if evidence.unlisted:
            note = NOT_CHECKED + rollback_not_covered(evidence.unlisted)
    return _state("kubectl", what, counts, unread, note)


def manifests(root: str, read: ManifestEvidence, unread: Sequence[Incomplete]) -> Covered:
    unresolved = len(read.unresolved)
    note = (f"{unresolved} value{'s' if unresolved != 1 else ''} naming a version or image "
            "could not be resolved (unresolved-reference)") if unresolved else None
    return _state("manifests", root, {"files": read.files_read,
                                      "components": len(read.components),
                                      "references": len(read.usages),
                                      "unresolved": unresolved}, unread, note)


def history(root: str, asked: int | None, depth: int, read: HistoryEvidence | None,
            unread: Sequence[Incomplete]) -> Covered:
    """``asked``: --history as given (None: the default); ``depth``: what was read for."""
    reached = max((len(c.versions) for c in read.components), default=0) if read else 0
    counts = {"requested": depth, "versions": reached,
              "commits": read.commits_walked if read else 0,
              "references": len(read.usages) if read else 0}
    note: str | None = None
    if depth == 0:
        note = (f"not read: {HISTORY_ZERO}" if asked == 0 else
                f"not read: {NOT_A_CHECKOUT}")
    elif read is not None:
        note = read.summary()
    return _state("git-history", root, counts, unread, note)


def helm(what: str, releases: Sequence[HelmRelease], found: ReleaseEvidence | None,
         unread: Sequence[Incomplete]) -> Covered:
    counts = {"releases": len(releases), "charts": found.charts if found else 0,
              "references": len(found.usages) if found else 0}
    return _state("helm", what, counts, unread)

