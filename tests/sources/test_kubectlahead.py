"""kubectlahead.KubectlFiles: --kubectl-json files read in a thread while the snapshot is
read give what reading them in turn gives: the same evidence, the same error raised in the
file's turn (a snapshot's error still first), no file read after one that failed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.errors import InputError
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
