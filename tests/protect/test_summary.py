"""The guard on the change: what the policy without harborguard's rule keeps, the changed
policy must keep too."""

from __future__ import annotations

from harborguard.protect.rule import own_rule
from harborguard.protect.summary import unsafe
from tests.builders import D, T, art, dig, policy, rule, run


def test_an_always_rule_where_no_rule_ran_would_be_caught() -> None:
    # Every rule in scope has empty tag selectors: Harbor deletes nothing in the repository.
    artifacts = [art("a", ["1.0"], T - D), art("b", ["1.1"], T - 2 * D)]
    base = run(artifacts, policy(rule("latestPushedK", 1, tags=[])))
    assert not any(d.action == "delete" for p in base.projects for r in p.repositories
                   for d in r.decisions)
    # The rule protect never writes there: it would make Harbor delete everything else.
    changed = run(artifacts, policy(rule("latestPushedK", 1, tags=[]), own_rule("app", "1.0")))
    assert [key[2] for key in unsafe(base, changed)] == [dig("b")]


def test_adding_the_rule_where_a_rule_runs_is_safe() -> None:
    artifacts = [art("a", ["1.0"], T - D), art("b", ["1.1"], T - 2 * D)]
    base = run(artifacts, policy(rule("latestPushedK", 1)))
    changed = run(artifacts, policy(rule("latestPushedK", 1), own_rule("app", "1.1")))
    assert unsafe(base, changed) == []
