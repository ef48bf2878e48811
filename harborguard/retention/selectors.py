"""Harbor's selector index: the ``doublestar`` kind with its six decorations.

Mirrors src/lib/selector/selectors/{index,doublestar}: building a selector can fail (an
unregistered kind such as ``label``, an unknown decoration), and selecting can fail when the
doublestar matcher reaches a malformed part of the pattern.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from harborguard.retention.doublestar import PatternError, compile_pattern

__all__ = ["PatternError", "SelectorBuildError", "Selectable", "Selector", "build_selector"]

DECORATIONS = ("matches", "excludes", "repoMatches", "repoExcludes", "nsMatches", "nsExcludes")


class SelectorBuildError(Exception):
    """Harbor's index.Get refused the selector; the message is Harbor's."""


class Selectable(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


C = TypeVar("C", bound=Selectable)


class _CachedMatcher:
    """A compiled pattern with a memo of its answers: the same tags recur across
    repositories and rules. Errors are not memoised, so they surface every time."""

    __slots__ = ("_match", "_memo")

    def __init__(self, match: Callable[[str], bool]) -> None:
        self._match = match
        self._memo: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        memo = self._memo
        result = memo.get(name)
        if result is None:
            result = bool(self._match(name))
            if len(memo) < 500_000:
                memo[name] = result
        return result


@lru_cache(maxsize=4096)
def _matcher(pattern: str, v111: bool) -> Callable[[str], bool]:
    if pattern == "":
        # Harbor's match() special-cases the empty pattern before calling doublestar.
        return _always
    return _CachedMatcher(compile_pattern(pattern, v111=v111))


def _always(_: str) -> bool:
    return True


@lru_cache(maxsize=1024)
def untagged_flag(decoration: str, extras: str) -> bool:
    """The selector's ``untagged`` flag exactly as Go's json.Unmarshal leaves it."""
    default = decoration != "excludes"
    if extras == "":
        return default
    try:
        pairs = json.loads(extras, object_pairs_hook=_Object, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return default
    if pairs is None:
        return False  # JSON null into a struct is a no-op: the field stays false
    if not isinstance(pairs, _Object):
        return default  # an array, string, number or bool cannot fill a struct
    value = False
    type_error = False
    # Every key that folds to the field name sets it, in document order (Go's decoder).
    for item in (v for k, v in pairs if k.lower() == "untagged"):
        if item is None:
            continue
        if isinstance(item, bool):
            value = item
        else:
            type_error = True
    return default if type_error else value


class _Object(list[tuple[str, Any]]):
    """A JSON object's key/value pairs, duplicates and order kept."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Go's JSON has no {name}")


class Selector:
    """One doublestar selector; ``select`` keeps input order like Harbor's."""

    __slots__ = ("decoration", "pattern", "untagged", "_match")

    def __init__(self, decoration: str, pattern: str, extras: str, v111: bool) -> None:
        self.decoration = decoration
        self.pattern = pattern
        self.untagged = untagged_flag(decoration, extras)
        self._match = _matcher(pattern, v111)

    @property
    def on_tags(self) -> bool:
        """matches/excludes look at the tags; the other decorations at a name."""
        return self.decoration in ("matches", "excludes")

    def accepts_tags(self, tags: tuple[str, ...]) -> bool:
        """matches/excludes on one tag list, in Harbor's order (first decisive tag wins)."""
        if not tags:
            return self.untagged is (self.decoration == "matches")
        wanted = self.decoration == "matches"
        match = self._match
        for tag in tags:
            if match(tag) is wanted:
                return True
        return False

    def accepts(self, candidate: Selectable) -> bool:
        """Raises PatternError when the matcher reaches a malformed part of the pattern."""
        decoration = self.decoration
        if decoration == "matches" or decoration == "excludes":
            return self.accepts_tags(candidate.tags)
        value = candidate.repository if decoration.startswith("repo") else candidate.namespace
        if not value:
            return False  # Harbor only matches a non-empty name
        matched = self._match(value)
        return matched != decoration.endswith("Excludes")

    def select(self, candidates: Sequence[C]) -> list[C]:
        """Selector.Select: keeps input order; raises PatternError like Harbor's."""
        if not self.on_tags:
            accepts = self.accepts
            return [c for c in candidates if accepts(c)]
        match = self._match
        memo = match._memo if isinstance(match, _CachedMatcher) else {}
        untagged_selected = self.untagged is (self.decoration == "matches")
        wanted = self.decoration == "matches"  # excludes selects on the first non-matching tag
        out: list[C] = []
        append = out.append
        for c in candidates:
            tags = c.tags
            if tags:
                for tag in tags:
                    hit = memo.get(tag)
                    if hit is None:
                        hit = match(tag)
                    if hit is wanted:
                        append(c)
                        break
            elif untagged_selected:
                append(c)
        return out


def build_selector(
    kind: str, decoration: str, pattern: str, extras: str, *, v111: bool
) -> Selector:
    if not kind or not decoration:
        raise SelectorBuildError("empty selector kind or decoration")
    if kind != "doublestar":
        raise SelectorBuildError(f"selector {kind} is not registered")
    if decoration not in DECORATIONS:
        raise SelectorBuildError(f"decoration {decoration} of selector {kind} is not supported")
    return Selector(decoration, pattern, extras, v111)
