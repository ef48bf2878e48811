"""Where a report goes: links, pipes and devices, unwritable places, a closed standard
output, and a run stopped with SIGTERM (no temporary file left behind)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import policy, rule
from tests.test_parts import _random_snapshot

HARBORGUARD = [sys.executable, "-m", "harborguard"]


def _snapshot(tmp_path: Path, seed: int = 4) -> Path:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(random.Random(seed))))
    return path


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_symbolic_link_is_followed_and_kept(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    for jobs in ("1", "2"):
        _invoke("simulate", "--snapshot", str(snap), "--format", "json", "-o", str(link),
                "--jobs", jobs)
        assert link.is_symlink() and json.loads(real.read_text())["schema"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json",
                                                          "snap.json"]


def test_a_named_pipe_is_written_to_not_replaced(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = _invoke("simulate", "--snapshot", str(snap), "--format", "json", "-o", str(fifo),
                     "--jobs", "2")
    reader.join(timeout=30)
    assert result.exit_code in (0, 1, 3)
    assert json.loads(got[0])["schema"] == "harborguard.report/v1"
    assert fifo.is_fifo()


def test_a_place_that_cannot_be_written_is_one_line_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = _snapshot(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = _invoke("simulate", "--snapshot", str(snap), "--format", "json", "-o",
                     str(tmp_path / "r.json"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "Permission denied" in result.stderr
    assert "internal error" not in result.stderr


def test_a_snapshot_from_a_named_pipe_is_read_once(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    for jobs in ([], ["--jobs", "1"], ["--jobs", "2"]):
        writer = subprocess.Popen([sys.executable, "-c",
                                   "import sys; open(sys.argv[1], 'wb').write("
                                   "open(sys.argv[2], 'rb').read())", str(fifo), str(snap)])
        done = subprocess.run([*HARBORGUARD, "simulate", "--snapshot", str(fifo), "--format",
                               "json", "-o", str(tmp_path / "r.json"), *jobs],
                              capture_output=True, text=True, timeout=60)
        writer.wait(timeout=30)
        assert done.returncode in (0, 1, 3), done.stderr
        assert json.loads((tmp_path / "r.json").read_text())["summary"]["artifacts"] > 0


def test_a_closed_standard_output_is_no_internal_error(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    done = subprocess.run(["sh", "-c", '"$@" >&-', "sh", *HARBORGUARD, "simulate",
                           "--snapshot", str(snap), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert "internal error" not in done.stderr
    assert done.returncode in (0, 1, 3)


def test_sigterm_leaves_no_temporary_report(tmp_path: Path) -> None:
    """A run in parts stopped half-way: exit 143 for SIGTERM, 130 for Ctrl-C (or killed
    before harborguard started listening, or already done), and never a leftover
    `.r.json.*` file or process."""
    def artifact(n: int) -> dict[str, Any]:
        when = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:{n % 60:02d}.000Z"
        return {"digest": f"sha256:{n:064x}", "size": n, "push_time": when,
                "pull_time": when, "tags": [{"name": f"1.{n // 100}.{n % 100}",
                                             "push_time": when, "pull_time": when}]}

    big = {"schema": "harborguard.snapshot/v1", "taken_at": "2026-01-01T00:00:00Z",
           "projects": [{"project": {"name": "p"}, "retention": policy(rule("latestPushedK", 5)),
                         "repositories": [{"repository": {"name": f"p/app-{r}"},
                                           "artifacts": [artifact(r * 100 + i)
                                                         for i in range(100)]}
                                          for r in range(400)]}]}
    snap = tmp_path / "big.json"
    snap.write_text(json.dumps(big))
    out = tmp_path / "out"
    out.mkdir()
    codes = []
    for delay, how in ((0.5, signal.SIGTERM), (0.9, signal.SIGTERM), (0.7, signal.SIGINT)):
        run = subprocess.Popen([*HARBORGUARD, "simulate", "--snapshot", str(snap), "--format",
                                "json", "-o", str(out / "r.json"), "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        run.send_signal(how)
        code = run.wait(timeout=60)
        assert code in (128 + how, -how, 0, 1, 3)
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
        codes.append(code)
        time.sleep(0.2)
        left = subprocess.run(["pgrep", "-f", str(snap)], capture_output=True)
        assert left.stdout == b""  # forked parts have the same command line
    assert 143 in codes and 130 in codes
