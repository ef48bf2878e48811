"""Formatters: one module per format, each pure (report in, text out), chosen by name."""

from __future__ import annotations

from typing import Any, Protocol

from harborguard.report import json as json_format
from harborguard.report import junit as junit_format
from harborguard.report import markdown as markdown_format
from harborguard.report import table as table_format


class Formatter(Protocol):
    """``formatter(report, colour, width, **options) -> text``.

    ``options`` are keywords a format may use and every other format ignores; today
    ``fail_on`` ("error" | "warning", the command's --fail-on), read by junit (which cases
    fail) and markdown (the verdict's wording).
    """

    def __call__(self, report: dict[str, Any], colour: bool = False, width: int = 0,
                 **options: Any) -> str: ...


FORMATTERS: dict[str, Formatter] = {
    "table": table_format.render,
    "json": json_format.render,
    "markdown": markdown_format.render,
    "junit": junit_format.render,
}


def render(name: str, report: dict[str, Any], *, colour: bool = False, width: int = 120,
           **options: Any) -> str:
    return FORMATTERS[name](report, colour, width, **options)
