"""Every report any test produces is validated against the shipped JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema
import pytest

import harborguard.cli
import harborguard.commands.check
import harborguard.commands.diff
import harborguard.commands.drift
import harborguard.commands.loading
import harborguard.commands.protect
import harborguard.commands.simulate
import harborguard.pipeline
import harborguard.report.build
from harborguard.report.json import Items
from harborguard.report.needs import CountedRow

_original_build = harborguard.report.build.build_report


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("harborguard").joinpath(f"schemas/{name}").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


REPORT_VALIDATOR = jsonschema.Draft202012Validator(load_schema("report-v1.schema.json"))
SNAPSHOT_VALIDATOR = jsonschema.Draft202012Validator(load_schema("snapshot-v1.schema.json"))
VALIDATED: list[int] = []


def validate_report(report: dict[str, Any]) -> None:
    # Round-trip through JSON so the document is validated as a consumer sees it.
    REPORT_VALIDATOR.validate(json.loads(json.dumps(report)))
    VALIDATED.append(1)


def _checked_build(*args: Any, **kwargs: Any) -> dict[str, Any]:
    report = _original_build(*args, **kwargs)
    validate_report(report)
    return report


_original_assemble = harborguard.pipeline.report


def _as_rows(value: Any) -> Any:
    """A report list the pipeline keeps as Items: its rows (a part's Hole: none here);
    a list of rows without the stand-ins of the rows a format only counts
    (report/needs.py), which no JSON report holds."""
    if isinstance(value, list):
        return [row for row in value if not isinstance(row, CountedRow)]
    if not isinstance(value, Items):
        return value
    return [row for array in value.arrays if isinstance(array, bytes)
            for row in json.loads(array)]


def _checked_assemble(*args: Any, **kwargs: Any) -> Any:
    document, failing, checked, storage = _original_assemble(*args, **kwargs)
    validate_report({key: _as_rows(value) for key, value in document.items()})
    return document, failing, checked, storage


@pytest.fixture(autouse=True)
def _validate_every_report(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(harborguard.report.build, "build_report", _checked_build)
    for module in (harborguard.commands.loading, harborguard.commands.protect):
        monkeypatch.setattr(module, "build_report", _checked_build)
    monkeypatch.setattr(harborguard.pipeline, "report", _checked_assemble)
    yield
