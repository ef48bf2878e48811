"""The fast snapshot reader (msgspec, typed) gives exactly the hand-written reader's
Snapshot, or declines and lets the hand-written reader accept or name the defect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harborguard import jsonio, snapshotfast, timeutil
from harborguard.errors import InputError
from harborguard.pipeline.reader import Unreadable, open_stream, repository
from harborguard.snapshot import load_snapshot, parse_snapshot
from tests.builders import shared_dir

EXAMPLE = Path(__file__).resolve().parent.parent / "examples/toolforge-snapshot.json"

TIMES = st.sampled_from([
    "2024-02-22T21:26:02.123Z", "2024-02-22T21:26:02Z", "0001-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00Z", "2024-02-22T21:26:02.999999999Z", "2024-02-22T21:26:02+05:30",
    "2024-02-22 21:26:02Z", "2024-02-22t21:26:02z", "1969-12-31T23:59:59.5Z",
    "2024-02-22T21:26:02.Z", "2024-02-30T00:00:00Z", "2024-02-22T21:26:60Z", "yesterday",
    "2024-02-22T21:26:02", "2024-02-22T21:26:02+0000", "1970-01-01T00:00:00Z",
    "2199-12-31T23:59:59.999999Z", "9999-12-31T23:59:59Z",
])
ODD = st.sampled_from([None, 1, -1, 2.0, 2.5, True, "x", [], {}, 2**70])
MAYBE_TIME = st.one_of(TIMES, ODD)


def _tag() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["1.0", "latest", "v2", "é"]), ODD)},
        optional={"push_time": MAYBE_TIME, "pull_time": MAYBE_TIME,
                  "immutable": st.one_of(st.booleans(), ODD), "id": st.integers()},
    )


ARTIFACT = st.fixed_dictionaries(
    {"digest": st.one_of(st.sampled_from(["sha256:aa", "sha256:bb"]), ODD)},
    optional={
        "push_time": MAYBE_TIME, "pull_time": MAYBE_TIME,
        "tags": st.one_of(st.none(), st.lists(_tag(), max_size=3), ODD),
        "size": st.one_of(st.integers(-5, 10**12), ODD),
        "type": st.one_of(st.sampled_from(["IMAGE", "CHART"]), ODD),
        "references": st.one_of(st.none(), st.lists(st.fixed_dictionaries(
            {"child_digest": st.one_of(st.just("sha256:cc"), ODD)}), max_size=2), ODD),
        "labels": st.one_of(st.none(), st.lists(st.fixed_dictionaries(
            {"name": st.one_of(st.just("keep"), ODD)}), max_size=2), ODD),
        "extra_attrs": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    },
)


def _document(artifacts: list[Any], additions: Any = None) -> dict[str, Any]:
    repo: dict[str, Any] = {"repository": {"name": "p/app"}, "artifacts": artifacts}
    if additions is not None:
        repo["additions"] = additions
    return {"schema": "harborguard.snapshot/v1", "taken_at": "2026-01-01T00:00:00Z",
            "projects": [{"project": {"name": "p", "project_id": 1}, "retention": None,
                          "repositories": [repo]}]}


def _slow(text: str) -> Any:
    try:
        return parse_snapshot(jsonio.loads(text), "f.json")
    except InputError as exc:
        return exc


def _fast(text: str) -> Any:
    try:
        return snapshotfast._fast(text.encode(), "f.json")
    except snapshotfast._NotFast:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ARTIFACT, max_size=4),
       st.one_of(st.none(), st.just({"sha256:aa": {"README.md": "hi"}}), ODD))
def test_fast_reader_is_the_hand_written_one_or_declines(artifacts: list[Any],
                                                         additions: Any) -> None:
    text = json.dumps(_document(artifacts, additions))
    timeutil.SECONDS_CACHE.clear()
    fast = _fast(text)
    timeutil.SECONDS_CACHE.clear()
    slow = _slow(text)
    if fast is not None:
        assert not isinstance(slow, InputError), slow
        assert fast == slow
    timeutil.SECONDS_CACHE.clear()
    streamed = _streamed(text)
    if streamed is not None:  # the stream's repositories are the whole reader's
        assert not isinstance(slow, InputError), slow
        assert streamed == [r for p in slow.projects for r in p.repositories]


def _streamed(text: str) -> list[Any] | None:
    stream = open_stream(text.encode(), "f.json")
    if stream is None:
        return None
    try:
        return [repository(raw, f"projects[{p}].repositories[{i}]")
                for p, entry in enumerate(stream.projects) for i, raw in enumerate(entry.raws)]
    except Unreadable:
        return None


def test_fast_reader_takes_the_example_and_real_payload_shapes() -> None:
    text = EXAMPLE.read_text()
    fast = _fast(text)
    assert fast is not None and fast == _slow(text)
    real = json.loads((shared_dir() / "realworld/harbor-api/agoda-samsahai-checker_test-"
                       "artifacts-list.json").read_text())
    items = real if isinstance(real, list) else real.get("items", real.get("body", []))
    if isinstance(items, list) and items:
        doc = json.dumps(_document(items))
        slow = _slow(doc)
        fast = _fast(doc)
        assert fast is None or fast == slow


def test_numbers_past_a_float_in_a_project_field_read_as_before(tmp_path: Path) -> None:
    for project in ('{"name": "p", "cve_allowlist": {"expires_at": 1e400}}',
                    '{"name": "p", "project_id": 1e400}'):
        text = ('{"schema": "harborguard.snapshot/v1", "harbor_version": 1e999, "projects": '
                '[{"project": ' + project + ', "retention": null, "repositories": []}]}')
        _read_as_before(tmp_path, text)
        _read_as_before(tmp_path, text.replace('"harbor_version": 1e999',
                                               '"harbor_version": "v2.11.0"'))


@pytest.mark.parametrize("text", [
    '{"schema": "harborguard.snapshot/v1", "projects": [], "schema": "x"}',  # last wins
    '{"projects": []}',
    '{"schema": "harborguard.snapshot/v1", "projects": [{"project": {"name": "p"}, '
    '"repositories": [{"repository": {"name": "p/a"}, "artifacts": [{"digest": "d", '
    '"size": 1e3}]}]}]}',
    '{"schema": "harborguard.snapshot/v1", "projects": [{"project": {"name": "p"}, '
    '"repositories": [{"repository": {"name": "p/a"}, "artifacts": [{"digest": "d", '
    '"size": 123456789012345678901234567890}]}]}]}',
])
def test_files_either_reader_refuses_read_as_before(tmp_path: Path, text: str) -> None:
    _read_as_before(tmp_path, text)


def _read_as_before(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    try:
        want: Any = parse_snapshot(json.loads(text), str(path))
    except InputError as exc:
        want = str(exc)
    try:
        got: Any = load_snapshot(str(path))
    except InputError as exc:
        got = str(exc)
    assert got == want


def test_invalid_utf8_in_a_skipped_field_is_still_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(json.dumps(_document([{"digest": "d", "extra": "XX"}])).encode()
                     .replace(b"XX", b"\xff\xfe"))
    with pytest.raises(InputError, match="cannot read snapshot"):
        load_snapshot(str(path))
    assert open_stream(path.read_bytes(), str(path)) is None  # read whole: said as above
