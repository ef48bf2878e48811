"""tie: flagged only at a count rule's cut, and only when no other rule keeps the artifact.

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

from harborguard.simulate import RunResult
from tests.builders import (
    D,
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
    NO_UNTAGGED,
    S,
    decisions,
    names,
)

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


def test_time_tie_finding_names_the_tied_artifacts() -> None:
    same = T - 60 * S
    artifacts = [art("n", ["new"], T - 5 * S), art("x", ["x"], same), art("y", ["y"], same)]
    result = run(artifacts, policy(rule("latestPushedK", 2)))
    ties = [f for f in result.findings if f.code == "time-tie"]
    assert [(f.tags, f.severity, f.rule) for f in ties] == [(("x",), "warning", 0),
                                                            (("y",), "warning", 0)]
    assert ties[1].related[0].tags == ("x",)
    assert "Harbor deletes y only because of API order" in ties[1].message
