"""What differs between Harbor releases: doublestar versions, nesting, Go's sort.

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
from harborguard.policy import parse_policy
from tests.builders import (
    T,
    art,
    dig,
    kept,
    policy,
    rule,
    run,
    sel,
)
from tests.retention.helpers import (
    ALL_TAGS,
    NO_UNTAGGED,
    S,
    decisions,
    imm,
    immutable_action,
    names,
    outcome,
)

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
