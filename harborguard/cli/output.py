"""What a run says: the report on standard output or in its file, the notes and the
incomplete items on stderr, a progress bar on a terminal."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from harborguard.errors import InputError
from harborguard.outfile import write_atomically
from harborguard.report import render

if TYPE_CHECKING:
    from harborguard.commands import Invocation, Outcome
    from harborguard.commands.invocation import ProgressHook


def on_terminal(stream: Any) -> bool:
    """False also for a stream that is not there (harborguard started with it closed)."""
    return stream is not None and stream.isatty()


def error(line: str) -> None:
    click.echo(f"harborguard: error: {line}", err=True)


def say_incomplete(items: Iterable[dict[str, Any]]) -> None:
    """Always said, even with --quiet: an incomplete result must not pass unnoticed."""
    for item in items:
        click.echo(f"harborguard: incomplete: {item['what']}: {item['reason']}", err=True)


def progress_bar(label: str, *, quiet: bool) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""
    if quiet or not on_terminal(sys.stderr):
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), transient=True, console=Console(stderr=True))
    task = bar.add_task(label, total=None)
    bar.start()

    def update(done: int, known: int) -> None:
        bar.update(task, completed=done, total=max(known, 1))

    return update, bar.stop


def say(inv: Invocation, outcome: Outcome) -> None:
    """Says the outcome's errors, writes its report (the parts of a run fill their shares:
    outfile.PartsFailed if one cannot), then its notes and what is missing."""
    for line in outcome.errors:
        error(line)
    report = outcome.report
    output = inv.output
    fmt = inv.format
    colour = output is None and on_terminal(sys.stdout) and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((140, 24)).columns if colour else 140
    fail_on = inv.get("fail-on")
    if fmt == "json":  # written in pieces: a large report is never copied into one string
        from harborguard.report.json import render_chunks

        chunks = render_chunks(report)
        if output:
            write_atomically(output, chunks, outcome.fill)
        else:
            to_stdout(b"".join(chunks))  # type: ignore[arg-type]
    else:
        text = render(fmt, report, colour=colour, width=width, fail_on=fail_on,
                      run_at=time.time())
        if output:
            write_atomically(output, [text.encode("utf-8")])
        else:
            to_stdout(text)
    if not inv.get("quiet") and (output or fmt != "table"):
        # The table shows its notes itself; elsewhere they would be lost in the file.
        for note in report["notes"]:
            click.echo(f"harborguard: note: {note}", err=True)
    say_incomplete(report["incomplete"])


def to_stdout(data: bytes | str) -> None:
    """The report on standard output, flushed here: a full disk or a closed pipe's error
    must be said (exit 2, as for -o FILE), not lost at exit. A reader that went away
    (``| head``) is not an error of ours."""
    try:
        click.echo(data, nl=False)
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        pass
    except OSError as exc:
        raise InputError(f"standard output: cannot write the report: "
                         f"{exc.strerror or exc}") from None
