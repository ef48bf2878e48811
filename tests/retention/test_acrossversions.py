"""A repository decided under every behaviour an unknown Harbor version may have
(harborguard.retention.acrossversions): exact where they agree; where they differ, main's
decisions (docs/DESIGN.md: a missing version is the newest behaviour) and the artifacts that
depend on the version (attack notes 1, 1b)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from harborguard.harborversion import Behaviour, candidates, resolve
from harborguard.retention.acrossversions import decide_across, depends_reason
from harborguard.retention.outcomes import RepositoryOutcome
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from tests.builders import T, art, dig, policy, rule, sel, snapshot

NESTED_IMMUTABLE = [{
    "id": 1, "priority": 0, "disabled": False, "action": "immutable",
    "template": "immutable_template",
    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                        "pattern": "team/**"}]}}]


def _decider(data: dict[str, Any]) -> Any:
    snap = parse_snapshot(data, "snap.json")
    calls: list[str] = []

    def decide(behaviour: Behaviour) -> RepositoryOutcome:
        calls.append(behaviour.label)
        return simulate(snap, int(T.timestamp()) * 10**9, behaviour).projects[0].repositories[0]

    return decide, calls


def _actions(outcome: RepositoryOutcome) -> dict[str, str]:
    return {a.digest: d.action
            for a, d in zip(outcome.repository.artifacts, outcome.decisions, strict=True)}


def test_nested_repository_immutability_depends_on_the_version() -> None:
    # Every release strips the project twice: team/app is matched as "app", so v1 is not
    # immutable and latestPushedK 1 deletes it; only main keeps it.
    data = snapshot({"team/app": [art("v2", ["v2"]), art("v1", ["v1"], T - timedelta(days=9))]},
                    policy(rule("latestPushedK", 1)), NESTED_IMMUTABLE)
    decide, calls = _decider(data)
    primary = resolve(None)
    across = decide_across(primary, candidates(primary), decide)
    assert calls == ["main", *(b.label for b in candidates(primary))]
    assert across.differing == (1,)
    assert _actions(across.outcome)[dig("v1")] == "immutable"  # main's, as DESIGN.md says
    said = dict(across.actions[1])
    assert said["main"] == "immutable" and said["v2.15.2"] == "delete"
    reason = depends_reason(across.actions[1])
    assert reason.startswith("its fate depends on the Harbor version (immutable by main; "
                             "delete by v2.15.2")
    assert reason.endswith("pass --harbor-version (systeminfo reports it to a logged-in user)")


def test_nested_braces_depend_on_the_doublestar_dialect() -> None:
    # doublestar 1.1.1 (Harbor <= v2.10.2) ends an alternative group at the first '}':
    # {v1.*,release-{a,b}} matches only release-a there, so v1.4 is not kept.
    older = T - timedelta(days=9)
    data = snapshot({"app": [art("dev-5", ["dev-5"]), art("v1.4", ["v1.4"], older)]},
                    policy(rule("latestPushedK", 1),
                           rule("always", tags=[sel("{v1.*,release-{a,b}}", "matches",
                                                    '{"untagged":false}')])))
    decide, _ = _decider(data)
    primary = resolve(None)
    across = decide_across(primary, candidates(primary), decide)
    assert across.differing == (1,)
    said = dict(across.actions[1])
    assert said["v2.15.2"] == said["main"] == "retain" and said["v2.10.2"] == "delete"
    assert _actions(across.outcome)[dig("v1.4")] == "retain"  # as main decides


def test_where_every_behaviour_agrees_the_decision_is_exact() -> None:
    data = snapshot({"team/app": [art("v2", ["v2"]), art("v1", ["v1"], T - timedelta(days=9))]},
                    policy(rule("latestPushedK", 1)))
    decide, _ = _decider(data)
    primary = resolve(None)
    across = decide_across(primary, candidates(primary), decide)
    assert across.differing == () and across.actions == {}
    assert _actions(across.outcome) == {dig("v2"): "retain", dig("v1"): "delete"}


def test_a_known_version_is_decided_once() -> None:
    data = snapshot({"team/app": [art("v2", ["v2"]), art("v1", ["v1"], T - timedelta(days=9))]},
                    policy(rule("latestPushedK", 1)), NESTED_IMMUTABLE)
    decide, calls = _decider(data)
    known = resolve("v2.11.0")
    across = decide_across(known, candidates(known), decide)
    assert calls == ["v2.11.0"] and across.differing == ()
    assert _actions(across.outcome)[dig("v1")] == "delete"
