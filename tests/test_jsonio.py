"""msgspec with the standard library's semantics, and the JSON report's layout."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harborguard import jsonio
from harborguard.report.json import render, render_chunks


@pytest.mark.parametrize("text", [
    '{"a": 1}',
    '{"k": 123456789012345678901234567890}',  # past 64 bits: read exactly
    '{"x": NaN, "y": Infinity}',
    '"\\ud800"',  # a lone surrogate
    '{"a": 1, "a": 2}',
    '[1e400]',
])
def test_loads_matches_the_standard_library(text: str) -> None:
    got, want = jsonio.loads(text), json.loads(text)
    assert json.dumps(got) == json.dumps(want)


def test_loads_raises_the_standard_error_with_its_position() -> None:
    with pytest.raises(json.JSONDecodeError) as exc:
        jsonio.loads('{"a": 1,\n "b": }')
    assert (exc.value.lineno, exc.value.colno) == (2, 7)


def test_dumps_falls_back_for_big_integers() -> None:
    assert json.loads(jsonio.dumps({"n": 2**70, "t": (1, 2)})) == {"n": 2**70, "t": [1, 2]}


def test_report_layout_one_item_per_line_and_strings_untouched() -> None:
    tricky = 'a},{"project":"b'  # the item separator inside a string must stay intact
    report = {
        "schema": "x",
        "artifacts": [{"project": "p", "tags": [tricky]}, {"project": "q", "tags": []},
                      {"project": "r", "nested": [{"project": 1}, {"project": 2}]}],
        "notes": ["one", "two"],
        "empty": [],
        "summary": {"n": 3},
    }
    text = render(report)
    assert json.loads(text) == report
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    # Every item starts a line; a nested list of objects with the same first key may be
    # broken too (still the same JSON), a string never is.
    starts = [line for line in lines if line.startswith('    {"project":')]
    assert [s[:18] for s in starts[:2]] == ['    {"project":"p"', '    {"project":"q"']
    assert len(starts) == 4 and '"a},{\\"project\\":\\"b"' in text
    assert '    "one",' in lines and '    "two"' in lines
    assert b"".join(render_chunks(report)).decode() == text


@pytest.mark.parametrize("text", [
    '{"k": 123456789012345678901234567890}',
    '{"k" :\n -9223372036854775809 }',
    '[1, 12345678901234567890123]',
    '12345678901234567890123',
    '{"k": 1234567890123456789012.5e3}',
    '{"k": 9223372036854775807}',
    '{"d": "sha256:1234567890123456789012345678901234567890"}',
    '\ufeff[1]',  # a byte order mark: json refuses it in a str, msgspec too
    '[1.5, -0, -0.0, 1E+2, 2.5e-320]',
])
def test_numbers_read_exactly_as_json_reads_them(text: str) -> None:
    try:
        want = json.dumps(json.loads(text))
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            jsonio.loads(text)
        return
    assert json.dumps(jsonio.loads(text)) == want
    assert json.dumps(jsonio.loads(text.encode())) == want


def test_dumps_writes_lone_surrogates_as_escapes_like_json() -> None:
    value = {"snapshot": "snap\udcff.json", "tags": ["é", "\ud800"]}
    assert json.loads(jsonio.dumps(value)) == value
    assert json.loads(render({"a": [value, value]})) == {"a": [value, value]}


@pytest.mark.parametrize("depth", [1, 2, 499, 500, 501, 700])
def test_keys_within_counts_keys_and_stops_past_the_limit(depth: int) -> None:
    """Objects and arrays alternating, ``depth`` levels: each object holds two keys (one
    nesting further, one a scalar); the walk counts them all, or says None past 500."""
    value: Any = 1
    objects = 0
    for level in range(depth):
        if level % 2:
            value = [value, "x", {}]  # {} adds a level only at the bottom
        else:
            value = {"next": value, "other": "y"}
            objects += 1
    expected = None if depth > jsonio.MAX_DEPTH else 2 * objects
    assert jsonio.keys_within(value, jsonio.MAX_DEPTH) == expected
    assert jsonio.keys_within({"a": [], "b": [{}], "c": {"d": 1}}, 3) == 4
    assert jsonio.keys_within({"a": [], "b": [{}], "c": {"d": 1}}, 2) is None
