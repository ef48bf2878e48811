"""outfile.refuse_overwriting: which output names an input (the rule; the command line's
flags are tests/cli/test_output_clashes.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harborguard.errors import InputError
from harborguard.outfile import Named, ReadFolder, refuse_overwriting


def _refuses(outputs: list[Named], inputs: list[Named],
             folders: tuple[ReadFolder, ...] = ()) -> str:
    with pytest.raises(InputError) as caught:
        refuse_overwriting(outputs, inputs, folders)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_same_path_however_spelt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text("{}")
    monkeypatch.chdir(tmp_path)
    for spelling in (str(snap), "snap.json", "./snap.json", f"../{tmp_path.name}/snap.json"):
        message = _refuses([Named("-o/--output", spelling)], [Named("--snapshot", str(snap))])
        assert "-o/--output" in message and "--snapshot" in message and spelling in message


def test_a_file_not_there_yet_under_both_names(tmp_path: Path) -> None:
    path = str(tmp_path / "new.json")
    _refuses([Named("-o/--output", path)], [Named("--policy", path)])


def test_links(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text("{}")
    (tmp_path / "symbolic").symlink_to(snap)
    os.link(snap, tmp_path / "hard")
    (tmp_path / "dangling").symlink_to(tmp_path / "later.json")
    for name, input_path in (("symbolic", snap), ("hard", snap),
                             ("dangling", tmp_path / "later.json")):
        _refuses([Named("--policy-out", str(tmp_path / name))],
                 [Named("--snapshot", str(input_path))])


def test_another_file_a_stream_and_a_device_are_no_clash(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text("{}")
    refuse_overwriting([Named("-o/--output", str(tmp_path / "report.json"))],
                       [Named("--snapshot", str(snap))])
    refuse_overwriting([Named("-o/--output", str(tmp_path / "-"))], [Named("--snapshot", "-")])
    # written into, never replaced: nothing stored is lost
    refuse_overwriting([Named("-o/--output", os.devnull)], [Named("--policy", os.devnull)])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refuse_overwriting([Named("-o/--output", str(fifo))], [Named("--kubectl-json", str(fifo))])


def test_two_outputs_naming_one_file(tmp_path: Path) -> None:
    out = str(tmp_path / "out.json")
    message = _refuses([Named("-o/--output", out), Named("--policy-out", out)], [])
    assert "-o/--output" in message and "--policy-out" in message


def test_a_file_a_folder_reads(tmp_path: Path) -> None:
    tree = tmp_path / "m"
    tree.mkdir()
    folder = ReadFolder("--manifests", str(tree), lambda relative: relative.endswith(".yaml"),
                        "its YAML files")
    message = _refuses([Named("-o/--output", str(tree / "a" / "b.yaml"))], [], (folder,))
    assert "--manifests" in message and "its YAML files" in message
    outside = tmp_path / "m-other" / "b.yaml"  # a prefix of the name, not inside
    for path in (tree / "a" / "b.md", outside):
        refuse_overwriting([Named("-o/--output", str(path))], [], (folder,))
    (tmp_path / "link.yaml").symlink_to(tree / "c.yaml")  # replaced: its target is
    _refuses([Named("-o/--output", str(tmp_path / "link.yaml"))], [], (folder,))


def test_standard_input_redirected_from_the_output(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text("{}")
    saved = os.dup(0)
    try:
        with open(snap, "rb") as handle:
            os.dup2(handle.fileno(), 0)
        _refuses([Named("-o/--output", str(snap))], [Named("--snapshot", "-")])
        refuse_overwriting([Named("-o/--output", str(tmp_path / "other.json"))],
                           [Named("--snapshot", "-")])
    finally:
        os.dup2(saved, 0)
        os.close(saved)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
def test_standard_output_on_a_pipe_is_written_into() -> None:
    """`-o /dev/stdout` with standard output on a pipe: /dev/stdout names the pipe, whose
    real path (/proc/self/fd/pipe:[...]) is no file to put a temporary file beside."""
    from harborguard.outfile import write_atomically

    read_end, write_end = os.pipe()
    try:
        write_atomically(f"/proc/self/fd/{write_end}", [b"{\n", b"}\n"])
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"{\n}\n"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
