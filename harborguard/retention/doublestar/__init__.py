"""Port of ``github.com/bmatcuk/doublestar`` ``Match`` (separator ``/``).

Harbor evaluates retention patterns with this library: v1.3.4 from Harbor v2.10.3 on, v1.1.1 up
to v2.10.2 (``v111=True``). Both are ported from the tagged Go sources, quirks included, because
a simulator must agree with Harbor on every tag, including which patterns fail and when.

Errors are lazy, as in Go: a malformed pattern raises :class:`PatternError` only when matching
reaches the malformed part (``v[1`` against ``x1`` is simply False, against ``v1`` it raises).

The empty pattern follows the library: it matches only the empty name. Harbor's "empty pattern
matches everything" rule lives outside doublestar and is deliberately not applied here.

Names are Python strings; Go sees their UTF-8 bytes. v1.3.4 is rune-aligned, so working on code
points is exact. v1.1.1 is ported on bytes because its ``*`` steps by the byte width of the rune
where the star started, which can land inside a multi-byte rune.

Layout: ``v1_3`` and ``v1_1`` hold one dialect each (the interpreter and the translator to a
regex), ``shared`` what both use; this module picks the dialect and compiles a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from harborguard.retention.doublestar import v1_1, v1_3
from harborguard.retention.doublestar.shared import PatternError, Unsupported

__all__ = ["PatternError", "compile_pattern", "match"]


# A backtracking regex with many unbounded repeats in a row (``**/`` 400 times, 40 stars)
# takes exponential time on a name that does not match; the interpreter, memoised, takes
# polynomial time. Ordinary retention patterns have a handful.
_MAX_STARS = 24


def _translate(pattern: str, *, v111: bool = False) -> tuple[str, bool] | None:
    """(regex source, needs guard for empty components), or None if not translatable."""
    try:
        if not v111:
            rx, guard_empty = v1_3.translate(pattern)
        else:
            translated = v1_1.translate(pattern)
            if translated is None:
                return None
            rx, guard_empty = translated, False
        if len(rx) > 20_000 or rx.count("*") > _MAX_STARS:
            return None
        re.compile(rx, re.DOTALL)
    except (Unsupported, PatternError, RecursionError, re.error):
        return None
    return rx, guard_empty


def compile_pattern(pattern: str, *, v111: bool = False) -> Callable[[str], bool]:
    """A matcher equivalent to ``lambda name: match(pattern, name, v111=v111)``, but fast.

    Patterns that translate (the usual retention patterns all do) run as one anchored regex.
    Untranslatable patterns (malformed ones among them, so errors stay lazy and exact) and names
    the regex cannot speak for (a backslash in the name; for some patterns an empty component;
    non-ASCII names under v1.1.1) go to the memoised interpreter.
    """

    @lru_cache(maxsize=1 << 16)
    def slow(name: str) -> bool:
        return match(pattern, name, v111=v111)

    translated = _translate(pattern, v111=v111)
    if translated is None:
        return slow
    source, guard_empty = translated
    full = re.compile(source, re.DOTALL).fullmatch

    if v111:

        def matcher(name: str) -> bool:
            # The byte-stepping star bug needs the interpreter for non-ASCII names.
            if "\\" in name or not name.isascii():
                return slow(name)
            # v1.1.1 drops one trailing empty component when splitting the name.
            return full(name[:-1] if name[-1:] == "/" else name) is not None

    elif guard_empty:

        def matcher(name: str) -> bool:
            if "\\" in name or not name or name[0] == "/" or name[-1] == "/" or "//" in name:
                return slow(name)
            return full(name) is not None

    else:

        def matcher(name: str) -> bool:
            # A backslash in a name can hide a '/' from Go's name splitter.
            return slow(name) if "\\" in name else full(name) is not None

    return matcher


def match(pattern: str, name: str, *, v111: bool = False) -> bool:
    """doublestar ``Match(pattern, name)``; raises PatternError where Go returns ErrBadPattern."""
    return v1_1.match(pattern, name) if v111 else v1_3.match(pattern, name)
