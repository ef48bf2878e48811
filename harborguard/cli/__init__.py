"""The command line: the only place that reads the environment, prints and exits.

Each command is a module here (decorators and one call into harborguard.commands);
options.py holds the shared options and the settings' resolution (evidenceoptions.py
the evidence options of check, diff, drift and protect); output.py what a run
says. This module holds the group, the exit-code contract and the one mapping of core
errors to exit codes.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NoReturn

import click

from harborguard import console
from harborguard.errors import InputError, Stopped

if TYPE_CHECKING:
    from harborguard.commands import Invocation, Outcome


class Exit(IntEnum):
    """The exit codes (precedence 2 > 3 > 1 > 0)."""

    OK = 0
    FINDINGS = 1  # a finding at or above --fail-on
    BAD_INPUT = 2  # a bad invocation, or a file named on the command line unreadable
    INCOMPLETE = 3  # something could not be fetched or parsed

    @classmethod
    def of(cls, outcome: Outcome) -> Exit:
        if outcome.incomplete:
            return cls.INCOMPLETE
        return cls.FINDINGS if outcome.failing else cls.OK


class BadInput(click.ClickException):
    """A core InputError at the edge: one line on stderr, exit 2, no traceback."""

    exit_code = Exit.BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"harborguard: error: {self.format_message()}", err=True)


@contextmanager
def core_errors() -> Iterator[None]:
    """Core errors become one line and the documented exit code. Every command starts
    here, so here, before anything is read or written, an output that names one of the
    command line's inputs is refused (cli.filenames)."""
    from harborguard.cli.filenames import refuse_overwriting_inputs

    try:
        refuse_overwriting_inputs(click.get_current_context(silent=True))
        yield
    except InputError as exc:
        for line in getattr(exc, "said_first", ()):  # commands.outcome.RefusedAfter
            click.echo(f"harborguard: error: {line}", err=True)
        raise BadInput(str(exc)) from None


def conclude(inv: Invocation, outcome: Outcome) -> NoReturn:
    """Writes the report, says its notes and what is missing, and exits with the code the
    outcome implies."""
    from harborguard.cli.output import say

    say(inv, outcome)
    console.keep_heap()  # the run's memory is not freed on the way out: see there
    sys.exit(int(Exit.of(outcome)))


def conclude_run(inv: Invocation, run: Callable[[Invocation], Outcome]) -> NoReturn:
    """``run``'s outcome concluded; if its parts could not write their shares of the
    report file (outfile.PartsFailed), run again in one process, the report written
    from memory."""
    from harborguard.outfile import PartsFailed

    again = inv.copy()
    outcome = run(inv)
    try:
        conclude(inv, outcome)
    except PartsFailed:
        pass
    finally:
        outcome.close()
    again.in_parts = False
    conclude(again, run(again))


from harborguard.cli.options import global_options  # noqa: E402 - needs BadInput


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Tell, before it happens, what a Harbor tag-retention policy will delete.

    Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 bad invocation or
    unreadable input; 3 incomplete data (something could not be fetched or parsed).
    """
    ctx.obj = {k: v for k, v in options.items() if v is not None}


from harborguard.cli import (  # noqa: E402
    check,
    diff,
    drift,
    protect,  # noqa: E402
    simulate,
    snapshot,
    verify,
)

for _module in (simulate, check, diff, drift, snapshot, protect, verify):
    cli.add_command(_module.command)


def main() -> None:
    # Runs build hundreds of thousands of acyclic objects (artifacts, decisions, report
    # rows); the cyclic collector would rescan them again and again for nothing.
    gc.disable()
    # Ctrl-C, or stopped politely (a CI job cancelled): unwind, so a run in parts stops
    # its other processes and no temporary report file is left behind; exit 130 or 143
    # (harborguard.console: the console entry point installs the handlers first).
    console.install()
    try:
        code = _run()
        console.test_point("decided")
        console.finishing()  # from here on a signal changes nothing: the run's own code
    except Stopped as stop:
        code = console.stopped(stop)
    console.test_point("final")
    _exit_now(code)


def _run() -> int:
    """The command line's exit code; a Stopped run raises Stopped (caught by main)."""
    try:
        cli(prog_name="harborguard", standalone_mode=True)
        return 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        click.echo(str(done.code), err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: fail closed
        # An unexpected error must never read as "no findings" (0) or "findings" (1).
        click.echo(f"harborguard: internal error: {type(exc).__name__}: {exc} "
                   "(the result is incomplete; please report this)", err=True)
        return int(Exit.INCOMPLETE)


def _exit_now(code: int) -> NoReturn:
    """Exits without tearing down the heap: freeing a large run's millions of objects one
    by one takes a quarter of a second and changes nothing. Output is flushed first (all
    files harborguard writes are closed by then); a reader that went away (``| head``) is
    not an error of ours. No early --kubectl-json reader is left running."""
    console.leave()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`2>&-`)
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass
    os._exit(code)
