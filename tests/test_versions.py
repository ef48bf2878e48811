"""Tag -> version (harborguard.versions): real-world tag shapes, the real builds-api history
(including its 0.3.2 -> 0.0.74 reset) and property tests against ``semver``'s precedence."""

from __future__ import annotations

import itertools
import operator
import re
from datetime import datetime
from pathlib import Path

import pytest
import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from harborguard.versions import (
    Version,
    VersionPattern,
    artifact_version,
    describe_fates,
    fate_ranges,
    parse_tag,
    short_labels,
)
from tests.builders import shared_dir

TOOLFORGE = shared_dir() / "toolforge"


def v(tag: str, pattern: VersionPattern | None = None) -> Version:
    version = parse_tag(tag, pattern)
    assert version is not None, tag
    return version


# --- table tests: what each shape reads as -------------------------------------------------

SHA = "322f874b4035fd7cb4bb480b3714de9c57684cc2"


@pytest.mark.parametrize(
    ("tag", "reads_as"),
    [
        ("0.0.131", "0.0.131"),
        ("v1.2.3", "1.2.3"),
        ("v1.2", "1.2.0"),
        ("1.2", "1.2.0"),
        ("v1", "1.0.0"),
        ("1", "1.0.0"),
        ("0", "0.0.0"),
        ("22", "22.0.0"),
        ("123456", "123456.0.0"),  # six digits: still a version (build numbers)
        ("0.0.131_image", "0.0.131+image"),  # Helm's `+` as `_`
        ("0.0.131+image", "0.0.131+image"),
        ("1.2_image", "1.2.0+image"),
        ("0.0.131-20240222212602-322f874b", "0.0.131-20240222212602-322f874b"),
        ("0.0.131-20240222212602-322f874b_image", "0.0.131-20240222212602-322f874b+image"),
        ("1.0.0-rc.10", "1.0.0-rc.10"),
        ("1.25.3-alpine", "1.25.3-alpine"),  # DESIGN: a suffix on a full version is a pre-release
        ("1.2.3-rc_1", "1.2.3-rc+1"),  # `_` always starts build metadata
        ("24.04", "24.4.0"),  # leading zeros read by value (CalVer)
        ("2024.02.03", "2024.2.3"),
        ("1.0.0-rc.01", "1.0.0-rc.1"),
        ("1.2.3--", "1.2.3--"),  # `-` alone is a valid SemVer identifier
    ],
)
def test_tag_reads_as(tag: str, reads_as: str) -> None:
    version = v(tag)
    assert str(version.semver) == reads_as
    assert version.tag == tag
    assert version.semver.compare(reads_as) == 0


@pytest.mark.parametrize(
    "tag",
    [
        "latest", "main", "stable", "edge", "",
        "322f874b",  # short sha
        SHA,  # full sha
        "1234567",  # seven decimal digits: as likely a short sha as a version
        "12345678",
        "0123456789012345678901234567890123456789",  # an all-decimal 40-digit sha
        "20240203",  # a date: use --version-pattern
        "01",  # leading zero on a bare number
        "22-stable",  # partial version + suffix: a moving variant tag
        "22-20240203",
        "3.12-slim",
        "1.2-rc.1",
        "V1.2.3",
        "v",
        "1.2.3.4",
        "1.2.3-",
        "1.2.3-rc..1",
        "1.2.3-.rc",
        "1.2.3+",
        "1.2.3_a_b",
        "1.2.3+a+b",
        "1.2.3-rc/1",
        " 1.2.3",
        "sha256-" + "ab" * 32 + ".sig",  # cosign signature tag
        "1.2.3-\u0661",  # a non-ASCII digit
        "\u0661.2.3",
    ],
)
def test_not_a_version(tag: str) -> None:
    assert parse_tag(tag) is None


