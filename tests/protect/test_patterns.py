"""The brace lists protect writes match exactly what they list, by the engine's own matcher
(the doublestar ports Harbor's dialects are tested against), in both dialects."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harborguard.protect.patterns import (
    brace_list,
    matches_exactly,
    parse_list,
    repository_pattern,
)
from harborguard.retention.doublestar import compile_pattern, match

# OCI tags ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) and Harbor repository path components.
TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
COMPONENT = st.from_regex(r"[a-z0-9]+(?:[._\-][a-z0-9]+)?", fullmatch=True)
REPO = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
# Any text without '/' (a pattern character in every other position), escaped by protect.
ODD = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
              min_size=1, max_size=8)


def _near(names: list[str]) -> list[str]:
    """Names a wrong pattern could match: prefixes, extensions, neighbours, joins."""
    out = set()
    for n in names:
        out.update({n[:-1], n + "x", "x" + n, n + "/x", n.upper(), n.replace(".", "a"),
                    n + ",", "{" + n + "}"})
    if len(names) > 1:
        out.add(names[0] + "," + names[1])
        out.add(names[0] + names[1])
    return sorted(o for o in out if o and o not in names)


@settings(max_examples=300, deadline=None)
@given(st.lists(TAG, min_size=1, max_size=12), st.booleans())
def test_a_tag_list_matches_exactly_its_tags(tags: list[str], v111: bool) -> None:
    pattern = brace_list(tags)
    for tag in set(tags):
        assert match(pattern, tag, v111=v111)
    for other in _near(sorted(set(tags))):
        if "/" not in other:
            assert not match(pattern, other, v111=v111), (pattern, other)
    assert sorted(parse_list(pattern)) == sorted(set(tags))


@settings(max_examples=300, deadline=None)
@given(st.lists(ODD, min_size=1, max_size=6))
def test_any_name_is_escaped_for_v134(names: list[str]) -> None:
    pattern = brace_list(names)
    matcher = compile_pattern(pattern)
    assert all(match(pattern, n) and matcher(n) for n in names)
    others = [o for o in _near(sorted(set(names))) if "/" not in o]
    assert not any(match(pattern, o) for o in others), pattern
    assert sorted(parse_list(pattern)) == sorted(set(names))


@settings(max_examples=300, deadline=None)
@given(st.lists(REPO, min_size=1, max_size=8), st.lists(REPO, max_size=8), st.booleans())
def test_a_repository_pattern_matches_exactly_what_it_lists(
        wanted: list[str], others: list[str], v111: bool) -> None:
    listed = repository_pattern(wanted, v111=v111)
    assert set(listed.names) | set(listed.left_out) == set(wanted)
    assert not set(listed.names) & set(listed.left_out)
    if listed.pattern is None:
        return
    unlisted = sorted((set(others) | set(_near(list(listed.names))) | set(listed.left_out))
                      - set(listed.names))
    for name in listed.names:
        assert match(listed.pattern, name, v111=v111), (listed.pattern, name)
    for name in unlisted:
        assert not match(listed.pattern, name, v111=v111), (listed.pattern, name)
    assert matches_exactly(listed.pattern, listed.names, unlisted, v111=v111)
    assert sorted(parse_list(listed.pattern)) == sorted(listed.names)


def test_v134_cannot_list_a_name_and_one_below_it() -> None:
    # The quirk the module works around: a full match is lost to an alternative that
    # continues below it.
    assert not match("{team,team/app}", "team")
    assert match("{team,team/app}", "team/app")
    listed = repository_pattern(["team", "team/app", "jobs-api"], v111=False)
    assert listed.pattern == "{jobs-api,team/app}"
    assert listed.left_out == ("team",)


def test_v111_lists_one_shape_and_leaves_the_rest_out() -> None:
    listed = repository_pattern(["builds-api", "jobs-api"], v111=True)
    assert listed.pattern == "{builds-api,jobs-api}"
    listed = repository_pattern(["team/a", "team/b", "other/c"], v111=True)
    assert listed.pattern == "team/{a,b}"
    assert listed.left_out == ("other/c",)
    assert match("team/{a,b}", "team/b", v111=True)
    # What v1.3.4 takes and v1.1.1 cannot: the reason for the split.
    assert match("{team/a,other/c}", "other/c")


def test_a_pattern_that_is_not_a_list_is_refused() -> None:
    for pattern in ("*", "{a,b*}", "a?", "[ab]"):
        try:
            parse_list(pattern)
        except ValueError:
            continue
        raise AssertionError(pattern)
