"""Independent audit of the retention engine against Harbor's Go source.

Every expectation below was derived from Harbor's code (commit c50c7ddd, and the tags named
where releases differ), not from harborguard's implementation. Go paths are relative to
goharbor/harbor/src; line numbers are those at HEAD unless a tag is named. The JSON-extras,
ParseJSONInt and doublestar expectations were also cross-checked by running the Go code
(encoding/json, the doublestar v1.3.4 and v1.1.1 sources) on the same inputs.

T = 2026-01-01T00:00:00Z (exactly 20454 days after the Unix epoch), D = 1 day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harborguard.harborversion import resolve
from harborguard.retention.engine import Decision, RepositoryOutcome
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import (
    T_TEXT,
    D,
    T,
    actions,
    art,
    deleted,
    dig,
    kept,
    policy,
    rule,
    run,
    sel,
    snapshot,
)

S = timedelta(seconds=1)
NO_UNTAGGED = '{"untagged":false}'
REPO_ALL = [sel("**", "repoMatches", None)]


def names(*items: str) -> set[str]:
    return {dig(i) for i in items}


def decisions(result: RunResult) -> dict[str, Decision]:
    return {
        a.digest: d
        for p in result.projects
        for r in p.repositories
        for a, d in zip(r.repository.artifacts, r.decisions, strict=True)
    }


def outcome(result: RunResult, name: str = "proj/app") -> RepositoryOutcome:
    for p in result.projects:
        for r in p.repositories:
            if r.repository.name == name:
                return r
    raise AssertionError(f"no repository {name}")


def codes(result: RunResult) -> list[str]:
    # Version findings depend on the tags chosen, not on the policy behaviour tested here.
    return [f.code for f in result.findings if not f.code.startswith("version-")]


MISSING = object()


def with_params(template: str, params: Any, **kw: Any) -> dict[str, Any]:
    """A rule whose ``params`` is exactly ``params``; the key is dropped for the MISSING marker."""
    r = rule(template, **kw)
    if params is MISSING:
        del r["params"]
    else:
        r["params"] = params
    return r


def imm(
    rule_id: int,
    tags: list[dict[str, Any]],
    repos: list[dict[str, Any]] | None = None,
    *,
    disabled: bool = False,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An immutable-tag rule as GET /projects/{p}/immutabletagrules lists it."""
    return {
        "id": rule_id,
        "disabled": disabled,
        "action": "immutable",
        "template": "immutable_template",
        "tag_selectors": tags,
        "scope_selectors": scope if scope is not None else {"repository": repos or REPO_ALL},
    }


def twelve() -> list[dict[str, Any]]:
    return [art(f"a{i:02d}", [f"t{i}"], T - (i + 1) * S) for i in range(12)]


# ---------------------------------------------------------------------------------------------
# Parameter parsing: rule/index/index.go:220-250 (presence), latestps/evaluator.go:61-77 and
# the other New() functions (ParseJSONInt ok && v >= 0, else the default), common/utils/
# utils.go:256-264 (float64 -> int(v): truncation; out of range on amd64 -> MinInt64).
# ---------------------------------------------------------------------------------------------


def test_param_float_truncates_toward_zero() -> None:
    arts = [art(f"a{i}", [f"t{i}"], T - (i + 1) * S) for i in range(5)]
    assert kept(run(arts, policy(rule("latestPushedK", 2.9)))) == names("a0", "a1")


def test_param_small_negative_float_truncates_to_zero_not_default() -> None:
    # int(-0.5) == 0 and 0 >= 0, so K = 0 (keep nothing), not the default 10.
    assert kept(run(twelve(), policy(rule("latestPushedK", -0.5)))) == set()


