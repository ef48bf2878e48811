"""Engine behaviours beyond section 9: versions, failures, reasons, ties, index children."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harborguard.harborversion import resolve
from harborguard.policy import parse_policy
from tests.builders import T, art, dig, policy, rule, run, sel

S = timedelta(seconds=1)


def decisions(result):  # type: ignore[no-untyped-def]
    return {a.digest: d for p in result.projects for r in p.repositories
            for a, d in zip(r.repository.artifacts, r.decisions, strict=True)}


@pytest.mark.parametrize(
    ("version", "v111", "sort", "legacy", "double", "label"),
    [
        (None, False, "go1.24", False, False, "main"),
        ("v2.16.0", False, "go1.24", False, False, "v2.16.0"),
        ("v2.15.2", False, "go1.24", False, True, "v2.15.2"),
        ("v2.13.1", False, "go1.19", False, True, "v2.13.1"),
        ("v2.11.1-6b7ecba1", False, "go1.19", False, True, "v2.11.1-6b7ecba1"),
        ("v2.10.2", True, "go1.19", False, True, "v2.10.2"),
        ("v2.6.0", True, "go1.18", False, True, "v2.6.0"),
        ("v2.6.4", True, "go1.19", False, True, "v2.6.4"),
        ("v2.9.5", False, "go1.19", False, True, "v2.9.5"),
        ("v2.13.2", False, "go1.24", False, True, "v2.13.2"),
        ("v2.4.3", True, "go1.18", True, True, "v2.4.3"),
    ],
)
def test_version_switches(version: str | None, v111: bool, sort: str, legacy: bool,
                          double: bool, label: str) -> None:
    b = resolve(version)
    assert (b.doublestar_v111, b.go_sort, b.immutable_untagged_legacy,
            b.immutable_double_strip, b.label) == (v111, sort, legacy, double, label)
    assert (b.warning is not None) == (version is not None and b.version is not None
                                      and b.version < (2, 10, 3))


def test_untagged_immutable_under_matching_rule_before_v2_5() -> None:
    artifacts = [art("t", ["1.0"], T - 10 * S), art("u", [], T - 20 * S)]
    immutable = [{"id": 1, "tag_selectors": [sel("nomatch", extras=None)],
                  "scope_selectors": {"repository": [sel("**", "repoMatches", None)]}}]
    p = policy(rule("latestPushedK", 0))
    assert decisions(run(artifacts, p, immutable=immutable, version="v2.4.0"))[dig("u")].action \
        == "immutable"
    assert decisions(run(artifacts, p, immutable=immutable, version="v2.5.0"))[dig("u")].action \
        == "delete"


def test_build_error_fails_repository_even_without_tag_selectors() -> None:
    p = policy(rule("latestPushedK", 1), rule("nothing", tags=[]))
    result = run([art("a", ["1"], T - 10 * S), art("b", ["2"], T - 20 * S)], p)
    repo = result.projects[0].repositories[0]
    assert repo.status == "failed" and repo.error_rule == 1
    assert "rule evaluator nothing is not registered" in (repo.error or "")
    assert {d.action for d in repo.decisions} == {"retain"}
    assert [f.code for f in result.findings if f.code == "policy-error"] == ["policy-error"]


def test_missing_parameter_and_null_params_fail_the_build() -> None:
    for params in ({}, None):
        bad = rule("latestPushedK", 1)
        bad["params"] = params
        result = run([art("a", ["1"], T - 10 * S)], policy(bad))
        assert "missing required parameter latestPushedK" in (
            result.projects[0].repositories[0].error or "")


def test_lazy_tag_pattern_error_only_when_reached() -> None:
    harmless = run([art("a", ["x1"], T - 10 * S)], policy(rule("always", tags=[sel("v[1")])))
    assert harmless.projects[0].repositories[0].status == "evaluated"
    broken = run([art("a", ["v1"], T - 10 * S)], policy(rule("always", tags=[sel("v[1")])))
    repo = broken.projects[0].repositories[0]
    assert repo.status == "failed" and repo.error_uncertain
    assert "not guaranteed" in broken.findings[0].message


def test_unknown_algorithm_fails_each_repository() -> None:
    result = run([art("a", ["1"], T - 10 * S)], policy(rule("always"), algorithm="and"))
    assert result.projects[0].repositories[0].status == "failed"
    assert 'set "algorithm": "or"' in (result.projects[0].repositories[0].error or "")


def test_reasons_name_rule_and_rank() -> None:
    artifacts = [art(f"a{i}", [f"1.{i}"], T - (i + 1) * S) for i in range(3)]
    got = decisions(run(artifacts, policy(rule("latestPushedK", 1))))
    assert got[dig("a0")].reason == "kept by rule 0 (latestPushedK 1)"
    assert got[dig("a2")].reason == (
        "not kept by any rule: rule 0 (latestPushedK 1) ranked it #3 of 3 by push time")
    defaulted = decisions(run(artifacts, policy(rule("latestPushedK", "5"))))
    assert "latestPushedK 10 (default: Harbor cannot use '5')" in \
        defaulted[dig("a0")].reason


def test_tie_flags_only_at_the_cut_and_only_when_no_other_rule_keeps() -> None:
    same = T - 60 * S
    artifacts = [art("n", ["new"], T - 5 * S), art("x", ["x"], same), art("y", ["y"], same),
                 art("o", ["old"], T - 90 * S)]
    got = decisions(run(artifacts, policy(rule("latestPushedK", 2))))
    assert {k: (d.action, d.tie) for k, d in got.items()} == {
        dig("n"): ("retain", False), dig("x"): ("retain", True),
        dig("y"): ("delete", True), dig("o"): ("delete", False)}
    saved = decisions(run(artifacts, policy(rule("latestPushedK", 2),
                                            rule("always", tags=[sel("y")]))))
    assert saved[dig("y")].tie is False and saved[dig("x")].tie is True
    no_cut = decisions(run(artifacts, policy(rule("latestPushedK", 4))))
    assert not any(d.tie for d in no_cut.values())


def test_tagged_child_of_kept_index_is_deleted_in_dry_run_with_a_note() -> None:
    child = art("child", ["amd64"], T - 50 * S)
    index = art("index", ["1.0"], T - 10 * S)
    index["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("child")}]
    got = decisions(run([index, child], policy(rule("latestPushedK", 1))))
    assert got[dig("child")].action == "delete"
    assert "referenced by the kept index 1.0" in got[dig("child")].reason


def test_policy_invalid_problems() -> None:
    body = policy(*[rule("latestPushedK", i) for i in range(16)])
    body["rules"][3] = dict(body["rules"][2])
    body["scope"] = {"level": "system", "ref": 0}
    body["rules"][5]["template"] = 7
    problems = parse_policy(body, "p.json").problems
    assert any("16 rules" in p for p in problems)
    assert any("rule 3 is conflict with rule 2" in p for p in problems)
    assert any("scope level 'system'" in p for p in problems)
    assert any("rules[5].template is a number, not a string" in p for p in problems)


def test_legacy_param_validation_only_for_v2_0_and_v2_1(tmp_path: object) -> None:
    from harborguard.simulate import simulate
    from harborguard.snapshot import parse_snapshot
    from harborguard.timeutil import parse_nanos
    from tests.builders import snapshot

    p = parse_policy(policy(rule("latestPushedK", 40000)), "p.json")
    snap = parse_snapshot(snapshot({"app": [art("a", ["1"])]}, None), "s")
    old = simulate(snap, parse_nanos("2026-01-01T00:00:00Z"), resolve("v2.1.0"), policy=p)
    new = simulate(snap, parse_nanos("2026-01-01T00:00:00Z"), resolve("v2.11.0"), policy=p)
    assert [f.message for f in old.findings if f.code == "policy-invalid"] == [
        "Harbor v2.1.0's API would refuse rule 0: latestPushedK is too large"]
    assert [f for f in new.findings if f.code == "policy-invalid"] == []


def test_time_tie_finding_names_the_tied_artifacts() -> None:
    same = T - 60 * S
    artifacts = [art("n", ["new"], T - 5 * S), art("x", ["x"], same), art("y", ["y"], same)]
    result = run(artifacts, policy(rule("latestPushedK", 2)))
    ties = [f for f in result.findings if f.code == "time-tie"]
    assert [(f.tags, f.severity, f.rule) for f in ties] == [(("x",), "warning", 0),
                                                            (("y",), "warning", 0)]
    assert ties[1].related[0].tags == ("x",)
    assert "Harbor deletes y only because of API order" in ties[1].message


def _incident():  # type: ignore[no-untyped-def]
    """0.0.96-0.0.99 re-pushed last (a migration), then 0.0.131; 0.0.100-0.0.130 older."""
    versions = [f"0.0.{n}" for n in (96, 97, 98, 99)] + [f"0.0.{n}" for n in range(100, 131)]
    migrated = T - 10_000 * S
    artifacts = []
    for i, version in enumerate(sorted(versions)):  # lexical order: 0.0.100 ... 0.0.99
        artifacts.append(art(version, [version], migrated + i * S))
    artifacts.append(art("0.0.131", ["0.0.131"], T - 100 * S))
    return sorted(artifacts, key=lambda a: a["push_time"], reverse=True)


def test_version_order_inversion_names_both_and_the_rule() -> None:
    result = run(_incident(), policy(rule("latestPushedK", 5)))
    inversions = [f for f in result.findings if f.code == "version-order-inversion"]
    by_tag = {f.tags: f for f in inversions}
    assert ("0.0.130",) in by_tag and ("0.0.100",) in by_tag
    message = by_tag[("0.0.130",)].message
    assert message.startswith("deletes 0.0.130 but keeps 0.0.99 (and 3 more older artifacts): "
                              "rule 0 (latestPushedK 5) orders by push time and 0.0.99 was "
                              "pushed later")
    assert by_tag[("0.0.130",)].rule == 0
    assert [r.tags for r in by_tag[("0.0.130",)].related] == [("0.0.99",), ("0.0.98",),
                                                             ("0.0.97",), ("0.0.96",)]
    assert [f.code for f in result.findings if f.code == "version-disorder"] == [
        "version-disorder"]


def test_semver_order_what_if_keeps_the_newest_versions() -> None:
    from harborguard.retention.semver_order import SemverRanker
    from harborguard.simulate import simulate
    from harborguard.snapshot import parse_snapshot
    from harborguard.timeutil import parse_nanos
    from tests.builders import snapshot

    snap = parse_snapshot(snapshot({"app": _incident()}, policy(rule("latestPushedK", 5))), "s")
    result = simulate(snap, parse_nanos("2026-01-01T00:00:00Z"), resolve(None), order="semver",
                      ranker=SemverRanker())
    kept = {a.tags[0] for r in result.projects[0].repositories
            for a, d in zip(r.repository.artifacts, r.decisions, strict=True)
            if d.action == "retain"}
    assert kept == {"0.0.131", "0.0.130", "0.0.129", "0.0.128", "0.0.127"}
    assert not [f for f in result.findings if f.code == "version-order-inversion"]


def test_no_version_findings_when_push_order_follows_versions() -> None:
    artifacts = [art(f"v{i}", [f"1.{i}.0"], T - (100 - i) * S) for i in range(20)]
    result = run(list(reversed(artifacts)), policy(rule("latestPushedK", 5)))
    assert [f.code for f in result.findings] == []


def test_immutable_check_many_agrees_with_check_one_by_one() -> None:
    """The batch path (selectors run once over all deletion targets) against the walk
    one artifact at a time, with broken patterns, tag-less rules and repo decorations."""
    import random

    from harborguard.harborversion import resolve
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
