"""A values scalar as Helm prints it: an unquoted YAML number is a float64 shown with ``%v``.

Helm reads values files (and a chart's values.yaml) with sigs.k8s.io/yaml: the YAML is
resolved by go-yaml v2, turned into JSON and decoded into ``interface{}``, so every
unquoted number, integer or not, becomes a float64. A template prints it with Go's fmt
``%v`` (strconv's shortest ``'g'``, exponent from 1e+06 on): ``tag: 1.10`` deploys ``:1.1``,
``tag: 2.0`` deploys ``:2``, ``tag: 20240221160838`` deploys ``:2.0240221160838e+13``
(helm/helm#1707, #11800, #13378). Quoted scalars are strings and stay as written.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from yaml.nodes import Node, ScalarNode

# go-yaml v2 resolve.go: the float shape it accepts (after removing underscores).
_YAML_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+(?:[eE][-+]?[0-9]+)?$")
# go-yaml v2 resolve map: booleans and the float specials (.inf, .nan).
_BOOLEANS = frozenset(
    "y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE".split()
)
_SPECIALS = frozenset(
    f"{sign}{word}" for sign in ("", "+", "-") for word in (".inf", ".Inf", ".INF")
) | frozenset({".nan", ".NaN", ".NAN"})
_INT64_MIN, _UINT64_MAX = -(1 << 63), (1 << 64) - 1


class NotRenderable(str):
    """Why Helm does not print a scalar as its text: a boolean, ``.inf``, ``.nan``."""


def helm_text(node: Node) -> str | NotRenderable:
    """What a template prints for a values scalar (its text unless it is a plain number)."""
    assert isinstance(node, ScalarNode)
    written = str(node.value)
    if node.style:  # quoted or a block scalar (plain is None, or "" from libyaml): a string
        return written
    if written in _BOOLEANS:
        return NotRenderable(
            f"an unquoted {written!r} is a YAML boolean to Helm, printed true/false; quote it"
        )
    if written in _SPECIALS:
        return NotRenderable(f"an unquoted {written!r} is a float Helm cannot render; quote it")
    number = go_yaml_number(written)
    return written if number is None else go_format(number)


def helmfile_text(node: Node) -> str:
    """What a helmfile template prints for ``{{ .Values.x }}`` of an environment value.

    Helmfile keeps integers as integers but a float is a float64, printed with ``%v``:
    ``tag: 1.10`` in an environment's values renders ``1.1`` into the values file.
    """
    assert isinstance(node, ScalarNode)
    written = str(node.value)
    if node.style or _go_parse_int(written.replace("_", "")) is not None:
        return written
    number = go_yaml_number(written)
    return written if number is None else go_format(number)


def go_yaml_number(text: str) -> float | None:
    """The float64 Helm holds for a plain scalar (go-yaml v2, then JSON), None for text."""
    if not text:
        return None
    if text[0] == ".":
        return float(text) if _DOT_FLOAT.match(text) else None
    if text[0] not in "+-0123456789":
        return None
    plain = text.replace("_", "")
    integer = _go_parse_int(plain)
    if integer is not None and _INT64_MIN <= integer <= _UINT64_MAX:
        return float(integer)  # JSON's number, read back as a float64
    if _YAML_FLOAT.match(plain):
        value = float(plain)
        return None if math.isinf(value) else value  # out of range: go-yaml keeps the text
    return None


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64)'s syntax: sign, then 0x / 0o / 0b / 0 (octal) / decimal."""
    sign, body = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    bases = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
    base = bases.get(body[:2])
    digits = body[2:] if base else body
    if base is None:
        base = 8 if len(body) > 1 and body[0] == "0" else 10
    valid = "0123456789abcdefABCDEF" if base == 16 else "0123456789"[:base]
    if not digits or any(c not in valid for c in digits):
        return None
    value = int(digits, base)
    return -value if sign == "-" else value


def go_format(value: float) -> str:
    """Go's ``fmt.Sprint(float64)``: strconv.FormatFloat(value, 'g', -1, 64)."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    # repr is the shortest text that reads back as the same float64, as Go's shortest is.
    parts = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    exponent = int(parts.exponent)
    point = len(digits) + exponent  # digits before the decimal point
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:  # shortest precision: %e from exponent 6 (strconv ftoa.go)
        mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
