"""Rule parameters: presence, defaults, truncation and wrapping, as Harbor's Go code reads them.

Every expectation below was derived from Harbor's code (commit c50c7ddd, and the tags named
where releases differ), not from harborguard's implementation. Go paths are relative to
goharbor/harbor/src; line numbers are those at HEAD unless a tag is named. The JSON-extras,
ParseJSONInt and doublestar expectations were also cross-checked by running the Go code
(encoding/json, the doublestar v1.3.4 and v1.1.1 sources) on the same inputs.

T = 2026-01-01T00:00:00Z (exactly 20454 days after the Unix epoch), D = 1 day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.builders import (
    D,
    T,
    art,
    deleted,
    kept,
    policy,
    rule,
    run,
    sel,
)
from tests.retention.helpers import (
    MISSING,
    NO_UNTAGGED,
    S,
    codes,
    names,
    outcome,
    twelve,
    with_params,
)

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


def test_missing_parameter_and_null_params_fail_the_build() -> None:
    for params in ({}, None):
        bad = rule("latestPushedK", 1)
        bad["params"] = params
        result = run([art("a", ["1"], T - 10 * S)], policy(bad))
        assert "missing required parameter latestPushedK" in (
            result.projects[0].repositories[0].error or "")
