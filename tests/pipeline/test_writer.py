"""pipeline/writer.py: a spilled list is the list report/json.py renders, byte for byte,
however its rows share their ``related`` lists and wherever its reads are cut."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harborguard.pipeline import writer
from harborguard.pipeline.writer import Spill
from harborguard.report.json import _SEPARATOR, render_items


def _findings(repository: int, count: int) -> list[dict[str, Any]]:
    """Rows as finding_dicts gives them: runs of findings share one related list."""
    shared = [{"digest": f"sha256:{repository:04d}{n:060d}", "tags": [f"1.{n}.0", "é\x01"]}
              for n in range(5)]
    rows = []
    for n in range(count):
        related = shared if n % 3 else [] if n % 2 else [{"digest": "own", "tags": []}]
        rows.append({"severity": "warning", "code": "version-order-inversion",
                     "repository": f"r{repository}", "related": related,
                     "message": f"deletes 1.{n}.1 \"but\" keeps {{it}}"})
    return rows


def _expected(batches: list[list[dict[str, Any]]]) -> bytes:
    body = render_items([row for batch in batches for row in batch]).arrays[0]
    assert isinstance(body, bytes)
    return body


@pytest.mark.parametrize("chunk", [7, 64, 1 << 24])
def test_a_spill_with_shared_lists_is_the_list_rendered(tmp_path: Path, chunk: int,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(writer, "_CHUNK", chunk)  # marks cut across reads
    batches = [_findings(r, 2 + 7 * r) for r in range(6)]
    expected = _expected(batches)
    spill = Spill()
    try:
        for batch in batches:
            spill.add(batch)
        assert spill.read() == expected
        assert (spill.size, spill.length) == (len(expected) - 2, sum(map(len, batches)))
        target = tmp_path / "report"
        target.write_bytes(b"<" * 10)
        spill.write_into(str(target), 3)  # into a file, at an offset
        assert target.read_bytes() == b"<<<" + expected[1:-1]
    finally:
        spill.close()


def test_plain_lists_are_copied_and_no_mark_is_left(tmp_path: Path) -> None:
    rows = _findings(1, 4)
    artifacts = [{"digest": f"d{n}", "tags": ["a"]} for n in range(3)]
    findings, plain = Spill(), Spill()
    try:
        findings.add(rows)
        plain.add(artifacts)
        plain.add(artifacts)
        target = tmp_path / "report"
        target.touch()
        fd = os.open(target, os.O_WRONLY)
        try:
            plain.copy_to(fd, 0)
        finally:
            os.close(fd)
        assert target.read_bytes() == _expected([artifacts, artifacts])[1:-1]
        assert b"\x00" not in findings.read()
        assert _SEPARATOR in findings.read()
    finally:
        findings.close()
        plain.close()


@pytest.mark.parametrize("shared", [True, False])
def test_a_large_list_lets_go_of_the_pages_behind_it_and_only_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    """The page cache behind the writer is let go (advice only): each range advised lies
    inside the list's own bytes (another part writes beside it), every byte but the last
    steps is advised, and the file is the same."""
    monkeypatch.setattr(writer, "_CHUNK", 512)
    monkeypatch.setattr(writer, "_RELEASE_BEHIND", 1024)
    monkeypatch.setattr(writer, "_RELEASE_STEP", 512)
    monkeypatch.setattr(writer, "_RELEASE_AGAIN", 2048)
    monkeypatch.setattr(writer, "_IOV_MAX", 8)
    advised: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def advise(fd: int, start: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        advised.append((start, start + length))
        real(fd, start, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", advise)
    batches = ([_findings(r, 20) for r in range(40)] if shared else
               [[{"digest": f"d{r}-{n}", "tags": ["a"] * 9} for n in range(30)]
                for r in range(40)])
    expected = _expected(batches)[1:-1]
    spill = Spill()
    try:
        for batch in batches:
            spill.add(batch)
        target = tmp_path / "report"
        target.write_bytes(b"<" * 100)
        spill.write_into(str(target), 100)
    finally:
        spill.close()
    assert target.read_bytes() == b"<" * 100 + expected
    end = 100 + len(expected)
    assert advised and all(100 <= start < stop <= end for start, stop in advised)
    assert advised[-1][1] == end  # the rest is sent to the disk when the list is done


def test_advice_refused_changes_nothing(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "_RELEASE_BEHIND", 64)
    monkeypatch.setattr(writer, "_RELEASE_STEP", 64)
    calls = []

    def refuse(*args: int) -> None:
        calls.append(args)
        raise OSError(29, "Illegal seek")

    monkeypatch.setattr(os, "posix_fadvise", refuse)
    batches = [_findings(r, 12) for r in range(10)]
    expected = _expected(batches)[1:-1]  # before the spill takes the rows
    spill = Spill()
    try:
        for batch in batches:
            spill.add(batch)
        target = tmp_path / "report"
        target.touch()
        spill.write_into(str(target), 0)
    finally:
        spill.close()
    assert target.read_bytes() == expected
    assert len(calls) == 1  # refused once: not asked again
