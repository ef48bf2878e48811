"""RFC 3339 timestamps as Harbor writes them, reduced to the integers retention uses.

Harbor's retention works on whole Unix seconds (Go's ``Time.Unix()``), and Go's zero time
(0001-01-01) stands for "never". Parsing to integers keeps the engine free of datetime
objects and fast on 100,000 artifacts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import add, floordiv, itemgetter, sub

# Go's time.Time{} in Unix seconds: what a never-pulled artifact carries.
GO_ZERO_SECONDS = -62135596800
NS = 1_000_000_000

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAYS_BEFORE_MONTH = (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _parse(text: str) -> tuple[int, int]:
    """Returns (whole seconds since the epoch, nanoseconds within the second)."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = int(m[4]), int(m[5]), int(m[6])
    if not (1 <= month <= 12) or hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    month_days = (31, 29 if _is_leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1 <= day <= month_days[month - 1]):
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    # Proleptic Gregorian day count, as datetime.toordinal() computes it, without the object.
    y = year - 1
    ordinal = y * 365 + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE_MONTH[month] + day
    if month > 2 and _is_leap(year):
        ordinal += 1
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60 + second
    if m[9] is not None:
        if int(m[10]) > 23 or int(m[11]) > 59:  # RFC 3339's time-numoffset, Go's range
            raise ValueError(f"not an RFC 3339 time: {text!r} (zone offset out of range)")
        offset = int(m[10]) * 3600 + int(m[11]) * 60
        seconds -= offset if m[9] == "+" else -offset
    frac = m[7]
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return seconds, nanos


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
# Go's zero time as Harbor writes it for "never pulled": in every snapshot.
_ALWAYS = {"0001-01-01T00:00:00Z": GO_ZERO_SECONDS, "0001-01-01T00:00:00.000Z": GO_ZERO_SECONDS}
# Text -> seconds; readers may consult it directly before calling parse_seconds(). At most
# CACHE_CAP entries are added one at a time; cache_seconds_of adds a batch whole.
SECONDS_CACHE: dict[str, int] = dict(_ALWAYS)
CACHE_CAP = 1_000_000
_seconds_cache = SECONDS_CACHE


_fromiso = datetime.fromisoformat


def plain_seconds(text: str) -> int | None:
    """parse_seconds for the plain RFC 3339 text Harbor writes, None for anything else
    (then parse_seconds decides, or says what is wrong). For hot loops: one call, cached."""
    cached = _seconds_cache.get(text)
    if cached is not None:
        return cached
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " \
            or text[13] != ":" or text[16] != ":":
        return None
    try:
        parsed = _fromiso(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    if parsed.microsecond == 0 and 1 <= parsed.year < 2200:
        # A whole second before 2200 is exact as a float: timestamp() is exact and fast.
        value = int(parsed.timestamp())
    else:
        value = (parsed - _EPOCH_UTC) // _SECOND
    if len(_seconds_cache) < CACHE_CAP:
        _seconds_cache[text] = value
        if text[10] == "T" and text[-1] == "Z" and (len(text) == 20 or text[19] == "."):
            # UTC already: the floored second is the text up to its fraction.
            SECONDS_TEXT[value] = text[:19] + "Z"
    return value


# Seconds -> their RFC 3339 text in whole seconds (``2024-02-22T21:26:02Z``), cut from a
# text read for them in the plain UTC form (``2024-02-22T21:26:02[.123]Z``): a report
# writes back the times it read without formatting each again.
SECONDS_TEXT: dict[int, str] = {}
_WHOLE_SECONDS = itemgetter(slice(0, 19))

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# The plain UTC form with every digit a 0: whole seconds, or 1 to 9 fraction digits.
_PLAIN_FORMS = frozenset(
    [b"0000-00-00T00:00:00Z"] + [b"0000-00-00T00:00:00." + b"0" * n + b"Z" for n in range(1, 10)]
)
_1970 = datetime(1970, 1, 1, tzinfo=UTC)
_2100 = datetime(2100, 1, 1, tzinfo=UTC)


def cache_seconds_of(texts: Iterable[str]) -> None:
    """Converts many time texts at once into SECONDS_CACHE (and SECONDS_TEXT): those in
    the plain UTC form Harbor writes, ``2024-02-22T21:26:02[.123]Z``, by C-level maps, a
    fraction of the cost of one plain_seconds call each. A batch with any other text (or
    one fromisoformat refuses) is left to plain_seconds, which then decides as it always
    does; the values cached here are the ones it computes. A batch is cached whole, however
    large: when it would take the caches past CACHE_CAP they are emptied first
    (forget_times), so a reader converts a large snapshot's times in bulk too."""
    new = list(set(texts).difference(_seconds_cache))
    if not new:
        return
    try:
        joined = "\n".join(new).encode("ascii").translate(_DIGITS_TO_ZERO)
        if not _PLAIN_FORMS.issuperset(joined.split(b"\n")):
            return
        parsed = list(map(_fromiso, new))
    except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        return
    if _1970 <= min(parsed) and max(parsed) < _2100:
        # Exact here: a float holds these seconds to well under a microsecond, and int()
        # of a non-negative number floors.
        seconds = list(map(int, map(datetime.timestamp, parsed)))
    else:
        seconds = list(map(floordiv, map(sub, parsed, repeat(_EPOCH_UTC)), repeat(_SECOND)))
    if len(_seconds_cache) + len(new) > CACHE_CAP:
        forget_times()
    _seconds_cache.update(zip(new, seconds, strict=True))
    SECONDS_TEXT.update(zip(seconds, map(add, map(_WHOLE_SECONDS, new), repeat("Z")),
                            strict=True))


def forget_times() -> None:
    """Empties the time caches (all but Go's zero time): a stream of repositories keeps
    its memory bounded by a repository's times, not the snapshot's."""
    _seconds_cache.clear()
    _seconds_cache.update(_ALWAYS)
    SECONDS_TEXT.clear()


def parse_seconds(text: str) -> int:
    """Whole Unix seconds, floored, as Go's Time.Unix() gives them.

    Plain RFC 3339 text takes plain_seconds (cached, datetime.fromisoformat in C):
    snapshots repeat the same timestamps (artifact and tag, never-pulled) many times.
    """
    value = plain_seconds(text)
    if value is None:
        value = _parse(text)[0]
        if len(_seconds_cache) < CACHE_CAP:
            _seconds_cache[text] = value
    return value


def parse_nanos(text: str) -> int:
    """Unix nanoseconds (full precision), for the job's `now`."""
    seconds, nanos = _parse(text)
    return seconds * NS + nanos


def format_seconds(seconds: int) -> str:
    """RFC 3339 in UTC with a `Z`, whole seconds. Outside years 1-9999 (a day cut-off
    that wrapped around int64) there is no RFC 3339 form: say so instead."""
    try:
        return (_EPOCH + timedelta(seconds=seconds)).isoformat() + "Z"
    except OverflowError:
        return f"unix time {seconds}s (outside years 1-9999)"


def format_nanos(nanos: int) -> str:
    seconds, rest = divmod(nanos, NS)
    base = format_seconds(seconds)
    if rest == 0:
        return base
    return base[:-1] + "." + f"{rest:09d}".rstrip("0") + "Z"


def utc_now_nanos() -> int:
    now = datetime.now(UTC)
    return int(now.timestamp()) * NS + now.microsecond * 1000

