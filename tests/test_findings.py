"""Audit of derived semantics against DESIGN.md (tie, time-tie, version findings,
--order semver, summary, check, diff). Tests pass when the code matches the contract;
known deviations are strict xfails citing the contract sentence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.check import check
from harborguard.cli import cli
from harborguard.evidence import Usage
from harborguard.harborversion import resolve
from harborguard.policy import parse_policy
from harborguard.report.build import Source, build_report
from harborguard.retention.semver_order import SemverRanker
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, T, art, dig, policy, rule, run, sel, snapshot

S = timedelta(seconds=1)
HOST = "harbor.example.org"


def decisions(result):  # type: ignore[no-untyped-def]
    return {a.digest: d for p in result.projects for r in p.repositories
            for a, d in zip(r.repository.artifacts, r.decisions, strict=True)}


def fates(result):  # type: ignore[no-untyped-def]
    return {k: (d.action, d.tie) for k, d in decisions(result).items()}


def of(result, code):  # type: ignore[no-untyped-def]
    return [f for f in result.findings if f.code == code]


def semver_run(artifacts, p, immutable=None):  # type: ignore[no-untyped-def]
    snap = parse_snapshot(snapshot({"app": artifacts}, p, immutable), "s")
    return simulate(snap, parse_nanos(T_TEXT), resolve(None), order="semver",
                    ranker=SemverRanker())


def immut(pattern: str) -> list[dict[str, Any]]:
    return [{"id": 1, "tag_selectors": [sel(pattern, extras=None)],
             "scope_selectors": {"repository": [sel("**", "repoMatches", None)]}}]


# ---------------------------------------------------------------- 1. tie

def test_tie_never_pulled_under_latest_pulled() -> None:
    arts = [art("n1", ["n1"], T - 10 * S), art("p", ["p"], T - 30 * S, T - 5 * S),
            art("n2", ["n2"], T - 20 * S)]
    got = fates(run(arts, policy(rule("latestPulledN", 2))))
    assert got == {dig("p"): ("retain", False), dig("n1"): ("retain", True),
                   dig("n2"): ("delete", True)}


def test_tie_latest_active_push_equals_pull() -> None:
    # a: pushed T-10, never pulled; b: pushed T-50, pulled T-10: equal active key.
    arts = [art("a", ["a"], T - 10 * S), art("b", ["b"], T - 50 * S, T - 10 * S),
            art("c", ["c"], T - 60 * S)]
    got = fates(run(arts, policy(rule("latestActiveK", 1))))
    assert got == {dig("a"): ("retain", True), dig("b"): ("delete", True),
                   dig("c"): ("delete", False)}


def test_tie_k_zero_and_k_at_least_n_and_non_straddling() -> None:
    same = T - 60 * S
    arts = [art("x", ["x"], same), art("y", ["y"], same), art("o", ["o"], T - 90 * S)]
    for k in (0, 3, 4):
        outcome = decisions(run(arts, policy(rule("latestPushedK", k))))
        assert not any(d.tie for d in outcome.values())
    # [x=y] > o with K=2: the tie group is wholly kept, the cut is between y and o.
    assert not any(d.tie for d in decisions(run(arts, policy(rule("latestPushedK", 2)))).values())
    # n > [x=y] with K=1: the cut is between n and the tie group.
    arts2 = [art("n", ["n"], T - 5 * S), art("x", ["x"], same), art("y", ["y"], same)]
    assert not any(d.tie for d in decisions(run(arts2, policy(rule("latestPushedK", 1)))).values())
    assert not of(run(arts2, policy(rule("latestPushedK", 1))), "time-tie")


def test_tie_other_count_rule_keeps_one_member() -> None:
    same = T - 60 * S
    arts = [art("x", ["x"], same), art("y", ["y"], same, T - 1 * S)]
    result = run(arts, policy(rule("latestPushedK", 1), rule("latestPulledN", 1)))
    got = fates(result)
    # x survives only by API order in rule 0; y is kept by rule 1 whatever the order.
    assert got == {dig("x"): ("retain", True), dig("y"): ("retain", False)}
    assert [f.tags for f in of(result, "time-tie")] == [("x",)]


def test_tie_immutable_members() -> None:
    same = T - 60 * S
    arts = [art("x", ["x"], same), art("y", ["y"], same)]
    kept_immutable = fates(run(arts, policy(rule("latestPushedK", 1)), immutable=immut("x")))
    assert kept_immutable == {dig("x"): ("retain", False), dig("y"): ("delete", True)}
    saved = fates(run(arts, policy(rule("latestPushedK", 1)), immutable=immut("y")))
    assert saved == {dig("x"): ("retain", True), dig("y"): ("immutable", False)}


def test_tie_when_every_keeping_rule_keeps_it_only_by_a_tie() -> None:
    same = T - 60 * S
    arts = [art("x", ["ax", "bx"], same), art("y", ["ay"], same), art("z", ["bz"], same)]
    p = policy(rule("latestPushedK", 1, tags=[sel("a*")]),
               rule("latestPushedK", 1, tags=[sel("b*")]))
    got = fates(run(arts, p))
    assert got[dig("y")] == ("delete", True) and got[dig("z")] == ("delete", True)
    assert got[dig("x")] == ("retain", True)


# ---------------------------------------------------------------- 2. time-tie

def test_time_tie_one_per_artifact_related_and_rule() -> None:
    same = T - 60 * S
    arts = [art("n", ["n"], T - 5 * S), art("x", ["x"], same), art("y", ["y"], same),
            art("z", ["z"], same), art("o", ["o"], T - 90 * S)]
    result = run(arts, policy(rule("latestPushedK", 1, tags=[sel("zzz")]),
                              rule("latestPushedK", 2)))
    ties = of(result, "time-tie")
    assert sorted(f.tags for f in ties) == [("x",), ("y",), ("z",)]
    for f in ties:
        assert f.rule == 1 and f.severity == "warning"
        assert sorted(r.tags for r in f.related) == sorted(
            t for t in [("x",), ("y",), ("z",)] if t != f.tags)


def test_time_tie_one_finding_per_artifact_even_across_rules() -> None:
    same = T - 60 * S
    arts = [art("x", ["ax", "bx"], same), art("y", ["ay", "by"], same)]
    p = policy(rule("latestPushedK", 1, tags=[sel("a*")]),
               rule("latestPushedK", 1, tags=[sel("b*")]))
    ties = of(run(arts, p), "time-tie")
    # x is kept by both rules only through their ties, y deleted by both: one finding each.
    assert sorted(f.tags for f in ties) == [("ax", "bx"), ("ay", "by")]
    assert all("rule 0" in f.message and "rule 1" in f.message for f in ties)


# ---------------------------------------------------------------- 3. version-order-inversion

def test_inversion_related_is_exactly_the_kept_older_ones() -> None:
    # push order: 1.0.1 newest ... ; keep 2 by push: 1.0.1 and 1.0.4; immutable 1.0.0.
    arts = [art("a", ["1.0.1"], T - 1 * S), art("b", ["1.0.4"], T - 2 * S),
            art("c", ["1.0.3"], T - 3 * S), art("d", ["1.0.2"], T - 4 * S),
            art("e", ["1.0.0"], T - 5 * S), art("f", ["latest"], T - 6 * S),
            art("g", ["1.0.5"], T - 7 * S)]
    result = run(arts, policy(rule("latestPushedK", 2)), immutable=immut("1.0.0"))
    inv = {f.tags: f for f in of(result, "version-order-inversion")}
    assert set(inv) == {("1.0.2",), ("1.0.3",), ("1.0.5",)}
    assert {r.tags for r in inv[("1.0.2",)].related} == {("1.0.1",), ("1.0.0",)}
    assert {r.tags for r in inv[("1.0.3",)].related} == {("1.0.1",), ("1.0.0",)}
    assert {r.tags for r in inv[("1.0.5",)].related} == {("1.0.1",), ("1.0.0",), ("1.0.4",)}
    # latest has no version: no finding, never related.
    assert all(("latest",) not in [r.tags for r in f.related] for f in inv.values())


def test_inversion_equal_versions_are_not_older() -> None:
    arts = [art("img", ["0.0.131_image"], T - 1 * S), art("chart", ["0.0.131"], T - 2 * S,
                                                          kind="CHART")]
    result = run(arts, policy(rule("latestPushedK", 1)))
    assert decisions(result)[dig("chart")].action == "delete"
    assert not of(result, "version-order-inversion")


def test_inversion_only_immutable_keeper() -> None:
    arts = [art("a", ["2.0.0"], T - 1 * S), art("b", ["1.0.0"], T - 2 * S)]
    result = run(arts, policy(rule("latestPushedK", 0)), immutable=immut("1.0.0"))
    inv = of(result, "version-order-inversion")
    assert [(f.tags, [r.tags for r in f.related]) for f in inv] == [(("2.0.0",), [("1.0.0",)])]


# ---------------------------------------------------------------- 4. version-disorder

def _disorder_run(order: list[int], prefix: str = "1.0."):  # type: ignore[no-untyped-def]
    """order[i] = patch version pushed i-th (oldest first)."""
    arts = [art(f"v{p}", [f"{prefix}{p}"], T - (100 - i) * S) for i, p in enumerate(order)]
    return run(list(reversed(arts)), policy(rule("always")))


def test_disorder_threshold_is_strictly_more_than_ten_percent() -> None:
    # 5 versions, 10 pairs; one adjacent swap = exactly 10%: no finding.
    assert not of(_disorder_run([0, 1, 3, 2, 4]), "version-disorder")
    # two swaps = 20%.
    assert of(_disorder_run([1, 0, 3, 2, 4]), "version-disorder")
    # 11 versions, 55 pairs: 5 discordant (9.1%) no, 6 (10.9%) yes.
    five = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 10]
    assert not of(_disorder_run(five), "version-disorder")
    six = [1, 0, 3, 2, 5, 4, 7, 6, 10, 8, 9]
    assert of(_disorder_run(six), "version-disorder")


def test_disorder_equal_versions_and_equal_push_times_not_counted() -> None:
    # 5 distinct versions in order, plus a duplicate version (chart/image) pushed out of
    # order and two equal push times: neither creates disagreement.
    arts = [art(f"v{i}", [f"1.0.{i}"], T - (100 - i) * S) for i in range(5)]
    arts.append(art("dup", ["1.0.4_image"], T - 200 * S))
    arts.append(art("same", ["1.0.5"], T - 96 * S))  # same second as 1.0.4
    result = run(list(reversed(arts)), policy(rule("always")))
    # the duplicate 1.0.4_image pushed before everything IS discordant against 1.0.0-1.0.3:
    # 4 of (4+5... ) pairs; assert only the equal-version pair is excluded via the message.
    msgs = [f.message for f in of(result, "version-disorder")]
    assert msgs and "(4 of 19)" in msgs[0]  # 21 pairs - equal version - equal push


def test_disorder_has_no_minimum_version_count() -> None:
    assert of(_disorder_run([3, 2, 1, 0]), "version-disorder")


def test_disorder_advises_semver_only_when_not_already_semver() -> None:
    arts = [art(f"v{p}", [f"1.0.{p}"], T - (100 - i) * S) for i, p in enumerate([3, 2, 1, 0])]
    (push,) = of(_disorder_run([3, 2, 1, 0]), "version-disorder")
    assert push.message.endswith("compare with --order semver")
    (what_if,) = of(semver_run(list(reversed(arts)), policy(rule("always"))), "version-disorder")
    assert "compare with --order semver" not in what_if.message
    assert "this --order semver what-if ranks by version" in what_if.message


# ---------------------------------------------------------------- 5. --order semver

def test_semver_unversioned_rank_last_and_highest_tag_counts() -> None:
    arts = [art("latest", ["latest"], T - 1 * S), art("a", ["1.0.0", "2.5.0"], T - 9 * S),
            art("b", ["2.0.0"], T - 2 * S), art("c", ["1.9.0"], T - 3 * S)]
    got = decisions(semver_run(arts, policy(rule("latestPushedK", 2))))
    assert {k for k, d in got.items() if d.action == "retain"} == {dig("a"), dig("b")}


def test_semver_equal_versions_fall_back_to_api_order_and_flag_tie() -> None:
    same = T - 10 * S
    arts = [art("x", ["1.0.0"], same), art("y", ["1.0.0_image"], same),
            art("o", ["0.9.0"], T - 1 * S)]
    got = fates(semver_run(arts, policy(rule("latestPushedK", 1))))
    assert got == {dig("x"): ("retain", True), dig("y"): ("delete", True),
                   dig("o"): ("delete", False)}


def test_semver_fallback_is_push_time_for_latest_pulled() -> None:
    arts = [art("fresh", ["1.0.0"], T - 1 * S),  # pushed later, never pulled
            art("pulled", ["1.0.0_image"], T - 50 * S, T - 2 * S)]
    got = decisions(semver_run(arts, policy(rule("latestPulledN", 1))))
    assert got[dig("fresh")].action == "retain"
    assert got[dig("pulled")].action == "delete"


# ---------------------------------------------------------------- 6. summary, retained_by

def test_summary_disjoint_bytes_and_retained_by_with_disabled_rule() -> None:
    arts = [art("a", ["1"], T - 1 * S, size=10), art("b", ["2"], T - 2 * S, size=200),
            art("c", ["3"], T - 3 * S, size=3000), art("d", ["4"], T - 4 * S, size=40000)]
    p = policy(dict(rule("always"), disabled=True), rule("latestPushedK", 1))
    result = run(arts, p, immutable=immut("3"))
    report = build_report(result, Source(HOST, "s", "harbor"))
    arts_out = report["artifacts"]
    s = report["summary"]
    assert s["artifacts"] == len(arts_out) == 4
    assert s["retain"] + s["delete"] + s["immutable"] == 4
    assert (s["retain"], s["delete"], s["immutable"]) == (1, 2, 1)
    assert s["bytes_deleted"] == 200 + 40000
    by = {a["tags"][0]: a for a in arts_out}
    assert list(by["1"]["retained_by"]) == [1]
    assert by["3"]["action"] == "immutable" and list(by["3"]["retained_by"]) == []


# ---------------------------------------------------------------- 7. check

def usage(ref: str, kind: str = "running", digest: str | None = None) -> Usage:
    return Usage(source="kubectl", kind=kind, ref=ref, where="ns/Pod/p",  # type: ignore[arg-type]
                 digest=digest)


def test_check_tie_deleted_and_tie_kept_both_errors() -> None:
    same = T - 60 * S
    result = run({"app": [art("x", ["x"], same), art("y", ["y"], same)]},
                 policy(rule("latestPushedK", 1)))
    found = check(result, [usage(f"{HOST}/proj/app:x"), usage(f"{HOST}/proj/app:y")], [HOST])
    assert sorted((f.code, f.tags) for f in found.findings) == [
        ("in-use-deleted", ("x",)), ("in-use-deleted", ("y",))]


def test_check_multi_rule_tie_kept_in_use() -> None:
    same = T - 60 * S
    arts = [art("x", ["ax", "bx"], same), art("y", ["ay"], same), art("z", ["bz"], same)]
    p = policy(rule("latestPushedK", 1, tags=[sel("a*")]),
               rule("latestPushedK", 1, tags=[sel("b*")]))
    found = check(run({"app": arts}, p), [usage(f"{HOST}/proj/app:ax")], [HOST])
    assert [f.code for f in found.findings] == ["in-use-deleted"]


def _index_repo():  # type: ignore[no-untyped-def]
    index = art("idx", ["2.0"], T - 50 * S)
    index["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("child")}]
    return run({"app": [art("new", ["3.0"], T - 5 * S), index]},
               policy(rule("latestPushedK", 1)))


def test_check_child_digest_of_deleted_index_is_in_use_deleted() -> None:
    found = check(_index_repo(), [usage(f"{HOST}/proj/app:2.0", digest=dig("child"))], [HOST])
    assert [(f.code, f.tags) for f in found.findings] == [("in-use-deleted", ("2.0",))]
    assert list(found.in_use) == [("proj", "proj/app", dig("idx"))]


def test_check_digest_moved_only_for_running() -> None:
    gone = "sha256:" + "1" * 64
    res = _index_repo()
    running = check(res, [usage(f"{HOST}/proj/app:3.0", digest=gone)], [HOST])
    assert [f.code for f in running.findings] == ["digest-moved"]
    declared = check(res, [usage(f"{HOST}/proj/app:3.0", kind="declared", digest=gone)], [HOST])
    assert [f.code for f in declared.findings] == ["in-use-missing"]
    rollback = check(res, [usage(f"{HOST}/proj/app:3.0", kind="rollback", digest=gone)], [HOST])
    assert [f.code for f in rollback.findings] == ["in-use-missing"]
    pinned = check(res, [usage(f"{HOST}/proj/app:3.0@{gone}")], [HOST])
    assert [f.code for f in pinned.findings] == ["in-use-missing"]


def test_check_missing_repo_tag_unmatched_and_alias() -> None:
    res = _index_repo()
    found = check(res, [usage(f"{HOST}/proj/gone:1"), usage(f"{HOST}/proj/app:9"),
                        usage(f"{HOST}/other/app:1"), usage("mirror.example:8443/proj/app:2.0"),
                        usage("Bad Ref")], [HOST, "mirror.example:8443"])
    got = sorted((f.code, f.severity, f.digest, f.tags) for f in found.findings)
    assert got == [
        ("in-use-deleted", "error", dig("idx"), ("2.0",)),
        ("in-use-missing", "error", None, None),
        ("in-use-missing", "error", None, None),
        ("unmatched-reference", "info", None, None),
        ("unmatched-reference", "info", None, None),
    ]


# ---------------------------------------------------------------- 8. diff

def test_diff_previous_action_and_exit_over_new_findings_only(tmp_path: Path) -> None:
    arts = [art(f"a{i}", [f"1.0.{3 - i}"], T - (i + 1) * 10 * S) for i in range(4)]
    # current policy (in the snapshot): keeps 1 by push: deletes 3 -> inversions? no, versions
    # follow push order. Make the OLD policy produce a warning (time-tie) and the NEW none.
    same = T - 100 * S
    arts += [art("t1", ["x1"], same), art("t2", ["x2"], same)]
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(snapshot({"app": arts}, policy(rule("latestPushedK", 5)))))
    new = tmp_path / "new.json"
    new.write_text(json.dumps(policy(rule("always"))))
    result = CliRunner().invoke(cli, ["diff", "--snapshot", str(snap), "--policy", str(new),
                                      "--format", "json", "--fail-on", "warning"],
                                catch_exceptions=False)
    report = json.loads(result.stdout)
    assert all("previous_action" in a for a in report["artifacts"])
    assert {a["tags"][0]: a["previous_action"] for a in report["artifacts"]}["x2"] == "delete"
    assert not report["findings"]
    assert result.exit_code == 0
    # Reverse: the new policy has the tie -> exit 1 with --fail-on warning.
    old = tmp_path / "old.json"
    old.write_text(json.dumps(policy(rule("always"))))
    tie = tmp_path / "tie.json"
    tie.write_text(json.dumps(policy(rule("latestPushedK", 5))))
    result = CliRunner().invoke(cli, ["diff", "--snapshot", str(snap), "--policy", str(tie),
                                      "--against", str(old), "--format", "json",
                                      "--fail-on", "warning"], catch_exceptions=False)
    assert result.exit_code == 1


def test_parse_policy_indexes_include_disabled() -> None:
    p = parse_policy(policy(dict(rule("always"), disabled=True), rule("latestPushedK", 1)), "p")
    assert [r.index for r in p.rules] == [0, 1]


def test_check_child_listed_separately_still_marks_the_index() -> None:
    index = art("idx", ["2.0"], T - 50 * S)
    index["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("child")}]
    res = run({"app": [art("new", ["3.0"], T - 5 * S), index,
                       art("child", ["2.0-amd64"], T - 60 * S)]},
              policy(rule("latestPushedK", 1)))
    found = check(res, [usage(f"{HOST}/proj/app:2.0", digest=dig("child"))], [HOST])
    assert ("proj", "proj/app", dig("idx")) in found.in_use
    assert ("in-use-deleted", ("2.0",)) in [(f.code, f.tags) for f in found.findings]


def test_disorder_pair_counts_agree_between_bisect_and_fenwick() -> None:
    import random

    from harborguard.analysis import _pairs_bisect, _pairs_fenwick

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(0, 60)
        size = rng.randint(1, 12)
        items = sorted((rng.randint(0, 15), rng.randint(1, size)) for _ in range(n))
        # brute force: pairs with different push times and different versions
        discordant = comparable = 0
        for a in range(n):
            for b in range(n):
                (pa, ra), (pb, rb) = items[a], items[b]
                if pa < pb and ra != rb:
                    comparable += 1
                    discordant += ra > rb
        assert _pairs_bisect(items) == (discordant, comparable)
        assert _pairs_fenwick(items, size) == (discordant, comparable)


# ---------------------------------------------------------------- the versions line

def _versions_line(arts):  # type: ignore[no-untyped-def]
    result = run(list(reversed(arts)), policy(rule("latestPushedK", 3)))
    return result.fates[0][0]


def test_versions_tell_charts_from_images_when_they_fare_differently() -> None:
    """jobs-api read "keeps 0.0.153 ... deletes ... 0.0.153": its chart kept, image not."""
    arts = []
    for i, v in enumerate(["1.0.0", "1.0.1", "1.0.2"]):
        arts.append(art(f"i{v}", [f"{v}_image"], T - (100 - 2 * i) * S))
        arts.append(art(f"c{v}", [v], T - (99 - 2 * i) * S, kind="CHART"))
    # keep 3 newest: chart 1.0.2, image 1.0.2, chart 1.0.1 (image 1.0.1 deleted)
    assert _versions_line(arts) == (
        "charts (keeps 1.0.1..1.0.2; deletes 1.0.0), "
        "images (keeps 1.0.2; deletes 1.0.0..1.0.1)")
    same = [a for a in arts if a["type"] == "IMAGE"] + [
        art("c9", ["9.0.0"], T - S, kind="CHART")]
    assert _versions_line(same) == "keeps 1.0.1..9.0.0; deletes 1.0.0"  # no split


def test_versions_count_what_has_no_version() -> None:
    """heroku-builder read "keeps 22", hiding two deleted 22-2024... tags."""
    arts = [art("v", ["22"], T - 10 * S)] + [
        art(f"d{i}", [f"22-2024020{i}"], T - (20 + i) * S) for i in range(4)]
    assert _versions_line(arts) == "keeps 22; without a version: keeps 2, deletes 2"