@pytest.mark.parametrize(
    "value",
    [-1, None, "5", True, False, 1e19, -9.3e18, 2**63 - 1, {"k": 1}, [5]],
    ids=["neg", "null", "string", "true", "false", "1e19", "-9.3e18", "int64max", "obj", "list"],
)
def test_param_unusable_value_means_default_ten(value: Any) -> None:
    # 1e19 and 2**63-1 (float64 2^63) overflow int64: amd64 yields MinInt64 < 0 -> default.
    p = policy(with_params("latestPushedK", {"latestPushedK": value}))
    result = run(twelve(), p)
    assert len(kept(result)) == 10
    assert outcome(result).status == "evaluated"


def test_param_huge_but_in_range_float_is_used_not_defaulted() -> None:
    # 9.2e18 < 2^63: int(v) is positive, so K is huge and every artifact is kept.
    assert len(kept(run(twelve(), policy(rule("latestPushedK", 9.2e18))))) == 12


@pytest.mark.parametrize("value", ["5", 1e19, -3, None])
def test_day_param_unusable_means_default_thirty(value: Any) -> None:
    arts = [
        art("d6", ["a"], T - 6 * D),
        art("d29", ["b"], T - 29 * D),
        art("d31", ["c"], T - 31 * D),
    ]
    p = policy(with_params("nDaysSinceLastPush", {"nDaysSinceLastPush": value}))
    assert kept(run(arts, p)) == names("d6", "d29")


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # daysps/evaluator.go:45: Duration(-1*24*n) * time.Hour wraps in int64 nanoseconds.
        (9.2e18, set()),  # cutoff 2091-05-04
        (213503, set()),  # cutoff 2026-01-01T23:34:33.7 (after now)
        (213504, {"m20"}),  # cutoff 2025-12-31T23:34:33.7 (25.5 min before now)
        (106751, {"m20", "m30"}),  # largest safe value: cutoff 1733
    ],
)
def test_day_cutoff_wraps_like_go(days: float, expected: set[str]) -> None:
    arts = [
        art("m20", ["a"], T - timedelta(minutes=20)),
        art("m30", ["b"], T - timedelta(minutes=30)),
    ]
    assert kept(run(arts, policy(rule("nDaysSinceLastPush", days)))) == names(*expected)


@pytest.mark.parametrize(
    "params",
    [MISSING, None, {}, {"latestPulledN": 5}, {"latestpushedk": 5}],
    ids=["key-absent", "null", "empty", "other-template-key", "wrong-case-key"],
)
def test_missing_required_parameter_fails_the_repository(params: Any) -> None:
    arts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    result = run(arts, policy(with_params("latestPushedK", params)))
    assert deleted(result) == set()
    assert outcome(result).status == "failed"
    assert codes(result) == ["policy-error"]
    assert result.findings[0].repository == "proj/app"


@pytest.mark.parametrize("template", ["lastXDays", "latestActiveK", "nDaysSinceLastPull"])
def test_missing_parameter_fails_hidden_templates_too(template: str) -> None:
    result = run([art("a", ["1"], T - 10 * S)], policy(with_params(template, {})))
    assert outcome(result).status == "failed"


@pytest.mark.parametrize("params", [MISSING, None, {}, {"always": "x"}])
def test_always_needs_no_params(params: Any) -> None:
    # always is registered with Parameters: []*IndexedParam{} (rule/index/index.go:133-137).
    arts = [art("v", ["v1"], T - 10 * S), art("x", ["x1"], T - 20 * S), art("u", [], T - 30 * S)]
    p = policy(with_params("always", params, tags=[sel("v*", extras=NO_UNTAGGED)]))
    result = run(arts, p)
    assert outcome(result).status == "evaluated"
    assert kept(result) == names("v")
    assert deleted(result) == names("x", "u")


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
# Launch (retention/launcher.go:123-186): disabled rules are skipped before any selector is
# built (:124); every repository selector of an enabled rule is built and applied in turn
# (:159-169); any error is a launcher error: no task anywhere in the project.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        sel("**", "withLabels", None, kind="label"),
        sel("**", "withLabels", None),
        sel("**", "", None),
        sel("**", "repoMatches", None, kind=""),
    ],
    ids=["label-kind", "unknown-decoration", "empty-decoration", "empty-kind"],
)
def test_bad_repository_selector_fails_the_whole_project(bad: dict[str, Any]) -> None:
    repos = {"app": [art("a", ["1"], T - 10 * S)], "other": [art("b", ["1"], T - 10 * S)]}
    p = policy(rule("latestPushedK", 0, repos=[bad]), rule("latestPushedK", 0))
    result = run(repos, p)
    assert result.projects[0].launch_error is not None
    assert deleted(result) == set()
    assert codes(result) == ["policy-error"]
    assert result.findings[0].repository is None


