"""The Go sort.Slice port against orders recorded from real Go runs, and its fast paths.

Recorded orders come from tests/go/sortslice (input positions in sorted order) run with:

* go1.19: Debian bookworm's golang-1.19-go (go1.19.8); go1.23.9 printed the same bytes on
  every corpus here, as its sort package is unchanged apart from the xorshift fix;
* go1.24: go1.24.11;
* go1.18: no go1.18 toolchain was available, so Go's own go1.18 ``quickSort_func`` source
  (zfuncversion.go, with sort.go's maxDepth and slice.go's Slice) was built with go1.19.8.
  The algorithm is plain Go with no compiler- or runtime-dependent behaviour.
"""

from __future__ import annotations

import hashlib
import operator
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import harborguard.retention.gosort as gosort
from harborguard.retention.gosort import VARIANTS, GoSort, sort_by_key_desc, sort_slice

PDQ_VARIANTS: tuple[GoSort, ...] = ("go1.19", "go1.24")


def go_order(mode: str, keys: list[int], variant: GoSort) -> list[int]:
    """Input positions in the order ``sort.Slice`` leaves them, via the full algorithm."""
    cands = list(enumerate(keys))
    if mode == "desc":
        sort_slice(cands, lambda x, y: x[1] > y[1], variant)
    else:
        sort_slice(cands, lambda x, y: x[1] < y[1], variant)
    return [pos for pos, _ in cands]


def desc_order(keys: list[int], variant: GoSort) -> list[int]:
    """The same for descending keys, via the public fast entry point Harbor's rules use."""
    ranked = sort_by_key_desc(list(enumerate(keys)), operator.itemgetter(1), variant)
    return [pos for pos, _ in ranked]


def check(mode: str, keys: list[int], variant: GoSort, expected: list[int]) -> None:
    assert go_order(mode, keys, variant) == expected
    if mode == "desc":
        assert desc_order(keys, variant) == expected


# RETENTION.md 2.8 and 12 ------------------------------------------------------------------

ODD_ONE_LAST_13 = [1] * 12 + [2]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("go1.19", [12, 6, 2, 3, 4, 5, 0, 7, 8, 9, 10, 11, 1]),
        ("go1.24", [12, 6, 2, 3, 4, 5, 0, 7, 8, 9, 10, 11, 1]),
        ("go1.18", [12, 6, 2, 3, 4, 5, 1, 7, 8, 9, 10, 11, 0]),
    ],
)
def test_retention_md_example_13_candidates(variant: GoSort, expected: list[int]) -> None:
    check("desc", ODD_ONE_LAST_13, variant, expected)
    # latestPushedK=2 keeps positions 12 and 6, not 0.
    assert desc_order(ODD_ONE_LAST_13, variant)[:2] == [12, 6]


@pytest.mark.parametrize("variant", PDQ_VARIANTS)
def test_twelve_candidates_keep_input_order_under_pdqsort(variant: GoSort) -> None:
    check("desc", [1] * 11 + [2], variant, [11, *range(11)])


def test_go118_shell_pass_reorders_ties_from_seven_candidates() -> None:
    check("desc", [1] * 11 + [2], "go1.18", [11, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 5])
    check("desc", [1] * 7 + [2], "go1.18", [7, 0, 2, 3, 4, 5, 6, 1])
    check("desc", [1] * 5 + [2], "go1.18", [5, 0, 1, 2, 3, 4])


def test_go118_moves_ties_even_in_sorted_input() -> None:
    # Why the already-sorted fast path is for pdqsort only.
    keys = [3] * 7 + [2] * 6 + [1] * 3
    check("desc", keys, "go1.18", [0, 1, 2, 3, 4, 5, 6, 8, 7, 9, 10, 11, 12, 13, 14, 15])
    for variant in PDQ_VARIANTS:
        check("desc", keys, variant, list(range(16)))


