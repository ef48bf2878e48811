"""Harbor's immutable-tag matcher as retention consults it (src/pkg/immutable/match/rule).

Only deletion targets are checked. Rules are read in ID order; disabled rules and rules
without a repository or tag selector are skipped; only the first repository selector and
the first tag selector count; the tag selector runs with ``{"untagged": false}`` (empty
extras before v2.5). Any selector error ends the check as "not immutable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harborguard.harborversion import Behaviour
from harborguard.model import split_repository
from harborguard.policy import ImmutableRule
from harborguard.retention.selectors import (
    PatternError,
    Selectable,
    Selector,
    SelectorBuildError,
    build_selector,
)


@dataclass(frozen=True, slots=True)
class _Probe:
    # The matcher builds its candidate without a namespace, so nsMatches never matches.
    repository: str
    tags: tuple[str, ...]
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class ImmutableVerdict:
    immutable: bool
    rule_id: int | None = None
    error: str | None = None  # a selector error that ended the check


_NOT_IMMUTABLE = ImmutableVerdict(False)


class ImmutableChecker:
    """The matcher for one project, selectors built once (Harbor rebuilds them per call)."""

    def __init__(self, rules: Sequence[ImmutableRule], behaviour: Behaviour) -> None:
        self._double_strip = behaviour.immutable_double_strip
        tag_extras = "" if behaviour.immutable_untagged_legacy else '{"untagged": false}'
        v111 = behaviour.doublestar_v111
        self._rules: list[tuple[int, Selector | str, Selector | str]] = []
        for rule in rules:
            repo_selectors = rule.scope_selectors.get("repository", ())
            if rule.disabled or not repo_selectors:
                continue
            first = repo_selectors[0]
            repo_sel = _build(first.kind, first.decoration, first.pattern, "", v111)
            if rule.tag_selectors:
                tag = rule.tag_selectors[0]
                tag_sel = _build(tag.kind, tag.decoration, tag.pattern, tag_extras, v111)
            else:
                tag_sel = ""  # no tag selector: the rule is skipped once the repository matches
            self._rules.append((rule.id, repo_sel, tag_sel))
        self._cache: dict[str, _RepositoryRules] = {}
        # A tag decoration used as a repository selector looks at the tags too: no caching.
        self._tag_dependent = any(
            not isinstance(repo_sel, str) and repo_sel.decoration in ("matches", "excludes")
            for _, repo_sel, _ in self._rules
        )

    def _for_repository(self, repository: str) -> _RepositoryRules:
        """Rules whose repository selector accepts ``repository``, up to the first error.

        Harbor walks the rules in order and stops at the first selector error; the rules
        before that error still get their tag selectors checked, in order, in check().
        """
        cached = self._cache.get(repository)
        if cached is not None:
            return cached
        name = split_repository(repository)[1] if self._double_strip else repository
        probe = _Probe(name, ())
        applicable: list[tuple[int, Selector | str]] = []
        stop: ImmutableVerdict | None = None
        for rule_id, repo_sel, tag_sel in self._rules:
            if isinstance(repo_sel, str):
                stop = ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {repo_sel}")
                break
            try:
                if not repo_sel.accepts(probe):
                    continue
            except PatternError as exc:
                stop = ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {exc}")
                break
            applicable.append((rule_id, tag_sel))
        result = _RepositoryRules(tuple(applicable), stop, name)
        self._cache[repository] = result
        return result

    def check(self, repository: str, tags: tuple[str, ...]) -> ImmutableVerdict:
        """``repository`` is the name without the project, as retention's candidate has it."""
        if self._tag_dependent:
            return self._walk(repository, tags)
        rules = self._for_repository(repository)
        if not rules.applicable:
            return rules.stop if rules.stop is not None else _NOT_IMMUTABLE
        for rule_id, tag_sel in rules.applicable:
            if isinstance(tag_sel, str):
                if tag_sel:
                    return ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {tag_sel}")
                continue
            try:
                if tag_sel.on_tags:
                    hit = tag_sel.accepts_tags(tags)
                else:
                    # The tag selector sees the whole candidate: repo* decorations read the name.
                    hit = tag_sel.accepts(_Probe(rules.name, tags))
                if hit:
                    return ImmutableVerdict(True, rule_id)
            except PatternError as exc:
                return ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {exc}")
        return rules.stop if rules.stop is not None else _NOT_IMMUTABLE


    def check_many(self, repository: str, items: Sequence[Selectable]) -> list[ImmutableVerdict]:
        """check() for each item, in order. When every applicable rule's tag selector looks
        at tags only, each runs once over the items still unclaimed (Selector.select, with
        its memo) instead of once per item; a pattern error anywhere sends every item
        through check(), which says which rule failed for which item, exactly as before."""
        if self._tag_dependent:
            return [self._walk(repository, c.tags) for c in items]
        rules = self._for_repository(repository)
        tail = rules.stop if rules.stop is not None else _NOT_IMMUTABLE
        if not rules.applicable:
            return [tail] * len(items)
        selectors = []
        for rule_id, tag_sel in rules.applicable:
            if isinstance(tag_sel, str) or not tag_sel.on_tags:
                return [self.check(repository, c.tags) for c in items]
            selectors.append((rule_id, tag_sel))
        found: dict[int, ImmutableVerdict] = {}
        remaining = list(items)
        try:
            for rule_id, tag_sel in selectors:
                hits = tag_sel.select(remaining)
                if hits:
                    verdict = ImmutableVerdict(True, rule_id)
                    for c in hits:
                        found[id(c)] = verdict
                    remaining = [c for c in remaining if id(c) not in found]
        except PatternError:
            return [self.check(repository, c.tags) for c in items]
        if not found:
            return [tail] * len(items)
        return [found.get(id(c), tail) for c in items]

    def _walk(self, repository: str, tags: tuple[str, ...]) -> ImmutableVerdict:
        """Harbor's Matcher.Match, rule by rule, for one candidate."""
        name = split_repository(repository)[1] if self._double_strip else repository
        probe = _Probe(name, tags)
        for rule_id, repo_sel, tag_sel in self._rules:
            try:
                if isinstance(repo_sel, str):
                    return ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {repo_sel}")
                if not repo_sel.accepts(probe):
                    continue
                if isinstance(tag_sel, str):
                    if tag_sel:
                        return ImmutableVerdict(
                            False, rule_id, f"immutable rule {rule_id}: {tag_sel}"
                        )
                    continue
                if tag_sel.accepts(probe):
                    return ImmutableVerdict(True, rule_id)
            except PatternError as exc:
                return ImmutableVerdict(False, rule_id, f"immutable rule {rule_id}: {exc}")
        return ImmutableVerdict(False)


@dataclass(frozen=True, slots=True)
class _RepositoryRules:
    applicable: tuple[tuple[int, Selector | str], ...]
    stop: ImmutableVerdict | None
    name: str  # the repository name the matcher sees (double-stripped up to v2.15.2)


def _build(kind: str, decoration: str, pattern: str, extras: str, v111: bool) -> Selector | str:
    """The selector, or Harbor's error text when index.Get refuses it."""
    try:
        return build_selector(kind, decoration, pattern, extras, v111=v111)
    except SelectorBuildError as exc:
        return str(exc) or "selector error"
