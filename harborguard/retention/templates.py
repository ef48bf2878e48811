"""Harbor's registered rule templates (src/pkg/retention/policy/rule/*).

Parameter parsing follows utils.ParseJSONInt and each evaluator's New(): only a JSON number
counts, truncated toward zero; anything else, or a negative value, silently means the
template's default. A missing key fails the build ("missing required parameter").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from harborguard.harborversion import GoSortVariant
from harborguard.retention.gosort import sort_by_key_desc

NS = 1_000_000_000
DAY_NS = 24 * 3600 * NS
_INT64_MIN = -(2**63)

Kind = Literal["count", "days", "always"]


class BuildError(Exception):
    """Harbor's rule index refused to build the rule; the message is Harbor's."""


class Timed(Protocol):
    @property
    def push_s(self) -> int: ...
    @property
    def pull_s(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    kind: Kind
    default: int
    key_name: str  # what a count template ranks by, or what a day template compares
    key: Callable[[Timed], int]


def _push(c: Timed) -> int:
    return c.push_s


def _pull(c: Timed) -> int:
    return c.pull_s


def _active(c: Timed) -> int:
    return c.pull_s if c.pull_s > c.push_s else c.push_s


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("latestPushedK", "count", 10, "push time", _push),
        Template("latestPulledN", "count", 10, "pull time", _pull),
        Template("latestActiveK", "count", 10, "push or pull time, whichever is later", _active),
        Template("nDaysSinceLastPush", "days", 30, "push time", _push),
        Template("nDaysSinceLastPull", "days", 30, "pull time", _pull),
        Template("lastXDays", "days", 10, "push time", _push),
        Template("always", "always", 0, "", _push),
    )
}


def wrap64(value: int) -> int:
    """Two's-complement int64 wraparound, as Go's Duration arithmetic does silently."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= (1 << 63) else value


def parse_json_int(value: Any) -> int | None:
    """utils.ParseJSONInt on a value decoded from JSON (numbers are float64 there)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        as_float = float(value)
    except OverflowError:
        return _INT64_MIN
    if math.isnan(as_float) or math.isinf(as_float):
        return _INT64_MIN
    truncated = math.trunc(as_float)
    if not (-(2**63) <= truncated < 2**63):
        # amd64's CVTTSD2SI yields the "integer indefinite" value for out-of-range floats.
        return _INT64_MIN
    return truncated


@dataclass(frozen=True, slots=True)
class Evaluator:
    template: Template
    value: int  # the effective parameter (count or days); 0 for always
    defaulted: bool  # the stored value was unusable and Harbor used the default
    raw: Any

    def describe(self) -> str:
        if self.template.kind == "always":
            return "always"
        text = f"{self.template.name} {self.value}"
        if self.defaulted:
            text += f" (default: Harbor cannot use {self.raw!r})"
        return text


def build_evaluator(template: str, params: Mapping[str, Any] | None) -> Evaluator:
    """index.Get: registered template, required parameter present; then New()."""
    if template == "":
        raise BuildError("empty rule template ID")
    spec = TEMPLATES.get(template)
    if spec is None:
        raise BuildError(f"rule evaluator {template} is not registered")
    if spec.kind == "always":
        return Evaluator(spec, 0, False, None)
    if params is None or template not in params:
        raise BuildError(f"missing required parameter {template} for rule {template}")
    raw = params[template]
    parsed = parse_json_int(raw)
    if parsed is None or parsed < 0:
        return Evaluator(spec, spec.default, True, raw)
    return Evaluator(spec, parsed, False, raw)


@dataclass(frozen=True, slots=True)
class CountOutcome:
    ranked: list[Any]  # candidates in Harbor's sorted order
    kept: int  # how many of ranked are kept
    tie_key: int | None  # the key value straddling the cut, when there is a tie at the cut


def evaluate_count(
    evaluator: Evaluator,
    candidates: Sequence[Any],
    variant: GoSortVariant,
    order: Callable[[Sequence[Any]], list[Any]] | None = None,
    order_key: Callable[[Any], Any] | None = None,
) -> CountOutcome:
    """Harbor's count templates: sort by the key (Go's sort.Slice), keep the first K.

    ``order``/``order_key`` replace Harbor's ranking for a what-if (``--order semver``);
    a tie is then equality of ``order_key`` at the cut.
    """
    key = evaluator.template.key
    if order is None:
        ranked = sort_by_key_desc(list(candidates), key, variant)
        tie_of: Callable[[Any], Any] = key
    else:
        ranked = order(candidates)
        tie_of = order_key or key
    kept = min(evaluator.value, len(ranked))
    tie_key = None
    if 0 < kept < len(ranked) and tie_of(ranked[kept - 1]) == tie_of(ranked[kept]):
        tie_key = tie_of(ranked[kept - 1])
    return CountOutcome(ranked, kept, tie_key)


def day_cutoff(evaluator: Evaluator, now_ns: int) -> tuple[int, bool]:
    """(cutoff, inclusive). Inclusive cut-offs are whole seconds, strict ones nanoseconds.

    nDaysSince*: ``time.Now().UTC().Add(Duration(-24*n) * time.Hour).Unix()`` and ``>=``.
    lastXDays: ``time.Now().Add(Duration(x*-24) * time.Hour)`` and ``After`` (strict).
    Both wrap around int64 for n >= 106,752 days.
    """
    shifted = now_ns + wrap64(-evaluator.value * DAY_NS)
    if evaluator.template.name == "lastXDays":
        return shifted, False
    return shifted // NS, True


def evaluate_days(evaluator: Evaluator, candidates: Sequence[Any], now_ns: int) -> list[Any]:
    key = evaluator.template.key
    cutoff, inclusive = day_cutoff(evaluator, now_ns)
    if inclusive:
        return [c for c in candidates if key(c) >= cutoff]
    return [c for c in candidates if key(c) * NS > cutoff]


# Parameter validators that Harbor v2.0-v2.1 ran at the API (rule/*/evaluator.go Valid).
_LEGACY_LIMITS = {
    "latestPushedK": ("count", 32767),
    "latestPulledN": ("count", 32767),
    "nDaysSinceLastPush": ("days", 20190904),
    "nDaysSinceLastPull": ("days", 20190904),
}


def legacy_validation(template: str, params: Mapping[str, Any] | None) -> str | None:
    """Why Harbor v2.0-v2.1's API would refuse this rule's template and parameters."""
    spec = TEMPLATES.get(template)
    if not template:
        return "empty rule template ID"
    if spec is None:
        return f"rule evaluator {template} is not registered"
    if spec.kind == "always":
        return None
    if params is None or template not in params:
        return f"missing required parameter {template} for rule {template}"
    limit = _LEGACY_LIMITS.get(template)
    if limit is None:
        return None
    value = parse_json_int(params[template])
    if value is None:
        return f"{template} type error"
    if value < 0:
        return f"{template} is less than zero"
    kind, top = limit
    if (kind == "count" and value >= top) or (kind == "days" and value > top):
        return f"{template} is too large"
    return None
