"""Which Harbor release's retention behaviour to reproduce (docs/RETENTION.md sections 10, 12).

A version string such as ``v2.11.0-abc1234`` (what /api/v2.0/systeminfo reports) selects a
set of behaviour switches. Newer than the newest known release means Harbor's main branch.
Missing or unparseable is unknown: decided as main, and compared with every distinct
release behaviour (``candidates``; retention/acrossversions.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

GoSortVariant = Literal["go1.18", "go1.19", "go1.24"]

NEWEST_KNOWN = (2, 15, 2)
EXACT_FROM = (2, 10, 3)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Behaviour:
    label: str  # what reports state, e.g. "v2.11.0" or "main"
    version: tuple[int, int, int] | None  # None = main branch
    doublestar_v111: bool  # v2.10.2 and earlier use doublestar 1.1.1
    go_sort: GoSortVariant
    # v2.0-v2.4 evaluated immutable tag selectors with empty extras.
    immutable_untagged_legacy: bool
    # Up to v2.15.2 the immutability check stripped the first path segment twice.
    immutable_double_strip: bool
    # v2.0-v2.1 validated rule parameters at the API.
    validates_params: bool
    warning: str | None  # set when harborguard is not exact for this version
    # True when no Harbor release was named (the version missing, or not understood):
    # every distinct behaviour of the releases and main is then compared (candidates()).
    unknown: bool = False
    # True for a release newer than the newest known one: decided as main (DESIGN.md), and
    # compared with the newest known release, whose behaviour it may still have (the
    # nested-repository immutability fix, for one, is on main only: RETENTION.md 5.3).
    newer: bool = False


# Per release: the Go that built it (GOBUILDIMAGE/GOVERSION in Harbor's Makefile at the tag)
# and the doublestar its src/go.mod requires. Go <= 1.18: quickSort with a Shell pass;
# 1.19-1.23: pdqsort, xorshift (13, 17, 5); >= 1.24: pdqsort, xorshift (13, 7, 17).
_GO: dict[tuple[int, int, int], tuple[int, int]] = {
    (2, 0, 0): (1, 13), (2, 1, 0): (1, 14), (2, 2, 0): (1, 15), (2, 3, 0): (1, 15),
    (2, 4, 0): (1, 17), (2, 5, 0): (1, 17), (2, 5, 5): (1, 18), (2, 6, 0): (1, 18),
    (2, 6, 4): (1, 19), (2, 7, 0): (1, 19), (2, 7, 4): (1, 21), (2, 8, 0): (1, 20),
    (2, 8, 5): (1, 21), (2, 9, 0): (1, 20), (2, 9, 1): (1, 21), (2, 9, 5): (1, 22),
    (2, 10, 0): (1, 21), (2, 10, 3): (1, 22), (2, 11, 0): (1, 22), (2, 12, 0): (1, 23),
    (2, 13, 0): (1, 23), (2, 13, 2): (1, 24), (2, 14, 0): (1, 24), (2, 14, 4): (1, 25),
    (2, 15, 0): (1, 25), (2, 15, 2): (1, 26),
}
# Releases that require doublestar v1.3.4 (v2.9.5 did, then v2.10.0-v2.10.2 did not).
_DOUBLESTAR_134 = ((2, 9, 5), (2, 10, 3))


def _go_for(version: tuple[int, int, int]) -> tuple[int, int]:
    """The Go of the nearest listed release at or below ``version`` in the same minor."""
    same_minor = [r for r in _GO if r[:2] == version[:2] and r <= version]
    if same_minor:
        return _GO[max(same_minor)]
    return _GO[max(r for r in _GO if r <= version)] if version >= (2, 0, 0) else (1, 13)


def _sort_variant(go: tuple[int, int]) -> GoSortVariant:
    if go <= (1, 18):
        return "go1.18"
    return "go1.19" if go <= (1, 23) else "go1.24"


def resolve(version: str | None) -> Behaviour:
    parsed = _parse(version)
    if parsed is None or parsed > NEWEST_KNOWN:
        label = "main" if version is None else version
        unknown = parsed is None and (version is None or version.strip() != "main")
        return Behaviour(
            label=label,
            version=None,
            doublestar_v111=False,
            go_sort="go1.24",
            immutable_untagged_legacy=False,
            immutable_double_strip=False,
            validates_params=False,
            # Said by runs that decide as main alone (protect, verify); the pipeline
            # compares every release instead and says so (unknown_version_note).
            warning=(f"Harbor version {version!r} not understood; reproducing the main branch"
                     if unknown and version is not None else None),
            unknown=unknown,
            newer=parsed is not None,
        )
    major_minor = parsed[:2]
    warning = None
    if parsed < EXACT_FROM:
        warning = (
            f"Harbor {version} predates v2.10.3: harborguard reproduces its known differences "
            "(RETENTION.md section 10) but is only exact for v2.10.3 and later"
        )
    v134 = parsed == _DOUBLESTAR_134[0] or parsed >= _DOUBLESTAR_134[1]
    return Behaviour(
        label=version or "main",
        version=parsed,
        doublestar_v111=not v134,
        go_sort=_sort_variant(_go_for(parsed)),
        immutable_untagged_legacy=major_minor <= (2, 4),
        immutable_double_strip=True,
        validates_params=major_minor <= (2, 1),
        warning=warning,
    )


def is_harbor_version(version: str) -> bool:
    """True when ``version`` reads as a Harbor release (v2.11.0, 2.9, v2.12.0-rc1...)."""
    return version.strip() == "main" or _parse(version) is not None


def same_release(one: str, other: str) -> bool:
    """True when both name the same release (v2.11.0, 2.11.0 and v2.11.0-abc1234 do)."""
    first, second = _parse(one), _parse(other)
    if first is not None or second is not None:
        return first == second
    return one.strip().lower() == other.strip().lower()


def _parse(version: str | None) -> tuple[int, int, int] | None:
    if not version:
        return None
    m = _VERSION.match(version.strip())
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)


def switches(behaviour: Behaviour) -> tuple[bool, GoSortVariant, bool, bool, bool]:
    """What decides a behaviour's decisions: two with the same switches decide alike."""
    return (behaviour.doublestar_v111, behaviour.go_sort, behaviour.immutable_untagged_legacy,
            behaviour.immutable_double_strip, behaviour.validates_params)


