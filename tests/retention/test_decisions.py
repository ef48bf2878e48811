"""decisions.kept_outright_at: what a run at another time keeps, from one evaluation's rule
runs, is what evaluating the repository again at that time keeps (check's days to come,
expiry.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harborguard.harborversion import resolve
from harborguard.retention.decisions import kept_outright_at
from harborguard.retention.immutable import ImmutableChecker
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import rule, sel
from tests.pipeline.test_parts import _random_snapshot

DAY_NS = 86_400 * 1_000_000_000
LATER_DAYS = (0, 1, 7, 13, 30, 45, 61, 90, 400)


def _with_day_rules(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Every day template, with and without ties at count rules' cuts, beside the
    snapshot's own rules."""
    for project in data["projects"]:
        retention = project.get("retention")
        if not retention:
            continue
        extra = rng.choice((
            [],
            [rule("nDaysSinceLastPush", rng.randint(1, 200))],
            [rule("lastXDays", rng.randint(1, 200), tags=[sel("**", extras=None)])],
            [rule("nDaysSinceLastPull", rng.randint(1, 30)), rule("latestPulledN", 1)],
        ))
        retention["rules"].extend(extra)
    return data


@pytest.mark.parametrize("seed", range(40))
def test_kept_later_is_a_later_evaluation(seed: int) -> None:
    rng = random.Random(seed)
    data = _with_day_rules(_random_snapshot(rng), rng)
    snap = parse_snapshot(data, "random")
    behaviour = resolve(snap.harbor_version)
    now_ns = parse_nanos(str(data["taken_at"]))
    today = simulate(snap, now_ns, behaviour)
    for days in LATER_DAYS:
        later = simulate(snap, now_ns + days * DAY_NS, behaviour)
        for project, before, after in zip(snap.projects, today.projects, later.projects,
                                          strict=True):
            checker = ImmutableChecker(project.immutable_rules, behaviour)
            for outcome, again in zip(before.repositories, after.repositories, strict=True):
                for pos, decision in enumerate(again.decisions):
                    expected = decision.action != "delete" and not decision.tie
                    assert kept_outright_at(outcome, pos, now_ns + days * DAY_NS,
                                            checker) == expected, (project.name, pos, days)
