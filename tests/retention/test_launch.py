"""Launch and build: which rules, selectors, actions and algorithms are built, and what fails.

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
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import (
    T_TEXT,
    T,
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
from tests.retention.helpers import (
    NO_UNTAGGED,
    S,
    codes,
    decisions,
    names,
    outcome,
    with_params,
)
from tests.retention.test_harbor_v211_cases import V211, a

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


def test_build_error_fails_repository_even_without_tag_selectors() -> None:
    p = policy(rule("latestPushedK", 1), rule("nothing", tags=[]))
    result = run([art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)], p)
    repo = result.projects[0].repositories[0]
    assert repo.status == "failed" and repo.error_rule == 1
    assert "rule evaluator nothing is not registered" in (repo.error or "")
    assert {d.action for d in repo.decisions} == {"retain"}
    assert [f.code for f in result.findings if f.code == "policy-error"] == ["policy-error"]


def test_unknown_algorithm_fails_each_repository() -> None:
    result = run([art("a", ["1"], T - 10 * S)], policy(rule("always"), algorithm="and"))
    assert result.projects[0].repositories[0].status == "failed"
    assert 'set "algorithm": "or"' in (result.projects[0].repositories[0].error or "")


# ---------------------------------------------------------------------------------------------
# Disagreements: a stored policy whose scope.level is not "project".
#
# POST /retentions refuses any level but "project" (server/v2.0/handler/retention.go:174-188),
# but PUT /retentions/{id} does not check the level (:212-234): requireAccess (:404-414) falls
# back to RequireSystemAccess for any other level, so a system administrator's PUT stores it,
# and GET returns it. The launcher then (pkg/retention/launcher.go, v2.11.0):
#   :115-121  level "system": lists every project of the instance;
#   :129-147  per rule: "system" filters those projects by scope_selectors["project"];
#             "project" uses scope.ref; any other level leaves no project at all;
#   :151-157  only the chosen projects' repositories get jobs.
# harborguard follows the level for the project whose policy it is; that a "system" policy
# also runs in every other project of the instance is said in a note (see simulate).
# ---------------------------------------------------------------------------------------------

def _two_projects(retention: dict[str, Any]) -> dict[str, Any]:
    snap = snapshot({"app": [a("p1", ["v1"])]}, retention, version=V211)
    other = snapshot({"app": [a("o1", ["v1"])]}, None, project="other", version=V211)
    other["projects"][0]["project"]["project_id"] = 2
    snap["projects"].append(other["projects"][0])
    return snap


def _actions(snap: dict[str, Any]) -> dict[str, str]:
    result = simulate(parse_snapshot(snap, "audit3"), parse_nanos(T_TEXT), resolve(V211))
    return {
        f"{ro.repository.name}@{d.digest}": dec.action
        for p in result.projects for ro in p.repositories
        for d, dec in zip(ro.repository.artifacts, ro.decisions, strict=True)
    }


def test_system_level_policy_applies_to_its_project_and_says_it_reaches_others() -> None:
    pol = policy(rule("latestPushedK", 0))
    pol["scope"] = {"level": "system", "ref": 1}
    got = _actions(_two_projects(pol))
    # launcher.go:115-121 + :129-141 (no "project" selectors: every project) + :151-157.
    assert got[f"proj/app@{dig('p1')}"] == "delete"
    result = simulate(parse_snapshot(_two_projects(pol), "audit3"), parse_nanos(T_TEXT),
                      resolve(V211))
    assert any("scope level 'system'" in n for n in result.notes)


def test_system_level_policy_honours_project_selectors() -> None:
    pol = policy(rule("latestPushedK", 0))
    pol["rules"][0]["scope_selectors"]["project"] = [sel("other", "nsMatches", None)]
    pol["scope"] = {"level": "system", "ref": 1}
    got = _actions(_two_projects(pol))
    # launcher.go:132-141: nsMatches "other" keeps only project "other" (Namespace = name).
    assert got[f"proj/app@{dig('p1')}"] == "retain"


@pytest.mark.parametrize("level", ["Project", "", "repository"])
def test_unknown_scope_level_launches_nothing(level: str) -> None:
    pol = policy(rule("latestPushedK", 0))
    pol["scope"] = {"level": level, "ref": 1}
    got = _actions(_two_projects(pol))
    # launcher.go:129-147: no case matches, projectCandidates stays nil -> no jobs (:194-198).
    assert got == {f"proj/app@{dig('p1')}": "retain", f"other/app@{dig('o1')}": "retain"}


def test_a_disabled_rule_is_named_when_it_is_why_nothing_covers_a_repository() -> None:
    only = [sel("app", "repoMatches", None)]
    arts = [art("a", ["1"], T - 10 * S)]
    result = run({"app": arts, "other": [art("o", ["1"], T - 10 * S)]}, policy(
        rule("latestPushedK", 1, repos=only, disabled=True),
        rule("always", repos=[sel("nothing-here", "repoMatches", None)])))
    reasons = {r.repository.name: (r.status, r.decisions[0].reason)
               for p in result.projects for r in p.repositories}
    assert reasons["proj/app"] == (
        "not-in-scope",
        "not covered by any rule: rule 0 (latestPushedK) covers it but is disabled")
    assert reasons["proj/other"] == ("not-in-scope", "not covered by any rule")
