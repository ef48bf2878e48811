"""Findings: one per artifact and problem, with the codes and severities docs/DESIGN.md fixes."""

from __future__ import annotations

from typing import Literal, NamedTuple

Severity = Literal["error", "warning", "info"]

SEVERITY: dict[str, Severity] = {
    "in-use-deleted": "error",
    "rollback-deleted": "error",
    "in-use-missing": "error",
    "policy-error": "error",
    "version-order-inversion": "warning",
    "time-tie": "warning",
    "version-disorder": "warning",
    "policy-invalid": "warning",
    "not-deployed": "warning",
    "not-in-manifests": "warning",
    "digest-moved": "warning",
    "in-use-expiring": "warning",
    "unresolved-reference": "warning",
    "foreign-registry": "warning",
    "protect-untagged": "warning",
    "unmatched-reference": "info",
    "verify-mismatch": "error",
    "verify-changed": "warning",
}

RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}

# What a finding about a Helm CHART artifact says breaks (never pod wording): formatters
# tell chart findings by it.
CHART_BREAKS = "a `helm rollback` or reinstall of that release cannot pull the chart"


class Related(NamedTuple):
    digest: str
    tags: tuple[str, ...]


class Finding(NamedTuple):
    """One problem with one artifact (or repository, component, project). A NamedTuple:
    a policy can produce tens of thousands of findings on a large project."""

    code: str
    message: str
    project: str | None = None
    repository: str | None = None
    digest: str | None = None
    tags: tuple[str, ...] | None = None
    rule: int | None = None
    related: tuple[Related, ...] = ()
    component: str | None = None
    environment: str | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.code]


def at_or_above(finding: Finding, threshold: Severity) -> bool:
    return RANK[finding.severity] >= RANK[threshold]
