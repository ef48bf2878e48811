"""Builders for Harbor API payloads (the shapes of swagger.yaml) used across the tests."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harborguard.harborversion import resolve
from harborguard.simulate import RunResult, simulate
from harborguard.snapshot import parse_snapshot
from harborguard.timeutil import parse_nanos

T = datetime(2026, 1, 1, tzinfo=UTC)
D = timedelta(days=1)
NEVER = "0001-01-01T00:00:00.000Z"
T_TEXT = "2026-01-01T00:00:00Z"


def shared_dir() -> Path:
    """The tests' copy of the shared data (tests/data/, provenance in its SOURCES.md), or
    $HARBORGUARD_SHARED when set: another copy of the same layout, which may add files."""
    named = os.environ.get("HARBORGUARD_SHARED")
    if named:
        if (Path(named) / "realworld").is_dir():
            return Path(named)
        raise FileNotFoundError(f"HARBORGUARD_SHARED={named} has no realworld/ folder")
    return Path(__file__).resolve().parent / "data"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def dig(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def art(
    name: str,
    tags: list[str] | None = None,
    pushed: datetime | None = None,
    pulled: datetime | None = None,
    *,
    tag_pushed: dict[str, datetime] | None = None,
    tag_pulled: dict[str, datetime] | None = None,
    size: int = 1000,
    kind: str = "IMAGE",
    art_id: int = 0,
) -> dict[str, Any]:
    """An artifact list item; ``name`` seeds the digest (see dig())."""
    pushed = pushed or T - timedelta(seconds=100)
    tag_items = []
    for i, tag in enumerate(tags or []):
        tp = (tag_pushed or {}).get(tag, pushed)
        tl = (tag_pulled or {}).get(tag)
        tag_items.append(
            {
                "id": i + 1,
                "repository_id": 1,
                "artifact_id": art_id,
                "name": tag,
                "push_time": iso(tp),
                "pull_time": iso(tl) if tl else NEVER,
                "immutable": False,
            }
        )
    return {
        "id": art_id,
        "type": kind,
        "digest": dig(name),
        "size": size,
        "push_time": iso(pushed),
        "pull_time": iso(pulled) if pulled else NEVER,
        "tags": tag_items or None,
    }


def sel(pattern: str, decoration: str = "matches", extras: str | None = '{"untagged":true}',
        kind: str = "doublestar") -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "decoration": decoration, "pattern": pattern}
    if extras is not None:
        out["extras"] = extras
    return out


def rule(template: str, value: Any = None, tags: list[dict[str, Any]] | None = None,
         repos: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {} if value is None else {template: value}
    out: dict[str, Any] = {
        "action": "retain",
        "template": template,
        "params": params,
        "tag_selectors": [sel("**")] if tags is None else tags,
        "scope_selectors": {
            "repository": [sel("**", "repoMatches", None)] if repos is None else repos
        },
    }
    out.update(extra)
    return out


def policy(*rules: dict[str, Any], algorithm: str = "or") -> dict[str, Any]:
    return {"id": 1, "algorithm": algorithm, "rules": list(rules),
            "scope": {"level": "project", "ref": 1}}


def snapshot(repos: dict[str, list[dict[str, Any]]], retention: dict[str, Any] | None,
             immutable: list[dict[str, Any]] | None = None, project: str = "proj",
             version: str | None = None) -> dict[str, Any]:
    return {
        "schema": "harborguard.snapshot/v1",
        "harbor": "https://harbor.example.org",
        "harbor_version": version,
        "taken_at": T_TEXT,
        "incomplete": [],
        "projects": [
            {
                "project": {"project_id": 1, "name": project},
                "retention": retention,
                "immutable_rules": immutable or [],
                "repositories": [
                    {"repository": {"name": f"{project}/{name}"}, "artifacts": artifacts}
                    for name, artifacts in repos.items()
                ],
            }
        ],
    }


def run(repos: dict[str, list[dict[str, Any]]] | list[dict[str, Any]],
        retention: dict[str, Any] | None, *, immutable: list[dict[str, Any]] | None = None,
        version: str | None = None, now: str = T_TEXT) -> RunResult:
    if isinstance(repos, list):
        repos = {"app": repos}
    snap = parse_snapshot(snapshot(repos, retention, immutable, version=version), "test")
    return simulate(snap, parse_nanos(now), resolve(version))


def actions(result: RunResult, repository: str | None = None) -> dict[str, str]:
    """digest-seed name -> action is awkward, so map by the first tag or the digest."""
    out: dict[str, str] = {}
    for project in result.projects:
        for repo in project.repositories:
            if repository and repo.repository.name != repository:
                continue
            for artifact, decision in zip(repo.repository.artifacts, repo.decisions, strict=True):
                out[artifact.digest] = decision.action
    return out


def kept(result: RunResult) -> set[str]:
    """Digests not deleted (retain or immutable)."""
    return {d for d, a in actions(result).items() if a != "delete"}


def deleted(result: RunResult) -> set[str]:
    return {d for d, a in actions(result).items() if a == "delete"}