@pytest.mark.parametrize(
    "chain",
    [
        ["0.0.9", "0.0.10", "0.0.99", "0.0.131"],
        ["1.0.0-rc.2", "1.0.0-rc.10", "1.0.0"],
        # The SemVer 2.0 specification's own example, item 11.
        ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
         "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"],
        ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a"],  # numeric below alphanumeric
        ["0.0.99-20231003123435-edb508d4", "0.0.100-20231004160507-65ccbdcf",
         "0.0.131-20240222212602-322f874b", "0.0.131"],
        ["0.0.131-20240222212602-322f874b", "0.0.131-20240223000000-0000000a"],
        ["1", "1.1", "1.1.1", "v1.2", "2"],
        ["22.04", "24.04", "24.10"],
    ],
)
def test_strictly_increasing(chain: list[str]) -> None:
    versions = [v(tag) for tag in chain]
    for lower, higher in itertools.pairwise(versions):
        assert lower < higher and higher > lower and lower != higher
        assert not lower >= higher
    descending = versions[::-1]
    assert sorted(descending) == versions


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("v1.2", "1.2.0"),
        ("1", "1.0.0"),
        ("v1", "1.0.0"),
        ("0.0.131_image", "0.0.131"),
        ("0.0.131+image", "0.0.131_other"),
        ("0.0.131-20240222212602-322f874b_image", "0.0.131-20240222212602-322f874b"),
        ("24.04", "24.4.0"),
        ("1.0.0-rc.01", "1.0.0-rc.1"),
    ],
)
def test_equal_versions_are_equal(left: str, right: str) -> None:
    a, b = v(left), v(right)
    assert a == b and a <= b and a >= b and not a < b and not a > b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_versions_compare_only_with_versions() -> None:
    assert v("1.0.0") != "1.0.0"
    with pytest.raises(TypeError):
        _ = v("1.0.0") < "2.0.0"  # type: ignore[operator]


def test_each_distinct_tag_is_parsed_once() -> None:
    assert parse_tag("0.0.131_image") is parse_tag("0.0.131_image")
    pattern = VersionPattern(r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)")
    assert pattern.parse("1.2.3") is parse_tag("1.2.3", pattern)


def test_artifact_version_is_the_highest_among_its_tags() -> None:
    assert artifact_version(["latest", "0.0.130", "0.0.131_image", SHA]) == v("0.0.131")
    assert artifact_version(["0.0.99", "0.0.131"]).tag == "0.0.131"  # type: ignore[union-attr]
    # Equal highest: the first in the artifact's tag order.
    assert artifact_version(["0.0.131_image", "0.0.131"]).tag == "0.0.131_image"  # type: ignore[union-attr]
    assert artifact_version(["latest", SHA]) is None
    assert artifact_version([]) is None


# --- --version-pattern ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("(?P<major>\\d+", "--version-pattern: not a valid regular expression: missing )"),
        (r"(?P<major>\d+)\.(?P<minor>\d+)", "--version-pattern: missing named group(s) patch"),
        (r"(\d+)", "--version-pattern: missing named group(s) major, minor, patch"),
        (r"(?P<major>\d+)(?P<minor>)(?P<patch>)(?P<prerelease>.*)",
         "--version-pattern: unknown named group(s) prerelease"),
    ],
)
def test_bad_pattern_is_a_one_line_value_error(source: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        VersionPattern(source)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_pattern_rules() -> None:
    pattern = VersionPattern(
        r"(?P<major>[^.]+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:-(?P<pre>.+?))?(?:@(?P<key>.*))?"
    )
    assert str(v("1.2", pattern).semver) == "1.2.0"  # a group not taking part reads as 0
    assert parse_tag("x.2", pattern) is None  # a number group that is not digits
    assert parse_tag("1.2-rc..1", pattern) is None  # not a SemVer pre-release
    assert str(v("1.2.3-rc.01", pattern).semver) == "1.2.3-rc.1"
    assert v("1.2.3@", pattern).key is None  # an empty key is no key
    assert v("1.2.3@0042", pattern).key == 42
    assert v("1.2.3@b9", pattern).key == "b9"
    # The whole tag must match: no substring hits.
    assert parse_tag("1.2", VersionPattern(r"(?P<major>\d)(?P<minor>)(?P<patch>)")) is None
    # No default rules behind a pattern: the tag is seen as-is.
    plain = VersionPattern(r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)")
    assert parse_tag("v1.2.3", plain) is None
    assert parse_tag("1.2.3_image", plain) is None


def test_pattern_key_orders_before_the_version() -> None:
    pattern = VersionPattern(
        r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?:-(?P<pre>[a-z.0-9]+))?(?:@(?P<key>.+))?"
    )
    order = [
        "9.0.0",  # no key: below every keyed tag
        "10.0.0",
        "5.0.0@9",  # numeric keys by value: 9 < 10
        "1.0.0-rc.1@10",  # equal keys: the version breaks the tie
        "1.0.0@10",
        "0.0.1@10a",  # a text key ranks above every numeric key
        "0.0.1@b",
    ]
    versions = [v(tag, pattern) for tag in order]
    for lower, higher in itertools.pairwise(versions):
        assert lower < higher, (lower, higher)
    assert v("1.0.0@010", pattern) == v("1.0.0@10", pattern)


