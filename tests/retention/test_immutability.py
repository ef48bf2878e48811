"""Immutable-tag rules: which are read, which selectors count, what ends the check.

Every expectation below was derived from Harbor's code (commit c50c7ddd, and the tags named
where releases differ), not from harborguard's implementation. Go paths are relative to
goharbor/harbor/src; line numbers are those at HEAD unless a tag is named. The JSON-extras,
ParseJSONInt and doublestar expectations were also cross-checked by running the Go code
(encoding/json, the doublestar v1.3.4 and v1.1.1 sources) on the same inputs.

T = 2026-01-01T00:00:00Z (exactly 20454 days after the Unix epoch), D = 1 day.
"""

from __future__ import annotations

from typing import Any

import pytest

from harborguard.harborversion import resolve
from tests.builders import (
    T,
    actions,
    art,
    dig,
    policy,
    rule,
    run,
    sel,
)
from tests.retention.helpers import (
    ALL_TAGS,
    BAD_KIND,
    S,
    imm,
    immutable_action,
)

# ---------------------------------------------------------------------------------------------
# Immutability: action/performer.go:55-107 (only non-retained candidates), immutable/
# match/rule/match.go:34-89 (rules by ID, immutable/manager.go:108; disabled and selector-less
# rules skipped; first repository and first tag selector only; any error -> not immutable).
# ---------------------------------------------------------------------------------------------


def test_immutable_rules_are_read_in_id_order() -> None:
    bad_first = [imm(2, ALL_TAGS), imm(1, ALL_TAGS, [BAD_KIND])]
    assert immutable_action(bad_first) == "delete"
    good_first = [imm(2, ALL_TAGS, [BAD_KIND]), imm(1, ALL_TAGS)]
    assert immutable_action(good_first) == "immutable"


def test_tag_selector_error_ends_the_check() -> None:
    rules = [imm(1, [sel("v[1", extras=None)]), imm(2, ALL_TAGS)]
    assert immutable_action(rules, ["v1"]) == "delete"
    assert immutable_action(rules, ["x"]) == "immutable"  # "v[1" vs "x": no error, no match
    rules = [imm(1, [BAD_KIND]), imm(2, ALL_TAGS)]
    assert immutable_action(rules) == "delete"


def test_tag_selector_is_not_built_when_the_repository_does_not_match() -> None:
    rules = [imm(1, [BAD_KIND], [sel("other/**", "repoMatches", None)]), imm(2, ALL_TAGS)]
    assert immutable_action(rules) == "immutable"


def test_disabled_and_selector_less_immutable_rules_are_skipped() -> None:
    assert (
        immutable_action([imm(1, [BAD_KIND], [BAD_KIND], disabled=True), imm(2, ALL_TAGS)])
        == "immutable"
    )
    assert immutable_action([imm(1, [BAD_KIND], scope={}), imm(2, ALL_TAGS)]) == "immutable"
    assert (
        immutable_action([imm(1, [BAD_KIND], scope={"repository": []}), imm(2, ALL_TAGS)])
        == "immutable"
    )
    assert immutable_action([imm(1, []), imm(2, ALL_TAGS)]) == "immutable"
    assert immutable_action([imm(1, ALL_TAGS, disabled=True)]) == "delete"


def test_repository_selector_error_ends_the_check_even_without_tag_selectors() -> None:
    # match.go:52-56 builds the repository selector before looking at tag selectors (:67).
    assert immutable_action([imm(1, [], [BAD_KIND]), imm(2, ALL_TAGS)]) == "delete"
    rules = [imm(1, [], [sel("[", "repoMatches", None)]), imm(2, ALL_TAGS)]
    assert immutable_action(rules) == "delete"


def test_only_the_first_selectors_of_an_immutable_rule_count() -> None:
    repos = [sel("**", "repoMatches", None), sel("app", "repoExcludes", None), BAD_KIND]
    assert immutable_action([imm(1, ALL_TAGS, repos)]) == "immutable"
    tags = [sel("v*", extras=None), sel("v*", "excludes", None), BAD_KIND]
    assert immutable_action([imm(1, tags)]) == "immutable"