# Every release where a switch may change (the Go table's, doublestar's boundaries), the
# newest first.
_RELEASES = sorted({*_GO, *_DOUBLESTAR_134, (2, 6, 3), (2, 9, 4), (2, 10, 2), (2, 13, 1)},
                   reverse=True)


def candidates(primary: Behaviour) -> tuple[Behaviour, ...]:
    """For a ``primary`` whose version is unknown: every distinct behaviour of the known
    releases and main other than the primary's own, each labelled with the newest release
    that has it, the newest release first. A release newer than the known ones: the newest
    known release. A known version: none (no cost)."""
    if primary.newer:
        return tuple(b for b in (resolve("v{}.{}.{}".format(*NEWEST_KNOWN)),)
                     if switches(b) != switches(primary))
    if not primary.unknown:
        return ()
    seen = {switches(primary)}
    found = []
    for release in _RELEASES:
        behaviour = resolve("v{}.{}.{}".format(*release))
        if switches(behaviour) not in seen:
            seen.add(switches(behaviour))
            found.append(behaviour)
    return tuple(found)


def unknown_version_note(primary: Behaviour, differing: int, needed: int) -> str:
    """The report's note on a run whose Harbor version is unknown: ``differing``
    artifacts' actions depend on it, ``needed`` of them needed by the evidence."""
    newest = "v{}.{}.{}".format(*NEWEST_KNOWN)
    if primary.newer:
        said = (f"Harbor {primary.label} is newer than the newest release harborguard knows "
                f"({newest})")
    elif primary.label == "main":
        said = "Harbor version unknown"
    else:
        said = f"Harbor version {primary.label!r} not understood"
    if not differing:
        return f"{said}; no decision here depends on it"
    shown = ("as a newer version; " + newest + " decides them otherwise" if primary.newer
             else "as for a missing version; released Harbors decide them otherwise")
    return (f"{said}: the actions of {differing} artifact{'s' if differing != 1 else ''} "
            f"depend on it (shown as Harbor's main branch decides them, {shown}"
            f"{f'; {needed} needed: incomplete' if needed else ''}); pass --harbor-version "
            "(systeminfo reports it to a logged-in user)")
