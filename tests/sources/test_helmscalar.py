"""helmscalar: a values scalar as Helm prints it (go-yaml v2 -> JSON float64 -> fmt %v).

Expected texts are Helm's own, as reported: ``tag: 1.0`` renders ``1`` (helm/helm#11800),
``6.10`` renders ``6.1`` (rowanruseler/helm-charts#156), ``29111998`` renders
``2.9111998e+07`` (helm/helm#13378), ``87940363`` renders ``8.7940363e+07`` (helm/helm#1707);
the rest follow strconv.FormatFloat(f, 'g', -1, 64): %e from exponent -5 and from 6 on.
"""

from __future__ import annotations

import pytest

from harborguard.sources import gotmpl
from harborguard.sources.helmscalar import (
    NotRenderable,
    go_format,
    go_yaml_number,
    helm_text,
    helmfile_text,
)


def _scalar(text: str) -> str:
    node = gotmpl.compose(f"tag: {text}\n")[0].value[0][1]
    return helm_text(node)


@pytest.mark.parametrize(("written", "rendered"), [
    ("1.0", "1"), ("6.10", "6.1"), ("1.10", "1.1"), ("2.0", "2"),
    ("29111998", "2.9111998e+07"), ("87940363", "8.7940363e+07"),
    ("20240221160838", "2.0240221160838e+13"),
    ("100", "100"), ("123456", "123456"), ("1234567", "1.234567e+06"), ("1e6", "1e+06"),
    ("0.0001", "0.0001"), ("0.00001", "1e-05"), (".5", "0.5"), ("1.", "1"), ("+1", "1"),
    ("1_000", "1000"), ("0x1F", "31"), ("0777", "511"), ("08", "8"), ("0b101", "5"),
    ("-0", "0"), ("12345678901234567", "1.2345678901234568e+16"),
])
def test_a_plain_number_renders_as_gos_percent_v_of_its_float64(written: str,
                                                                 rendered: str) -> None:
    assert _scalar(written) == rendered


@pytest.mark.parametrize("written", [
    '"1.10"', "'2.0'", "7.0.0", "1.10-alpine", "v1.10", "latest", "1e400", "2024-02-21",
    "1:20", "0.0.130-20240221160838-03b2a120",
])
def test_text_and_quoted_values_stay_as_written(written: str) -> None:
    assert _scalar(written) == written.strip("'\"")


@pytest.mark.parametrize("written", ["yes", "off", "true", "N", ".inf", "-.Inf", ".nan"])
def test_booleans_and_float_specials_are_not_renderable(written: str) -> None:
    shown = _scalar(written)
    assert isinstance(shown, NotRenderable) and "quote it" in shown


def test_go_yaml_number_and_go_format_edges() -> None:
    assert go_yaml_number("abc") is None and go_yaml_number("") is None
    assert go_yaml_number("0x") is None and go_yaml_number("0b2") is None
    assert go_format(-1.5) == "-1.5" and go_format(-0.0) == "-0"
    assert go_format(0.000123) == "0.000123" and go_format(999999.0) == "999999"


@pytest.mark.parametrize(("written", "printed"), [
    ("1.10", "1.1"), ("2.0", "2"), ("1e6", "1e+06"), ("20240221160838", "20240221160838"),
    ("0x1F", "0x1F"), ('"1.10"', "1.10"), ("0.0.130", "0.0.130"),
])
def test_helmfile_prints_environment_floats_with_percent_v_and_integers_as_written(
    written: str, printed: str
) -> None:
    node = gotmpl.compose(f"v: {written}\n")[0].value[0][1]
    assert helmfile_text(node) == printed