# --- the real builds-api history ------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


RELEASE_TAGS = [row[0] for row in _rows(TOOLFORGE / "builds-api_release_tags.txt")]
# Distinct chartVersions in the order toolforge-deploy first deployed them.
DEPLOYED = list(dict.fromkeys(row[3] for row in _rows(
    TOOLFORGE / "toolforge-deploy_builds-api_chartVersion_history.txt")))

# What a user passes to fix the reset: order the stamped builds by their CI timestamp; the
# unstamped 0.x charts of June 2023 match without a key and so rank below all of them.
RESET_FIX = (
    r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)(?:-(?P<key>[0-9]{14})-[0-9a-f]+)?"
)


def test_every_release_tag_and_its_image_tag_parse() -> None:
    assert len(RELEASE_TAGS) == 111
    for tag in RELEASE_TAGS:
        assert v(tag).prerelease is not None
        assert v(tag + "_image") == v(tag)  # 2023 CI tagged the image <chart version>_image


def test_release_tags_in_version_order_are_in_release_order() -> None:
    rows = _rows(TOOLFORGE / "builds-api_release_tags.txt")
    by_version = sorted(RELEASE_TAGS, key=v)
    assert by_version == RELEASE_TAGS  # the file lists tags in release order
    # Release order twice over: the CI build stamp and the tagged commit's date.
    stamps = [re.findall(r"-(\d{14})-", tag)[0] for tag in RELEASE_TAGS]
    assert stamps == sorted(stamps)
    dates = [datetime.fromisoformat(row[2]) for row in rows]
    assert dates == sorted(dates)
    # String order, what hand-written scripts use, gets it wrong: 0.0.99 > 0.0.131.
    assert sorted(RELEASE_TAGS) != RELEASE_TAGS
    assert v("0.0.99-20231003123435-edb508d4") < v("0.0.131-20240222212602-322f874b")


def _steps_down(order: list[str], pattern: VersionPattern | None) -> list[tuple[str, str]]:
    return [(a, b) for a, b in itertools.pairwise(order) if v(b, pattern) < v(a, pattern)]


# Real deploys that are not version order and that no pattern should "fix": 0.0.173 was
# merged before 0.0.171, and 0.0.210 was rolled back to 0.0.209 for nine days.
DEPLOY_ANOMALIES = [
    ("0.0.173-20241003135043-0a8f9093", "0.0.171-20241001092826-1929cb0c"),
    ("0.0.210-20260326093139-b2f70662", "0.0.209-20260302155339-cd236f5b"),
]


def test_deploy_history_steps_down_at_the_reset_by_default() -> None:
    assert all(parse_tag(tag) is not None for tag in DEPLOYED)
    # Every commit's chartVersion, so the rollback shows as a step down.
    history = [row[3] for row in _rows(
        TOOLFORGE / "toolforge-deploy_builds-api_chartVersion_history.txt")]
    reset = ("0.3.2", "0.0.74-20230703093021-bc9eeee6")
    assert _steps_down(history, None) == [reset, *DEPLOY_ANOMALIES]
    # The consequence for "keep the 10 newest versions": the six pre-reset charts of June 2023
    # outrank every build since, and would be kept forever.
    newest = sorted(DEPLOYED, key=v, reverse=True)[:6]
    assert newest == ["0.3.2", "0.3.1", "0.3.0", "0.2.0", "0.1.1", "0.1.0"]


