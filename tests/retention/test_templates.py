"""The day templates: cut-offs, pull and push times, fractional now, wrapping.

Every expectation below was derived from Harbor's code (commit c50c7ddd, and the tags named
where releases differ), not from harborguard's implementation. Go paths are relative to
goharbor/harbor/src; line numbers are those at HEAD unless a tag is named. The JSON-extras,
ParseJSONInt and doublestar expectations were also cross-checked by running the Go code
(encoding/json, the doublestar v1.3.4 and v1.1.1 sources) on the same inputs.

T = 2026-01-01T00:00:00Z (exactly 20454 days after the Unix epoch), D = 1 day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import (
    D,
    T,
    art,
    kept,
    policy,
    rule,
    run,
)
from tests.retention.helpers import (
    S,
    names,
)

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
