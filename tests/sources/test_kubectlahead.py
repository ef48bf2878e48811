"""kubectlahead.KubectlFiles: --kubectl-json files read in a thread while the snapshot is
read give what reading them in turn gives: the same evidence, the same error raised in the
file's turn (a snapshot's error still first), no file read after one that failed."""

from __future__ import annotations

import json
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard import parallel
from harborguard.cli import cli
from harborguard.errors import InputError
from harborguard.sources import kubectlahead
from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json
from harborguard.sources.kubectlahead import KubectlFiles

CASES = Path(__file__).resolve().parents[1] / "data" / "issue12-kubectl"
BASE = CASES / "base-snap.json"


def test_files_read_ahead_give_the_evidence_read_in_turn() -> None:
    paths = [str(CASES / "k-daemonset-revisions.json"), str(CASES / "k-rc-mixed.json")]
    ahead = KubectlFiles(paths)
    for path in paths:
        assert ahead.evidence(path) == parse_kubectl_json(load_kubectl_file(path), path)


def test_the_error_is_raised_in_the_files_turn_and_later_files_are_not_read(
        tmp_path: Path) -> None:
    good, bad, later = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "later.json"
    good.write_text(json.dumps({"kind": "List", "items": []}))
    bad.write_text('{"kind": "List", "items": [')
    later.write_text(json.dumps({"kind": "List", "items": []}))
    ahead = KubectlFiles([str(good), str(bad), str(later)])
    assert ahead.evidence(str(good)).objects == 0
    with pytest.raises(InputError) as raised:
        ahead.evidence(str(bad))
    with pytest.raises(InputError) as in_turn:
        load_kubectl_file(bad)
    assert str(raised.value) == str(in_turn.value)
    with pytest.raises(LookupError):
        ahead.evidence(str(later))


def test_the_reader_is_a_thread_that_does_not_keep_the_process(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "List", "items": []}))
    KubectlFiles([str(path)]).evidence(str(path))
    assert all(t.daemon for t in threading.enumerate() if t.name == "kubectl-json")


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", "--format", "json", *args])
    return result.exit_code, result.stderr


def test_a_bad_snapshot_is_named_before_a_bad_kubectl_file(tmp_path: Path) -> None:
    snapshot, pods = tmp_path / "snap.json", tmp_path / "pods.json"
    snapshot.write_text("{not json")
    pods.write_text("{not json either")
    code, err = _check("--snapshot", str(snapshot), "--kubectl-json", str(pods))
    assert code == 2 and "snap.json" in err and "pods.json" not in err


def test_a_bad_kubectl_file_is_named_as_when_read_in_turn(tmp_path: Path) -> None:
    pods = tmp_path / "pods.json"
    pods.write_text('{"kind": "List", "items": [1, 2')
    code, err = _check("--snapshot", str(BASE), "--kubectl-json", str(pods))
    with pytest.raises(InputError) as in_turn:
        load_kubectl_file(pods)
    assert code == 2 and str(in_turn.value) in err


def _pods(tag: str) -> dict[str, object]:
    image = f"tools-harbor.wmcloud.org/toolforge/app:{tag}"
    return {"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"web-{tag}", "namespace": "app"},
        "spec": {"containers": [{"name": "c", "image": image}]},
        "status": {"phase": "Running"}}]}


def _one_reading_after_another(monkeypatch: pytest.MonkeyPatch, path: Path,
                               readings: list[dict[str, object]]) -> None:
    """``path`` gives each of ``readings`` in turn, as a named pipe written once per
    reader does (``mkfifo f; (kubectl get ... >f; kubectl get ... -n other >f) &``)."""
    from harborguard.sources import kubectl

    path.write_text("{}")  # a regular file, so read ahead; each reading is one of readings
    left = list(readings)

    def load(name: str | Path) -> object:
        assert str(name) == str(path)
        return left.pop(0)

    monkeypatch.setattr(kubectl, "load_kubectl_file", load)


