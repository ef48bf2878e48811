"""Evidence that an image is in use, from any source (kubectl, manifests, git history, helm).

Every source produces ``Usage`` records; ``check`` matches them to Harbor artifacts. The
shape is the report's ``in_use`` entry (docs/DESIGN.md): ``source``, ``kind``, ``ref``,
``where``, plus what matching needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

UsageSource = Literal["kubectl", "manifests", "git-history", "helm"]
UsageKind = Literal["running", "declared", "rollback"]


class Usage(NamedTuple):
    """A tuple, not a dataclass: thousands are made, hashed (an ordered set drops repeats)
    and sent between processes per run, and a tuple does all three in C."""

    source: UsageSource
    kind: UsageKind  # running: a pod; declared: a controller/manifest/chart; rollback
    ref: str  # the image reference as written, e.g. "tools-harbor.example/toolforge/x:1.0"
    where: str  # "namespace/Kind/name", "path:line" or "commit:path:line"
    # A registry digest the runtime resolved (pod status imageID), when known.
    digest: str | None = None
    component: str | None = None
    environment: str | None = None
    # A chart version usage (the chart artifact itself) rather than a container image.
    chart: bool = False

    def as_report(self) -> dict[str, str]:
        return {"source": self.source, "kind": self.kind, "ref": self.ref, "where": self.where}


USE_KINDS = ("running", "declared", "rollback")


def places_by_kind(kinds: list[str]) -> str:
    """``running 1, declared 2, rollback 1``: the places an artifact is in use, by kind;
    the table's "in use" column and check's findings say it in these words."""
    return ", ".join(f"{kind} {kinds.count(kind)}" for kind in USE_KINDS if kind in kinds)


CoveredSource = Literal["kubectl", "manifests", "git-history", "helm"]
# How a complete source's note starts when the source, read whole, still leaves something
# uncovered (the rollback window of kubectl output without ReplicaSets, for one): the
# verdicts' "not checked" qualifier quotes what follows.
NOT_CHECKED = "not checked: "


@dataclass(frozen=True, slots=True)
class Covered:
    """What one evidence source read: the report's ``evidence`` entry, so a CI log shows
    what was checked (and a verdict can say what was not)."""

    source: CoveredSource
    what: str  # the file, directory or command
    counts: dict[str, int]
    complete: bool
    note: str | None = None

    def as_report(self) -> dict[str, object]:
        return {"source": self.source, "what": self.what, "counts": dict(self.counts),
                "complete": self.complete, "note": self.note}