def test_bad_repository_selector_after_an_empty_selection_still_fails_the_launch() -> None:
    bad = sel("**", "withLabels", None, kind="label")
    p = policy(rule("latestPushedK", 0, repos=[sel("nomatch", "repoMatches", None), bad]))
    result = run([art("a", ["1"], T - 10 * S)], p)
    assert result.projects[0].launch_error is not None


def test_bad_repository_selector_fails_even_a_project_without_repositories() -> None:
    p = policy(rule("latestPushedK", 0, repos=[sel("**", "withLabels", None, kind="label")]))
    result = run({}, p)
    assert result.projects[0].launch_error is not None
    assert codes(result) == ["policy-error"]


def test_bad_repository_selector_in_a_disabled_rule_is_never_built() -> None:
    bad = sel("**", "withLabels", None, kind="label")
    p = policy(rule("latestPushedK", 0, repos=[bad], disabled=True), rule("latestPushedK", 0))
    result = run([art("a", ["1"], T - 10 * S)], p)
    assert result.projects[0].launch_error is None
    assert deleted(result) == names("a")


def test_other_scope_selector_keys_are_ignored_for_a_project_policy() -> None:
    bad = [sel("**", "withLabels", None, kind="label")]
    r = rule("latestPushedK", 0)
    r["scope_selectors"] = {"project": bad, "namespace": bad}
    result = run([art("a", ["1"], T - 10 * S)], policy(r))
    assert result.projects[0].launch_error is None
    assert deleted(result) == names("a")  # no "repository" key: every repository


def test_empty_repository_selector_list_means_every_repository() -> None:
    repos = {"app": [art("a", ["1"], T - 10 * S)], "x/y": [art("b", ["1"], T - 10 * S)]}
    assert deleted(run(repos, policy(rule("latestPushedK", 0, repos=[])))) == names("a", "b")


def test_launch_error_in_one_project_does_not_touch_another() -> None:
    bad = policy(rule("latestPushedK", 0, repos=[sel("**", "withLabels", None, kind="label")]))
    good = policy(rule("latestPushedK", 0))
    one = snapshot({"app": [art("a", ["1"], T - 10 * S)]}, bad, project="one")
    two = snapshot({"app": [art("b", ["1"], T - 10 * S)]}, good, project="two")
    one["projects"] += two["projects"]
    result = simulate(parse_snapshot(one, "test"), parse_nanos(T_TEXT), resolve(None))
    assert result.projects[0].launch_error is not None
    assert result.projects[1].launch_error is None
    assert deleted(result) == names("b")


@pytest.mark.parametrize(
    ("repos", "launch_fails"),
    [(["nginx", "team"], False), (["nginx", "team/app"], True)],
)
def test_repository_pattern_errors_are_lazy(repos: list[str], launch_fails: bool) -> None:
    # doublestar v1.3.4: "team/[" vs "nginx" fails at 't'; vs "team" the rest is never
    # matched; vs "team/app" matchComponent("[", "app") returns ErrBadPattern.
    p = policy(rule("latestPushedK", 0, repos=[sel("team/[", "repoMatches", None)]))
    result = run({r: [art(r, ["1"], T - 10 * S)] for r in repos}, p)
    assert (result.projects[0].launch_error is not None) is launch_fails
    assert deleted(result) == set()


