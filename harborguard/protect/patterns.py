"""Brace lists of literal names as Harbor's doublestar reads them, and the proof that a list
matches exactly the names it was built from.

``{builds-api,jobs-api}`` is one pattern that matches each listed name and nothing else, in
doublestar v1.3.4 (Harbor v2.10.3 and later) with the pattern characters escaped. Two limits
of the dialects decide what a single pattern can list (docs/RETENTION.md 3.5):

- v1.3.4 concatenates what the alternatives of a brace leave to match after a ``/``, and a
  full match of one alternative is lost when another asks to continue: ``{team,team/app}``
  matches ``team/app`` but not ``team``. No v1.3.4 pattern matches both a name and a name
  below it without matching more, so such a pair cannot share one list.
- v1.1.1 (Harbor v2.10.2 and earlier) splits the pattern at every ``/`` first: a brace holds
  no ``/``, and one pattern can list only names of one shape (``team/{a,b}``).

Every pattern built here is checked with the engine's own matcher (the one the simulation
uses) before it is used: against the names it lists and every other name it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harborguard.retention.doublestar import PatternError, compile_pattern

# Characters with a meaning in a doublestar pattern (outside a class); escaped with '\'.
SPECIAL = frozenset("\\*?[]{},")


def escape(name: str) -> str:
    return "".join("\\" + c if c in SPECIAL else c for c in name)


def unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def brace_list(names: Iterable[str]) -> str:
    """One pattern listing ``names`` (sorted, each once): ``a`` or ``{a,b}``."""
    unique = sorted(set(names))
    if not unique:
        raise ValueError("an empty list matches nothing: no pattern")
    if len(unique) == 1:
        return escape(unique[0])
    return "{" + ",".join(escape(n) for n in unique) + "}"


def parse_list(pattern: str) -> list[str]:
    """The names a pattern from :func:`brace_list` (or :func:`repository_pattern`) lists.
    Raises ValueError for a pattern that is not such a list."""
    if "/" in pattern and not pattern.startswith("{"):
        # v1.1.1's shape: parent/{a,b}
        head, _, tail = pattern.rpartition("/")
        if any(c in head for c in "{}*?["):
            raise ValueError(f"not a list of names: {pattern!r}")
        return [f"{unescape(head)}/{name}" for name in parse_list(tail)]
    if not (pattern.startswith("{") and pattern.endswith("}")):
        _literal(pattern)
        return [unescape(pattern)]
    items: list[str] = []
    start, i, body = 0, 0, pattern[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c == ",":
            items.append(body[start:i])
            start = i + 1
        i += 1
    items.append(body[start:])
    for item in items:
        _literal(item)
    return [unescape(item) for item in items]


def _literal(text: str) -> None:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in SPECIAL:
            raise ValueError(f"not a list of names: {text!r}")
        i += 1


def matches_exactly(pattern: str, listed: Iterable[str], others: Iterable[str], *,
                    v111: bool) -> bool:
    """True when the engine's matcher says the pattern matches every listed name and none of
    ``others`` (a pattern error counts as not exact)."""
    match = compile_pattern(pattern, v111=v111)
    try:
        return all(match(n) for n in listed) and not any(match(n) for n in others)
    except PatternError:
        return False


@dataclass(frozen=True, slots=True)
class Listed:
    """A pattern, the names it lists, and the names asked for that it cannot list."""

    pattern: str | None
    names: tuple[str, ...]
    left_out: tuple[str, ...]


def repository_pattern(names: Sequence[str], *, v111: bool) -> Listed:
    """The repository selector's pattern for repository names without the project."""
    wanted = sorted(set(names))
    if not wanted:
        return Listed(None, (), ())
    if v111:
        return _v111_repositories(wanted)
    # A name with another listed below it cannot share the list (see the module docstring):
    # the deeper names are kept, the one above them is left out.
    listed = [n for n in wanted if not any(o.startswith(n + "/") for o in wanted)]
    left = tuple(n for n in wanted if n not in listed)
    return Listed(brace_list(listed), tuple(listed), left)


def _v111_repositories(wanted: list[str]) -> Listed:
    depths = {n.count("/") for n in wanted}
    if depths == {0}:
        return Listed(brace_list(wanted), tuple(wanted), ())
    # One shape only: the largest group of names under one parent (ties: the first parent).
    groups: dict[str, list[str]] = {}
    for name in wanted:
        parent, _, _ = name.rpartition("/")
        groups.setdefault(parent, []).append(name)
    parent = max(sorted(groups), key=lambda p: len(groups[p]))
    chosen = groups[parent]
    lasts = [n.rpartition("/")[2] for n in chosen]
    pattern = brace_list(lasts) if not parent else f"{escape(parent)}/{brace_list(lasts)}"
    if parent and any(c in parent for c in SPECIAL):
        return Listed(None, (), tuple(wanted))
    return Listed(pattern, tuple(chosen), tuple(n for n in wanted if n not in chosen))