@pytest.mark.parametrize("decoration", ["nsMatches", "nsExcludes"])
def test_namespace_selectors_never_match_in_immutable_rules(decoration: str) -> None:
    # performer.go:97-101 builds the candidate without Namespace; Select skips empty values.
    for pattern in ("proj", "other", "**", ""):
        rules = [imm(1, ALL_TAGS, [sel(pattern, decoration, None)])]
        assert immutable_action(rules) == "delete"
        assert immutable_action([imm(1, [sel(pattern, decoration, None)])]) == "delete"


@pytest.mark.parametrize(
    "tag_selector", [sel("app", "repoMatches", None), sel("other", "repoExcludes", None)]
)
def test_repository_decoration_as_immutable_tag_selector(tag_selector: dict[str, Any]) -> None:
    assert immutable_action([imm(1, [tag_selector])]) == "immutable"


def test_repository_decoration_as_immutable_tag_selector_that_does_not_match() -> None:
    assert immutable_action([imm(1, [sel("other", "repoMatches", None)])]) == "delete"
    assert immutable_action([imm(1, [sel("app", "repoExcludes", None)])]) == "delete"


def test_tag_decoration_as_immutable_repository_selector_reads_the_tags() -> None:
    # The repository selector runs with extras "" on the candidate that has tags.
    assert immutable_action([imm(1, ALL_TAGS, [sel("v*", "matches", None)])]) == "immutable"
    assert immutable_action([imm(1, ALL_TAGS, [sel("x*", "matches", None)])]) == "delete"
    assert immutable_action([imm(1, ALL_TAGS, [sel("x*", "matches", None)])], []) == "delete"


def test_empty_pattern_in_immutable_rules() -> None:
    assert immutable_action([imm(1, [sel("", extras=None)])]) == "immutable"
    assert immutable_action([imm(1, [sel("", extras=None)])], []) == "delete"
    assert immutable_action([imm(1, [sel("", "excludes", None)])]) == "delete"
    assert immutable_action([imm(1, [sel("", "excludes", None)])], []) == "immutable"
    assert immutable_action([imm(1, ALL_TAGS, [sel("", "repoExcludes", None)])]) == "delete"


def test_retained_artifacts_are_never_checked_for_immutability() -> None:
    arts = [art("a", ["v1"], T - 10 * S), art("b", ["v2"], T - 20 * S)]
    result = run(arts, policy(rule("latestPushedK", 1)), immutable=[imm(1, ALL_TAGS)])
    assert actions(result) == {dig("a"): "retain", dig("b"): "immutable"}


def test_immutable_check_many_agrees_with_check_one_by_one() -> None:
    """The batch path (selectors run once over all deletion targets) against the walk
    one artifact at a time, with broken patterns, tag-less rules and repo decorations."""
    import random

    from harborguard.policy import parse_immutable_rules
    from harborguard.retention.immutable import ImmutableChecker

    class Item:
        def __init__(self, tags: tuple[str, ...]) -> None:
            self.tags = tags
            self.namespace = ""
            self.repository = "app"

    patterns = ["latest", "v*", "{a,b}*", "[", "**", "rel-[0-9]*", "x\\", ""]
    decorations = ["matches", "excludes", "repoMatches"]
    rng = random.Random(11)
    for version in ("v2.11.0", "v2.4.0"):
        behaviour = resolve(version)
        for _ in range(150):
            raw = []
            for rule_id in rng.sample(range(1, 9), rng.randint(0, 3)):
                tag_selectors = [] if rng.random() < 0.1 else [{
                    "kind": "doublestar", "decoration": rng.choice(decorations),
                    "pattern": rng.choice(patterns)}]
                raw.append({"id": rule_id, "disabled": rng.random() < 0.1,
                            "tag_selectors": tag_selectors,
                            "scope_selectors": {"repository": [{
                                "kind": "doublestar", "decoration": "repoMatches",
                                "pattern": rng.choice(["**", "app", "other", "["])}]}})
            rules = parse_immutable_rules(raw, "t")
            names = ["latest", "v1", "a1", "b2", "rel-3", "zzz", "x"]
            items = [Item(tuple(rng.sample(names, rng.randint(0, 2)))) for _ in range(12)]
            one = ImmutableChecker(rules, behaviour)
            many = ImmutableChecker(rules, behaviour)
            assert many.check_many("app", items) == [one.check("app", i.tags) for i in items]