def test_repository_pattern_error_under_doublestar_is_swallowed() -> None:
    # doMatching ignores errors from its "**" recursion (`if m, _ := doMatching(...)`).
    p = policy(rule("latestPushedK", 0, repos=[sel("**/[", "repoMatches", None)]))
    result = run({"team/app": [art("a", ["1"], T - 10 * S)]}, p)
    assert result.projects[0].launch_error is None
    assert outcome(result, "proj/team/app").status == "not-in-scope"


def test_multiple_repository_selectors_are_anded() -> None:
    repos = {n: [art(n, ["1"], T - 10 * S)] for n in ("team/app", "team/tmp1", "other")}
    p = policy(
        rule(
            "latestPushedK",
            0,
            repos=[sel("team/**", "repoMatches", None), sel("team/tmp*", "repoExcludes", None)],
        )
    )
    result = run(repos, p)
    assert deleted(result) == names("team/app")
    assert outcome(result, "proj/team/tmp1").status == "not-in-scope"


def test_ns_matches_as_repository_selector_uses_the_project() -> None:
    arts = [art("a", ["1"], T - 10 * S)]
    p = policy(rule("latestPushedK", 0, repos=[sel("proj", "nsMatches", None)]))
    assert deleted(run(arts, p)) == names("a")
    p = policy(rule("latestPushedK", 0, repos=[sel("other", "nsMatches", None)]))
    assert deleted(run(arts, p)) == set()


@pytest.mark.parametrize(
    ("decoration", "extras", "in_scope"),
    [
        ("matches", None, True),
        ("matches", NO_UNTAGGED, False),
        ("excludes", None, True),
        ("excludes", '{"untagged":true}', False),
    ],
)
def test_tag_decoration_as_repository_selector_sees_an_untagged_candidate(
    decoration: str, extras: str | None, in_scope: bool
) -> None:
    # launcher.go:299-305 builds repository candidates without tags, and passes the
    # selector's extras (:160-161), so only the untagged flag decides.
    p = policy(rule("latestPushedK", 0, repos=[sel("nomatch", decoration, extras)]))
    result = run([art("a", ["1"], T - 10 * S)], p)
    assert (deleted(result) == names("a")) is in_scope


def test_rule_whose_repository_selectors_select_nothing_is_not_in_the_job() -> None:
    arts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    p = policy(
        rule("always", repos=[sel("nomatch", "repoMatches", None)]), rule("latestPushedK", 1)
    )
    result = run(arts, p)
    assert kept(result) == names("a")
    assert decisions(result)[dig("a")].retained_by == (1,)
    assert outcome(result).rules_in_scope == (1,)
    only = run(arts, policy(rule("latestPushedK", 0, repos=[sel("nomatch", "repoMatches", None)])))
    assert deleted(only) == set()
    assert outcome(only).status == "not-in-scope"


# ---------------------------------------------------------------------------------------------
# Build (retention/policy/builder.go:64-97): for every rule of the job, in order, the template
# (:65), the action (:70) and each tag selector (:76-83), then the algorithm (:92). Only after
# that does the OR processor drop rules with no tag selectors (alg/or/processor.go:48).
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        rule("nothing", tags=[]),
        rule("LatestPushedK", 1, tags=[]),
        with_params("lastXDays", {}, tags=[]),
        rule("", tags=[]),
        rule("always", tags=[], action="delete"),
        rule("always", tags=[], action="Retain"),
        rule("always", tags=[], action=""),
    ],
    ids=["nothing", "case", "missing-param", "no-template", "delete", "Retain", "no-action"],
)
def test_rule_with_empty_tag_selectors_is_still_built(bad: dict[str, Any]) -> None:
    arts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    result = run(arts, policy(rule("latestPushedK", 1), bad))
    assert outcome(result).status == "failed"
    assert deleted(result) == set()
    assert codes(result) == ["policy-error"]


def test_action_key_absent_fails_the_repository() -> None:
    r = rule("latestPushedK", 0)
    del r["action"]
    assert outcome(run([art("a", ["1"], T - 10 * S)], policy(r))).status == "failed"


