"""Tag -> version, for ``--order semver`` and the version findings (docs/DESIGN.md, "Versions").

Harbor orders count rules by push or pull time; people mean "the newest versions". This
module reads the version a tag names so the two can be compared. Precedence is SemVer 2.0's,
as the ``semver`` package implements it: build metadata is ignored and equal versions are
equal, so the order is a total preorder (``0.0.131`` == ``0.0.131_image``).

Default rules (``parse_tag(tag)``), applied to the whole tag:

* ``MAJOR.MINOR.PATCH``, then optionally ``-PRERELEASE``, then optionally ``+BUILD`` or
  ``_BUILD``: Helm writes ``+`` as ``_`` in OCI tags, so ``0.0.131_image`` is ``0.0.131`` with
  build metadata ``image``. A suffix such as ``0.0.131-20240222212602-322f874b`` is a SemVer
  pre-release: it ranks below ``0.0.131`` and its one identifier (``-`` does not split
  identifiers; only ``.`` does) compares as ASCII text, which orders same-width timestamps.
* A leading lower-case ``v`` is dropped (``v1.2.3``); ``V`` is not, as no tool writes it.
* Partial versions: ``1.2`` is ``1.2.0`` and ``1`` is ``1.0.0``, each optionally with build
  metadata. A partial version with a ``-suffix`` has no version: ``22-alpine``, ``3.12-slim``
  and ``16-bookworm`` are moving variant tags, not pre-releases, and reading them as
  pre-releases would rank ``3.12-slim`` between ``3.11.9`` and ``3.12.0``. ``22-stable`` and
  ``22-20240203`` fall here too; ``--version-pattern`` reads them if they are versions.
* A bare number (no dot) is a version only with at most six digits and no leading zero
  (``22``, ``1234``). Git abbreviates shas to seven or more hex digits by default, and
  2-4% of seven- and eight-digit ones are all decimal: ranked as versions, they would
  outrank every real version. Dates such as ``20240203`` fall here too: use
  ``--version-pattern``.
* Leading zeros, which SemVer forbids, are read by value in the dotted core and in numeric
  pre-release identifiers: CalVer tags such as ``24.04`` and ``2024.02.03`` and fixed-width
  time fields then order correctly, and ``1.02.3`` simply equals ``1.2.3``. ``Version.semver``
  holds the normalised (valid) SemVer.
* Everything else has no version: ``latest``, ``main``, shas (they contain a letter, or are
  bare numbers of seven or more digits), cosign's ``sha256-<hex>.sig``, four-part versions
  (``1.2.3.4``), empty identifiers (``1.2.3-rc..1``), a second ``+``/``_``, and characters
  outside ``[0-9A-Za-z-.]`` in the pre-release or build part.

``--version-pattern REGEX`` replaces these rules; see ``VersionPattern``.

Parsing is memoised per distinct tag (and pattern), so repeated passes (simulate, findings,
the table) parse each tag once; the memo is emptied at 131,072 entries rather than grow
without bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import semver

__all__ = [
    "Version",
    "VersionPattern",
    "artifact_version",
    "describe_fates",
    "fate_ranges",
    "parse_tag",
    "short_labels",
    "shortened_labels",
]

# Large enough for a whole Harbor instance's distinct tags in one run, small enough that the
# cache cannot grow without bound in a long-lived process.
_CACHE_SIZE = 1 << 17

_IDENTS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"

# The pre-release may only follow a full MAJOR.MINOR.PATCH (see the module docstring). Two
# expressions, because one with nested optional groups is a third slower on the common shape.
_FULL = re.compile(
    r"v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:-(" + _IDENTS + r"))?(?:[+_](" + _IDENTS + r"))?"
)
_PARTIAL = re.compile(r"v?([0-9]+)(?:\.([0-9]+))?(?:[+_](" + _IDENTS + r"))?")
# See the module docstring: longer bare numbers are too often all-decimal short shas.
_BARE_MAJOR_DIGITS = 6
_PRERELEASE = re.compile(_IDENTS)
_ASCII_DIGITS = re.compile(r"[0-9]+")

_GROUPS_REQUIRED = ("major", "minor", "patch")
_GROUPS_ALLOWED = frozenset((*_GROUPS_REQUIRED, "pre", "key"))

# The first element of a sort key: tags without a key rank below every keyed tag.
_NO_KEY: tuple[int] = (0,)
_NUMERIC_KEY = 1
_TEXT_KEY = 2

_RELEASE = 1
_PRE = 0

PreIdentifier = tuple[int, int] | tuple[int, str]
KeyPart = tuple[int] | tuple[int, int] | tuple[int, str]
SortKey = tuple[KeyPart, int, int, int, int, tuple[PreIdentifier, ...]]


class Version:
    """The version one tag names; compare with ``<``, ``==`` and friends, or sort directly.

    Comparison and hashing use ``sort_key`` only: ``(key part, major, minor, patch,
    release flag, pre-release identifiers)``, plain tuples that order as SemVer precedence
    (a release above its pre-releases; numeric identifiers by value and below alphanumeric
    ones; a shorter identifier list below a longer one with the same prefix). Two tags with
    equal versions (``0.0.131`` and ``0.0.131_image``) compare equal; ``tag`` says which tag
    was read. To sort many, ``key=operator.attrgetter("sort_key")`` compares in C, several
    times faster than the methods below.

    Build instances with ``parse_tag``.
    """

    __slots__ = ("tag", "sort_key", "build", "key", "_semver")

    def __init__(
        self, tag: str, sort_key: SortKey, build: str | None, key: int | str | None
    ) -> None:
        self.tag = tag
        self.sort_key = sort_key
        self.build = build
        self.key = key  # the --version-pattern ordering key, if any
        self._semver: semver.Version | None = None

    @property
    def major(self) -> int:
        return self.sort_key[1]

    @property
    def minor(self) -> int:
        return self.sort_key[2]

    @property
    def patch(self) -> int:
        return self.sort_key[3]

    @property
    def prerelease(self) -> str | None:
        """Normalised: numeric identifiers without leading zeros."""
        idents = self.sort_key[5]
        return ".".join(str(ident[1]) for ident in idents) if idents else None

    @property
    def semver(self) -> semver.Version:
        # Built on first use: constructing semver.Version costs as much as the whole parse,
        # and ordering never needs it.
        if self._semver is None:
            self._semver = semver.Version(
                self.major, self.minor, self.patch, self.prerelease, self.build
            )
        return self._semver

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key == other.sort_key

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key != other.sort_key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key < other.sort_key

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key <= other.sort_key

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key > other.sort_key

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.sort_key >= other.sort_key

    def __hash__(self) -> int:
        return hash(self.sort_key)

    def __repr__(self) -> str:
        key = "" if self.key is None else f", key={self.key!r}"
        return f"Version({self.tag!r} -> {str(self.semver)!r}{key})"


def _pre_identifiers(prerelease: str) -> tuple[PreIdentifier, ...]:
    # One identifier is the common case (rc1, a build stamp): skip the split.
    if "." not in prerelease:
        return ((0, int(prerelease)),) if prerelease.isdigit() else ((1, prerelease),)
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in prerelease.split(".")
    )


def _sort_key(
    key_part: KeyPart, major: int, minor: int, patch: int, prerelease: str | None
) -> SortKey:
    if prerelease:
        return (key_part, major, minor, patch, _PRE, _pre_identifiers(prerelease))
    return (key_part, major, minor, patch, _RELEASE, ())


_full_match = _FULL.fullmatch
_partial_match = _PARTIAL.fullmatch

# Core numbers are nearly always small; a dict lookup is several times cheaper than int().
_SMALL: dict[str, int] = {str(n): n for n in range(1000)}

# A plain dict, emptied when full, rather than lru_cache: an LRU entry is one more
# GC-tracked object per tag, and hits through it cost twice as much.
_default_cache: dict[str, Version | None] = {}


def _parse_default(tag: str) -> Version | None:
    match = _full_match(tag)
    small = _SMALL
    if match is not None:
        major, minor, patch, pre, build = match.groups()
        x = small[major] if major in small else int(major)
        y = small[minor] if minor in small else int(minor)
        z = small[patch] if patch in small else int(patch)
        if pre is None:
            sort_key: SortKey = (_NO_KEY, x, y, z, _RELEASE, ())
        else:
            sort_key = (_NO_KEY, x, y, z, _PRE, _pre_identifiers(pre))
        return Version(tag, sort_key, build, None)
    match = _partial_match(tag)
    if match is None:
        return None
    major, minor, build = match.groups()
    if minor is None:
        if len(major) > _BARE_MAJOR_DIGITS or (major[0] == "0" and major != "0"):
            return None
        return Version(tag, (_NO_KEY, int(major), 0, 0, _RELEASE, ()), build, None)
    return Version(tag, (_NO_KEY, int(major), int(minor), 0, _RELEASE, ()), build, None)


class VersionPattern:
    """``--version-pattern REGEX``: how a repository's tags name versions, instead of the
    default rules.

    * The regular expression (Python syntax) must match the whole tag (``re.fullmatch``);
      a tag it does not match has no version. The tag is seen as-is: no ``v`` is dropped and
      ``_`` means nothing special.
    * Named groups ``major``, ``minor`` and ``patch`` must exist; one that does not take
      part in a match, or matches the empty string, reads as 0 (``(?P<patch>)`` for
      two-part versions). A non-empty value that is not all ASCII digits means no version.
    * ``pre`` (optional) is a SemVer pre-release, compared by SemVer's rules (leading zeros
      read by value, as by default); an invalid one means no version.
    * ``key`` (optional) orders instead of the version, which then only breaks ties between
      equal keys. A key of ASCII digits compares as a number (a build number 9 below 10;
      timestamps of equal width as they read); any other key compares as text (code point
      order) and ranks above every numeric key, like SemVer's identifiers. A tag matched
      without a key (the group did not take part, or is empty) ranks below every keyed tag.
      That is how a reset is fixed: builds-api went from ``0.3.2`` to
      ``0.0.74-20230703093021-bc9eeee6``, and the pattern

          (?P<major>[0-9]+)\\.(?P<minor>[0-9]+)\\.(?P<patch>[0-9]+)(?:-(?P<key>[0-9]{14})-[0-9a-f]+)?

      ranks the old, unstamped 0.x releases below every stamped build, and the builds by
      their timestamp.
    * Other named groups are refused, so a misspelt ``(?P<prerelease>...)`` cannot be
      silently ignored.

    Bad patterns raise ``ValueError`` with a one-line message that names the option.
    """

    __slots__ = ("source", "regex", "_cache")

    def __init__(self, source: str) -> None:
        try:
            regex = re.compile(source)
        except re.error as exc:
            raise ValueError(
                f"--version-pattern: not a valid regular expression: {exc}"
            ) from None
        names = set(regex.groupindex)
        missing = [name for name in _GROUPS_REQUIRED if name not in names]
        if missing:
            raise ValueError(
                f"--version-pattern: missing named group(s) {', '.join(missing)}; "
                "it needs (?P<major>...), (?P<minor>...) and (?P<patch>...)"
            )
        unknown = sorted(names - _GROUPS_ALLOWED)
        if unknown:
            raise ValueError(
                f"--version-pattern: unknown named group(s) {', '.join(unknown)}; "
                "use major, minor, patch and optionally pre and key"
            )
        self.source = source
        self.regex = regex
        # Per instance, so patterns never share entries and a pattern's cache goes with it.
        self._cache: dict[str, Version | None] = {}

    def parse(self, tag: str) -> Version | None:
        """The version ``tag`` names under this pattern (memoised), or None."""
        cache = self._cache
        if tag in cache:
            return cache[tag]
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        version = cache[tag] = self._parse_uncached(tag)
        return version

    def _parse_uncached(self, tag: str) -> Version | None:
        match = self.regex.fullmatch(tag)
        if match is None:
            return None
        numbers: list[int] = []
        for name in _GROUPS_REQUIRED:
            value = match.group(name)
            if not value:
                numbers.append(0)
            elif _ASCII_DIGITS.fullmatch(value) is None:
                return None
            else:
                numbers.append(int(value))
        pre = match.group("pre") if "pre" in self.regex.groupindex else None
        if pre and _PRERELEASE.fullmatch(pre) is None:
            return None
        raw_key = match.group("key") if "key" in self.regex.groupindex else None
        key: int | str | None
        key_part: KeyPart
        if not raw_key:
            key, key_part = None, _NO_KEY
        elif _ASCII_DIGITS.fullmatch(raw_key):
            key = int(raw_key)
            key_part = (_NUMERIC_KEY, key)
        else:
            key = raw_key
            key_part = (_TEXT_KEY, key)
        major, minor, patch = numbers
        return Version(tag, _sort_key(key_part, major, minor, patch, pre), None, key)

    def __repr__(self) -> str:
        return f"VersionPattern({self.source!r})"


def parse_tag(tag: str, pattern: VersionPattern | None = None) -> Version | None:
    """The version ``tag`` names, or None when it names none (module docstring)."""
    if pattern is not None:
        return pattern.parse(tag)
    if tag in _default_cache:
        return _default_cache[tag]
    if len(_default_cache) >= _CACHE_SIZE:
        _default_cache.clear()
    version = _default_cache[tag] = _parse_default(tag)
    return version


def artifact_version(tags: Iterable[str], pattern: VersionPattern | None = None) -> Version | None:
    """The highest version among an artifact's tags (docs/DESIGN.md, ``--order semver``); of equal
    highest versions, the first in ``tags``. None when no tag names a version."""
    best: Version | None = None
    for tag in tags:
        version = parse_tag(tag, pattern)
        if version is not None and (best is None or version > best):
            best = version
    return best


# A pre-release that is only a build stamp: a date or timestamp of 8+ digits, optionally
# followed by a commit id (toolforge-cd's 0.0.131-20240222212602-322f874b). Only such a
# suffix is dropped from labels: ``1.0.0-rc.1`` shown as ``1.0.0`` would claim a release.
_STAMPED = re.compile(
    r"(?P<head>v?[0-9]+\.[0-9]+\.[0-9]+)-[0-9]{8,}(?:[-.][0-9a-fA-F]{7,40})?"
    r"(?P<tail>[+_][0-9A-Za-z.-]+)?"
)


_short_memo: dict[str, str] = {}  # tag -> its label without a build stamp


def short_labels(tags: Iterable[str]) -> dict[str, str]:
    """A display label for each tag: the tag without its build-stamp pre-release
    (``0.0.131-20240222212602-322f874b_image`` -> ``0.0.131_image``) when no other tag in
    ``tags`` would read the same, otherwise the tag as-is.

    Build metadata stays, because it is what tells a chart (``0.0.131``) from its image
    (``0.0.131_image``) in the same repository."""
    distinct = dict.fromkeys(tags)
    changed = shortened_labels(distinct)
    return {tag: changed.get(tag, tag) for tag in distinct}


def shortened_labels(tags: Iterable[str]) -> dict[str, str]:
    """``short_labels`` for the tags whose label differs from the tag only (look labels up
    with ``.get(tag, tag)``): most tags have no build stamp, and this runs per repository."""
    distinct = tags if isinstance(tags, dict) else dict.fromkeys(tags)
    memo = _short_memo
    memo_get = memo.get
    candidates: dict[str, str] = {}
    for tag in distinct:
        label = memo_get(tag)
        if label is None:
            match = _STAMPED.fullmatch(tag)
            label = tag if match is None else match["head"] + (match["tail"] or "")
            if len(memo) >= _CACHE_SIZE:
                memo.clear()
            memo[tag] = label
        if label != tag:
            candidates[tag] = label
    if not candidates:
        return candidates
    claims: dict[str, int] = {}
    for label in candidates.values():
        claims[label] = claims.get(label, 0) + 1
    # A short label must be claimed by this tag alone and must not be another tag's name
    # (a tag whose label is itself claims it too, hence "in distinct").
    return {
        tag: label for tag, label in candidates.items()
        if claims[label] == 1 and label not in distinct
    }


def fate_ranges(
    items: Sequence[tuple[Version, str, bool]], *, sep: str = "..", shorten: bool = True
) -> tuple[list[str], list[str]]:
    """Runs of kept and of deleted versions in one repository, for the table view.

    ``items`` holds ``(version, display tag, kept)`` for every versioned artifact of the
    repository, in any order (artifacts without a version belong to no run; list them
    apart). A run is a maximal sequence of consecutive items in version order that share a
    fate; it reads ``first..last``, or one label for a run of one. Equal versions are
    ordered by label, so a tie with mixed fates splits deterministically. ``sep`` joins a
    range: the default ``..`` because ``-`` already occurs inside pre-release tags.
    Returns ``(kept runs, deleted runs)``, each in ascending version order.
    """
    ordered = sorted(items, key=lambda item: (item[0].sort_key, item[1]))
    labels = shortened_labels(item[1] for item in ordered) if shorten else {}
    kept: list[str] = []
    deleted: list[str] = []
    start = 0
    for end in range(1, len(ordered) + 1):
        if end < len(ordered) and ordered[end][2] == ordered[start][2]:
            continue
        first = labels.get(ordered[start][1], ordered[start][1])
        last = labels.get(ordered[end - 1][1], ordered[end - 1][1])
        text = first if first == last else f"{first}{sep}{last}"
        (kept if ordered[start][2] else deleted).append(text)
        start = end
    return kept, deleted


def describe_fates(
    items: Sequence[tuple[Version, str, bool]], *, sep: str = "..", shorten: bool = True
) -> str:
    """``"keeps 0.0.90..0.0.99, 0.0.131; deletes 0.0.100..0.0.130"`` (``fate_ranges``); a
    side with no versions is left out, and no versions at all gives ``""``."""
    kept, deleted = fate_ranges(items, sep=sep, shorten=shorten)
    parts = []
    if kept:
        parts.append("keeps " + ", ".join(kept))
    if deleted:
        parts.append("deletes " + ", ".join(deleted))
    return "; ".join(parts)
