"""Which Harbor release's retention behaviour to reproduce (RETENTION.md sections 10, 12).

A version string such as ``v2.11.0-abc1234`` (what /api/v2.0/systeminfo reports) selects a
set of behaviour switches. Missing, unparseable or newer than the newest known release
means Harbor's main branch.
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


def resolve(version: str | None) -> Behaviour:
    parsed = _parse(version)
    if parsed is None or parsed > NEWEST_KNOWN:
        label = "main" if version is None else version
        return Behaviour(
            label=label,
            version=None,
            doublestar_v111=False,
            go_sort="go1.24",
            immutable_untagged_legacy=False,
            immutable_double_strip=False,
            validates_params=False,
            warning=(
                None
                if parsed is not None or version is None
                else f"Harbor version {version!r} not understood; reproducing the main branch"
            ),
        )
    major_minor = parsed[:2]
    if major_minor <= (2, 6):
        go_sort: GoSortVariant = "go1.18"
    elif major_minor <= (2, 13):
        go_sort = "go1.19"
    else:
        go_sort = "go1.24"
    warning = None
    if parsed < EXACT_FROM:
        warning = (
            f"Harbor {version} predates v2.10.3: harborguard reproduces its known differences "
            "(RETENTION.md section 10) but is only exact for v2.10.3 and later"
        )
    return Behaviour(
        label=version or "main",
        version=parsed,
        doublestar_v111=parsed < EXACT_FROM,
        go_sort=go_sort,
        immutable_untagged_legacy=major_minor <= (2, 4),
        immutable_double_strip=True,
        validates_params=major_minor <= (2, 1),
        warning=warning,
    )


def _parse(version: str | None) -> tuple[int, int, int] | None:
    if not version:
        return None
    m = _VERSION.match(version.strip())
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)