@pytest.mark.parametrize(
    "bad_selector",
    [
        sel("**", "withLabels", None, kind="label"),
        sel("**", "withLabels"),
        sel("**", ""),
        sel("**", "Matches"),
    ],
    ids=["label-kind", "unknown-decoration", "empty-decoration", "case"],
)
def test_bad_tag_selector_fails_only_that_repository(bad_selector: dict[str, Any]) -> None:
    repos = {"a": [art("a", ["1"], T - 10 * S)], "b": [art("b", ["1"], T - 10 * S)]}
    p = policy(
        rule("always", tags=[sel("**"), bad_selector], repos=[sel("a", "repoMatches", None)]),
        rule("latestPushedK", 0, repos=[sel("b", "repoMatches", None)]),
    )
    result = run(repos, p)
    assert result.projects[0].launch_error is None
    assert outcome(result, "proj/a").status == "failed"
    assert deleted(result) == names("b")
    assert [(f.code, f.repository) for f in result.findings] == [("policy-error", "proj/a")]


@pytest.mark.parametrize("algorithm", ["and", "OR", ""])
def test_algorithm_other_than_or_fails_every_job(algorithm: str) -> None:
    repos = {"a": [art("a", ["1"], T - 10 * S)], "empty": [], "out": [art("o", ["1"], T - 10 * S)]}
    p = policy(
        rule("latestPushedK", 0, repos=[sel("{a,empty}", "repoMatches", None)]), algorithm=algorithm
    )
    result = run(repos, p)
    assert outcome(result, "proj/a").status == "failed"
    # job.go:95-107: candidates are loaded, then Build fails even when there are none.
    assert outcome(result, "proj/empty").status == "failed"
    assert outcome(result, "proj/out").status == "not-in-scope"  # no job, no failure
    assert deleted(result) == set()


def test_algorithm_key_absent_fails_too() -> None:
    p = policy(rule("latestPushedK", 0))
    del p["algorithm"]
    assert outcome(run([art("a", ["1"], T - 10 * S)], p)).status == "failed"


def test_disabled_rules_are_not_built() -> None:
    arts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    p = policy(
        rule("nothing", disabled=True), rule("latestPushedK", 1), rule("always", disabled=True)
    )
    result = run(arts, p)
    assert kept(result) == names("a")
    assert outcome(result).rules_in_scope == (1,)


def test_a_rule_that_keeps_nothing_still_makes_the_job_delete() -> None:
    # processor.go:103-105 records the action even for an empty result, so Perform runs.
    arts = [art("a", ["1"], T - 10 * S), art("u", [], T - 20 * S)]
    p = policy(rule("always", tags=[]), rule("always", tags=[sel("nomatch", extras=NO_UNTAGGED)]))
    assert deleted(run(arts, p)) == names("a", "u")


def test_rules_without_tag_selectors_do_not_keep_anything() -> None:
    arts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    result = run(arts, policy(rule("always", tags=[]), rule("latestPushedK", 1)))
    assert kept(result) == names("a")
    r = rule("always")
    r["tag_selectors"] = None
    result = run(arts, policy(r))
    assert deleted(result) == set()
    assert outcome(result).status == "no-rule-ran"


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


# ---------------------------------------------------------------------------------------------
# Day templates: daysps/dayspl evaluator.go:45 (UTC now + wrapped Duration, .Unix() floors,
# then >=), lastx/evaluator.go:44-46 (full-precision now, time.Unix(pushed).After(cutoff)).
# Candidate times: max over artifact and tags, .Unix() (retention/dep/client.go:123-144).
# ---------------------------------------------------------------------------------------------


def test_never_pulled_is_below_every_safe_pull_cutoff() -> None:
    old = datetime(1800, 1, 1, tzinfo=UTC)
    arts = [art("old", ["a"], T - 10 * S, old), art("never", ["b"], T - 5 * S)]
    assert kept(run(arts, policy(rule("nDaysSinceLastPull", 106751)))) == names("old")


