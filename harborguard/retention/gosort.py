"""An exact port of Go's ``sort.Slice``, in each variant Harbor releases were built with.

Harbor's count rules (``latestPushedK``, ``latestPulledN``, ...) order candidates with
``sort.Slice``, which is not stable: when keys tie, the algorithm's swap sequence decides
which artifacts survive. Reproducing Harbor's decisions therefore means replaying Go's
algorithm step for step, not merely sorting by the same key.

Variants (each checked against real Go runs; see tests/retention/test_gosort.py):

* ``"go1.18"``: Go <= 1.18 (Harbor <= v2.6). Introsort: ``quickSort_func`` with
  median-of-three / Tukey ninther pivots, a heapsort fallback after ``2 * bits.Len(n)``
  levels, and a gap-6 Shell pass before insertion sort on ranges of 12 or fewer, which makes
  even 7..12 elements unstable. Source: ``src/sort/zfuncversion.go`` and ``src/sort/sort.go``
  up to go1.18.
* ``"go1.19"``: Go 1.19 to 1.23. Pattern-defeating quicksort, ``pdqsort_func`` in
  ``src/sort/zsortfunc.go``, with ``limit = bits.Len(n)``. Its ``breakPatterns`` step draws
  from xorshift shifts (<<13, >>17, <<5).
* ``"go1.24"``: Go >= 1.24. The same ``pdqsort_func``; only the xorshift shifts differ,
  (<<13, >>7, <<17), after golang/go#70144.

In both pdqsort variants the generator is seeded with the length of the range being broken
(``xorshift(b - a)``), is re-seeded on every ``breakPatterns`` call, and picks positions by
masking with ``1 << bits.Len(length)`` (``nextPowerOfTwo``) and subtracting ``length`` once.
It runs on 64-bit ``uint``, as on every platform Harbor ships for.

The algorithms read the data only through ``less(x, y)`` on the elements at two positions,
which is all Go's index-based ``less(i, j)`` closure can observe, so running them on the
element values is equivalent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Literal, TypeVar, get_args

T = TypeVar("T")

GoSort = Literal["go1.18", "go1.19", "go1.24"]

VARIANTS: tuple[GoSort, ...] = get_args(GoSort)

_Less = Callable[[Any, Any], bool]

_MASK64 = (1 << 64) - 1

# xorshift (left, right, left) shift amounts used by pdqsort's breakPatterns.
_XORSHIFT: dict[str, tuple[int, int, int]] = {
    "go1.19": (13, 17, 5),
    "go1.24": (13, 7, 17),
}

_UNKNOWN_HINT = 0
_INCREASING_HINT = 1
_DECREASING_HINT = 2

# Longest range each generation finishes with a plain (stable) insertion sort. pdqsort hands
# ranges of 12 or fewer straight to it; go1.18 first runs its gap-6 Shell pass, which can
# only swap anything from 7 elements up.
_STABLE_LIMIT_PDQ = 12
_STABLE_LIMIT_GO118 = 6


def sort_slice(items: list[T], less: Callable[[T, T], bool], variant: GoSort) -> None:
    """Sort ``items`` in place exactly as ``sort.Slice`` with ``less`` would in ``variant``.

    Every step of Go's algorithm is replayed, so ``less`` may be any function, even one that
    is not a strict weak order.
    """
    _check_variant(variant)
    # The algorithms move a companion list in lockstep; a throwaway one keeps one code path.
    _go_sort(items, [None] * len(items), less, variant, keyed=False)


def sort_by_key_desc(items: list[T], key: Callable[[T], int], variant: GoSort) -> list[T]:
    """Return ``items`` ordered as Harbor's ``sort.Slice(x, key(x[i]) > key(x[j]))`` leaves them.

    The result is always Go's, but work is skipped where the outcome is provably fixed:

    * ranges (the whole input included) whose keys are pairwise distinct, or that Go would
      finish with insertion sort alone, are sorted by Python (``_finish_if_determined``);
    * under pdqsort, input already in non-increasing key order comes back unchanged:
      choosePivot's order2 calls then never swap (increasingHint) and partialInsertionSort
      scans to the end without moving anything. go1.18 has no such path; its
      median-of-three swaps even sorted input.
    """
    _check_variant(variant)
    keys = list(map(key, items))
    n = len(keys)
    stable_limit = _STABLE_LIMIT_GO118 if variant == "go1.18" else _STABLE_LIMIT_PDQ
    if n <= stable_limit or len(set(keys)) == n:
        # The same shortcut as _finish_if_determined, without copying items first.
        order = sorted(range(n), key=keys.__getitem__, reverse=True)
        return list(map(items.__getitem__, order))
    if variant != "go1.18" and all(map(operator.ge, keys, keys[1:])):
        return list(items)
    out = list(items)
    _go_sort(keys, out, operator.gt, variant, keyed=True)
    return out


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown Go sort variant {variant!r}; expected one of {VARIANTS}")


def _go_sort(xs: list[Any], ys: list[Any], lt: _Less, variant: GoSort, *, keyed: bool) -> None:
    """Run ``variant``'s sort.Slice on ``xs``; every swap is mirrored on ``ys``.

    ``keyed`` promises that ``xs`` holds ints and ``lt`` is ``operator.gt``, which licenses
    the shortcuts; the items then travel in ``ys`` so that comparisons stay in C.
    """
    n = len(xs)
    if variant == "go1.18":
        # sort.maxDepth: 2*ceil(lg(n+1)).
        _quick_sort(xs, ys, lt, keyed, 0, n, 2 * n.bit_length())
    else:
        _pdqsort(xs, ys, lt, keyed, 0, n, n.bit_length(), _XORSHIFT[variant])


def _finish_if_determined(xs: list[Any], ys: list[Any], a: int, b: int, stable_limit: int) -> bool:
    """Sort ``xs[a:b]`` by descending int key in C if Go's result there is already known.

    Two facts make this exact for keys under ``>``. Go's sort of ``xs[a:b]`` only permutes
    that range: it writes nowhere else, and its only reads below ``a`` (pdqsort's
    equal-partition test and partialInsertionSort's leftward shift) meet an earlier pivot,
    never greater than anything in the range. So the range ends up as *some* sorted
    arrangement of its own elements, which is unique when its keys are pairwise distinct.
    And a range of at most ``stable_limit`` is finished by insertion sort alone, which is
    stable. Either way Python's stable sort produces the same arrangement, without the
    per-comparison cost.
    """
    n = b - a
    if n > stable_limit and len(set(xs[a:b])) != n:
        return False
    seg, yseg = xs[a:b], ys[a:b]
    # reverse=True keeps equal keys in input order, like insertion sort does.
    order = sorted(range(n), key=seg.__getitem__, reverse=True)
    xs[a:b] = map(seg.__getitem__, order)
    ys[a:b] = map(yseg.__getitem__, order)
    return True


# Shared by both generations ---------------------------------------------------------------


def _insertion_sort(xs: list[Any], ys: list[Any], lt: _Less, a: int, b: int) -> None:
    for i in range(a + 1, b):
        j = i
        while j > a and lt(xs[j], xs[j - 1]):
            xs[j], xs[j - 1] = xs[j - 1], xs[j]
            ys[j], ys[j - 1] = ys[j - 1], ys[j]
            j -= 1


def _sift_down(xs: list[Any], ys: list[Any], lt: _Less, lo: int, hi: int, first: int) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and lt(xs[first + child], xs[first + child + 1]):
            child += 1
        r, c = first + root, first + child
        if not lt(xs[r], xs[c]):
            return
        xs[r], xs[c] = xs[c], xs[r]
        ys[r], ys[c] = ys[c], ys[r]
        root = child


def _heap_sort(xs: list[Any], ys: list[Any], lt: _Less, a: int, b: int) -> None:
    first = a
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(xs, ys, lt, i, hi, first)
    for i in range(hi - 1, -1, -1):
        xs[first], xs[first + i] = xs[first + i], xs[first]
        ys[first], ys[first + i] = ys[first + i], ys[first]
        _sift_down(xs, ys, lt, 0, i, first)


# Go <= 1.18: quickSort_func / doPivot_func ------------------------------------------------


def _median_of_three(xs: list[Any], ys: list[Any], lt: _Less, m1: int, m0: int, m2: int) -> None:
    if lt(xs[m1], xs[m0]):
        xs[m1], xs[m0] = xs[m0], xs[m1]
        ys[m1], ys[m0] = ys[m0], ys[m1]
    if lt(xs[m2], xs[m1]):
        xs[m2], xs[m1] = xs[m1], xs[m2]
        ys[m2], ys[m1] = ys[m1], ys[m2]
        if lt(xs[m1], xs[m0]):
            xs[m1], xs[m0] = xs[m0], xs[m1]
            ys[m1], ys[m0] = ys[m0], ys[m1]


def _do_pivot(xs: list[Any], ys: list[Any], lt: _Less, lo: int, hi: int) -> tuple[int, int]:
    m = (lo + hi) >> 1
    if hi - lo > 40:
        s = (hi - lo) // 8
        _median_of_three(xs, ys, lt, lo, lo + s, lo + 2 * s)
        _median_of_three(xs, ys, lt, m, m - s, m + s)
        _median_of_three(xs, ys, lt, hi - 1, hi - 1 - s, hi - 1 - 2 * s)
    _median_of_three(xs, ys, lt, lo, m, hi - 1)

    # The pivot stays at xs[lo] until the end, so it can be read once.
    pivot = lo
    pv = xs[pivot]
    a, c = lo + 1, hi - 1
    while a < c and lt(xs[a], pv):
        a += 1
    b = a
    while True:
        while b < c and not lt(pv, xs[b]):
            b += 1
        while b < c and lt(pv, xs[c - 1]):
            c -= 1
        if b >= c:
            break
        xs[b], xs[c - 1] = xs[c - 1], xs[b]
        ys[b], ys[c - 1] = ys[c - 1], ys[b]
        b += 1
        c -= 1

    protect = hi - c < 5
    if not protect and hi - c < (hi - lo) // 4:
        dups = 0
        if not lt(pv, xs[hi - 1]):
            xs[c], xs[hi - 1] = xs[hi - 1], xs[c]
            ys[c], ys[hi - 1] = ys[hi - 1], ys[c]
            c += 1
            dups += 1
        if not lt(xs[b - 1], pv):
            b -= 1
            dups += 1
        if not lt(xs[m], pv):
            xs[m], xs[b - 1] = xs[b - 1], xs[m]
            ys[m], ys[b - 1] = ys[b - 1], ys[m]
            b -= 1
            dups += 1
        protect = dups > 1
    if protect:
        while True:
            while a < b and not lt(xs[b - 1], pv):
                b -= 1
            while a < b and lt(xs[a], pv):
                a += 1
            if a >= b:
                break
            xs[a], xs[b - 1] = xs[b - 1], xs[a]
            ys[a], ys[b - 1] = ys[b - 1], ys[a]
            a += 1
            b -= 1

    xs[pivot], xs[b - 1] = xs[b - 1], xs[pivot]
    ys[pivot], ys[b - 1] = ys[b - 1], ys[pivot]
    return b - 1, c


def _quick_sort(
    xs: list[Any], ys: list[Any], lt: _Less, keyed: bool, a: int, b: int, max_depth: int
) -> None:
    while b - a > 12:
        if keyed and _finish_if_determined(xs, ys, a, b, _STABLE_LIMIT_GO118):
            return
        if max_depth == 0:
            _heap_sort(xs, ys, lt, a, b)
            return
        max_depth -= 1
        mlo, mhi = _do_pivot(xs, ys, lt, a, b)
        if mlo - a < b - mhi:
            _quick_sort(xs, ys, lt, keyed, a, mlo, max_depth)
            a = mhi
        else:
            _quick_sort(xs, ys, lt, keyed, mhi, b, max_depth)
            b = mlo
    if b - a > 1:
        if keyed and _finish_if_determined(xs, ys, a, b, _STABLE_LIMIT_GO118):
            return
        # The gap-6 Shell pass is what makes go1.18 unstable even below 13 elements.
        for i in range(a + 6, b):
            if lt(xs[i], xs[i - 6]):
                xs[i], xs[i - 6] = xs[i - 6], xs[i]
                ys[i], ys[i - 6] = ys[i - 6], ys[i]
        _insertion_sort(xs, ys, lt, a, b)


# Go >= 1.19: pdqsort_func -----------------------------------------------------------------


def _pdqsort(
    xs: list[Any],
    ys: list[Any],
    lt: _Less,
    keyed: bool,
    a: int,
    b: int,
    limit: int,
    shifts: tuple[int, int, int],
) -> None:
    was_balanced = True
    was_partitioned = True
    while True:
        if keyed and _finish_if_determined(xs, ys, a, b, _STABLE_LIMIT_PDQ):
            return
        length = b - a
        if length <= 12:
            _insertion_sort(xs, ys, lt, a, b)
            return
        if limit == 0:
            _heap_sort(xs, ys, lt, a, b)
            return
        if not was_balanced:
            _break_patterns(xs, ys, a, b, shifts)
            limit -= 1

        pivot, hint = _choose_pivot(xs, lt, a, b)
        if hint == _DECREASING_HINT:
            _reverse_range(xs, ys, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = _INCREASING_HINT

        if (
            was_balanced
            and was_partitioned
            and hint == _INCREASING_HINT
            and _partial_insertion_sort(xs, ys, lt, a, b)
        ):
            return

        # Go checks ``a > 0`` against the whole slice, not the current range: the element
        # before ``a`` is the pivot of an enclosing partition.
        if a > 0 and not lt(xs[a - 1], xs[pivot]):
            a = _partition_equal(xs, ys, lt, a, b, pivot)
            continue

        mid, was_partitioned = _partition(xs, ys, lt, a, b, pivot)
        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(xs, ys, lt, keyed, a, mid, limit, shifts)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(xs, ys, lt, keyed, mid + 1, b, limit, shifts)
            b = mid


def _partition(
    xs: list[Any], ys: list[Any], lt: _Less, a: int, b: int, pivot: int
) -> tuple[int, bool]:
    xs[a], xs[pivot] = xs[pivot], xs[a]
    ys[a], ys[pivot] = ys[pivot], ys[a]
    pv = xs[a]
    i, j = a + 1, b - 1
    while i <= j and lt(xs[i], pv):
        i += 1
    while i <= j and not lt(xs[j], pv):
        j -= 1
    if i > j:
        xs[j], xs[a] = xs[a], xs[j]
        ys[j], ys[a] = ys[a], ys[j]
        return j, True
    xs[i], xs[j] = xs[j], xs[i]
    ys[i], ys[j] = ys[j], ys[i]
    i += 1
    j -= 1
    while True:
        while i <= j and lt(xs[i], pv):
            i += 1
        while i <= j and not lt(xs[j], pv):
            j -= 1
        if i > j:
            break
        xs[i], xs[j] = xs[j], xs[i]
        ys[i], ys[j] = ys[j], ys[i]
        i += 1
        j -= 1
    xs[j], xs[a] = xs[a], xs[j]
    ys[j], ys[a] = ys[a], ys[j]
    return j, False


def _partition_equal(xs: list[Any], ys: list[Any], lt: _Less, a: int, b: int, pivot: int) -> int:
    xs[a], xs[pivot] = xs[pivot], xs[a]
    ys[a], ys[pivot] = ys[pivot], ys[a]
    pv = xs[a]
    i, j = a + 1, b - 1
    while True:
        while i <= j and not lt(pv, xs[i]):
            i += 1
        while i <= j and lt(pv, xs[j]):
            j -= 1
        if i > j:
            return i
        xs[i], xs[j] = xs[j], xs[i]
        ys[i], ys[j] = ys[j], ys[i]
        i += 1
        j -= 1


def _partial_insertion_sort(xs: list[Any], ys: list[Any], lt: _Less, a: int, b: int) -> bool:
    max_steps = 5
    shortest_shifting = 50
    i = a + 1
    for _ in range(max_steps):
        while i < b and not lt(xs[i], xs[i - 1]):
            i += 1
        if i == b:
            return True
        if b - a < shortest_shifting:
            return False
        xs[i], xs[i - 1] = xs[i - 1], xs[i]
        ys[i], ys[i - 1] = ys[i - 1], ys[i]
        if i - a >= 2:
            # Go bounds this leftward shift by 1, not by a; kept for exactness.
            for j in range(i - 1, 0, -1):
                if not lt(xs[j], xs[j - 1]):
                    break
                xs[j], xs[j - 1] = xs[j - 1], xs[j]
                ys[j], ys[j - 1] = ys[j - 1], ys[j]
        if b - i >= 2:
            for j in range(i + 1, b):
                if not lt(xs[j], xs[j - 1]):
                    break
                xs[j], xs[j - 1] = xs[j - 1], xs[j]
                ys[j], ys[j - 1] = ys[j - 1], ys[j]
    return False


def _break_patterns(
    xs: list[Any], ys: list[Any], a: int, b: int, shifts: tuple[int, int, int]
) -> None:
    length = b - a
    if length < 8:
        return
    s1, s2, s3 = shifts
    random = length
    mask = (1 << length.bit_length()) - 1
    start = a + (length // 4) * 2 - 1
    for idx in range(start, start + 3):
        random ^= (random << s1) & _MASK64
        random ^= random >> s2
        random ^= (random << s3) & _MASK64
        other = random & mask
        if other >= length:
            other -= length
        o = a + other
        xs[idx], xs[o] = xs[o], xs[idx]
        ys[idx], ys[o] = ys[o], ys[idx]


def _median(xs: list[Any], lt: _Less, a: int, b: int, c: int) -> tuple[int, int]:
    """Go's median_func: the median's index and how many order2 swaps it took."""
    swaps = 0
    if lt(xs[b], xs[a]):
        a, b = b, a
        swaps += 1
    if lt(xs[c], xs[b]):
        b, c = c, b
        swaps += 1
    if lt(xs[b], xs[a]):
        a, b = b, a
        swaps += 1
    return b, swaps


def _choose_pivot(xs: list[Any], lt: _Less, a: int, b: int) -> tuple[int, int]:
    shortest_ninther = 50
    max_swaps = 4 * 3
    n = b - a
    swaps = 0
    i = a + n // 4 * 1
    j = a + n // 4 * 2
    k = a + n // 4 * 3
    if n >= 8:
        if n >= shortest_ninther:
            i, s = _median(xs, lt, i - 1, i, i + 1)
            swaps += s
            j, s = _median(xs, lt, j - 1, j, j + 1)
            swaps += s
            k, s = _median(xs, lt, k - 1, k, k + 1)
            swaps += s
        j, s = _median(xs, lt, i, j, k)
        swaps += s
    if swaps == 0:
        return j, _INCREASING_HINT
    if swaps == max_swaps:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _reverse_range(xs: list[Any], ys: list[Any], a: int, b: int) -> None:
    xs[a:b] = xs[a:b][::-1]
    ys[a:b] = ys[a:b][::-1]
