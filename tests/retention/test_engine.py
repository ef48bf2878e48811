"""Engine behaviours beyond section 9: reasons, index children, policy problems, versions."""

from __future__ import annotations

from datetime import timedelta

from harborguard.harborversion import resolve
from harborguard.policy import parse_policy
from tests.builders import T, art, dig, policy, rule, run

S = timedelta(seconds=1)


def decisions(result):  # type: ignore[no-untyped-def]
    return {a.digest: d for p in result.projects for r in p.repositories
            for a, d in zip(r.repository.artifacts, r.decisions, strict=True)}


def test_reasons_name_rule_and_rank() -> None:
    artifacts = [art(f"a{i}", [f"1.{i}"], T - (i + 1) * S) for i in range(3)]
    got = decisions(run(artifacts, policy(rule("latestPushedK", 1))))
    assert got[dig("a0")].reason == "kept by rule 0 (latestPushedK 1)"
    assert got[dig("a2")].reason == (
        "not kept by any rule: rule 0 (latestPushedK 1) ranked it #3 of 3 by push time")
    defaulted = decisions(run(artifacts, policy(rule("latestPushedK", "5"))))
    assert "latestPushedK 10 (default: Harbor cannot use '5')" in \
        defaulted[dig("a0")].reason


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
