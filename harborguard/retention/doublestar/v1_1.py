"""doublestar v1.1.1 ``Match`` (separator ``/``), the dialect of Harbor up to v2.10.2: an
interpreter ported from the tagged Go source (commit 85a7880, quirks included) and a translator
that turns a pattern into one anchored regex where the result is the same.

v1.1.1 is ported on UTF-8 bytes because its ``*`` steps by the byte width of the rune where
the star started, which can land inside a multi-byte rune."""

from __future__ import annotations

from typing import Any, AnyStr

from harborguard.retention.doublestar.shared import (
    COMPONENT,
    MATCHING,
    PatternError,
    Step,
    TranslatorBudget,
    Unsupported,
    any_of,
    class_matches,
    class_regex,
    find_unescaped,
    literal,
    solve,
)

_RUNE_ERROR = 0xFFFD


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


def split_v111(s: AnyStr, sep: AnyStr) -> list[AnyStr]:
    # v1.1.1 lacks the later fix for a trailing separator: "a/" splits to ["a"], "{a,}" to ["a"].
    if sep not in s:
        return [s]
    parts: list[AnyStr] = []
    start = 0
    while start < len(s):
        end = find_unescaped(s, sep, start)
        if end == -1:
            end = len(s)
        parts.append(s[start:end])
        start = end + 1
    return parts


def _match_component_v111(p: bytes, n: bytes) -> Step[bool]:
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
                    if (yield (COMPONENT, p[pi:], n[i:])):
                        return True
                except PatternError:
                    pass
            return False
        elif pr == 0x5B:
            end = find_unescaped(p, b"]", pi + 1)
            if end == -1:
                raise PatternError
            if not class_matches(_runes(p[pi + 1 : end]), nr):
                return False
            pi = end + 1
            ni += nadj
        elif pr == 0x7B:
            end = find_unescaped(p, b"}", pi + 1)
            if end == -1:
                raise PatternError
            rest, options = p[end + 1 :], split_v111(p[pi + 1 : end], b",")
            for o in options:
                if (yield (COMPONENT, o + rest, n[ni:])):
                    return True
            return False
        elif pr == 0x3F or pr == nr:
            pi += padj
            ni += nadj
        else:
            return False
    rest = p[pi:]
    return (ni >= nlen and rest in (b"", b"*")) or rest == b"**"


def _do_matching_v111(pats: list[bytes], names: list[bytes], pi: int, ni: int) -> Step[bool]:
    while pi < len(pats) and ni < len(names):
        if pats[pi] == b"**":
            if pi + 1 >= len(pats):
                return True
            for i in range(ni, len(names)):
                try:
                    if (yield (MATCHING, pi + 1, i)):
                        return True
                except PatternError:
                    pass
            return False
        if not (yield (COMPONENT, pats[pi], names[ni])):
            return False
        pi += 1
        ni += 1
    return pi >= len(pats) and ni >= len(names)


def match(pattern: str, name: str) -> bool:
    """doublestar v1.1.1 ``Match(pattern, name)``; raises PatternError where Go returns
    ErrBadPattern."""
    p, n = (s.encode("utf-8", "surrogatepass") for s in (pattern, name))
    pats, names = split_v111(p, b"/"), split_v111(n, b"/")

    def start111(call: tuple[int, Any, Any]) -> Step[Any]:
        kind, a, b = call
        if kind == COMPONENT:
            return _match_component_v111(a, b)
        return _do_matching_v111(pats, names, a, b)

    return bool(solve((MATCHING, 0, 0), start111))


# ---------------------------------------------------------------- compilation to `re`


class _Translator(TranslatorBudget):
    def __init__(self) -> None:
        super().__init__()
        self._n111: dict[str, list[str]] = {}

    def n111(self, q: str) -> list[str]:
        """Alternatives for v1.1.1's matchComponent(q, s), s non-empty and ASCII."""
        if q in self._n111:
            return self._n111[q]
        self.tick()
        out: list[str] = []
        c = q[:1]
        if c == "\\":
            if len(q) < 2 or q[1] == "\ufffd":
                raise Unsupported
            out = self._then111(literal(q[1]), q[2:])
        elif c == "*":
            sub = self.n111(q[1:]) if len(q) > 1 else []
            out = ["[^/]+"] if len(q) == 1 else ["[^/]*" + any_of(sub)] if sub else []
        elif c == "[":
            end = find_unescaped(q, "]", 1)
            if end == -1:
                raise Unsupported
            out = self._then111(class_regex(q[1:end]), q[end + 1 :])
        elif c == "{":
            end = find_unescaped(q, "}", 1)
            if end == -1:
                raise Unsupported
            for o in split_v111(q[1:end], ","):
                out = out + self.n111(o + q[end + 1 :])
        elif c:
            out = self._then111("[^/]" if c == "?" else literal(c), q[1:])
        self._n111[q] = out
        return out

    def _then111(self, atom: str, q: str) -> list[str]:
        alts = self.n111(q) + ([""] if q in ("", "*", "**") else [])
        return [atom + any_of(alts)] if alts else []


def translate(pattern: str) -> str | None:
    """The regex source of ``pattern``; None when it holds surrogates; raises ``Unsupported``
    (or PatternError, RecursionError) when it does not translate."""
    if any("\ud800" <= c <= "\udfff" for c in pattern):
        return None
    t = _Translator()
    rx = ""
    parts = split_v111(pattern, "/")
    for i in reversed(range(len(parts))):
        last, q = i == len(parts) - 1, parts[i]
        if q == "**":
            rx = ".*" if last else "(?:[^/]*/)*" + rx
            continue
        alts = t.n111(q) + ([""] if q in ("", "*") else [])
        rx = (any_of(alts) if alts else "(?!)") + ("" if last else "/" + rx)
    return rx
