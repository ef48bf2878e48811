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
    from harborguard.sources.kuberevisions import pods_not_covered, rollback_not_covered

    counts = {"objects": 0, "workloads": 0, "references": 0}
    note = None
    if evidence is not None:
        counts = {"objects": evidence.objects, "workloads": evidence.workloads,
                  "references": len(evidence.usages)}
        gaps = [pods_not_covered(evidence.no_pods)] if evidence.no_pods else []
        if evidence.unlisted:
            gaps.append(rollback_not_covered(evidence.unlisted))
        note = NOT_CHECKED + "; ".join(gaps) if gaps else None
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
    reached = max([len(c.versions) for c in read.components] + [read.declared_versions]
                  ) if read else 0
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
         unread: Sequence[Incomplete], *, cluster_read: bool = False) -> Covered:
    """``cluster_read``: kubectl evidence was read too, which shows what the releases run
    and what `kubectl rollout undo` brings back (its own entry says where it does not)."""
    counts = {"releases": len(releases), "charts": found.charts if found else 0,
              "references": len(found.usages) if found else 0}
    gaps = [] if found is None or cluster_read else helm_not_covered(releases, found)
    return _state("helm", what, counts, unread, NOT_CHECKED + "; ".join(gaps) if gaps else None)


def helm_not_covered(releases: Sequence[HelmRelease], found: ReleaseEvidence) -> list[str]:
    """What `helm list` alone does not show: the earlier revisions a `helm rollback` brings
    back (a release past revision 1), and the values given at install or upgrade (the
    images are taken from the charts' default values.yaml)."""
    from harborguard.sources.helm import GONE

    out = []
    # Releases whose values and history were read (`--helm`) cover both.
    releases = [r for r in releases if (r.namespace, r.name) not in found.live]
    live = {f"{namespace}/HelmRelease/{name}" for namespace, name in found.live}
    back = [r for r in releases if r.revision > 1 and r.status not in GONE]
    if back:
        shown = ", ".join(f"{r.namespace}/{r.name} at {r.revision}" for r in back[:3])
        more = f" and {len(back) - 3} more" if len(back) > 3 else ""
        out.append(f"the rollback window (earlier Helm revisions of {_count(len(back), 'release')} "
                   f"past revision 1, {shown}{more}: `helm history` was not read)")
    images = sum(1 for usage in found.usages
                 if not usage.chart and usage.where.split(" ", 1)[0] not in live)
    if images:
        out.append(f"the release values ({_count(images, 'image')} taken from the charts' "
                   "defaults, values.yaml or --image-tag-template; values given at install or "
                   "upgrade, `helm get values`, were not read)")
    return out


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