def test_version_pattern_with_key_fixes_the_reset() -> None:
    pattern = VersionPattern(RESET_FIX)
    history = [row[3] for row in _rows(
        TOOLFORGE / "toolforge-deploy_builds-api_chartVersion_history.txt")]
    assert all(parse_tag(tag, pattern) is not None for tag in history)
    assert _steps_down(history, pattern) == DEPLOY_ANOMALIES
    newest = sorted(DEPLOYED, key=lambda tag: v(tag, pattern), reverse=True)[:3]
    assert [tag.split("-")[0] for tag in newest] == ["0.0.220", "0.0.219", "0.0.218"]
    oldest = sorted(DEPLOYED, key=lambda tag: v(tag, pattern))[:8]
    assert oldest == ["0.0.1", "0.1.0", "0.1.1", "0.2.0", "0.3.0", "0.3.1", "0.3.2",
                      "0.0.74-20230703093021-bc9eeee6"]
    # The release tags keep the order they had without the pattern.
    assert sorted(RELEASE_TAGS, key=lambda tag: v(tag, pattern)) == RELEASE_TAGS


# --- ranges for the table view --------------------------------------------------------------


def _incident_items() -> list[tuple[Version, str, bool]]:
    # The incident: "keep the last 10" by push time left 0.0.90-0.0.99 and 0.0.131.
    items = []
    for tag in RELEASE_TAGS:
        patch = v(tag).patch
        if 90 <= patch <= 131:
            items.append((v(tag), tag, patch <= 99 or patch == 131))
    return items


def test_fate_ranges_show_the_jump() -> None:
    items = _incident_items()
    kept, deleted = fate_ranges(list(reversed(items)))  # any input order
    assert kept == ["0.0.90..0.0.99", "0.0.131"]
    assert deleted == ["0.0.100..0.0.130"]
    assert describe_fates(items) == "keeps 0.0.90..0.0.99, 0.0.131; deletes 0.0.100..0.0.130"
    assert describe_fates(items, sep="-") == "keeps 0.0.90-0.0.99, 0.0.131; deletes 0.0.100-0.0.130"
    full_kept, _ = fate_ranges(items, shorten=False)
    assert full_kept == [
        "0.0.90-20230904140823-3f09e471..0.0.99-20231003123435-edb508d4",
        "0.0.131-20240222212602-322f874b",
    ]


def test_fate_ranges_edges() -> None:
    assert fate_ranges([]) == ([], [])
    assert describe_fates([]) == ""
    only_kept = [(v(t), t, True) for t in ("1.0.0", "1.1.0", "2.0.0")]
    assert describe_fates(only_kept) == "keeps 1.0.0..2.0.0"
    # Equal versions with different fates: ordered by label, so the split is stable.
    tied = [(v("0.0.131_image"), "0.0.131_image", False), (v("0.0.131"), "0.0.131", True),
            (v("0.0.130"), "0.0.130", False)]
    assert fate_ranges(tied) == (["0.0.131"], ["0.0.130", "0.0.131_image"])


def test_short_labels_drop_build_stamps_only_when_unambiguous() -> None:
    chart = "0.0.131-20240222212602-322f874b"
    assert short_labels([chart, chart + "_image", "0.0.130-20240221160838-03b2a120"]) == {
        chart: "0.0.131",
        chart + "_image": "0.0.131_image",  # build metadata stays: it tells image from chart
        "0.0.130-20240221160838-03b2a120": "0.0.130",
    }
    rebuilt = "0.0.131-20240223101010-0123abcd"
    assert short_labels([chart, rebuilt]) == {chart: chart, rebuilt: rebuilt}
    assert short_labels([chart, "0.0.131"]) == {chart: chart, "0.0.131": "0.0.131"}
    # Only build stamps go: a real pre-release is not a release.
    assert short_labels(["1.0.0-rc.1", "1.0.0-20240101.rc"]) == {
        "1.0.0-rc.1": "1.0.0-rc.1", "1.0.0-20240101.rc": "1.0.0-20240101.rc"}
    assert short_labels(["v2.0.0-20240101"]) == {"v2.0.0-20240101": "v2.0.0"}


# --- properties: a total preorder that is SemVer 2.0 precedence -----------------------------

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)

