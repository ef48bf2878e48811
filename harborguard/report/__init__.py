"""Formatters: one module per format, each pure (report in, text out), chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harborguard.report import json as json_format
from harborguard.report import table as table_format

# formatter(report, colour, width) -> text
Formatter = Callable[[dict[str, Any], bool, int], str]

FORMATTERS: dict[str, Formatter] = {
    "table": table_format.render,
    "json": json_format.render,
}


def render(name: str, report: dict[str, Any], *, colour: bool = False, width: int = 120) -> str:
    return FORMATTERS[name](report, colour, width)