def test_xorshift_constants_matter() -> None:
    # The smallest recorded case where go1.19 and go1.24 disagree (breakPatterns).
    keys = [5, 5, 5, 4, 5, 5, 5, 5, 5, 5, 0, 5, 5, 5]
    check("desc", keys, "go1.19", [9, 6, 2, 13, 4, 5, 1, 7, 12, 0, 8, 11, 3, 10])
    check("desc", keys, "go1.24", [9, 12, 2, 13, 4, 5, 8, 6, 1, 0, 7, 11, 3, 10])


# Heapsort fallbacks, reached with inputs built by McIlroy's antiquicksort adversary --------

HEAPSORT_CASES: list[tuple[GoSort, str, list[int], list[int]]] = [
    (
        "go1.18",
        "asc",
        [1, 18, 2, 33, 4, 20, 6, 32, 8, 22, 10, 31, 12, 37, 14, 34, 16, 35, 0]
        + [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 30, 29, 28, 27, 26, 25, 24],
        [18, 0, 2, 19, 4, 20, 6, 21, 8, 22, 10, 23, 12, 24, 14, 25, 16, 26, 1]
        + [27, 5, 28, 9, 29, 36, 35, 34, 33, 32, 31, 30, 11, 7, 3, 15, 17, 13],
    ),
    (
        "go1.18",
        "desc",
        [0, -9, -1, -16, -2, -10, -3, -16, -4, -11, -5, -15, -6, -18, -7, -17, -8, -17, 0]
        + [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -15, -14, -14, -13, -13, -12, -12],
        [18, 0, 19, 2, 20, 4, 21, 6, 22, 8, 23, 10, 24, 12, 25, 14, 26, 16, 27]
        + [1, 28, 5, 29, 9, 35, 36, 33, 34, 32, 31, 30, 11, 7, 3, 17, 15, 13],
    ),
    (
        "go1.19",
        "asc",
        [2, 3, 4, 5, 6, 7, 8, 12, 0, 17, 14, 33, 22, 20, 24, 15, 1, 30]
        + [10, 9, 16, 21, 11, 32, 19, 29, 35, 31, 28, 27, 26, 25, 13, 23, 18],
        [8, 16, 0, 1, 2, 3, 4, 5, 6, 19, 18, 22, 7, 32, 10, 15, 20, 9]
        + [34, 24, 13, 21, 12, 33, 14, 31, 30, 29, 28, 25, 17, 27, 23, 11, 26],
    ),
    (
        "go1.24",
        "asc",
        [2, 3, 4, 5, 6, 7, 8, 9, 14, 0, 10, 13, 17, 33, 34, 32, 36, 11]
        + [1, 31, 15, 18, 20, 12, 29, 16, 19, 30, 21, 22, 28, 27, 26, 25, 24, 23],
        [9, 18, 0, 1, 2, 3, 4, 5, 6, 7, 10, 17, 23, 11, 8, 20, 25, 12]
        + [21, 26, 22, 28, 29, 35, 34, 33, 32, 31, 30, 24, 27, 19, 15, 13, 14, 16],
    ),
]