def test_a_path_given_twice_gives_each_reading_in_its_turn(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Reading a path twice in turn gives what each reading read; the second must not
    stand for both (the pods of the first would be lost: a false all-clear)."""
    path = tmp_path / "pods"
    _one_reading_after_another(monkeypatch, path, [_pods("0.0.1"), _pods("0.0.5")])
    ahead = KubectlFiles([str(path), str(path)])
    first, second = ahead.evidence(str(path)), ahead.evidence(str(path))
    assert [u.ref.rsplit(":", 1)[1] for u in (*first.usages, *second.usages)] == [
        "0.0.1", "0.0.5"]


def test_check_of_a_path_given_twice_finds_what_its_first_reading_runs(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "pods"
    _one_reading_after_another(monkeypatch, path, [_pods("0.0.1"), _pods("0.0.5")])
    result = CliRunner().invoke(cli, ["check", "--format", "json", "--snapshot", str(BASE),
                                      "--kubectl-json", str(path), "--kubectl-json", str(path)])
    report = json.loads(result.stdout)
    assert result.exit_code == 1, result.stderr  # 0.0.1 runs, and the policy deletes it
    assert any("0.0.1" in f["message"] for f in report["findings"]), report["findings"]


def test_standard_input_is_read_in_turn_when_the_snapshot_reads_it_too() -> None:
    """--snapshot - and --kubectl-json /dev/stdin (a pipe): the snapshot reads the pipe
    to its end first, and /dev/stdin is then named empty, as in turn. Read ahead, the
    thread takes whatever bytes of the snapshot arrive while it waits, and the error
    blames the snapshot, which was whole."""
    argv = [sys.executable, "-m", "harborguard", "check", "--snapshot", "-",
            "--kubectl-json", "/dev/stdin", "--format", "json"]
    data = BASE.read_bytes()
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(data[:1000])
        proc.stdin.flush()
        time.sleep(0.5)  # the rest comes later, as from a slow producer
        proc.stdin.write(data[1000:])
        proc.stdin.close()
        err = proc.stderr.read()
        proc.wait(timeout=60)
    assert proc.returncode == 2, err
    assert b"/dev/stdin: empty" in err, err


# -- the process started with the program (start_early) -------------------------------------


@pytest.fixture(autouse=True)
def _no_early_reader_left() -> Any:
    yield
    kubectlahead._take_early(())  # waited for, whatever a test left


@pytest.mark.parametrize(("argv", "paths"), [
    (["check", "--snapshot", "s", "--kubectl-json", "a", "--kubectl-json=b"], ("a", "b")),
    (["--harbor", "h", "diff", "--kubectl-json", "a", "--", "--kubectl-json", "x"], ("a",)),
    (["drift", "--kubectl-json", "a"], ()),
    (["simulate", "--snapshot", "s"], ()),
    (["check", "--kubectl-json"], ()),
])
def test_the_files_a_check_or_diff_names_are_found_on_the_command_line(
        argv: list[str], paths: tuple[str, ...]) -> None:
    assert kubectlahead.named_files(argv) == paths


def _early(monkeypatch: pytest.MonkeyPatch, *paths: str) -> None:
    monkeypatch.setattr(parallel, "available_cpus", lambda: 2)
    argv = ["check", "--snapshot", "s"]
    for path in paths:
        argv += ["--kubectl-json", path]
    kubectlahead.start_early(argv)
    assert kubectlahead._EARLY is not None  # a reader process was started


def _no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: KubectlFiles) -> None:
        raise AssertionError("read again by the thread")

    monkeypatch.setattr(KubectlFiles, "_run", refuse)


def test_files_read_as_the_program_starts_are_taken_not_read_again(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good, bad, later = (str(CASES / "k-rc-mixed.json"), tmp_path / "bad.json",
                        str(CASES / "k-daemonset-revisions.json"))
    bad.write_text('{"kind": "List", "items": [')
    _early(monkeypatch, good, good, str(bad), later)
    _no_thread(monkeypatch)
    ahead = KubectlFiles([good, good, str(bad), later])
    expected = parse_kubectl_json(load_kubectl_file(good), good)
    assert ahead.evidence(good) == expected and ahead.evidence(good) == expected
    with pytest.raises(InputError) as raised:
        ahead.evidence(str(bad))
    with pytest.raises(InputError) as in_turn:
        load_kubectl_file(bad)
    assert str(raised.value) == str(in_turn.value)
    with pytest.raises(LookupError):  # not read after the file that failed
        ahead.evidence(later)


def test_files_the_command_does_not_read_are_not_taken(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    guessed, read = str(CASES / "k-rc-mixed.json"), str(CASES / "k-daemonset-revisions.json")
    _early(monkeypatch, guessed)
    ahead = KubectlFiles([read])
    assert ahead.evidence(read) == parse_kubectl_json(load_kubectl_file(read), read)
    assert kubectlahead._EARLY is None  # the reader was waited for


def test_a_reader_process_that_sends_nothing_leaves_the_thread_to_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(CASES / "k-rc-mixed.json")

    class Broken:
        load = staticmethod(pickle.load)
        HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL

        @staticmethod
        def dump(*_: object, **__: object) -> None:
            raise pickle.PicklingError("cannot send")

    monkeypatch.setattr(kubectlahead, "pickle", Broken)
    _early(monkeypatch, path)
    assert KubectlFiles([path]).evidence(path) == parse_kubectl_json(
        load_kubectl_file(path), path)


def test_check_run_as_a_program_reports_as_check_run_in_process(tmp_path: Path) -> None:
    """The program (a reader process at start) and click in-process (the thread) give
    the same report, and the same error for a file that cannot be read."""
    pods, bad = CASES / "k-daemonset-revisions.json", tmp_path / "bad.json"
    bad.write_text("{")
    for evidence in (pods, bad):
        argv = ["check", "--snapshot", str(BASE), "--kubectl-json", str(evidence),
                "--format", "json"]
        program = subprocess.run([sys.executable, "-m", "harborguard", *argv],
                                 capture_output=True, text=True, check=False)
        in_process = CliRunner().invoke(cli, argv)
        assert program.returncode == in_process.exit_code
        assert program.stdout == in_process.stdout
        assert program.stderr == in_process.stderr


def _many_pods(path: Path, count: int) -> None:
    """A kubectl file the reader process takes seconds to read."""
    pod = json.dumps(_pods("0.0.5")["items"][0])  # type: ignore[index]
    path.write_text('{"kind": "List", "apiVersion": "v1", "items": ['
                    + ",".join([pod] * count) + "]}")


def test_a_run_that_fails_before_its_evidence_leaves_no_reader_holding_its_output(
        tmp_path: Path) -> None:
    """A run that ends before the --kubectl-json files' turn (a bad --policy) leaves no
    reader process behind: its caller's pipes (``$(harborguard ...)``, ``| tee``) end
    when the program does, not when a reader nobody waits for has read 60,000 pods."""
    pods = tmp_path / "pods.json"
    _many_pods(pods, 60_000)
    argv = [sys.executable, "-m", "harborguard", "check", "--snapshot", str(BASE),
            "--kubectl-json", str(pods), "--policy", str(tmp_path / "missing.json")]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.wait(timeout=60) == 2
        # Nothing is written to standard output: readable means every process that held
        # its write end has closed it (no reader left running).
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        assert ready and proc.stdout.read() == b""  # type: ignore[union-attr]
        assert b"policy file not found" in proc.stderr.read()  # type: ignore[union-attr]


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie left to init (never reaped in some containers)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_sigterm_while_the_program_waits_for_the_reader_leaves_no_reader_running(
        tmp_path: Path) -> None:
    """SIGTERM to the program alone (``kill PID``) while it waits for the reader's
    evidence: exit 143, and the reader does not read on after the program ended."""
    if parallel.available_cpus() < 2:
        pytest.skip("no reader process on one CPU")
    pods = tmp_path / "pods.json"
    _many_pods(pods, 120_000)
    argv = [sys.executable, "-m", "harborguard", "check", "--snapshot", str(BASE),
            "--kubectl-json", str(pods)]
    env = {**os.environ, "HARBORGUARD_TEST_SIGNAL": "evidence:SIGTERM"}
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env) as proc:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        deadline = time.monotonic() + 30
        readers: list[int] = []
        while not readers and proc.poll() is None and time.monotonic() < deadline:
            readers = [int(pid) for pid in children.read_text().split()]
            time.sleep(0.005)
        # SIGTERM reaches the program as it starts waiting for the reader (test point).
        assert proc.wait(timeout=60) == 143
        assert b"stopped (SIGTERM)" in proc.stderr.read()  # type: ignore[union-attr]
        assert readers and _gone(readers[0])


def test_files_are_taken_in_their_turn_so_the_snapshot_is_read_meanwhile(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """KubectlFiles (made before the snapshot is read) does not wait for the reader: the
    snapshot is read while it reads (a bad snapshot is named at once, not after 60,000
    pods), and what it read is taken in the first file's turn."""
    pods = tmp_path / "pods.json"
    _many_pods(pods, 60_000)
    _early(monkeypatch, str(pods))
    assert kubectlahead._EARLY is not None
    pid = kubectlahead._EARLY[1]
    _no_thread(monkeypatch)
    ahead = KubectlFiles([str(pods)])
    assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # still reading: not waited for
    assert ahead.evidence(str(pods)) == parse_kubectl_json(load_kubectl_file(pods), str(pods))


def test_a_reader_of_other_files_is_stopped_not_waited_for(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pods, read = tmp_path / "pods.json", str(CASES / "k-rc-mixed.json")
    _many_pods(pods, 120_000)
    _early(monkeypatch, str(pods))
    assert kubectlahead._EARLY is not None
    reader = kubectlahead._EARLY[1]
    waited: list[tuple[int, int]] = []
    real_waitpid = os.waitpid

    def spy(pid: int, options: int) -> tuple[int, int]:
        done = real_waitpid(pid, options)
        waited.append(done)
        return done

    monkeypatch.setattr(kubectlahead.os, "waitpid", spy)
    assert KubectlFiles([read]).evidence(read) == parse_kubectl_json(
        load_kubectl_file(read), read)
    assert kubectlahead._EARLY is None
    # Stopped while it read 120,000 pods, not waited for until it had read them all.
    statuses = [status for pid, status in waited if pid == reader]
    assert statuses and os.WIFSIGNALED(statuses[0])


def test_standard_input_from_a_file_is_read_as_in_process() -> None:
    """``--kubectl-json /dev/stdin < pods.json``: a regular file, read ahead; the reader
    process reads the file standard input is, as the thread does."""
    pods = CASES / "k-daemonset-revisions.json"
    argv = ["check", "--snapshot", str(BASE), "--kubectl-json", "/dev/stdin",
            "--format", "json"]
    with pods.open("rb") as stdin:
        program = subprocess.run([sys.executable, "-m", "harborguard", *argv], stdin=stdin,
                                 capture_output=True, text=True, check=False)
    in_turn = subprocess.run([sys.executable, "-m", "harborguard", *argv[:3],
                              "--kubectl-json", str(pods), "--format", "json"],
                             capture_output=True, text=True, check=False)
    assert program.stderr == in_turn.stderr
    assert program.returncode == in_turn.returncode
