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
from harborguard.retention.selectors import PatternError, SelectorBuildError, build_selector


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


def check_immutable(
    repository: str, tags: tuple[str, ...], rules: Sequence[ImmutableRule], behaviour: Behaviour
) -> ImmutableVerdict:
    """``repository`` is the name without the project, as retention's candidate has it."""
    if behaviour.immutable_double_strip:
        repository = split_repository(repository)[1]
    probe = _Probe(repository, tags)
    tag_extras = "" if behaviour.immutable_untagged_legacy else '{"untagged": false}'
    v111 = behaviour.doublestar_v111
    for rule in rules:
        if rule.disabled:
            continue
        repo_selectors = rule.scope_selectors.get("repository", ())
        if not repo_selectors:
            continue
        try:
            first = repo_selectors[0]
            selector = build_selector(first.kind, first.decoration, first.pattern, "", v111=v111)
            if not selector.accepts(probe):
                continue
            if not rule.tag_selectors:
                continue
            tag = rule.tag_selectors[0]
            selector = build_selector(tag.kind, tag.decoration, tag.pattern, tag_extras, v111=v111)
            if not selector.accepts(probe):
                continue
        except (SelectorBuildError, PatternError) as exc:
            return ImmutableVerdict(False, rule.id, f"immutable rule {rule.id}: {exc}")
        return ImmutableVerdict(True, rule.id)
    return ImmutableVerdict(False)
