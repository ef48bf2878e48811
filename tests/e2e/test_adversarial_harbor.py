"""Adversarial: a Harbor whose answers are corrupted never yields a confident, weaker check.

A live `check` of the embedded incident against the fake Harbor, with one of its answers
corrupted (a key dropped, a value of another JSON type, a body cut short, a page repeated, a
wrong or missing `X-Total-Count`, a `Link` that loops). The promise: a run that exits 0 or
1 protects at least as many artifacts, and reports at least as many in-use errors, as
the intact answers gave; otherwise it exits 3 (incomplete) naming what it could not read.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harborguard.cli import cli
from tests.e2e.test_adversarial_evidence import (
    OTHER_TYPES,
    _parent,
    _paths,
    _same_type,
)
from tests.fakeharbor import FakeHarbor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "examples" / "toolforge-snapshot.json").read_text())
KUBECTL = str(ROOT / "examples" / "cluster-kubectl.json")
NOW = "2024-02-26T10:00:00Z"
USERS = {"robot$toolforge+ci": "s3cret-pw"}
ENV = {"HARBOR_USERNAME": "robot$toolforge+ci", "HARBOR_PASSWORD": "s3cret-pw"}

ADVERSARIAL = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                       suppress_health_check=[HealthCheck.too_slow,
                                              HealthCheck.function_scoped_fixture])


def _check(fake: FakeHarbor) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(
        cli, ["--harbor", fake.url, "--timeout", "5", "check", "--project", "toolforge",
              "--kubectl-json", KUBECTL, "--registry-alias", "tools-harbor.wmcloud.org",
              "--now", NOW, "--format", "json"],
        env=ENV, catch_exceptions=False)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, report, result.stderr


def _protection(report: dict[str, Any]) -> int:
    """Artifacts found in use. (In-use errors may fall legitimately: an answer read without
    a retention policy, which Harbor's API can give, deletes nothing.)"""
    return sum(1 for a in report["artifacts"] if a["in_use"])


class Answers(NamedTuple):
    """The intact run's protection and answers (a short repr: hypothesis prints it)."""

    protection: int
    seen: list[tuple[str, str, Any]]

    def __repr__(self) -> str:
        return f"Answers(protection={self.protection}, {len(self.seen)} answers)"


@pytest.fixture(scope="module")
def answers() -> Answers:
    """The intact run's protection, and every JSON answer it read: (path, query, body)."""
    with FakeHarbor(EXAMPLE, users=USERS, record_bodies=True) as fake:
        code, report, err = _check(fake)
        assert code == 1 and report is not None, err
        # Sorted: requests run concurrently, and the examples must not depend on their order.
        seen = sorted(((s.path, urlquery(s), s.body) for s in fake.seen
                       if s.status == 200 and s.body is not None), key=lambda a: a[:2])
    protection = _protection(report)
    assert protection >= 2
    return Answers(protection, seen)


def urlquery(seen: Any) -> str:
    return "&".join(f"{k}={v}" for k, values in sorted(seen.query.items()) for v in values)


HOWS = ("drop", "retype", "truncate", "count", "nocount", "loop", "repeat")
COUNTS = ("0", "1", "3", "99999", "-1", "x", "\u00b2", "1e3")


def corrupted_answer(seen: list[tuple[str, str, Any]], pick: int, how: str, where_: int,
                     choice: int) -> tuple[str, dict[str, Any]]:
    """(description, FakeHarbor.fault() keyword arguments): a pure function of the drawn
    numbers, so every example replays exactly."""
    path, query, body = seen[pick % len(seen)]
    pattern = "^" + re.escape(path) + "$"
    # The recorded query is matched loosely: page numbers decide which answer is corrupted.
    page = re.search(r"(?:^|&)page=(\d+)", query)
    where = {"pattern": pattern, "query": rf"(^|&)page={page.group(1)}(&|$)" if page else None,
             "status": None, "times": None}
    name = f"{path}?{query}"
    text = json.dumps(body)
    if how == "truncate":
        cut = where_ % max(1, len(text))
        return f"{name} cut at {cut}", {**where, "body": text[:cut].encode()}
    if how == "count":
        count = COUNTS[choice % len(COUNTS)]
        return f"{name} X-Total-Count: {count}", {**where, "headers": {"X-Total-Count": count}}
    if how == "nocount":
        return (f"{name} without X-Total-Count or Link",
                {**where, "headers": {"X-Total-Count": None, "Link": None}})
    if how == "loop":
        link = f'<{path}?page=1&page_size=100>; rel="next"'
        return f"{name} links to its own first page", {**where, "headers": {"Link": link}}
    bad = copy.deepcopy(body)
    paths = list(_paths(bad))
    if how == "repeat" and isinstance(bad, list) and bad:
        bad.extend(copy.deepcopy(bad))
        return f"{name} repeats its items", {**where, "body": json.dumps(bad).encode()}
    keyed = [p for p in paths if isinstance(p[-1], str)]
    if how == "drop" and keyed:
        target = keyed[where_ % len(keyed)]
        del _parent(bad, target)[target[-1]]
        return f"{name} without {target}", {**where, "body": json.dumps(bad).encode()}
    if not paths:
        return f"{name} as null", {**where, "body": b"null"}
    target = paths[where_ % len(paths)]
    old = _parent(bad, target)[target[-1]]
    values = [v for v in OTHER_TYPES if not _same_type(v, old)]
    value = copy.deepcopy(values[choice % len(values)])
    _parent(bad, target)[target[-1]] = value
    return f"{name} {target} = {value!r}", {**where, "body": json.dumps(bad).encode()}


@ADVERSARIAL
@given(pick=st.integers(0, 10**6), how=st.sampled_from(HOWS), where=st.integers(0, 10**9),
       choice=st.integers(0, 10**3))
def test_corrupted_harbor_answers_never_protect_less(
    pick: int, how: str, where: int, choice: int,
    answers: Answers,
) -> None:
    baseline, seen = answers
    what, fault = corrupted_answer(seen, pick, how, where, choice)
    with FakeHarbor(EXAMPLE, users=USERS) as fake:
        fake.fault(**fault)
        code, report, err = _check(fake)
    assert "Traceback" not in err and "internal error" not in err, (what, err)
    assert "s3cret-pw" not in err + json.dumps(report), what
    if code == 3:
        return
    assert code in (0, 1), (what, code, err)
    assert report is not None and not report["incomplete"], what
    got = _protection(report)
    assert got >= baseline, (f"{what}: a complete run (exit {code}) protected {got} "
                             f"artifacts; the intact answers gave {baseline}")
