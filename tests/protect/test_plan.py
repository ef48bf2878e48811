"""The rule one project needs (pure): which repositories it may list, which tags, where it
goes in the policy, and that a second plan over the changed policy changes nothing."""

from __future__ import annotations

import json
from typing import Any

from harborguard.evidence import Usage
from harborguard.harborversion import resolve
from harborguard.model import Project
from harborguard.policy import parse_policy
from harborguard.protect.plan import ProjectPlan, plan_project, without_own
from harborguard.protect.rule import EXTRAS, NO_TAG, is_own, own_rule
from harborguard.retention.engine import evaluate_project
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos
from tests.builders import T_TEXT, D, T, art, dig, policy, rule, sel, snapshot

NOW = parse_nanos(T_TEXT)
RUNNING = Usage("kubectl", "running", "harbor.example.org/proj/app:1.0", "ns/Pod/app")


def project_of(repos: dict[str, list[dict[str, Any]]], retention: dict[str, Any] | None
               ) -> Project:
    return parse_snapshot(snapshot(repos, retention), "test").projects[0]


def plan(project: Project, needed: dict[tuple[str, str], list[Usage]], *,
         v111: bool = False, keep_previous: bool = False,
         every_dialect: bool = False) -> ProjectPlan:
    pol = project.retention
    base = without_own(pol) if pol is not None else None
    outcome = evaluate_project(project, base, NOW, resolve(None))
    return plan_project(project, pol, outcome, needed, v111=v111, keep_previous=keep_previous,
                        every_dialect=every_dialect)


def history(n: int) -> list[dict[str, Any]]:
    return [art(f"v{i}", [f"1.{i}"], T - D * (n - i)) for i in range(n)]


def test_keeps_the_needed_tags_in_repositories_a_rule_runs_in() -> None:
    project = project_of({"app": history(5), "other": history(3)},
                         policy(rule("latestPushedK", 1, repos=[sel("app", "repoMatches")])))
    result = plan(project, {("proj/app", dig("v1")): [RUNNING],
                            ("proj/other", dig("v0")): [RUNNING]})
    assert result.status == "changed"
    assert result.repositories == ("proj/app",)  # no rule runs in other: nothing at risk
    assert result.tags == ("1.1",)
    assert result.rule == own_rule("app", "1.1")
    assert result.rule_index == 1
    assert result.changed is not None and len(result.changed.rules) == 2
    assert result.body is not None and result.body["scope"] == {"level": "project", "ref": 1}


def test_a_repository_whose_rules_have_no_tag_selectors_is_not_listed() -> None:
    # Harbor deletes nothing there; an always rule would make it delete everything else.
    project = project_of({"app": history(3)},
                         policy(rule("latestPushedK", 1, tags=[])))
    result = plan(project, {("proj/app", dig("v0")): [RUNNING]})
    assert result.rule is None and result.repositories == ()
    assert result.status == "in-sync"


def test_its_own_rule_is_replaced_in_place_and_others_are_left_alone() -> None:
    mine = own_rule("app", "{1.0,1.1}")
    last = rule("nDaysSinceLastPush", 7)
    project = project_of({"app": history(4)},
                         policy(rule("latestPushedK", 1), mine, last))
    result = plan(project, {("proj/app", dig("v2")): [RUNNING]})
    assert result.rule_index == 1
    assert result.body is not None
    assert result.body["rules"][0] == rule("latestPushedK", 1)
    assert result.body["rules"][2] == last
    assert result.body["rules"][1]["tag_selectors"][0]["pattern"] == "1.2"
    # Computed without its own rule: the same plan whatever the previous run wrote.
    again = plan(project_of({"app": history(4)}, result.body), {
        ("proj/app", dig("v2")): [RUNNING]})
    assert again.status == "in-sync" and again.body == result.body


def test_nothing_needed_removes_its_own_rule() -> None:
    project = project_of({"app": history(3)},
                         policy(rule("latestPushedK", 1), own_rule("app", "1.0")))
    result = plan(project, {})
    assert result.status == "changed" and result.rule is None
    assert result.changed is not None and not any(is_own(r) for r in result.changed.rules)


def test_no_room_with_fifteen_rules_of_its_own() -> None:
    rules = [rule("latestPushedK", k) for k in range(1, 16)]
    project = project_of({"app": history(20)}, policy(*rules))
    result = plan(project, {("proj/app", dig("v0")): [RUNNING]})
    assert result.status == "no-room" and result.body is None
    assert "at most 15" in result.notes[0]
    # Fourteen of its own and harborguard's: room.
    project = project_of({"app": history(20)}, policy(*rules[:14], own_rule("app", "1.5")))
    assert plan(project, {("proj/app", dig("v0")): [RUNNING]}).status == "changed"


def _decided(project: Project, body: dict[str, Any] | None) -> dict[str, str]:
    assert body is not None
    changed = parse_policy(body, "policy")
    outcome = evaluate_project(project, changed, NOW, resolve(None))
    [repo] = outcome.repositories
    return {a.digest: d.action for a, d in zip(repo.repository.artifacts, repo.decisions,
                                               strict=True)}


