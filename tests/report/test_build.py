"""report/build.py: an artifact's row as a structure (a report spilled to a file) is the
row as a dictionary, byte for byte, in use or not, whatever its times and tags."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from harborguard.evidence import Usage
from harborguard.report.build import ArtifactRow, artifact_rows
from harborguard.report.json import render_items
from tests.builders import T, art, policy, rule, run


def _outcome() -> Any:
    result = run([
        art("a", ["1.0", "release-\ud800"], T - timedelta(days=3)),  # json's path only
        art("b", ["2.0"], T - timedelta(days=2), T - timedelta(seconds=5)),
        art("c", [], T - timedelta(days=400)),
        art("d", ["3.0", "latest"], T - timedelta(hours=1), T - timedelta(days=1),
            size=7),
    ], policy(rule("latestPushedK", 2)))
    return result.projects[0].repositories[0]


def _render(rows: list[Any]) -> bytes:
    body = render_items(rows).arrays[0]
    assert isinstance(body, bytes)
    return body


def test_structures_are_the_dictionaries() -> None:
    outcome = _outcome()
    digest = outcome.repository.artifacts[1].digest
    used = {("p", outcome.repository.name, digest): [
        Usage("kubectl", "running", "h/p/app:2.0", "ns/Pod/x")]}
    for usage_of in (None, used):
        for keep in (slice(None), slice(1, None)):  # with and without the lone surrogate
            outcome_part = replace(
                outcome, repository=replace(outcome.repository,
                                            artifacts=outcome.repository.artifacts[keep]),
                decisions=outcome.decisions[keep])
            dicts: list[Any] = []
            structures: list[Any] = []
            freed = artifact_rows(dicts, "p", outcome_part, usage_of)
            assert artifact_rows(structures, "p", outcome_part, usage_of, True) == freed
            assert all(type(row) is ArtifactRow for row in structures)
            assert _render(structures) == _render(dicts)
    assert freed > 0


def test_the_structure_has_the_row_keys_in_their_order() -> None:
    rows: list[Any] = []
    artifact_rows(rows, "p", _outcome())
    assert ArtifactRow.__struct_fields__ == tuple(rows[0])
