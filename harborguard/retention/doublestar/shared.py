"""What both doublestar dialects share: Go's escape and character-class parsing, the runner
that executes the generator-written matchers without recursion, and the regex atoms the
translators build from. Ported from the tagged Go sources (see the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from typing import Any, AnyStr, TypeVar

# The interpreters are written as generators (see solve): a step yields its recursive
# calls, (kind, pattern, name) for a component or (kind, pattern, index) for the rest.
T = TypeVar("T")
Step = Generator[tuple[int, Any, Any], Any, T]
COMPONENT, MATCHING = 0, 1
_FAILED = object()  # a call that raised PatternError


class PatternError(ValueError):
    """Go's ``path.ErrBadPattern``."""

    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def find_unescaped(s: AnyStr, ch: AnyStr, start: int = 0) -> int:
    # Go's index*WithEscaping only looks at the single preceding byte, so `\\/` counts as escaped.
    end = s.find(ch, start)
    while end > start and s[end - 1] in ("\\", 0x5C):  # str yields "\\", bytes yield 92
        end = s.find(ch, end + 1)
    return end


def parse_class(runes: Sequence[int]) -> tuple[bool, list[tuple[int, int]]]:
    """Parse a class body exactly as Go does; any syntax error raises."""
    n = len(runes)
    if n == 0:
        raise PatternError
    negated = runes[0] == 0x5E  # '^'; '!' is an ordinary member
    i = 1 if negated else 0
    ranges: list[tuple[int, int]] = []
    while i < n:
        low = runes[i]
        if low == 0x2D:  # '-'
            raise PatternError
        i += 1
        if low == 0x5C:
            if i >= n:
                raise PatternError
            low, i = runes[i], i + 1
        high = low
        if i < n and runes[i] == 0x2D:
            i += 1
            if i >= n or runes[i] == 0x2D:
                raise PatternError
            high, i = runes[i], i + 1
            if high == 0x5C:
                if i >= n:
                    raise PatternError
                high, i = runes[i], i + 1
        ranges.append((low, high))
    return negated, ranges


def class_matches(runes: Sequence[int], r: int) -> bool:
    negated, ranges = parse_class(runes)
    return any(lo <= r <= hi for lo, hi in ranges) != negated


def solve(call: tuple[int, Any, Any], start: Callable[[tuple[int, Any, Any]], Step[Any]]
           ) -> Any:
    """Runs the generator-written function ``start(call)``: each ``yield (kind, a, b)`` is
    a recursive call, answered (or PatternError thrown in) from a memo or by running it
    on an explicit stack. The functions are pure, so remembering answers changes no
    result, and their calls strictly shrink the pattern or the name: no call waits on
    itself."""
    memo: dict[tuple[int, Any, Any], Any] = {}
    stack = [(call, start(call))]
    value: Any = None
    failed = False
    while True:
        key, step = stack[-1]
        try:
            sub = step.throw(PatternError()) if failed else step.send(value)
        except StopIteration as stop:
            result, failed = stop.value, False
        except PatternError:
            result, failed = None, True
        else:
            known = memo.get(sub, memo)
            if known is memo:
                stack.append((sub, start(sub)))
                value, failed = None, False
            else:
                value, failed = (None, True) if known is _FAILED else (known, False)
            continue
        memo[key] = _FAILED if failed else result
        stack.pop()
        if not stack:
            if failed:
                raise PatternError
            return result
        value = result


# ---------------------------------------------------------------- regex atoms for the translators


class Unsupported(Exception):
    pass


class TranslatorBudget:
    """A translator gives up (``Unsupported``) after this many distinct steps."""

    def __init__(self) -> None:
        self.budget = 4000

    def tick(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise Unsupported


def any_of(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    if sorted(parts) == ["", "[^/]+"]:  # a trailing '*': keeps the common regexes simple
        return "[^/]*"
    return "(?:" + "|".join(parts) + ")"


def literal(c: str) -> str:
    # Without a backslash in the name no component holds '/', so an escaped '/' never matches.
    return "(?!)" if c == "/" else re.escape(c)


def class_regex(body: str) -> str:
    negated, ranges = parse_class([ord(c) for c in body])
    valid = [(lo, hi) for lo, hi in ranges if lo <= hi]  # Go accepts z-a; it matches nothing
    items = "".join(f"\\U{lo:08x}" + ("" if lo == hi else f"-\\U{hi:08x}") for lo, hi in valid)
    if negated:
        return f"[^/{items}]"
    if not items:
        return "(?!)"
    return ("(?!/)" if any(lo <= 0x2F <= hi for lo, hi in valid) else "") + f"[{items}]"
