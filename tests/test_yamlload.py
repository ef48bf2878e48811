"""The package's one YAML loader: safe, and bounded in what aliases expand to."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harborguard import yamlload
from harborguard.sources import gotmpl
from harborguard.sources.manifests import read_manifests

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("reader", [yamlload.compose_all, yamlload.load_all, yamlload.load,
                                    gotmpl.compose])
def test_billion_laughs_is_refused_by_every_entry_point(reader: object) -> None:
    assert callable(reader)
    with pytest.raises(yamlload.YamlLimitError, match="more than 1,000,000 nodes"):
        reader(LAUGHS)


@pytest.mark.parametrize("text", [
    "a: &a [*a]",
    "a: &a {b: *a}",
    "- &a\n  - &b [*a]\n",
    "x: &k {y: 1}\n&m {*m: 2}: 3\n",
])
def test_recursive_anchors_are_refused(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yamlload.compose_all(text)


def test_recursive_anchor_names_the_alias_and_line() -> None:
    with pytest.raises(yamlload.YamlLimitError) as raised:
        yamlload.load("ok: 1\nloop: &r [1, *r]\n")
    assert str(raised.value) == (
        "YAML alias *r (line 2) refers to a node that contains it; recursive YAML is not read")
    assert gotmpl.yaml_error(raised.value) == str(raised.value)


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    text = ("base: &base {image: {repository: r, tag: '1'}}\n"
            "app:\n  <<: *base\n  replicas: 2\nlist: [*base, *base]\n---\nnext: &base 2\n")
    first, second = yamlload.load_all(text)
    assert first["app"] == {"image": {"repository": "r", "tag": "1"}, "replicas": 2}
    assert first["list"] == [first["base"], first["base"]]
    assert second == {"next": 2}  # anchors do not cross documents


def test_the_bound_counts_expanded_nodes_exactly() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"  # map, 2 keys, a (4), b (1 + 4 + 4)
    yamlload.check(text, limit=16)
    with pytest.raises(yamlload.YamlLimitError):
        yamlload.check(text, limit=15)


def test_a_bound_across_documents() -> None:
    with pytest.raises(yamlload.YamlLimitError):
        yamlload.check("---\n[1, 2]\n---\n[3, 4]\n", limit=5)
    yamlload.check("---\n[1, 2]\n---\n[3, 4]\n", limit=6)


def test_invalid_and_deep_yaml_is_a_yaml_error_not_a_crash() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlload.compose_all("a: [unclosed\n")
    with pytest.raises(yaml.YAMLError):
        yamlload.load_all("[" * 50_000 + "]" * 50_000)
    with pytest.raises(yaml.YAMLError):
        yamlload.load("".join(" " * i + "k:\n" for i in range(5_000)))
    assert yamlload.load("") is None and yamlload.load_all("") == []


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlload.load("!!python/object/apply:os.system ['true']")


# -- properties ------------------------------------------------------------------------------

TOKENS = ["&a ", "&b ", "*a", "*b", "[", "]", "{", "}", ": ", "- ", "\n", "  ", "x", ", ",
          "<<: ", "'", "---\n", "1", "? "]


def expanded(value: object, limit: int, path: frozenset[int] = frozenset()) -> int:
    """Nodes of the data as a tree; fails on a cycle (the loader must have refused it)."""
    assert id(value) not in path, "a recursive structure got through"
    if isinstance(value, dict):
        inner = path | {id(value)}
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        inner = path | {id(value)}
        children = list(value)
    else:
        return 1
    total = 1
    for child in children:
        total += expanded(child, limit, inner)
        assert total <= limit
    return total


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=80))
def test_any_yaml_is_bounded_or_refused(tokens: list[str]) -> None:
    text = "".join(tokens)
    try:
        documents = yamlload.load_all(text)
    except yaml.YAMLError:
        return
    assert sum(expanded(d, 1_000_000) for d in documents) <= 1_000_000


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_under_manifests_are_read_or_named(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "components/app/values").mkdir(parents=True)
        (root / "components/app/helmfile.yaml").write_bytes(data)
        (root / "components/app/values/tools.yaml").write_bytes(data)
        evidence = read_manifests(str(root), "tools")
        assert all(isinstance(p, str) and "\n" not in p for p in evidence.problems)