def test_pull_cutoff_zero_days_keeps_only_this_second() -> None:
    arts = [
        art("now", ["a"], T - 10 * S, T),
        art("before", ["b"], T - 10 * S, T - S),
        art("never", ["c"], T - 5 * S),
    ]
    assert kept(run(arts, policy(rule("nDaysSinceLastPull", 0)))) == names("now")


def test_tag_pull_time_counts_for_pull_rules() -> None:
    a = art("a", ["t"], T - 30 * D, tag_pulled={"t": T - D})
    assert kept(run([a], policy(rule("nDaysSinceLastPull", 7)))) == names("a")


@pytest.mark.parametrize(
    ("now", "template", "expected"),
    [
        ("2026-01-01T00:00:00.5Z", "lastXDays", {"plus1"}),
        ("2026-01-01T00:00:00.5Z", "nDaysSinceLastPush", {"edge", "edge9", "plus1"}),
        ("2025-12-31T23:59:59.5Z", "lastXDays", {"edge", "edge9", "plus1"}),
        ("2025-12-31T23:59:59.999999999Z", "lastXDays", {"edge", "edge9", "plus1"}),
        ("2026-01-01T00:00:00.000000001Z", "lastXDays", {"plus1"}),
    ],
)
def test_fractional_now(now: str, template: str, expected: set[str]) -> None:
    # edge9 is pushed at T-D+0.9s; the candidate only has whole seconds (T-D).
    edge9 = T - D + timedelta(milliseconds=900)
    arts = [art("plus1", ["a"], T - D + S), art("edge9", ["b"], edge9), art("edge", ["c"], T - D)]
    assert kept(run(arts, policy(rule(template, 1)), now=now)) == names(*expected)


def test_day_cutoff_floors_before_the_epoch() -> None:
    # now = T - 0.5s and N = 20454 put the cutoff at -0.5s; Go's .Unix() gives -1 (floor).
    arts = [
        art("m1", ["a"], datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        art("m2", ["b"], datetime(1969, 12, 31, 23, 59, 58, tzinfo=UTC)),
    ]
    result = run(arts, policy(rule("nDaysSinceLastPush", 20454)), now="2025-12-31T23:59:59.5Z")
    assert kept(result) == names("m1")


def test_last_x_days_wraps_too() -> None:
    arts = [
        art("m20", ["a"], T - timedelta(minutes=20)),
        art("m30", ["b"], T - timedelta(minutes=30)),
    ]
    assert kept(run(arts, policy(rule("lastXDays", 213504)))) == names("m20")


# ---------------------------------------------------------------------------------------------
# Immutability: action/performer.go:55-107 (only non-retained candidates), immutable/
# match/rule/match.go:34-89 (rules by ID, immutable/manager.go:108; disabled and selector-less
# rules skipped; first repository and first tag selector only; any error -> not immutable).
# ---------------------------------------------------------------------------------------------

ALL_TAGS = [sel("**", extras=None)]
BAD_KIND = sel("**", "withLabels", None, kind="label")


def immutable_action(
    immutable: list[dict[str, Any]],
    tags: list[str] | None = None,
    repo: str = "app",
    version: str | None = None,
) -> str:
    arts = [art("x", ["v1"] if tags is None else tags, T - 10 * S)]
    result = run(
        {repo: arts}, policy(rule("latestPushedK", 0)), immutable=immutable, version=version
    )
    return actions(result)[dig("x")]


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


# ---------------------------------------------------------------------------------------------
# Release switches (RETENTION.md section 10; go.mod doublestar v1.1.1 up to v2.10.2; v2.4.0
# match.go:57-58 passes extras ""; v2.15.2 performer.go:97-98 ParseRepository again).
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "matches_action", "excludes_action"),
    [
        ("v2.4.0", "immutable", "immutable"),
        ("v2.5.0", "delete", "immutable"),
        (None, "delete", "immutable"),
    ],
)
def test_untagged_immutability_by_release(
    version: str | None, matches_action: str, excludes_action: str
) -> None:
    matching = [imm(1, [sel("v*", extras=None)])]
    excluding = [imm(1, [sel("v*", "excludes", None)])]
    assert immutable_action(matching, [], version=version) == matches_action
    assert immutable_action(excluding, [], version=version) == excludes_action


