"""Tag and repository selectors: extras, empty patterns, decorations and lazy pattern errors.

Every expectation below was derived from Harbor's code (commit c50c7ddd, and the tags named
where releases differ), not from harborguard's implementation. Go paths are relative to
goharbor/harbor/src; line numbers are those at HEAD unless a tag is named. The JSON-extras,
ParseJSONInt and doublestar expectations were also cross-checked by running the Go code
(encoding/json, the doublestar v1.3.4 and v1.1.1 sources) on the same inputs.

T = 2026-01-01T00:00:00Z (exactly 20454 days after the Unix epoch), D = 1 day.
"""

from __future__ import annotations

import pytest

from tests.builders import (
    T,
    art,
    deleted,
    dig,
    kept,
    policy,
    rule,
    run,
    sel,
)
from tests.retention.helpers import (
    NO_UNTAGGED,
    S,
    codes,
    names,
    outcome,
)

# ---------------------------------------------------------------------------------------------
# extras: lib/selector/selectors/doublestar/selector.go:137-149 (json.Unmarshal into
# struct{Untagged bool}; any error keeps the decoration's default) and :117 / :133.
# ---------------------------------------------------------------------------------------------

EXTRAS_CASES = [
    # (extras, untagged selected by matches, untagged selected by excludes)
    (None, True, True),
    ("", True, True),
    ("null", False, True),
    ("{}", False, True),
    ("[]", True, True),
    ("true", True, True),
    ('"true"', True, True),
    ('{"untagged":true}', True, False),
    ('{"UNTAGGED":true}', True, False),
    ('{"untagged":false}', False, True),
    ('{"untagged":true,"untagged":false}', False, True),
    ('{"untagged":false,"UNTAGGED":true}', True, False),
    ('{"untagged":"true"}', True, True),
    ('{"untagged":1}', True, True),
    ('{"untagged":null}', False, True),
    ('{"untagged":true,"untagged":null}', True, False),
    ('{"untagged":true,"untagged":1}', True, True),
    ('{"untagged":[true]}', True, True),
    ("{", True, True),
    ("   ", True, True),
    ('{"untagged":true} x', True, True),
    ('{"untagged":true,"x":NaN}', True, True),
    ('{"untagged":true,"x":"\\q"}', True, True),
    ('{"untagged":true,"other":{"a":[1]}}', True, False),
]


@pytest.mark.parametrize(("extras", "by_matches", "by_excludes"), EXTRAS_CASES)
def test_extras_untagged_flag(extras: str | None, by_matches: bool, by_excludes: bool) -> None:
    arts = [art("t", ["keep"], T - 10 * S), art("u", [], T - 20 * S)]
    for decoration, pattern, expected in (
        ("matches", "keep", by_matches),
        ("excludes", "nothing", by_excludes),
    ):
        p = policy(rule("always", tags=[sel(pattern, decoration, extras)]))
        result = run(arts, p)
        assert (dig("u") in kept(result)) is expected, (decoration, extras)
        assert dig("t") in kept(result)


# ---------------------------------------------------------------------------------------------
# Empty pattern: doublestar/selector.go:164-167 (match("", s) is true for everything).
# ---------------------------------------------------------------------------------------------


def test_empty_tag_pattern_matches_every_tag() -> None:
    arts = [art("a", ["x"], T - 10 * S), art("b", ["y"], T - 20 * S), art("u", [], T - 30 * S)]
    result = run(arts, policy(rule("always", tags=[sel("", extras=NO_UNTAGGED)])))
    assert kept(result) == names("a", "b")
    result = run(arts, policy(rule("always", tags=[sel("", "excludes", None)])))
    assert kept(result) == names("u")  # no tag fails to match ""; untagged by the inversion


def test_empty_repository_pattern() -> None:
    repos = {"app": [art("a", ["1"], T - 10 * S)], "team/x": [art("b", ["1"], T - 10 * S)]}
    result = run(repos, policy(rule("latestPushedK", 0, repos=[sel("", "repoMatches", None)])))
    assert deleted(result) == names("a", "b")
    result = run(repos, policy(rule("latestPushedK", 0, repos=[sel("", "repoExcludes", None)])))
    assert deleted(result) == set()
    assert {r.status for r in result.projects[0].repositories} == {"not-in-scope"}


# ---------------------------------------------------------------------------------------------
# Repository and namespace decorations inside tag_selectors: the candidate carries
# Namespace = project and Repository = name without project (retention/dep/client.go:134-145);
# Select uses them (doublestar/selector.go:76-98) and ignores the untagged flag.
# ---------------------------------------------------------------------------------------------


