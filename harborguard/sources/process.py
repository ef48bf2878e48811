"""Running a cluster tool (kubectl, helm) read-only, with a timeout, failing in one line."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

from harborguard.errors import SourceError
from harborguard.redact import mask_secrets

_REAP_SECONDS = 2.0
# What a tool may print: as much as a --kubectl-json file may hold (a cluster of thousands
# of pods prints tens of MB); its stderr is kept only as far as the first line needs.
MAX_OUTPUT_BYTES = 256 << 20
MAX_STDERR_BYTES = 64 << 10


def run_tool(command: list[str], *, timeout: float, tool: str, file_option: str,
             access_hint: str) -> bytes:
    """Runs ``command`` and returns its standard output.

    Raises SourceError naming the command and the fix when the tool is missing, cannot be
    run, times out or exits non-zero. ``file_option`` (``--kubectl-json FILE``) is the way
    around a missing tool; ``access_hint`` says what to check on a failure.
    """
    executable = command[0]
    shown = shlex.join(command)
    try:
        # A session of its own, so a timeout also kills any auth or credential plugin the
        # tool started; the plugin would otherwise hold our stderr pipe open and hang the run.
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise SourceError(
            f"{executable} not found on PATH (needed for `{shown}`); install {tool}, or save "
            f"that command's output to a file and pass {file_option}"
        ) from None
    except OSError as exc:
        raise SourceError(
            f"cannot run `{shown}`: {exc.strerror or exc}; check that {executable} is {tool} "
            "and is executable"
        ) from None
    try:
        out, err = _bounded_output(proc, timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise SourceError(
            f"`{shown}` did not finish within {timeout:g}s; check that the cluster answers "
            "(kubectl cluster-info) or allow a longer timeout"
        ) from None
    except _TooMuch:
        stop(proc)
        raise SourceError(
            f"`{shown}` printed more than {MAX_OUTPUT_BYTES >> 20} MiB, more than harborguard "
            f"reads; narrow it (a namespace) or save it to files and pass {file_option}"
        ) from None
    except BaseException:
        stop(proc)
        raise
    if proc.returncode != 0:
        raise SourceError(
            f"`{shown}` failed with exit code {proc.returncode}: {first_line(err)}; "
            f"{access_hint}"
        )
    return out


class _TooMuch(Exception):
    pass


def _bounded_output(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    """Standard output (at most MAX_OUTPUT_BYTES) and the start of standard error, read
    until both close, within ``timeout`` seconds in all (TimeoutExpired past it)."""
    import selectors
    import time

    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    sizes = dict.fromkeys(chunks, 0)
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            for key, _ in selector.select(left):
                data = os.read(key.fd, 1 << 16)
                if not data:
                    selector.unregister(key.fd)
                    continue
                sizes[key.fd] += len(data)
                if key.fd == out_fd:
                    if sizes[key.fd] > MAX_OUTPUT_BYTES:
                        raise _TooMuch
                    chunks[key.fd].append(data)
                elif sizes[key.fd] <= MAX_STDERR_BYTES:  # the first line is what is shown
                    chunks[key.fd].append(data)
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(proc.args, timeout) from None
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kills the process group and reaps it without waiting on stray children."""
    try:
        if sys.platform == "win32":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()


def first_line(stderr: bytes) -> str:
    """The first non-empty line of a tool's stderr, credentials in URLs masked."""
    text = stderr.decode("utf-8", errors="replace")
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    if not line:
        return "(nothing on stderr)"
    line = mask_secrets(line)
    return line if len(line) <= 300 else line[:297] + "..."