@pytest.mark.parametrize(
    ("pattern", "tag", "old", "new"),
    [
        ("{v1,v[1}", "v1", "evaluated-kept", "failed"),  # v1.1.1 stops at the first option
        ("a*[", "ab", "evaluated-deleted", "failed"),  # v1.1.1 swallows errors after '*'
        ("v[1", "v1", "failed", "failed"),
        ("{x,y/z}", "x", "failed", "evaluated-kept"),  # v1.1.1 splits patterns on '/' first
    ],
)
def test_doublestar_version_by_release(pattern: str, tag: str, old: str, new: str) -> None:
    for version, expected in (("v2.10.2", old), ("v2.10.3", new)):
        result = run(
            [art("a", [tag], T - 10 * S)],
            policy(rule("always", tags=[sel(pattern, extras=NO_UNTAGGED)])),
            version=version,
        )
        status: str = outcome(result).status
        if status == "evaluated":
            status += "-kept" if kept(result) else "-deleted"
        assert status == expected, version


@pytest.mark.parametrize(
    ("version", "nested", "flat"),
    [
        ("v2.15.2", "delete", "immutable"),
        ("v2.15.2-abc1234", "delete", "immutable"),
        ("v2.11.0", "delete", "immutable"),
        (None, "immutable", "immutable"),
        ("v2.16.0", "immutable", "immutable"),
    ],
)
def test_nested_repository_double_strip_by_release(
    version: str | None, nested: str, flat: str
) -> None:
    rules = [imm(1, ALL_TAGS, [sel("team/**", "repoMatches", None)])]
    assert immutable_action(rules, repo="team/app", version=version) == nested
    rules = [imm(1, ALL_TAGS, [sel("app", "repoMatches", None)])]
    assert immutable_action(rules, repo="app", version=version) == flat


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v2.9.4", "evaluated-kept"),
        ("v2.9.5", "failed"),  # fixed: was a documented discrepancy
        ("v2.10.2", "evaluated-kept"),
        ("v2.10.3", "failed"),
    ],
)
def test_doublestar_version_of_patch_releases(version: str, expected: str) -> None:
    result = run(
        [art("a", ["v1"], T - 10 * S)],
        policy(rule("always", tags=[sel("{v1,v[1}", extras=NO_UNTAGGED)])),
        version=version,
    )
    status: str = outcome(result).status
    if status == "evaluated":
        status += "-kept" if kept(result) else "-deleted"
    assert status == expected


def _retagged(keys: list[int]) -> list[dict[str, Any]]:
    """Artifacts all pushed at T-100 (API order = id desc), re-tagged ``key`` seconds after."""
    out = []
    for pos, key in enumerate(keys):
        tag = f"p{pos}"
        out.append(
            art(tag, [tag], T - 100 * S, tag_pushed={tag: T - 100 * S + key * S}, art_id=1000 - pos)
        )
    return out


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # Go <= 1.18 sort.Slice: a gap-6 Shell pass before insertion sort swaps p0 and p6.
        ("v2.6.3", {"p6", "p1"}),  # Makefile GOBUILDIMAGE=golang:1.18.8
        ("v2.6.4", {"p6", "p0"}),  # fixed: was a documented discrepancy
        ("v2.7.0", {"p6", "p0"}),
    ],
)
def test_small_sort_by_release(version: str, expected: set[str]) -> None:
    result = run(
        _retagged([0, 0, 0, 0, 0, 0, 1]), policy(rule("latestPushedK", 2)), version=version
    )
    assert kept(result) == names(*expected)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v2.13.1", {"p9", "p6"}),  # GOBUILDIMAGE=golang:1.23.8: xorshift (13, 17, 5)
        ("v2.13.2", {"p9", "p12"}),  # fixed: was a documented discrepancy
        ("v2.14.0", {"p9", "p12"}),  # golang:1.24.6
    ],
)
def test_pdqsort_prng_by_release(version: str, expected: set[str]) -> None:
    # Recorded with go1.19.8 and with Go's sort using the go1.24 xorshift constants.
    keys = [5, 5, 5, 4, 5, 5, 5, 5, 5, 5, 0, 5, 5, 5]
    result = run(_retagged(keys), policy(rule("latestPushedK", 2)), version=version)
    assert kept(result) == names(*expected)


