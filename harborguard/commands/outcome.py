"""What a command returns: its report and what the report implies for the exit code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harborguard.errors import InputError
from harborguard.findings import Finding, at_or_above

if TYPE_CHECKING:
    from harborguard.commands.invocation import Invocation
    from harborguard.pipeline import Fill
    from harborguard.simulate import RunResult


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class Outcome:
    """A command's result. The exit code it implies (harborguard.cli.Exit.of): 3 when
    anything is ``incomplete``, else 1 when ``failing`` (a finding at or above
    --fail-on), else 0."""

    report: dict[str, Any]  # the report document, every format's input
    failing: bool
    incomplete: bool
    errors: tuple[str, ...] = ()  # said first, one line each ("cannot read Harbor: ...")
    # The parts of a run writing their shares of a JSON report file (commands.simulate).
    fill: Fill | None = None
    close: Callable[[], None] = _nothing  # stops the parts if the report is not written


class RefusedAfter(InputError):
    """Bad input found once lines were already due on stderr: they are said first."""

    def __init__(self, message: str, said_first: Sequence[str]) -> None:
        super().__init__(message)
        self.said_first = tuple(said_first)


def finish(inv: Invocation, report: dict[str, Any], *, failing: bool, incomplete: bool,
           notes: Sequence[str] = (), errors: Sequence[str] = (),
           fill: Fill | None = None, close: Callable[[], None] = _nothing) -> Outcome:
    """The report completed with what the invocation gathered on the way (its config file,
    notes, incomplete items, git history, evidence covered)."""
    if inv.resolver.config_path:
        report["source"]["config"] = inv.resolver.config_path
    if inv.incomplete:
        report["incomplete"].extend({"what": i.what, "reason": i.reason} for i in inv.incomplete)
    report["notes"] = [*report.get("notes", []), *inv.notes, *notes]
    if inv.history:
        report["source"]["history"] = inv.history
    if inv.evidence is not None:
        report["evidence"] = inv.evidence
        environment = inv.get("environment")
        if inv.get("manifests") and environment:  # series of tools and toolsbeta runs differ
            report["source"].setdefault("environment", environment)
    return Outcome(report, failing, incomplete or bool(inv.incomplete), tuple(errors), fill,
                   close)


def outcome(inv: Invocation, result: RunResult, report: dict[str, Any],
            extra: Sequence[Finding] = (), errors: Sequence[str] = ()) -> Outcome:
    """The outcome of a run whose findings are ``result``'s and ``extra``."""
    fail_on = inv.get("fail-on")
    failing = any(at_or_above(f, fail_on) for f in [*result.findings, *extra])
    return finish(inv, report, failing=failing, incomplete=bool(result.incomplete),
                  errors=errors)
