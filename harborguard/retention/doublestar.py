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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from functools import lru_cache
from typing import Any, AnyStr, TypeVar

__all__ = ["PatternError", "compile_pattern", "match"]

_RUNE_ERROR = 0xFFFD

# The interpreters are written as generators (see _solve): a step yields its recursive
# calls, (kind, pattern, name) for a component or (kind, pattern, index) for the rest.
T = TypeVar("T")
_Step = Generator[tuple[int, Any, Any], Any, T]
_COMPONENT, _MATCHING = 0, 1
_FAILED = object()  # a call that raised PatternError


class PatternError(ValueError):
    """Go's ``path.ErrBadPattern``."""

    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def _find_unescaped(s: AnyStr, ch: AnyStr, start: int = 0) -> int:
    # Go's index*WithEscaping only looks at the single preceding byte, so `\\/` counts as escaped.
    end = s.find(ch, start)
    while end > start and s[end - 1] in ("\\", 0x5C):  # str yields "\\", bytes yield 92
        end = s.find(ch, end + 1)
    return end


def _parse_class(runes: Sequence[int]) -> tuple[bool, list[tuple[int, int]]]:
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


def _class_matches(runes: Sequence[int], r: int) -> bool:
    negated, ranges = _parse_class(runes)
    return any(lo <= r <= hi for lo, hi in ranges) != negated


# ---------------------------------------------------------------- v1.3.4 interpreter


def _split_alternatives(s: str) -> tuple[list[str], int] | None:
    """Options of ``{...}`` (``s`` starts after the brace) and the index after ``}``."""
    ret: list[str] = []
    depth, esc, start, i = 1, False, 0, 0
    while depth > 0:
        if i >= len(s):
            return None
        c = s[i]
        if esc:
            esc = False
        elif c == "\\":
            esc = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 1:
            ret.append(s[start:i])
            start = i + 1
        i += 1
    ret.append(s[start : i - 1])
    return ret, i


def _is_zero_length(p: str) -> bool:
    # Go's syntactic test for "can match nothing": "***" or "*{,}" fail it, so "a***" rejects "a".
    if p in ("", "*", "**"):
        return True
    if p[0] == "{":
        split = _split_alternatives(p[1:])
        if split is None:
            raise PatternError
        options, end = split
        if not _is_zero_length(p[1 + end :]):
            return False
        return any(_is_zero_length(o) for o in options)
    return False


def _split_name(name: str) -> list[str]:
    if "/" not in name:
        return [name]
    parts: list[str] = []
    start, empty_end = 0, False
    while start < len(name):
        end = _find_unescaped(name, "/", start)
        empty_end = end != -1
        if end == -1:
            end = len(name)
        parts.append(name[start:end])
        start = end + 1
    if empty_end:
        parts.append("")
    return parts


def _match_component(pattern: str, name: str) -> _Step[list[str] | None]:
    """None: no match; []: matched, pattern used up; [p, ...]: continue with p on later parts.

    Written as Go's recursive function, with each recursive call a ``yield`` of its
    arguments: :func:`_solve` runs it without recursion and with every call's answer
    remembered (400 stars or ``**/`` segments would otherwise recurse past Python's
    limit, and retry the same sub-matches exponentially often)."""
    plen, nlen = len(pattern), len(name)
    pi = ni = 0
    while pi < plen and ni < nlen:
        pc, nc = pattern[pi], name[ni]
        if pc == "/":
            pi += 1
            break
        if pc == "\\":
            pi += 1
            if pi >= plen or pattern[pi] == "\ufffd":
                raise PatternError
            if pattern[pi] != nc:
                return None
            pi += 1
            ni += 1
        elif pc == "*":
            pi += 1
            if pi >= plen:
                return []
            if pattern[pi] == "/":
                return [pattern[pi + 1 :]]
            rest = pattern[pi:]
            # The first split that yields anything wins, and the empty suffix is never tried.
            for i in range(ni, nlen):
                found = yield (_COMPONENT, rest, name[i:])
                if found is not None:
                    return found  # type: ignore[no-any-return]
            return None
        elif pc == "[":
            end = _find_unescaped(pattern, "]", pi + 1)
            if end == -1:
                raise PatternError
            if not _class_matches([ord(c) for c in pattern[pi + 1 : end]], ord(nc)):
                return None
            pi = end + 1
            ni += 1
        elif pc == "{":
            split = _split_alternatives(pattern[pi + 1 :])
            if split is None:
                raise PatternError
            options, end = split
            rest = pattern[pi + 1 + end :]
            # Every option runs (an error in any one wins); a full match ([]) is lost when another
            # option asks to continue, because the lists are concatenated.
            results: list[str] | None = None
            for o in options:
                found = yield (_COMPONENT, o + rest, name[ni:])
                if found is not None:
                    results = (results or []) + found
            return results
        elif pc == "?" or pc == nc:
            pi += 1
            ni += 1
        else:
            return None
    if ni >= nlen:
        if pi >= plen:
            return []
        rest = pattern[pi:]
        slash = _find_unescaped(rest, "/")
        if _is_zero_length(rest if slash == -1 else rest[:slash]):
            return [] if slash == -1 else [rest[slash + 1 :]]
    return None


