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

import click
import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import policy, rule
from tests.pipeline.test_parts import _random_snapshot

HARBORGUARD = [sys.executable, "-m", "harborguard"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"


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


def _big_snapshot(tmp_path: Path) -> Path:
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
    return snap


def _no_process_left(snap: Path) -> None:
    # Forked parts have the same command line; a stopped run reaps them before it exits.
    left = subprocess.run(["pgrep", "-f", str(snap)], capture_output=True)
    assert left.stdout == b""


def _wait_for(marker: Path, run: subprocess.Popen[bytes]) -> None:
    """Until the run says it reached its pause point (it waits there for the signal)."""
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert run.poll() is None, "the run ended before its pause point"
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_leaves_no_temporary_report(tmp_path: Path, how: signal.Signals) -> None:
    """A run in parts stopped half-way (its temporary report file open, its parts
    running): exit 143 for SIGTERM, 130 for Ctrl-C, one line, and never a leftover
    `.r.json.*` file or process. The run pauses where the test hook says (it has
    started, the file exists) and the signal comes then: nothing races."""
    snap = _big_snapshot(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "paused"
    run = subprocess.Popen([*HARBORGUARD, "simulate", "--snapshot", str(snap), "--format",
                            "json", "-o", str(out / "r.json"), "--jobs", "2"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={**os.environ, "HARBORGUARD_TEST_PAUSE": f"writing:{marker}"})
    _wait_for(marker, run)
    assert [p.name for p in out.iterdir()][0].startswith(".r.json.")  # it is writing
    run.send_signal(how)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + how
    assert err.decode() == f"harborguard: stopped ({how.name})\n"
    assert list(out.iterdir()) == []
    _no_process_left(snap)


# Every moment of a run, reached by the test hook, which has the run send itself the
# signal there: before the heavy imports, after them, with the temporary report open,
# once the result is decided (the report is complete and in place: still 143, documented),
# and once the outcome is final (the signal is ignored: the run's own code).
MOMENTS = {"start": None, "imported": None, "writing": None, "decided": "complete",
           "final": "complete"}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_a_signal_at_any_moment_is_one_line_and_its_code(tmp_path: Path, moment: str,
                                                          how: signal.Signals) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # The example ends with warnings: exit 1 with --fail-on warning.
    command = [*HARBORGUARD, "simulate", "--snapshot", str(EXAMPLE), "--format", "json",
               "-o", str(out / "r.json"), "--fail-on", "warning"]
    env = {**os.environ, "HARBORGUARD_TEST_SIGNAL": f"{moment}:{how.name}"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    files = sorted(p.name for p in out.iterdir())
    stopped = f"harborguard: stopped ({how.name})\n"
    if MOMENTS[moment] == "complete":
        assert files == ["r.json"]
        assert json.loads((out / "r.json").read_text())["schema"] == "harborguard.report/v1"
        unsignalled = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert unsignalled.returncode == 1
        if moment == "final":  # ignored: the run's own code and lines
            assert (done.returncode, done.stderr) == (1, unsignalled.stderr)
        else:
            assert (done.returncode, done.stderr) == (128 + how, unsignalled.stderr + stopped)
    else:
        assert files == []
        assert (done.returncode, done.stderr) == (128 + how, stopped)


@pytest.mark.parametrize("entry", ["console script", "python -m"])
def test_sigint_while_starting_is_one_line_130(tmp_path: Path, entry: str) -> None:
    """The handlers come before the heavy imports (click, rich, httpx), in the entry
    point itself: Ctrl-C in the first tenth of a second is no traceback."""
    command = ([str(Path(sys.executable).parent / "harborguard")] if entry == "console script"
               else HARBORGUARD)
    env = {**os.environ, "HARBORGUARD_TEST_SIGNAL": "start:SIGINT"}
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 130 and done.stderr == "harborguard: stopped (SIGINT)\n"


def test_a_late_sigterm_never_gives_a_traceback_or_a_wrong_code(tmp_path: Path) -> None:
    """A run that ends with findings (exit 1), stopped by SIGTERM as it finishes: 143 or
    its own code 1, never a traceback (a signal raced the exit path before)."""
    snap = _big_snapshot(tmp_path)
    marker = tmp_path / "paused"
    run = subprocess.Popen([*HARBORGUARD, "simulate", "--snapshot", str(snap), "--format",
                            "json", "-o", str(tmp_path / "r.json"), "--fail-on", "warning",
                            "--jobs", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={**os.environ, "HARBORGUARD_TEST_PAUSE": f"decided:{marker}"})
    _wait_for(marker, run)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and err.decode().endswith("harborguard: stopped (SIGTERM)\n")
    assert "Traceback" not in err.decode()
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["artifacts"] == 40_000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_dash_is_standard_output_not_a_file_named_dash(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """`-o -` is standard output, as in most tools; a file named "-" is `-o ./-`."""
    snap = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    dashed = _invoke("simulate", "--snapshot", str(snap), "--format", "json", "-o", "-")
    plain = _invoke("simulate", "--snapshot", str(snap), "--format", "json")
    assert dashed.exit_code == plain.exit_code
    assert json.loads(dashed.stdout) == json.loads(plain.stdout)
    assert not (tmp_path / "-").exists()
    _invoke("simulate", "--snapshot", str(snap), "--format", "json", "-o", "./-")
    assert json.loads((tmp_path / "-").read_text()) == json.loads(plain.stdout)


def test_a_snapshot_to_a_dash_goes_to_standard_output(tmp_path: Path) -> None:
    from harborguard.cli.options import output_path

    snapshot_output = next(p for p in cli.commands["snapshot"].params if p.name == "output")
    report_output = next(p for p in cli.commands["simulate"].params if p.name == "output")
    ctx = click.Context(cli)
    assert output_path(ctx, snapshot_output, "-") == "/dev/stdout"
    assert output_path(ctx, report_output, "-") is None
    assert output_path(ctx, report_output, "./-") == "./-"


def test_a_snapshot_to_a_dash_is_added_to_what_standard_output_holds(tmp_path: Path) -> None:
    """`snapshot -o -` writes into standard output, as a report's `-o -` does: with
    standard output a file opened to append (`exec >>run.log`), what the file held stays,
    and what is written after it lands in the file (replacing the file that standard
    output names lost both)."""
    from tests.fakeharbor import FakeHarbor

    data = json.loads(EXAMPLE.read_text())
    log = tmp_path / "run.log"
    log.write_bytes(b"earlier line\n")
    env = {**os.environ, "HARBOR_USERNAME": "admin", "HARBOR_PASSWORD": "pw"}
    with FakeHarbor(data, users={"admin": "pw"}) as fake, open(log, "ab") as out:
        done = subprocess.run([*HARBORGUARD, "--harbor", fake.url, "snapshot", "--project",
                               "toolforge", "-o", "-"], stdout=out, stderr=subprocess.PIPE,
                              env=env, check=False)
        out.write(b"later line\n")
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert text.startswith("earlier line\n{") and text.endswith("}\nlater line\n"), text[:80]
    snapshot = json.loads(text.removeprefix("earlier line\n").removesuffix("later line\n"))
    assert snapshot["schema"] == "harborguard.snapshot/v1"


@pytest.mark.parametrize("target", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
@pytest.mark.parametrize("command", ["simulate", "check"])
def test_a_report_to_standard_output_is_added_to_what_it_holds(tmp_path: Path, target: str,
                                                               command: str) -> None:
    """-o naming standard output, with standard output a file opened to append (`exec
    >>run.log`): the report is added to the file, never a new file renamed over it (what
    the log held, and what comes after, would be lost)."""
    snap = _snapshot(tmp_path)
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"kind": "List", "items": [{"kind": "Pod", "metadata": {
        "name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c",
                                                                   "image": "nginx:1"}]}}]}))
    evidence = ["--kubectl-json", str(pods), "--registry-alias", "harbor.example"] if (
        command == "check") else []
    log = tmp_path / "run.log"
    log.write_bytes(b"earlier line\n")
    with open(log, "ab") as out:
        done = subprocess.run([*HARBORGUARD, command, "--snapshot", str(snap), *evidence,
                               "--format", "json", "-o", target], stdout=out,
                              stderr=subprocess.PIPE, check=False)
        out.write(b"later line\n")
    assert done.returncode in (0, 1, 3), done.stderr
    text = log.read_text()
    assert text.startswith("earlier line\n{") and text.endswith("}\nlater line\n"), text[:80]
    report = json.loads(text.removeprefix("earlier line\n").removesuffix("later line\n"))
    assert report["command"] == command
