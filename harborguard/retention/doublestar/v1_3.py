"""doublestar v1.3.4 ``Match`` (separator ``/``), the dialect of Harbor v2.10.3 and later:
an interpreter ported from the tagged Go source (commit ec92414, quirks included) and a
translator that turns a pattern into one anchored regex where the result is the same.

v1.3.4 is rune-aligned, so working on Python code points is exact."""

from __future__ import annotations

from typing import Any

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
        end = find_unescaped(name, "/", start)
        empty_end = end != -1
        if end == -1:
            end = len(name)
        parts.append(name[start:end])
        start = end + 1
    if empty_end:
        parts.append("")
    return parts


def _match_component(pattern: str, name: str) -> Step[list[str] | None]:
    """None: no match; []: matched, pattern used up; [p, ...]: continue with p on later parts.

    Written as Go's recursive function, with each recursive call a ``yield`` of its
    arguments: :func:`solve` runs it without recursion and with every call's answer
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
                found = yield (COMPONENT, rest, name[i:])
                if found is not None:
                    return found  # type: ignore[no-any-return]
            return None
        elif pc == "[":
            end = find_unescaped(pattern, "]", pi + 1)
            if end == -1:
                raise PatternError
            if not class_matches([ord(c) for c in pattern[pi + 1 : end]], ord(nc)):
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
                found = yield (COMPONENT, o + rest, name[ni:])
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
        slash = find_unescaped(rest, "/")
        if _is_zero_length(rest if slash == -1 else rest[:slash]):
            return [] if slash == -1 else [rest[slash + 1 :]]
    return None


def _do_matching(pattern: str, parts: list[str], first: int) -> Step[bool]:
    """Go's doMatching(pattern, parts[first:]), as _match_component is written."""
    left = len(parts) - first
    if not pattern and left == 1 and parts[first] == "":
        return True
    slash = find_unescaped(pattern, "/")
    if (pattern if slash == -1 else pattern[:slash]) == "**":
        if slash == -1:
            return True
        rest = pattern[slash + 1 :]
        for i in range(first, len(parts)):
            try:
                if (yield (MATCHING, rest, i)):
                    return True
            except PatternError:
                pass  # Go discards errors below a `**` component
        return False
    found = yield (COMPONENT, pattern, parts[first])
    if found is None:
        return False
    if not found and left == 1:
        return True
    if left <= 1:
        return False
    for alt in found:
        if (yield (MATCHING, alt, first + 1)):
            return True
    return False


def match(pattern: str, name: str) -> bool:
    """doublestar v1.3.4 ``Match(pattern, name)``; raises PatternError where Go returns
    ErrBadPattern."""
    parts = _split_name(name)

    def start(call: tuple[int, Any, Any]) -> Step[Any]:
        kind, a, b = call
        if kind == COMPONENT:
            return _match_component(a, b)
        return _do_matching(a, parts, b)

    return bool(solve((MATCHING, pattern, 0), start))


# ---------------------------------------------------------------- compilation to `re`
#
# The translator runs the Go control flow symbolically over pattern strings (the same strings Go
# builds, `option + rest` included) and turns each decision on a name character into a regex atom.
# A branch records what the component leaves behind: None (the pattern is used up) or the pattern
# to continue with after the next '/'. Whenever a potential error is reachable, or Go's result is
# not a plain union of branches, it gives up and compile_pattern falls back to the interpreter.

_Groups = dict[str | None, list[str]]


def _merge(*groups: _Groups) -> _Groups:
    out: _Groups = {}
    for g in groups:
        for k, rs in g.items():
            out.setdefault(k, []).extend(rs)
    return out


def _prefix(atom: str, groups: _Groups) -> _Groups:
    return {k: [atom + any_of(rs)] for k, rs in groups.items()}


class _Translator(TranslatorBudget):
    def __init__(self) -> None:
        super().__init__()
        self.guard_empty = False  # names with an empty component must use the interpreter
        self._n: dict[str, _Groups] = {}
        self._d: dict[str, str] = {}

    def d(self, p: str) -> str:
        """Regex for the rest of the name, from a component start (Go's doMatching)."""
        if p not in self._d:
            self.tick()
            slash = find_unescaped(p, "/")
            if (p if slash == -1 else p[:slash]) == "**":
                rx = ".*" if slash == -1 else "(?:[^/]*/)*" + self.d(p[slash + 1 :])
            else:
                groups = _merge(self._exhaust(p, at_start=True), self.n(p))
                parts = [f"{any_of(rs)}/{self.d(k)}" for k, rs in groups.items() if k is not None]
                if None in groups:
                    end = any_of(groups[None])
                    if parts:  # a component that also continues loses its full match
                        conts = [r for k, rs in groups.items() if k is not None for r in rs]
                        end = f"(?!{any_of(conts)}\\Z){end}"
                    parts.append(end)
                rx = any_of(parts) if parts else "(?!)"
            self._d[p] = rx
        return self._d[p]

    def _exhaust(self, q: str, *, at_start: bool = False) -> _Groups:
        """The branch taken when the name component ends with `q` left."""
        if not q:
            return {None: [""]}
        slash = find_unescaped(q, "/")
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
        self.tick()
        out: _Groups = {}
        c = q[:1]
        if c == "\\":
            if len(q) < 2 or q[1] == "\ufffd":
                raise Unsupported
            out = _prefix(literal(q[1]), self.m(q[2:]))
        elif c == "*":
            rest = q[1:]
            if not rest or rest[0] == "/":
                out = {rest[1:] if rest else None: ["[^/]+"]}
            else:
                sub = self.n(rest)
                if len(sub) > 1:  # Go keeps only the first split that matches
                    raise Unsupported
                out = {k: ["[^/]*" + any_of(rs)] for k, rs in sub.items()}
        elif c == "[":
            end = find_unescaped(q, "]", 1)
            if end == -1:
                raise Unsupported
            out = _prefix(class_regex(q[1:end]), self.m(q[end + 1 :]))
        elif c == "{":
            split = _split_alternatives(q[1:])
            if split is None:
                raise Unsupported
            options, end = split
            out = _merge(*(self.n(o + q[1 + end :]) for o in options))
        elif c and c != "/":
            out = _prefix("[^/]" if c == "?" else literal(c), self.m(q[1:]))
        self._n[q] = out
        return out


def translate(pattern: str) -> tuple[str, bool]:
    """(regex source, whether names with an empty component need the interpreter); raises
    ``Unsupported`` (or PatternError, RecursionError) when the pattern does not translate."""
    t = _Translator()
    return t.d(pattern), t.guard_empty
