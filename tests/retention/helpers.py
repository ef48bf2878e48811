"""Helpers shared by the engine tests of tests/retention/ (from the first Go-source audit)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from harborguard.retention.engine import Decision, RepositoryOutcome
from harborguard.simulate import RunResult
from tests.builders import (
    T,
    actions,
    art,
    dig,
    policy,
    rule,
    run,
    sel,
)

S = timedelta(seconds=1)
NO_UNTAGGED = '{"untagged":false}'
REPO_ALL = [sel("**", "repoMatches", None)]


def names(*items: str) -> set[str]:
    return {dig(i) for i in items}


def decisions(result: RunResult) -> dict[str, Decision]:
    return {
        a.digest: d
        for p in result.projects
        for r in p.repositories
        for a, d in zip(r.repository.artifacts, r.decisions, strict=True)
    }


def outcome(result: RunResult, name: str = "proj/app") -> RepositoryOutcome:
    for p in result.projects:
        for r in p.repositories:
            if r.repository.name == name:
                return r
    raise AssertionError(f"no repository {name}")


def codes(result: RunResult) -> list[str]:
    # Version findings depend on the tags chosen, not on the policy behaviour tested here.
    return [f.code for f in result.findings if not f.code.startswith("version-")]


MISSING = object()


def with_params(template: str, params: Any, **kw: Any) -> dict[str, Any]:
    """A rule whose ``params`` is exactly ``params``; the key is dropped for the MISSING marker."""
    r = rule(template, **kw)
    if params is MISSING:
        del r["params"]
    else:
        r["params"] = params
    return r


def imm(
    rule_id: int,
    tags: list[dict[str, Any]],
    repos: list[dict[str, Any]] | None = None,
    *,
    disabled: bool = False,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An immutable-tag rule as GET /projects/{p}/immutabletagrules lists it."""
    return {
        "id": rule_id,
        "disabled": disabled,
        "action": "immutable",
        "template": "immutable_template",
        "tag_selectors": tags,
        "scope_selectors": scope if scope is not None else {"repository": repos or REPO_ALL},
    }


def twelve() -> list[dict[str, Any]]:
    return [art(f"a{i:02d}", [f"t{i}"], T - (i + 1) * S) for i in range(12)]


ALL_TAGS = [sel("**", extras=None)]
BAD_KIND = sel("**", "withLabels", None, kind="label")


def immutable_action(
    immutable: list[dict[str, Any]],
    tags: list[str] | None = None,
    repo: str = "app",
    version: str | None = None,
) -> str:
    arts = [art("x", ["v1"] if tags is None else tags, T - 10 * S)]
    result = run(
        {repo: arts}, policy(rule("latestPushedK", 0)), immutable=immutable, version=version
    )
    return actions(result)[dig("x")]
