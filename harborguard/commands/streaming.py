"""A command's run through harborguard.pipeline: how many parts, where they write, and
the snapshot read whole when the stream cannot be taken."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from harborguard import parallel
from harborguard.commands.dedup import storage_said
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import Opened
from harborguard.commands.outcome import Outcome, finish
from harborguard.outfile import existing_mode
from harborguard.pipeline import CommandSpec, Mode, StreamedReport, run
from harborguard.pipeline.reader import stream_of

# A snapshot file this large is evaluated in parts on several CPUs by default: about
# 10,000 artifacts. Below it, starting the parts costs more than it saves.
PARTS_FROM_BYTES = 4_000_000


def parts(inv: Invocation, opened: Opened) -> int:
    """--jobs, else one part per CPU for a large snapshot file (at most MAX_PARTS)."""
    jobs = inv.get("jobs")  # a bad value is an error of its own (exit 2)
    if not inv.in_parts or not parallel.can_fork() or inv.get("dedup"):
        return 1  # --dedup's figures need every repository's outcome in one process
    if jobs is None:
        if opened.size < PARTS_FROM_BYTES:
            return 1
        jobs = parallel.available_cpus()
    return max(1, min(int(jobs), parallel.MAX_PARTS))


def mode(inv: Invocation, opened: Opened) -> Mode:
    """JSON from a snapshot file into a regular file: the parts write their rows into it;
    anything else reads the report's rows (the outcome's report is then a plain document;
    a live read is never read again if writing the file fails)."""
    if inv.format != "json" or not inv.output or not inv.in_parts or not opened.snapshot_path:
        return "rows"
    existing = existing_mode(Path(os.path.realpath(inv.output)))
    if existing is not None and not stat.S_ISREG(existing):
        return "rows"  # parts write at offsets: only into a regular file
    return "file"


def stream_run(inv: Invocation, opened: Opened, spec: CommandSpec) -> StreamedReport:
    """``spec`` over the opened data; when the stream cannot be taken (a repository only
    the whole reader reads or refuses, a part that failed), the snapshot is read whole
    (InputError: exit 2, nothing written) and run in this process."""
    how = mode(inv, opened)
    spec = spec._replace(shown_as=inv.format)
    streamed = run(opened.stream, spec, parts(inv, opened), how)
    if streamed is None:
        streamed = run(stream_of(opened.whole()), spec, 1, how)
    if streamed is None:  # pragma: no cover - a snapshot read whole has no unreadable entry
        raise RuntimeError("the run failed in one process")
    return streamed


def concluded(inv: Invocation, streamed: StreamedReport) -> Outcome:
    """The outcome of a run: its report completed with what the invocation gathered."""
    storage_said(inv, streamed.storage)
    return finish(inv, streamed.report, failing=streamed.failing,
                  incomplete=bool(streamed.report["incomplete"]), fill=streamed.fill,
                  close=streamed.close)
