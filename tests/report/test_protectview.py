"""The protect section in words: an in-sync policy that still leaves evidence at risk does
not say "nothing to change" beside the errors, and untagged artifacts read as digests."""

from __future__ import annotations

from typing import Any

from harborguard.protect.rule import NO_TAG, own_rule
from harborguard.report.protectview import project_lines

DIGEST = "sha256:" + "ab" * 32


def section(status: str, protected: bool, rule: dict[str, Any] | None = None,
            **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": "proj", "status": status, "policy_id": 7, "rule_index": None, "rule": rule,
        "repositories": [], "tags": [], "keeps": [], "beyond_evidence": [], "untagged": [],
        "unprotected": [], "kept_to_deleted": [],
        "check": {"in-use-deleted": 0 if protected else 1, "rollback-deleted": 0},
        "protected": protected}
    return {**base, **extra}


def test_in_sync_and_protected_is_nothing_to_change() -> None:
    assert "nothing to change" in project_lines(section("in-sync", True))[0]


def test_in_sync_with_evidence_at_risk_says_so() -> None:
    first = project_lines(section("in-sync", False))[0]
    assert "nothing to change" not in first and "still at risk" in first


def test_untagged_rows_are_named_by_digest_and_the_rule_says_untagged() -> None:
    row = {"repository": "proj/app", "digest": DIGEST, "tags": []}
    lines = project_lines(section(
        "changed", True, own_rule("app", NO_TAG, untagged=True), rule_index=1,
        repositories=["proj/app"], keeps=[row, row], beyond_evidence=[row],
        untagged=[{"repository": "proj/app", "digest": DIGEST}]))
    assert lines[1] == ("rule 1: always, repositories proj/app; tags none; and every untagged "
                        "artifact there (untagged:true)")
    assert f"proj/app@{DIGEST}" in lines[2] and ":sha256" not in lines[2]
    assert lines[3] == "1 needed artifacts have no tag: the rule keeps them (untagged:true)"