def test_an_untagged_needed_artifact_is_kept_by_untagged_true() -> None:
    # RETENTION.md 3.2: a matching tag selector with {"untagged":true} selects every untagged
    # artifact whatever its pattern; the pattern (no tag can hold ':') selects no tag.
    artifacts = [*history(3), art("bare", None, T - D * 9), art("other", None, T - D * 8)]
    project = project_of({"app": artifacts}, policy(rule("latestPushedK", 1)))
    result = plan(project, {("proj/app", dig("bare")): [RUNNING]})
    assert result.untagged == (("proj/app", dig("bare")),)
    assert result.findings == ()
    assert result.status == "changed" and result.repositories == ("proj/app",)
    assert result.tags == ()
    assert result.rule == own_rule("app", NO_TAG, untagged=True)
    assert "garbage collection with 'delete untagged artifacts'" in " ".join(result.notes)
    assert json.loads(result.rule["tag_selectors"][0]["extras"]) == {
        "untagged": True, "harborguard": "protect"}
    decided = _decided(project, result.body)
    assert decided[dig("bare")] == "retain"
    assert decided[dig("other")] == "retain"  # every untagged one there: beyond the evidence
    assert decided[dig("v0")] == "delete" and decided[dig("v2")] == "retain"
    again = plan(project_of({"app": artifacts}, result.body),
                 {("proj/app", dig("bare")): [RUNNING]})
    assert again.status == "in-sync" and again.body == result.body


def test_tags_and_an_untagged_artifact_share_the_rule() -> None:
    artifacts = [*history(3), art("bare", None, T - D * 9)]
    project = project_of({"app": artifacts}, policy(rule("latestPushedK", 1)))
    result = plan(project, {("proj/app", dig("bare")): [RUNNING],
                            ("proj/app", dig("v0")): [RUNNING]})
    assert result.rule == own_rule("app", "1.0", untagged=True) and result.findings == ()
    decided = _decided(project, result.body)
    assert decided[dig("bare")] == decided[dig("v0")] == "retain"
    assert decided[dig("v1")] == "delete"


def test_tags_alone_leave_untagged_off() -> None:
    project = project_of({"app": [*history(3), art("bare", None, T - D * 9)]},
                         policy(rule("latestPushedK", 1)))
    result = plan(project, {("proj/app", dig("v0")): [RUNNING]})
    assert result.rule == own_rule("app", "1.0")
    assert _decided(project, result.body)[dig("bare")] == "delete"


def test_an_untagged_artifact_whose_repository_cannot_be_listed_is_a_warning() -> None:
    # v1.1.1: one shape per pattern; team/a is listed, x/b is left out.
    repos = {"team/a": history(3), "team/c": history(3),
             "x/b": [*history(2), art("bare", None, T - D * 9)]}
    project = project_of(repos, policy(rule("latestPushedK", 1)))
    result = plan(project, {("proj/team/a", dig("v0")): [RUNNING],
                            ("proj/team/c", dig("v0")): [RUNNING],
                            ("proj/x/b", dig("bare")): [RUNNING]}, v111=True)
    [finding] = result.findings
    assert finding.code == "protect-untagged" and finding.repository == "proj/x/b"
    assert "proj/x/b@sha256:" in finding.message
    assert "no rule can keep it" not in finding.message
    assert "untagged:true" in finding.message and "cannot share one pattern" in finding.message


def test_the_marker_is_in_extras_and_untagged_is_off() -> None:
    extras = json.loads(EXTRAS)
    assert extras == {"untagged": False, "harborguard": "protect"}
    parsed = parse_policy(policy(own_rule("a", "b")), "p")
    assert is_own(parsed.rules[0])
    assert not is_own(parse_policy(policy(rule("always", None)), "p").rules[0])


def test_allow_incomplete_never_drops_a_tag() -> None:
    project = project_of({"app": history(5)},
                         policy(rule("latestPushedK", 1), own_rule("app", "{1.0,1.1}")))
    result = plan(project, {("proj/app", dig("v3")): [RUNNING]}, keep_previous=True)
    assert result.tags == ("1.0", "1.1", "1.3")
    assert plan(project, {("proj/app", dig("v3")): [RUNNING]}).tags == ("1.3",)


def test_allow_incomplete_never_drops_untagged_true() -> None:
    project = project_of({"app": [*history(3), art("bare", None, T - D * 9)]},
                         policy(rule("latestPushedK", 1), own_rule("app", "1.0", untagged=True)))
    needed = {("proj/app", dig("v0")): [RUNNING]}
    assert plan(project, needed, keep_previous=True).rule == own_rule("app", "1.0",
                                                                      untagged=True)
    assert plan(project, needed).rule == own_rule("app", "1.0")


def test_no_policy_means_nothing_to_protect() -> None:
    result = plan(project_of({"app": history(2)}, None), {("proj/app", dig("v0")): [RUNNING]})
    assert result.status == "no-policy" and result.body is None


def test_an_unknown_version_writes_patterns_every_dialect_reads_alike() -> None:
    # attack notes 1b: {b,team/a} is a repository-pattern syntax error in doublestar 1.1.1
    # (Harbor <= v2.10.2): the whole retention launch would fail there.
    from harborguard.protect.patterns import matches_exactly

    project = project_of({"team/a": history(3), "team": history(3), "b": history(3)},
                         policy(rule("latestPushedK", 1)))
    needed = {(f"proj/{r}", dig("v0")): [RUNNING] for r in ("team/a", "team", "b")}
    known = plan(project, needed)
    assert known.rule is not None and "/" in json.dumps(known.rule)  # v1.3.4 only: {b,team/a}
    result = plan(project, needed, every_dialect=True)
    assert result.rule is not None
    pattern = result.rule["scope_selectors"]["repository"][0]["pattern"]
    inside = pattern[pattern.find("{"):]
    assert "/" not in inside
    names = [n.split("/", 1)[1] for n in result.repositories]
    others = [n for n in ("team/a", "team", "b") if n not in names]
    for v111 in (True, False):
        assert matches_exactly(pattern, names, others, v111=v111)
    assert any("the Harbor version is unknown" in note for note in result.notes)
