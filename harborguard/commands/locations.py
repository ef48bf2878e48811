"""Where in the deployment repository a finding is: the line that named the version.

A finding's ``location`` (``{"path", "line"}``, the path relative to --manifests) is what
GitLab's Code Quality widget points at (report/codequality.py). It is the working tree's
line, since the widget shows the merge request's files: for an artifact the manifests
declare, the line that declares it; for a rollback target found in history, the line of
the same component (its ``chartVersion:``) as the working tree has it now, or the line of
the same file that names the same repository now; for a component (drift, unresolved
references), the component's ``chartVersion:`` line. Findings with no file have none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harborguard.evidence import Usage
from harborguard.sources.helmfile import Component

ArtifactKey = tuple[str, str, str]
Place = tuple[str, int]


def split_where(where: str) -> Place | None:
    """``path:line`` (or ``commit:path:line``: the path and line at that commit)."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        return None
    return path, int(line)


def declared_places(components: Sequence[Component], usages: Sequence[Usage]
                    ) -> dict[str, Place]:
    """Component -> the working tree's line naming its version (else its first image)."""
    places: dict[str, Place] = {}
    for component in components:
        place = split_where(component.declared_at or "")
        if place is not None:
            places.setdefault(component.name, place)
    for usage in usages:
        if usage.source == "manifests" and usage.component:
            place = split_where(usage.where)
            if place is not None:
                places.setdefault(usage.component, place)
    return places


def _history_place(usage: Usage, root: str, places: Mapping[str, Place]) -> Place | None:
    if usage.component and usage.component in places:
        return places[usage.component]
    place = split_where(usage.where)
    if place is None:
        return None
    path = place[0].split(":", 1)[-1]  # commit:path
    repository = usage.ref.split("@", 1)[0].rsplit(":", 1)[0]
    try:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if repository and repository.rsplit("/", 1)[-1] in line:
                    return path, number
    except OSError:
        return None  # the file is gone from the working tree
    return path, 1


def place_of(finding: dict[str, Any], in_use: Mapping[ArtifactKey, Sequence[Usage]],
             places: Mapping[str, Place], root: str) -> Place | None:
    usages: Sequence[Usage] = ()
    if finding["digest"] and finding["repository"]:
        usages = in_use.get((finding["project"], finding["repository"], finding["digest"]), ())
    for usage in usages:
        if usage.source == "manifests":
            place = split_where(usage.where)
            if place is not None:
                return place
    for usage in usages:
        if usage.source == "git-history":
            place = _history_place(usage, root, places)
            if place is not None:
                return place
    for usage in usages:
        if usage.component and usage.component in places:
            return places[usage.component]
    component = finding.get("component")
    if component and component in places:
        return places[component]
    return None


def locator(components: Sequence[Component], usages: Sequence[Usage], root: str | None
            ) -> Callable[[list[dict[str, Any]], Mapping[ArtifactKey, Sequence[Usage]]],
                          None] | None:
    """What gives report finding rows their ``location``, from the usages of the
    artifacts in use (pipeline.CommandSpec.locate); None without --manifests."""
    if root is None:
        return None
    places = declared_places(components, usages)

    def locate(findings: list[dict[str, Any]],
               in_use: Mapping[ArtifactKey, Sequence[Usage]]) -> None:
        for finding in findings:
            place = place_of(finding, in_use, places, root)
            if place is not None:
                finding["location"] = {"path": place[0], "line": place[1]}

    return locate