# ---------------------------------------------------------------------------------------------
# tie (DESIGN.md): true only when the sort key equals the key at a count rule's cut (the K-th
# and K+1-th keys are equal) and no other rule keeps the artifact; never when K >= n or K = 0.
# ---------------------------------------------------------------------------------------------


def ties(result: RunResult) -> dict[str, bool]:
    return {d: x.tie for d, x in decisions(result).items()}


def same_time(*items: str) -> list[dict[str, Any]]:
    return [art(i, [i], T - 60 * S) for i in items]


def test_tie_at_the_cut_flags_every_equal_key() -> None:
    result = run(same_time("a", "b", "c"), policy(rule("latestPushedK", 1)))
    assert kept(result) == names("a")  # <= 12 candidates: insertion sort keeps API order
    assert ties(result) == {dig("a"): True, dig("b"): True, dig("c"): True}


@pytest.mark.parametrize("k", [0, 3, 5])
def test_no_tie_when_nothing_is_cut(k: int) -> None:
    result = run(same_time("a", "b", "c"), policy(rule("latestPushedK", k)))
    assert not any(ties(result).values())


def test_tie_only_for_keys_equal_to_the_cut() -> None:
    arts = [art("a", ["a"], T - 10 * S), art("b", ["b"], T - 20 * S), art("c", ["c"], T - 20 * S)]
    result = run(arts, policy(rule("latestPushedK", 2)))
    assert kept(result) == names("a", "b")
    assert ties(result) == {dig("a"): False, dig("b"): True, dig("c"): True}
    result = run(arts, policy(rule("latestPushedK", 1)))  # cut between T-10 and T-20
    assert not any(ties(result).values())


def test_no_tie_when_another_rule_keeps_it() -> None:
    arts = [art("a", ["a"], T - 10 * S), art("b", ["b"], T - 20 * S), art("c", ["c"], T - 20 * S)]
    p = policy(rule("latestPushedK", 2), rule("always", tags=[sel("c", extras=NO_UNTAGGED)]))
    result = run(arts, p)
    assert kept(result) == names("a", "b", "c")
    assert ties(result) == {dig("a"): False, dig("b"): True, dig("c"): False}


def test_no_tie_for_day_rules() -> None:
    result = run(same_time("a", "b", "c"), policy(rule("nDaysSinceLastPush", 1)))
    assert not any(ties(result).values())


def test_tie_for_never_pulled_artifacts_at_the_cut() -> None:
    arts = [
        art("n1", ["n1"], T - 10 * S),
        art("p", ["p"], T - 20 * S, T - D),
        art("n2", ["n2"], T - 30 * S),
        art("n3", ["n3"], T - 40 * S),
    ]
    result = run(arts, policy(rule("latestPulledN", 2)))
    assert kept(result) == names("p", "n1")
    assert ties(result) == {dig("n1"): True, dig("p"): False, dig("n2"): True, dig("n3"): True}
    result = run(arts, policy(rule("latestPulledN", 1)))
    assert not any(ties(result).values())


def test_tie_counts_only_candidates_that_passed_the_tag_selectors() -> None:
    arts = same_time("a", "b", "other")
    p = policy(rule("latestPushedK", 1, tags=[sel("{a,b}", extras=NO_UNTAGGED)]))
    result = run(arts, p)
    assert ties(result) == {dig("a"): True, dig("b"): True, dig("other"): False}