def _do_matching(pattern: str, parts: list[str], first: int) -> _Step[bool]:
    """Go's doMatching(pattern, parts[first:]), as _match_component is written."""
    left = len(parts) - first
    if not pattern and left == 1 and parts[first] == "":
        return True
    slash = _find_unescaped(pattern, "/")
    if (pattern if slash == -1 else pattern[:slash]) == "**":
        if slash == -1:
            return True
        rest = pattern[slash + 1 :]
        for i in range(first, len(parts)):
            try:
                if (yield (_MATCHING, rest, i)):
                    return True
            except PatternError:
                pass  # Go discards errors below a `**` component
        return False
    found = yield (_COMPONENT, pattern, parts[first])
    if found is None:
        return False
    if not found and left == 1:
        return True
    if left <= 1:
        return False
    for alt in found:
        if (yield (_MATCHING, alt, first + 1)):
            return True
    return False


# ---------------------------------------------------------------- recursion without recursion



def _solve(call: tuple[int, Any, Any], start: Callable[[tuple[int, Any, Any]], _Step[Any]]
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


# ---------------------------------------------------------------- v1.1.1 interpreter (bytes)


def _decode(b: bytes, i: int) -> tuple[int, int]:
    """Go's utf8.DecodeRuneInString(b[i:])."""
    if i >= len(b):
        return _RUNE_ERROR, 0
    c = b[i]
    if c < 0x80:
        return c, 1
    size = 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4 if 0xF0 <= c <= 0xF4 else 0
    try:
        return ord(b[i : i + size].decode()), size
    except (UnicodeDecodeError, TypeError):  # TypeError: a bad lead byte gave ord("")
        return _RUNE_ERROR, 1


def _runes(b: bytes) -> list[int]:
    out, i = [], 0
    while i < len(b):
        r, size = _decode(b, i)
        out.append(r)
        i += size
    return out


def _split_v111(s: AnyStr, sep: AnyStr) -> list[AnyStr]:
    # v1.1.1 lacks the later fix for a trailing separator: "a/" splits to ["a"], "{a,}" to ["a"].
    if sep not in s:
        return [s]
    parts: list[AnyStr] = []
    start = 0
    while start < len(s):
        end = _find_unescaped(s, sep, start)
        if end == -1:
            end = len(s)
        parts.append(s[start:end])
        start = end + 1
    return parts


def _match_component_v111(p: bytes, n: bytes) -> _Step[bool]:
    plen, nlen = len(p), len(n)
    if plen == 0:
        return nlen == 0
    if nlen == 0 and p != b"*":
        return False
    pi = ni = 0
    while pi < plen and ni < nlen:
        pr, padj = _decode(p, pi)
        nr, nadj = _decode(n, ni)
        if pr == 0x5C:
            pi += padj
            pr, padj = _decode(p, pi)
            if pr == _RUNE_ERROR:
                raise PatternError
            if pr != nr:
                return False
            pi += padj
            ni += nadj
        elif pr == 0x2A:
            pi += padj
            if pi >= plen:
                return True
            # Steps by the width of the rune under the star, never re-measured (a v1.1.1 bug),
            # and swallows errors from the rest of the component.
            for i in range(ni, nlen, nadj):
                try:
                    if (yield (_COMPONENT, p[pi:], n[i:])):
                        return True
                except PatternError:
                    pass
            return False
        elif pr == 0x5B:
            end = _find_unescaped(p, b"]", pi + 1)
            if end == -1:
                raise PatternError
            if not _class_matches(_runes(p[pi + 1 : end]), nr):
                return False
            pi = end + 1
            ni += nadj
        elif pr == 0x7B:
            end = _find_unescaped(p, b"}", pi + 1)
            if end == -1:
                raise PatternError
            rest, options = p[end + 1 :], _split_v111(p[pi + 1 : end], b",")
            for o in options:
                if (yield (_COMPONENT, o + rest, n[ni:])):
                    return True
            return False
        elif pr == 0x3F or pr == nr:
            pi += padj
            ni += nadj
        else:
            return False
    rest = p[pi:]
    return (ni >= nlen and rest in (b"", b"*")) or rest == b"**"


def _do_matching_v111(pats: list[bytes], names: list[bytes], pi: int, ni: int) -> _Step[bool]:
    while pi < len(pats) and ni < len(names):
        if pats[pi] == b"**":
            if pi + 1 >= len(pats):
                return True
            for i in range(ni, len(names)):
                try:
                    if (yield (_MATCHING, pi + 1, i)):
                        return True
                except PatternError:
                    pass
            return False
        if not (yield (_COMPONENT, pats[pi], names[ni])):
            return False
        pi += 1
        ni += 1
    return pi >= len(pats) and ni >= len(names)


# ---------------------------------------------------------------- compilation to `re`
#
# The translator runs the Go control flow symbolically over pattern strings (the same strings Go
# builds, `option + rest` included) and turns each decision on a name character into a regex atom.
# A branch records what the component leaves behind: None (the pattern is used up) or the pattern
# to continue with after the next '/'. Whenever a potential error is reachable, or Go's result is
# not a plain union of branches, it gives up and compile_pattern falls back to the interpreter.

_Groups = dict[str | None, list[str]]


class _Unsupported(Exception):
    pass


def _alt(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    if sorted(parts) == ["", "[^/]+"]:  # a trailing '*': keeps the common regexes simple
        return "[^/]*"
    return "(?:" + "|".join(parts) + ")"


def _merge(*groups: _Groups) -> _Groups:
    out: _Groups = {}
    for g in groups:
        for k, rs in g.items():
            out.setdefault(k, []).extend(rs)
    return out


def _prefix(atom: str, groups: _Groups) -> _Groups:
    return {k: [atom + _alt(rs)] for k, rs in groups.items()}


def _lit(c: str) -> str:
    # Without a backslash in the name no component holds '/', so an escaped '/' never matches.
    return "(?!)" if c == "/" else re.escape(c)


def _class_re(body: str) -> str:
    negated, ranges = _parse_class([ord(c) for c in body])
    valid = [(lo, hi) for lo, hi in ranges if lo <= hi]  # Go accepts z-a; it matches nothing
    items = "".join(f"\\U{lo:08x}" + ("" if lo == hi else f"-\\U{hi:08x}") for lo, hi in valid)
    if negated:
        return f"[^/{items}]"
    if not items:
        return "(?!)"
    return ("(?!/)" if any(lo <= 0x2F <= hi for lo, hi in valid) else "") + f"[{items}]"


class _Translator:
    def __init__(self) -> None:
        self.budget = 4000
        self.guard_empty = False  # names with an empty component must use the interpreter
        self._n: dict[str, _Groups] = {}
        self._d: dict[str, str] = {}
        self._n111: dict[str, list[str]] = {}

    def _tick(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _Unsupported

    def d(self, p: str) -> str:
        """Regex for the rest of the name, from a component start (Go's doMatching)."""
        if p not in self._d:
            self._tick()
            slash = _find_unescaped(p, "/")
            if (p if slash == -1 else p[:slash]) == "**":
                rx = ".*" if slash == -1 else "(?:[^/]*/)*" + self.d(p[slash + 1 :])
            else:
                groups = _merge(self._exhaust(p, at_start=True), self.n(p))
                parts = [f"{_alt(rs)}/{self.d(k)}" for k, rs in groups.items() if k is not None]
                if None in groups:
                    end = _alt(groups[None])
                    if parts:  # a component that also continues loses its full match
                        conts = [r for k, rs in groups.items() if k is not None for r in rs]
                        end = f"(?!{_alt(conts)}\\Z){end}"
                    parts.append(end)
                rx = _alt(parts) if parts else "(?!)"
            self._d[p] = rx
        return self._d[p]

    def _exhaust(self, q: str, *, at_start: bool = False) -> _Groups:
        """The branch taken when the name component ends with `q` left."""
        if not q:
            return {None: [""]}
        slash = _find_unescaped(q, "/")
        try:
            if not _is_zero_length(q if slash == -1 else q[:slash]):
                return {}
        except PatternError:
            if not at_start:
                raise
            self.guard_empty = True  # only an empty component gets here
            return {}
        return {None if slash == -1 else q[slash + 1 :]: [""]}

    def m(self, q: str) -> _Groups:
        return _merge(self._exhaust(q), self.n(q))

    def n(self, q: str) -> _Groups:
        """Branches of Go's matchComponent(q, s) for a non-empty s."""
        if q in self._n:
            return self._n[q]
        self._tick()
        out: _Groups = {}
        c = q[:1]
        if c == "\\":
            if len(q) < 2 or q[1] == "\ufffd":
                raise _Unsupported
            out = _prefix(_lit(q[1]), self.m(q[2:]))
        elif c == "*":
            rest = q[1:]
            if not rest or rest[0] == "/":
                out = {rest[1:] if rest else None: ["[^/]+"]}
            else:
                sub = self.n(rest)
                if len(sub) > 1:  # Go keeps only the first split that matches
                    raise _Unsupported
                out = {k: ["[^/]*" + _alt(rs)] for k, rs in sub.items()}
        elif c == "[":
            end = _find_unescaped(q, "]", 1)
            if end == -1:
                raise _Unsupported
            out = _prefix(_class_re(q[1:end]), self.m(q[end + 1 :]))
        elif c == "{":
            split = _split_alternatives(q[1:])
            if split is None:
                raise _Unsupported
            options, end = split
            out = _merge(*(self.n(o + q[1 + end :]) for o in options))
        elif c and c != "/":
            out = _prefix("[^/]" if c == "?" else _lit(c), self.m(q[1:]))
        self._n[q] = out
        return out

    def n111(self, q: str) -> list[str]:
        """Alternatives for v1.1.1's matchComponent(q, s), s non-empty and ASCII."""
        if q in self._n111:
            return self._n111[q]
        self._tick()
        out: list[str] = []
        c = q[:1]
        if c == "\\":
            if len(q) < 2 or q[1] == "\ufffd":
                raise _Unsupported
            out = self._then111(_lit(q[1]), q[2:])
        elif c == "*":
            sub = self.n111(q[1:]) if len(q) > 1 else []
            out = ["[^/]+"] if len(q) == 1 else ["[^/]*" + _alt(sub)] if sub else []
        elif c == "[":
            end = _find_unescaped(q, "]", 1)
            if end == -1:
                raise _Unsupported
            out = self._then111(_class_re(q[1:end]), q[end + 1 :])
        elif c == "{":
            end = _find_unescaped(q, "}", 1)
            if end == -1:
                raise _Unsupported
            for o in _split_v111(q[1:end], ","):
                out = out + self.n111(o + q[end + 1 :])
        elif c:
            out = self._then111("[^/]" if c == "?" else _lit(c), q[1:])
        self._n111[q] = out
        return out

    def _then111(self, atom: str, q: str) -> list[str]:
        alts = self.n111(q) + ([""] if q in ("", "*", "**") else [])
        return [atom + _alt(alts)] if alts else []


# A backtracking regex with many unbounded repeats in a row (``**/`` 400 times, 40 stars)
# takes exponential time on a name that does not match; the interpreter, memoised, takes
# polynomial time. Ordinary retention patterns have a handful.
_MAX_STARS = 24


def _translate(pattern: str, *, v111: bool = False) -> tuple[str, bool] | None:
    """(regex source, needs guard for empty components), or None if not translatable."""
    t = _Translator()
    try:
        if not v111:
            rx = t.d(pattern)
        elif any("\ud800" <= c <= "\udfff" for c in pattern):
            return None
        else:
            rx = ""
            parts = _split_v111(pattern, "/")
            for i in reversed(range(len(parts))):
                last, q = i == len(parts) - 1, parts[i]
                if q == "**":
                    rx = ".*" if last else "(?:[^/]*/)*" + rx
                    continue
                alts = t.n111(q) + ([""] if q in ("", "*") else [])
                rx = (_alt(alts) if alts else "(?!)") + ("" if last else "/" + rx)
        if len(rx) > 20_000 or rx.count("*") > _MAX_STARS:
            return None
        re.compile(rx, re.DOTALL)
    except (_Unsupported, PatternError, RecursionError, re.error):
        return None
    return rx, t.guard_empty


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
    if v111:
        p, n = (s.encode("utf-8", "surrogatepass") for s in (pattern, name))
        pats, names = _split_v111(p, b"/"), _split_v111(n, b"/")

        def start111(call: tuple[int, Any, Any]) -> _Step[Any]:
            kind, a, b = call
            if kind == _COMPONENT:
                return _match_component_v111(a, b)
            return _do_matching_v111(pats, names, a, b)

        return bool(_solve((_MATCHING, 0, 0), start111))
    parts = _split_name(name)

    def start(call: tuple[int, Any, Any]) -> _Step[Any]:
        kind, a, b = call
        if kind == _COMPONENT:
            return _match_component(a, b)
        return _do_matching(a, parts, b)

    return bool(_solve((_MATCHING, pattern, 0), start))
