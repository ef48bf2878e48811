"""Running a cluster tool (kubectl, helm) read-only, with a timeout, failing in one line."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

from harborguard.errors import SourceError
from harborguard.redact import mask_userinfo

_REAP_SECONDS = 2.0


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
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise SourceError(
            f"`{shown}` did not finish within {timeout:g}s; check that the cluster answers "
            "(kubectl cluster-info) or allow a longer timeout"
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
    line = mask_userinfo(line)
    return line if len(line) <= 300 else line[:297] + "..."
