"""RETENTION.md section 9, scenario by scenario (T = 2026-01-01T00:00:00Z, D = 1 day)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import D, T, actions, art, deleted, dig, kept, policy, rule, run, sel

S = timedelta(seconds=1)


def names(*items: str) -> set[str]:
    return {dig(i) for i in items}


@pytest.mark.parametrize(("k", "expected"), [(0, []), (1, ["a96"]), (3, ["a96", "a97", "a98"]),
                                             (5, ["a96", "a97", "a98", "a99", "a100"]),
                                             (6, ["a96", "a97", "a98", "a99", "a100"])])
def test_01_latest_pushed_k_counts(k: int, expected: list[str]) -> None:
    shuffled = [98, 100, 96, 99, 97]
    artifacts = [art(f"a{n}", [f"t{n}"], T - n * S) for n in shuffled]
    assert kept(run(artifacts, policy(rule("latestPushedK", k)))) == names(*expected)


def test_02_latest_pulled_n() -> None:
    artifacts = [art(f"a{n}", [f"t{n}"], T - 500 * S, T - n * S) for n in (100, 99, 98, 97, 96)]
    assert kept(run(artifacts, policy(rule("latestPulledN", 3)))) == names("a96", "a97", "a98")


PAIRS = [(1, 2), (3, 4), (6, 5), (8, 7), (9, 9), (10, 10), (0, 11)]


def _active_artifacts() -> list[dict[str, object]]:
    base = T - 1000 * S
    out = []
    for pulled, pushed in PAIRS:
        out.append(art(f"p{pulled}-{pushed}", [f"t{pushed}"], base + pushed * S,
                       base + pulled * S if pulled else None))
    return sorted(out, key=lambda a: str(a["push_time"]), reverse=True)


def test_03_latest_active_k() -> None:
    result = run(_active_artifacts(), policy(rule("latestActiveK", 2)))
    assert kept(result) == names("p0-11", "p10-10")
    result = run(_active_artifacts(), policy(rule("latestActiveK", 6)))
    assert kept(result) == names("p0-11", "p10-10", "p9-9", "p8-7", "p6-5", "p3-4")


@pytest.mark.parametrize(("n", "count"), [(0, 0), (1, 1), (2, 2), (5, 5), (15, 6), (90, 8)])
def test_04_n_days_since_last_push(n: int, count: int) -> None:
    days = [1, 2, 3, 4, 5, 10, 20, 30]
    artifacts = [art(f"d{d}", [f"t{d}"], T - d * D + timedelta(hours=1)) for d in days]
    assert len(kept(run(artifacts, policy(rule("nDaysSinceLastPush", n))))) == count


def test_05_boundary_inclusive_vs_strict() -> None:
    artifacts = [art("edge", ["e"], T - D)]
    assert kept(run(artifacts, policy(rule("nDaysSinceLastPush", 1)))) == names("edge")
    assert kept(run(artifacts, policy(rule("lastXDays", 1)))) == set()


def test_06_never_pulled() -> None:
    artifacts = [art("A", ["a"], T - 3 * D, T - 2 * D), art("B", ["b"], T - 4 * D)]
    assert kept(run(artifacts, policy(rule("nDaysSinceLastPull", 7)))) == names("A")


def _seven() -> list[dict[str, object]]:
    return [art("latest", ["latest"], T - 10 * S), art("40", ["4.0"], T - 20 * S),
            art("41", ["4.1"], T - 30 * S), art("untagged", [], T - 40 * S)]


def test_07_untagged_with_matches() -> None:
    keep_tagged = rule("always", tags=[sel("{latest,4.*}", extras='{"untagged":false}')])
    assert kept(run(_seven(), policy(keep_tagged))) == names("latest", "40", "41")
    no_extras = rule("always", tags=[sel("4.*", extras=None)])
    assert kept(run(_seven(), policy(no_extras))) == names("40", "41", "untagged")


def test_08_untagged_with_excludes() -> None:
    no_extras = rule("always", tags=[sel("{latest,4.*}", "excludes", None)])
    assert kept(run(_seven(), policy(no_extras))) == names("untagged")
    flagged = rule("always", tags=[sel("{latest,4.*}", "excludes", '{"untagged":true}')])
    assert kept(run(_seven(), policy(flagged))) == set()


def test_09_multi_tag() -> None:
    artifacts = [art("both", ["latest", "1.0"], T - 10 * S), art("only", ["latest"], T - 20 * S)]
    result = run(artifacts, policy(rule("always", tags=[sel("latest", "excludes")])))
    assert kept(result) == names("both")


def test_10_artifacts_not_tags() -> None:
    artifacts = [art("X", ["v1", "v2", "v3"], T - 10 * S), art("Y", ["v0"], T - 20 * S)]
    result = run(artifacts, policy(rule("latestPushedK", 1)))
    assert kept(result) == names("X")


def test_11_retag_bumps_push_time() -> None:
    from datetime import UTC, datetime

    a = art("A", ["old"], datetime(2025, 1, 1, tzinfo=UTC),
            tag_pushed={"old": datetime(2025, 12, 31, 12, tzinfo=UTC)})
    b = art("B", ["new"], datetime(2025, 12, 31, tzinfo=UTC))
    result = run([b, a], policy(rule("latestPushedK", 1)))  # API order: B was pushed later
    assert kept(result) == names("A")


def _twelve() -> list[dict[str, object]]:
    return [art("u", [], T - 50 * S), art("d3", ["dev-3"], T - 100 * S),
            art("d2", ["dev-2"], T - 200 * S), art("d1", ["dev-1"], T - 300 * S),
            art("rel", ["release-1"], T - 900 * S)]


def test_12_or_union() -> None:
    result = run(_twelve(), policy(rule("latestPushedK", 2),
                                   rule("always", tags=[sel("release-*")])))
    assert kept(result) == names("d3", "u", "rel")
    assert deleted(result) == names("d1", "d2")
    by_digest = {a.digest: d for p in result.projects for r in p.repositories
                 for a, d in zip(r.repository.artifacts, r.decisions, strict=True)}
    assert by_digest[dig("u")].retained_by == (0, 1)
    assert by_digest[dig("rel")].retained_by == (1,)


def test_13_selectors_apply_before_counting() -> None:
    result = run(_twelve(), policy(rule("latestPushedK", 2,
                                        tags=[sel("dev-*", extras='{"untagged":false}')])))
    assert kept(result) == names("d3", "d2")
    assert deleted(result) == names("rel", "d1", "u")


@pytest.mark.parametrize(
    ("pattern", "repo", "in_scope"),
    [("*", "nginx", True), ("*", "team/app", False), ("**", "team/app", True),
     ("team/*", "team/sub/app", False), ("team/**", "team/sub/app", True),
     ("team/**", "team", False), ("{nginx,team/app}", "team/app", True)],
)
def test_14_repository_patterns(pattern: str, repo: str, in_scope: bool) -> None:
    p = policy(rule("latestPushedK", 0, repos=[sel(pattern, "repoMatches", None)]))
    result = run({repo: [art("x", ["1"], T - 10 * S)]}, p, version="v2.11.0")
    status = result.projects[0].repositories[0].status
    assert (status == "evaluated") is in_scope
    assert (deleted(result) == names("x")) is in_scope


def test_14_brace_with_slash_fails_the_whole_execution_before_v2_10_3() -> None:
    p = policy(rule("latestPushedK", 0, repos=[sel("{nginx,team/app}", "repoMatches", None)]))
    result = run({"team/app": [art("x", ["1"], T - 10 * S)]}, p, version="v2.10.2")
    outcome = result.projects[0]
    assert outcome.launch_error is not None and "syntax error in pattern" in outcome.launch_error
    assert deleted(result) == set()
    assert [f.code for f in result.findings] == ["policy-error"]


def test_15_out_of_scope_means_untouched() -> None:
    result = run([art("x", ["1"], T - 10 * S)], policy(rule("latestPushedK", 0, disabled=True)))
    assert kept(result) == names("x")
    assert result.projects[0].repositories[0].status == "not-in-scope"


def test_16_zero_deletes_everything() -> None:
    artifacts = [art("t", ["1"], T - 10 * S), art("u", [], T - 20 * S)]
    assert deleted(run(artifacts, policy(rule("latestPushedK", 0)))) == names("t", "u")


def test_17_string_parameter_means_default() -> None:
    artifacts = [art(f"a{i:02d}", [f"t{i}"], T - (i + 1) * S) for i in range(12)]
    assert len(kept(run(artifacts, policy(rule("latestPushedK", "5"))))) == 10


def test_18_empty_tag_selectors_delete_nothing() -> None:
    artifacts = [art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)]
    result = run(artifacts, policy(rule("latestPushedK", 0, tags=[])))
    assert deleted(result) == set()
    assert result.projects[0].repositories[0].status == "no-rule-ran"


def test_19_overflow() -> None:
    artifacts = [art("fresh", ["1"], T - timedelta(hours=1))]
    assert kept(run(artifacts, policy(rule("nDaysSinceLastPush", 999999)))) == set()
    assert kept(run(artifacts, policy(rule("nDaysSinceLastPush", 106751)))) == names("fresh")


def test_20_immutable_target() -> None:
    artifacts = [art("d0", ["latest"], T - 10 * S), art("d1", ["dev"], T - 20 * S),
                 art("d2", ["immute"], T - 30 * S)]
    immutable = [{"id": 1, "tag_selectors": [sel("immute", extras=None)],
                  "scope_selectors": {"repository": [sel("**", "repoMatches", None)]}}]
    result = run(artifacts, policy(rule("latestPushedK", 1)), immutable=immutable)
    got = actions(result)
    assert got == {dig("d0"): "retain", dig("d1"): "delete", dig("d2"): "immutable"}


def test_21_excluding_immutability_rule_protects_untagged() -> None:
    artifacts = [art("u", [], T - 10 * S), art("snap", ["1.0-SNAPSHOT"], T - 20 * S),
                 art("rel", ["1.0"], T - 30 * S)]
    immutable = [{"id": 1, "tag_selectors": [sel("*SNAPSHOT*", "excludes", None)],
                  "scope_selectors": {"repository": [sel("**", "repoMatches", None)]}}]
    result = run(artifacts, policy(rule("latestPushedK", 0)), immutable=immutable)
    assert actions(result) == {dig("u"): "immutable", dig("snap"): "delete",
                               dig("rel"): "immutable"}


@pytest.mark.parametrize(("version", "qa_action"), [(None, "delete"), ("v2.15.2", "immutable"),
                                                    ("v2.0.0", "immutable")])
def test_22_nested_repositories(version: str | None, qa_action: str) -> None:
    immutable = [{"id": 1, "tag_selectors": [sel("**", extras=None)],
                  "scope_selectors": {"repository": [sel("qa/**", "repoExcludes", None)]}}]
    repos = {"qa/team/component/backend": [art("qa", ["build-42"], T - 10 * S)],
             "prod/team/component/backend": [art("prod", ["build-42"], T - 10 * S)]}
    result = run(repos, policy(rule("latestPushedK", 0)), immutable=immutable, version=version)
    got = actions(result)
    assert got[dig("qa")] == qa_action
    assert got[dig("prod")] == "immutable"


def test_23_tie_instability() -> None:
    tied = [art(f"a{i:02d}", [f"t{i}"], T - 60 * S, art_id=100 - i) for i in range(12)]
    retagged = art("a12", ["t12"], T - 60 * S, tag_pushed={"t12": T - 5 * S}, art_id=50)
    result = run(tied + [retagged], policy(rule("latestPushedK", 2)), version="v2.11.0")
    assert kept(result) == names("a12", "a06")
    result = run(tied[1:] + [retagged], policy(rule("latestPushedK", 2)), version="v2.11.0")
    assert kept(result) == names("a12", "a01")


def test_24_never_pulled_ties() -> None:
    artifacts = [art("n1", ["n1"], T - 10 * S), art("n2", ["n2"], T - 20 * S),
                 art("p", ["p"], T - 30 * S, T - D)]
    result = run(artifacts, policy(rule("latestPulledN", 2)))
    assert kept(result) == names("p", "n1")
    ties = {a.digest: d.tie for p in result.projects for r in p.repositories
            for a, d in zip(r.repository.artifacts, r.decisions, strict=True)}
    assert ties == {dig("n1"): True, dig("n2"): True, dig("p"): False}
