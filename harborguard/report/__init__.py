"""Formatters: one module per format, each pure (report in, text out), chosen by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any, Protocol, cast


class Formatter(Protocol):
    """``formatter(report, colour, width, **options) -> text``.

    ``options`` are keywords a format may use and every other format ignores; today
    ``fail_on`` ("error" | "warning", the command's --fail-on), read by junit (which cases
    fail) and markdown (the verdict's wording); ``run_at`` (seconds since the epoch, when
    the run happened), read by prometheus.
    """

    def __call__(self, report: dict[str, Any], colour: bool = False, width: int = 0,
                 **options: Any) -> str: ...


class _Registry(Mapping[str, Formatter]):
    """Format name -> formatter; a format's module (rich, for the table) is imported only
    when that format is used, which keeps every run's start-up short."""

    _MODULES = {
        "table": "harborguard.report.table",
        "json": "harborguard.report.json",
        "markdown": "harborguard.report.markdown",
        "junit": "harborguard.report.junit",
        "prometheus": "harborguard.report.prometheus",
        "codequality": "harborguard.report.codequality",
    }

    def __getitem__(self, name: str) -> Formatter:
        return cast(Formatter, import_module(self._MODULES[name]).render)

    def __iter__(self) -> Iterator[str]:
        return iter(self._MODULES)

    def __len__(self) -> int:
        return len(self._MODULES)


FORMATTERS: Mapping[str, Formatter] = _Registry()


def render(name: str, report: dict[str, Any], *, colour: bool = False, width: int = 120,
           **options: Any) -> str:
    return FORMATTERS[name](report, colour, width, **options)