def test_ns_matches_in_tag_selectors_uses_the_project_name() -> None:
    arts = [art("a", ["1"], T - 10 * S), art("u", [], T - 20 * S)]
    result = run(arts, policy(rule("always", tags=[sel("proj", "nsMatches", NO_UNTAGGED)])))
    assert kept(result) == names("a", "u")
    result = run(arts, policy(rule("always", tags=[sel("other", "nsMatches", None)])))
    assert deleted(result) == names("a", "u")  # the rule ran and kept nothing
    result = run(arts, policy(rule("always", tags=[sel("other", "nsExcludes", None)])))
    assert kept(result) == names("a", "u")


def test_repo_matches_in_tag_selectors_uses_the_short_repository_name() -> None:
    repos = {
        "app": [art("a", ["1"], T - 10 * S), art("u", [], T - 20 * S)],
        "team/app": [art("b", ["1"], T - 10 * S)],
    }
    result = run(repos, policy(rule("always", tags=[sel("app", "repoMatches", NO_UNTAGGED)])))
    assert kept(result) == names("a", "u")
    assert deleted(result) == names("b")
    result = run(repos, policy(rule("always", tags=[sel("app", "repoExcludes", None)])))
    assert kept(result) == names("b")


def test_pattern_error_in_repo_decorated_tag_selector_fails_the_repository() -> None:
    repos = {"app": [art("a", ["1"], T - 10 * S)], "b": [art("b", ["1"], T - 10 * S)]}
    # "a[" errors only when matching reaches "[": against "app", not against "b".
    result = run(repos, policy(rule("latestPushedK", 0, tags=[sel("a[", "repoMatches")])))
    assert outcome(result, "proj/app").status == "failed"
    assert outcome(result, "proj/b").status == "evaluated"
    # b: "a[" fails at the first rune without an error; the rule ran and kept nothing.
    assert deleted(result) == names("b")


# ---------------------------------------------------------------------------------------------
# Lazy tag-pattern errors: doublestar/selector.go:104-134 stops at the first matching (or, for
# excludes, non-matching) tag; selectors run in sequence on the survivors (processor.go:145).
# ---------------------------------------------------------------------------------------------


def test_tag_pattern_error_not_reached() -> None:
    arts = [art("x", ["x1"], T - 10 * S), art("v", ["v"], T - 20 * S), art("u", [], T - 30 * S)]
    result = run(arts, policy(rule("always", tags=[sel("v[1", extras=NO_UNTAGGED)])))
    assert outcome(result).status == "evaluated"
    assert deleted(result) == names("x", "v", "u")


def test_tag_pattern_error_reached_fails_the_repository() -> None:
    arts = [art("x", ["x1"], T - 10 * S), art("v1", ["v1"], T - 20 * S)]
    result = run(
        arts,
        policy(rule("always", tags=[sel("v[1", extras=NO_UNTAGGED)]), rule("latestPushedK", 0)),
    )
    assert outcome(result).status == "failed"
    assert outcome(result).error_uncertain
    assert deleted(result) == set()
    assert codes(result) == ["policy-error"]


@pytest.mark.parametrize(("tags", "fails"), [(["x", "v1"], False), (["v1", "x"], True)])
def test_tag_order_decides_whether_the_bad_part_is_reached(tags: list[str], fails: bool) -> None:
    result = run(
        [art("a", tags, T - 10 * S)],
        policy(rule("always", tags=[sel("{x,v[1}", extras=NO_UNTAGGED)])),
    )
    assert (outcome(result).status == "failed") is fails


def test_excludes_stops_at_the_first_tag_that_does_not_match() -> None:
    result = run(
        [art("a", ["x", "v1"], T - 10 * S)],
        policy(rule("always", tags=[sel("v[1", "excludes", NO_UNTAGGED)])),
    )
    assert outcome(result).status == "evaluated"
    assert kept(result) == names("a")


def test_second_tag_selector_sees_only_what_the_first_selected() -> None:
    arts = [art("x", ["x1"], T - 10 * S), art("v", ["v1"], T - 20 * S)]
    tags = [sel("x*", extras=NO_UNTAGGED), sel("v[1", extras=NO_UNTAGGED)]
    result = run(arts, policy(rule("always", tags=tags)))
    assert outcome(result).status == "evaluated"
    assert deleted(result) == names("x", "v")
    reversed_tags = [sel("v[1", extras=NO_UNTAGGED), sel("x*", extras=NO_UNTAGGED)]
    assert outcome(run(arts, policy(rule("always", tags=reversed_tags)))).status == "failed"


def test_lazy_tag_pattern_error_only_when_reached() -> None:
    harmless = run([art("a", ["x1"], T - 10 * S)], policy(rule("always", tags=[sel("v[1")])))
    assert harmless.projects[0].repositories[0].status == "evaluated"
    broken = run([art("a", ["v1"], T - 10 * S)], policy(rule("always", tags=[sel("v[1")])))
    repo = broken.projects[0].repositories[0]
    assert repo.status == "failed" and repo.error_uncertain
    assert "not guaranteed" in broken.findings[0].message
