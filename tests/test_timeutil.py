"""Bulk time conversion (timeutil.cache_seconds_of): a batch is converted whole, whatever
its size, with the values one-by-one parsing gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harborguard import timeutil
from harborguard.timeutil import (
    GO_ZERO_SECONDS,
    SECONDS_CACHE,
    SECONDS_TEXT,
    cache_seconds_of,
    forget_times,
    parse_seconds,
)


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    forget_times()
    yield
    forget_times()


def _texts(count: int) -> list[str]:
    return [f"2024-02-{1 + n // 86400:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:"
            f"{n % 60:02d}.{n % 1000:03d}Z" for n in range(count)]


def test_a_batch_past_the_cap_is_cached_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeutil, "CACHE_CAP", 50)
    cache_seconds_of(_texts(30))
    texts = _texts(200)[100:]  # 100 new ones: past the cap with the 30 already there
    cache_seconds_of(texts)
    # The caches were emptied first, then the whole batch went in.
    assert set(SECONDS_CACHE) == {*texts, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"}
    cached = {text: SECONDS_CACHE[text] for text in texts}
    forget_times()
    assert cached == {text: parse_seconds(text) for text in texts}


def test_the_values_are_those_of_parse_seconds() -> None:
    texts = [*_texts(500), "1969-12-31T23:59:59.999Z", "2150-01-01T00:00:00Z"]
    cache_seconds_of(texts)
    cached = {text: SECONDS_CACHE[text] for text in texts}
    forget_times()
    assert cached == {text: parse_seconds(text) for text in texts}
    assert SECONDS_TEXT[cached["2150-01-01T00:00:00Z"]] == "2150-01-01T00:00:00Z"


def test_a_batch_with_another_spelling_is_left_to_parse_seconds() -> None:
    cache_seconds_of(["2024-02-22T21:26:02Z", "2024-02-22T21:26:02+01:00"])
    assert len(SECONDS_CACHE) == 2  # only Go's zero time
    assert SECONDS_CACHE["0001-01-01T00:00:00Z"] == GO_ZERO_SECONDS


def _plain(year: int, month: int, day: int, clock: tuple[int, int, int], fraction: str) -> str:
    return (f"{year:04d}-{month:02d}-{day:02d}T{clock[0]:02d}:{clock[1]:02d}:{clock[2]:02d}"
            + (f".{fraction}" if fraction else "") + "Z")


@given(st.lists(st.tuples(st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28),
                          st.tuples(st.integers(0, 23), st.integers(0, 59),
                                    st.integers(0, 59)),
                          st.text("0123456789", max_size=9)), min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_plain_time_is_what_parse_seconds_says(
        parts: list[tuple[int, int, int, tuple[int, int, int], str]]) -> None:
    """Dates of years 1 to 9999, every clock, fractions of 0 to 9 digits: the date's
    seconds plus the clock's, each one parse_seconds's."""
    texts = [_plain(*part) for part in parts]
    forget_times()
    cache_seconds_of(texts)
    cached = dict(SECONDS_CACHE)
    written = dict(SECONDS_TEXT)
    forget_times()
    for text in texts:
        expected = parse_seconds(text)
        assert cached[text] == expected
        if text in cached and not text.startswith("0001-01-01T00:00:00"):  # Go's zero
            assert written[expected] == text[:19] + "Z"


def test_a_clock_past_the_day_or_a_date_that_does_not_exist_is_left_to_parse_seconds(
        ) -> None:
    for texts in (["2024-02-22T21:26:02Z", "2024-02-22T24:00:00Z"],
                  ["2024-02-22T21:26:02Z", "2024-02-22T23:59:60Z"],
                  ["2024-02-22T21:26:02Z", "2023-02-29T00:00:00Z"],
                  ["0000-01-01T00:00:00Z"]):
        forget_times()
        cache_seconds_of(texts)
        assert len(SECONDS_CACHE) == 2, texts  # only Go's zero time
