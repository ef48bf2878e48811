"""Bulk time conversion (timeutil.cache_seconds_of): a batch is converted whole, whatever
its size, with the values one-by-one parsing gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
