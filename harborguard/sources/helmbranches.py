"""Which lines of a Go-templated helmfile one environment keeps, by its ``{{ if }}`` blocks.

gotmpl.py masks control flow without evaluating it, so both branches of
``{{ if eq .Environment.Name "toolsbeta" }} ... {{ else }} ... {{ end }}`` stay in the YAML.
For entries whose presence matters (a release's values files) this tells which lines the
environment drops, and which sit under a condition not understood (nothing here is run:
only ``eq``/``ne`` of ``.Environment.Name`` against string literals is evaluated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_STASHED = re.compile(r"\x00(\d+)\x00")


@dataclass(frozen=True, slots=True)
class Branches:
    # 1-based lines inside a branch not taken for the environment (helmfile drops them).
    excluded: frozenset[int] = frozenset()
    # Lines inside a block whose condition is not understood -> the line of that condition.
    undecided: dict[int, int] = field(default_factory=dict)


def branches(text: str, environment: str) -> Branches:
    """The lines ``environment`` drops, and those under a condition not understood."""
    actions: list[str] = []

    def stash(match: re.Match[str]) -> str:
        actions.append(match.group(1).strip())
        return f"\x00{len(actions) - 1}\x00" + "\n" * match.group(0).count("\n")

    staged = _ACTION.sub(stash, text)
    if not actions:
        return Branches()
    state = _Blocks(environment)
    for number, line in enumerate(staged.split("\n"), start=1):
        state.mark(number)
        if "\x00" in line and not _STASHED.sub("", line).strip():
            for index in _STASHED.findall(line):
                state.action(actions[int(index)], number)
    return Branches(frozenset(state.excluded), state.undecided)


_ENV_TEST = re.compile(r'^\(?\s*(eq|ne)\s+(.*?)\s*\)?$')
_QUOTED = re.compile(r'^"([^"\\]*)"$')


def _env_condition(condition: str, environment: str) -> bool | None:
    """``eq .Environment.Name "a" "b"`` / ``ne ...``: its value; None if not understood."""
    match = _ENV_TEST.match(condition.strip())
    if match is None:
        return None
    words = match.group(2).split()
    if len(words) < 2 or words.count(".Environment.Name") != 1:
        return None
    literals = [_QUOTED.match(word) for word in words if word != ".Environment.Name"]
    if not all(literals) or (match.group(1) == "ne" and len(literals) != 1):
        return None
    equal = environment in {m.group(1) for m in literals if m is not None}
    return equal if match.group(1) == "eq" else not equal


class _Blocks:
    """Which lines a Go template's ``if``/``else``/``end`` keep for one environment."""

    def __init__(self, environment: str) -> None:
        self.environment = environment
        # Per open block: [this branch's value (None: unknown), a branch already taken,
        # the line of the condition].
        self.stack: list[list[bool | int | None]] = []
        self.excluded: set[int] = set()
        self.undecided: dict[int, int] = {}

    def mark(self, line: int) -> None:
        for value, _taken, _where in reversed(self.stack):
            if value is False:
                self.excluded.add(line)
                return
        for value, _taken, where in reversed(self.stack):
            if value is None and isinstance(where, int):
                self.undecided[line] = where
                return

    def action(self, action: str, line: int) -> None:
        words = action.split(None, 1)
        if not words or action.startswith("/*"):
            return
        head, rest = words[0], (words[1] if len(words) > 1 else "")
        if head == "if":
            value = _env_condition(rest, self.environment)
            self.stack.append([value, value is True, line])
        elif head in ("range", "with", "define", "block"):
            self.stack.append([None, False, line])
        elif head == "else" and self.stack:
            frame = self.stack[-1]
            if rest.startswith("if "):
                value = _env_condition(rest[3:], self.environment)
            else:
                value = True
            if frame[1] is True:
                value = False
            elif frame[0] is None:
                value = None  # an earlier branch's condition is unknown
            frame[0], frame[1] = value, bool(frame[1]) or value is True
            if value is None:
                frame[2] = line
        elif head == "end" and self.stack:
            self.stack.pop()


_GLOB_CHARS = frozenset("*?[")


def unread_values_entry(written: str, matched: bool, missing_ok: bool) -> str | None:
    """Why a release's ``values:`` file entry gives nothing to read; None when it is fine.

    helmfile fetches go-getter URLs and reads absolute paths, neither of which is the tree's,
    and fails on a plain file that does not exist (unless ``missingFileHandler`` says
    otherwise); a glob that matches nothing is no error (the toolforge-deploy convention).
    """
    entry = written.strip()
    if entry.startswith("git::") or "://" in entry:
        return (
            "is remote (helmfile fetches it), so the images it sets are unknown; copy it "
            "into the repository, or name its image in the release's own values"
        )
    if entry.startswith("/"):
        return (
            "is an absolute path, outside the tree, so the images it sets are unknown; "
            "write it relative to the helmfile, inside the repository"
        )
    if not matched and not missing_ok and not (_GLOB_CHARS & set(entry)):
        return (
            "does not exist in the tree, so `helmfile apply` fails on it (missingFileHandler "
            "is Error); add the file, fix the path, or set missingFileHandler: Warn"
        )
    return None