# Draws are what these tests spend their time on, so each part of a version is one draw from
# a pool chosen to cover what precedence distinguishes: small numbers (ties and shared
# prefixes occur), numbers beyond 64 bits, and identifiers that differ by a digit, a letter,
# `-` or case (ASCII order), or by leading digits in an alphanumeric identifier.
NUMBERS = [0, 1, 2, 9, 10, 11, 2**64 + 1]
numbers = st.sampled_from(NUMBERS)
pre_identifiers = st.sampled_from([
    "0", "1", "2", "10", "20240222212602", "alpha", "beta", "rc", "a", "b", "A", "Z9", "a1",
    "1a", "0a", "-", "-1", "a-", "x-y", "20240222212602-322f874b", "20240222212602-a",
])
# Built once: a strategy made inside the composite would be re-validated on every draw.
maybe_prerelease = st.none() | st.lists(pre_identifiers, min_size=1, max_size=3).map(".".join)
maybe_build = st.none() | st.sampled_from(["image", "build.5", "001", "x-y.z", "sha.322f874b"])


@st.composite
def semver_strings(draw: st.DrawFn) -> str:
    major, minor, patch = draw(numbers), draw(numbers), draw(numbers)
    pre, build = draw(maybe_prerelease), draw(maybe_build)
    core = f"{major}.{minor}.{patch}"
    return core + ("" if pre is None else "-" + pre) + ("" if build is None else "+" + build)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _cmp(a: Version, b: Version) -> int:
    return (a > b) - (a < b)


@PROPERTY_SETTINGS
@given(st.lists(semver_strings(), min_size=1, max_size=5))
def test_order_is_a_total_preorder_and_semver_precedence(tags: list[str]) -> None:
    versions = [v(tag) for tag in tags]
    for tag, a in zip(tags, versions, strict=True):
        assert str(a.semver) == tag  # valid SemVer reads as itself
        assert a == a and a <= a and not a < a  # reflexive
    for (ta, a), (tb, b) in itertools.product(zip(tags, versions, strict=True), repeat=2):
        assert _cmp(a, b) == _sign(semver.Version.parse(ta).compare(tb))
        assert a <= b or b <= a  # total
        assert [a < b, a == b, a > b].count(True) == 1
        assert (a == b) == (a <= b and b <= a)
        if a == b:
            assert hash(a) == hash(b)
    for a, b, c in itertools.product(versions, repeat=3):
        if a <= b and b <= c:
            assert a <= c  # transitive
    # Sorting, by the methods or by the C-level key, gives semver's order.
    for ordered in (sorted(versions), sorted(versions, key=operator.attrgetter("sort_key"))):
        for i, j in itertools.combinations(range(len(ordered)), 2):
            assert ordered[i].semver.compare(ordered[j].semver) <= 0


@PROPERTY_SETTINGS
@given(semver_strings(), st.integers(0, 999_999), st.integers(0, 2**64), semver_strings())
def test_prefixed_partial_and_underscore_forms_order_like_the_normalised_form(
    tag: str, major: int, minor: int, other: str
) -> None:
    w = v(other)
    forms = [("v" + tag, tag), (tag.replace("+", "_"), tag), ("v" + tag.replace("+", "_"), tag)]
    for partial, full in ((f"{major}.{minor}", f"{major}.{minor}.0"), (f"{major}", f"{major}.0.0")):
        forms += [(partial, full), ("v" + partial, full), (partial + "_image", full)]
    for form, normalised in forms:
        assert v(form) == v(normalised)
        assert _cmp(v(form), w) == _sign(semver.Version.parse(normalised).compare(other))


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(semver_strings(), st.none() | st.sampled_from([0, 9, 10, 20, "a", "b0", "10a"])),
        min_size=1, max_size=5,
    )
)
def test_keyed_order_is_key_then_version(entries: list[tuple[str, int | str | None]]) -> None:
    pattern = VersionPattern(
        r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?:-(?P<pre>[^+@]+))?(?:\+[^@]*)?"
        r"(?:@(?P<key>.*))?"
    )
    versions = [v(tag + ("" if key is None else f"@{key}"), pattern) for tag, key in entries]

    def expected(entry: tuple[str, int | str | None]) -> tuple[object, ...]:
        tag, key = entry
        rank = (0,) if key is None else (1, key) if isinstance(key, int) else (2, key)
        return (rank, v(tag).sort_key[1:])

    wanted = [expected(entry) for entry in entries]
    for (a, wa), (b, wb) in itertools.product(zip(versions, wanted, strict=True), repeat=2):
        assert _cmp(a, b) == (wa > wb) - (wa < wb)  # type: ignore[operator]