@pytest.mark.parametrize(("variant", "mode", "keys", "expected"), HEAPSORT_CASES)
def test_heapsort_fallback(
    variant: GoSort,
    mode: str,
    keys: list[int],
    expected: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = gosort._heap_sort

    def counting(*args: Any) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(gosort, "_heap_sort", counting)
    assert go_order(mode, keys, variant) == expected
    assert calls, "the case no longer reaches the heapsort fallback"
    if mode == "desc":
        assert desc_order(keys, variant) == expected


# A larger recorded corpus, compared by digest ---------------------------------------------

_MASK64 = (1 << 64) - 1


def splitmix64(seed: int) -> Iterator[int]:
    """A fixed generator, so the corpus never depends on Python's ``random``."""
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        yield z ^ (z >> 31)


def corpus(seed: int, count: int) -> list[tuple[str, list[int]]]:
    """Inputs heavy in ties, shaped like Harbor's (sorted push times, never-pulled zeros)."""
    rand = splitmix64(seed)

    def below(n: int) -> int:
        return next(rand) % n

    cases: list[tuple[str, list[int]]] = []
    for _ in range(count):
        n = 1 + below(200) if below(10) else (256, 300, 512, 1000)[below(4)]
        kind = below(9)
        if kind == 0:
            keys = [below(1 + below(4)) for _ in range(n)]
        elif kind == 1:
            keys = sorted((below(max(1, n // 3)) for _ in range(n)), reverse=True)
        elif kind == 2:
            keys = sorted(below(max(1, n // 3)) for _ in range(n))
        elif kind == 3:
            keys = [0 if below(10) < 7 else 1 + below(10**6) for _ in range(n)]
        elif kind == 4:
            keys = sorted((below(max(1, n // 5)) for _ in range(n)), reverse=True)
            for _ in range(below(6)):
                i, j = below(n), below(n)
                keys[i], keys[j] = keys[j], keys[i]
        elif kind == 5:
            keys = [min(i, n - i) for i in range(n)]
        elif kind == 6:
            period = 1 + below(8)
            keys = [i % period for i in range(n)]
        elif kind == 7:
            keys = [below(10**9) for _ in range(n)]
        else:
            keys = [below(1 + below(n)) for _ in range(n)]
        cases.append(("desc" if below(4) else "asc", keys))
    return cases


def corpus_lines(cases: list[tuple[str, list[int]]]) -> str:
    """The corpus in tests/go/sortslice's input format."""
    return "".join(f"{mode} {' '.join(map(str, keys))}\n" for mode, keys in cases)


def orders_digest(orders: list[list[int]]) -> str:
    """sha256 of the orders as tests/go/sortslice prints them."""
    text = "".join(" ".join(map(str, order)) + "\n" for order in orders)
    return hashlib.sha256(text.encode()).hexdigest()


CORPUS_SEED = 20241031
CORPUS_SIZE = 400

# sha256 of tests/go/sortslice's stdout on the corpus; to re-record with a toolchain:
#   PYTHONPATH=. python -c 'from tests.retention.test_gosort import *; \
#     print(corpus_lines(corpus(CORPUS_SEED, CORPUS_SIZE)), end="")' \
#     | go run tests/go/sortslice/main.go | sha256sum
RECORDED_DIGESTS: dict[GoSort, str] = {
    "go1.18": "2f48ed37fdbc6c1ac157df51dce78d8e6d76c6232fc9fc9c5455f677950ea27f",
    "go1.19": "3871b1678df1d9ca1cc9e7bb3989fd9cc865ad6c7f8d60641b55e4dbba12b889",
    "go1.24": "a0ae0841d894dc77457ccb043619bd057f6f4b7cd51d7acdf331fdf587308772",
}


@pytest.fixture(scope="module")
def recorded_corpus() -> list[tuple[str, list[int]]]:
    return corpus(CORPUS_SEED, CORPUS_SIZE)


@pytest.mark.parametrize("variant", VARIANTS)
def test_recorded_corpus(variant: GoSort, recorded_corpus: list[tuple[str, list[int]]]) -> None:
    orders = [go_order(mode, keys, variant) for mode, keys in recorded_corpus]
    assert orders_digest(orders) == RECORDED_DIGESTS[variant]
    fast = [
        desc_order(keys, variant) if mode == "desc" else order
        for (mode, keys), order in zip(recorded_corpus, orders, strict=True)
    ]
    assert fast == orders


def test_corpus_exercises_unstable_orders(
    recorded_corpus: list[tuple[str, list[int]]],
) -> None:
    # Guards the corpus itself: it must contain cases where tie order is at stake.
    unstable = 0
    for mode, keys in recorded_corpus:
        stable = sorted(range(len(keys)), key=keys.__getitem__, reverse=mode == "desc")
        unstable += go_order(mode, keys, "go1.19") != stable
    assert unstable > CORPUS_SIZE // 4


# Fast paths of sort_by_key_desc against the full algorithm --------------------------------


def random_keys(seed: int, count: int, sizes: range, spread: Callable[[int], int]) -> list[Any]:
    rand = splitmix64(seed)
    out = []
    for _ in range(count):
        n = sizes.start + next(rand) % (sizes.stop - sizes.start)
        out.append([next(rand) % spread(n) for _ in range(n)])
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_path_distinct_keys(variant: GoSort, monkeypatch: pytest.MonkeyPatch) -> None:
    rand = splitmix64(1)
    inputs = []
    for _ in range(300):
        n = 1 + next(rand) % 200
        keys = sorted({next(rand) % 100_000 for _ in range(n)})
        for i in range(len(keys) - 1, 0, -1):  # Fisher-Yates, so input order varies
            j = next(rand) % (i + 1)
            keys[i], keys[j] = keys[j], keys[i]
        inputs.append(keys)
    expected = [go_order("desc", keys, variant) for keys in inputs]

    def no_full_sort(*args: Any) -> None:
        raise AssertionError("distinct keys must not run the Go algorithm")

    monkeypatch.setattr(gosort, "_go_sort", no_full_sort)
    assert [desc_order(keys, variant) for keys in inputs] == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_path_short_inputs_with_ties(variant: GoSort, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 6 if variant == "go1.18" else 12
    inputs = random_keys(2, 600, range(1, limit + 1), lambda n: 1 + n // 3)
    expected = [go_order("desc", keys, variant) for keys in inputs]
    for keys, order in zip(inputs, expected, strict=True):
        assert order == sorted(range(len(keys)), key=keys.__getitem__, reverse=True)

    def no_full_sort(*args: Any) -> None:
        raise AssertionError("short inputs must not run the Go algorithm")

    monkeypatch.setattr(gosort, "_go_sort", no_full_sort)
    assert [desc_order(keys, variant) for keys in inputs] == expected


@pytest.mark.parametrize("variant", PDQ_VARIANTS)
def test_fast_path_already_ordered_input(variant: GoSort, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [
        sorted(keys, reverse=True)
        for keys in random_keys(3, 300, range(13, 400), lambda n: 1 + n // 4)
    ]
    # The full algorithm returns such input untouched (increasingHint, then
    # partialInsertionSort finds no inversion).
    for keys in inputs:
        assert go_order("desc", keys, variant) == list(range(len(keys)))

    def no_full_sort(*args: Any) -> None:
        raise AssertionError("ordered input must not run the Go algorithm")

    monkeypatch.setattr(gosort, "_go_sort", no_full_sort)
    for keys in inputs:
        assert desc_order(keys, variant) == list(range(len(keys)))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("spread", [2, 5, 30, 1000, 10**9])
def test_fast_paths_inside_the_algorithm(variant: GoSort, spread: int) -> None:
    # Mixed inputs run the Go algorithm with sub-range shortcuts; all must match it.
    for keys in random_keys(4 + spread, 150, range(1, 260), lambda n: spread):
        assert desc_order(keys, variant) == go_order("desc", keys, variant)


def test_sort_slice_sorts_in_place_with_any_element_type() -> None:
    words = ["pear", "fig", "apple", "kiwi", "banana", "plum", "date", "lime"] * 3
    sort_slice(words, lambda x, y: len(x) < len(y), "go1.24")
    assert [len(w) for w in words] == sorted(len(w) for w in words)


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ValueError, match="go1.17"):
        sort_by_key_desc([1, 2], lambda x: x, "go1.17")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="go1.17"):
        sort_slice([1, 2], operator.lt, "go1.17")  # type: ignore[arg-type]


def test_speed_on_mostly_distinct_keys() -> None:
    # 1,000 lists of 100 candidates with push times spread over a month, as a large
    # project's repositories would give; a few lists may hold a tie.
    rand = splitmix64(5)
    lists = [[(i, 1_700_000_000 + next(rand) % 2_592_000) for i in range(100)] for _ in range(1000)]
    key = operator.itemgetter(1)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for items in lists:
            sort_by_key_desc(items, key, "go1.24")
        best = min(best, time.perf_counter() - start)
    assert best < 0.2
