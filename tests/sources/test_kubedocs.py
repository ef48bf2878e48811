"""kubedocs.json_documents: one document read at msgspec's speed must decide exactly as the
key-by-key reader does: a key twice in one object is refused however the text is laid out
(no space before the colon, space before it, strings holding '":' or beginning with a
colon), and every other document reads as the standard library reads it."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from harborguard.sources import kubedocs
from harborguard.sources.kubedocs import Unreadable, json_documents


def _strict(text: str) -> Any:
    """The reference: the standard library, refusing a key twice."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(set(keys)) != len(keys):
            raise ValueError("twice")
        return dict(items)

    return json.loads(text, object_pairs_hook=pairs)


@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}',
    '{"items":[{"a":1,"b":{"c":"x","c":"y"}}]}',
    '{\n  "kind": "List",\n  "items": [],\n  "kind": "List"\n}',
    '{"a" : 1, "a" : 2}',
    '{"a":1,"a":2,"s":"\\":"}',  # the string's '":' would make up for the key lost
    '{"a":1,"a":2,"s":":x"}',  # a string beginning with a colon: '":' again
    '{"a":"\\u003a","a":2}',
    '[{"x":1},{"y":{"z":[1,{"q":1,"q":1}]}}]',
    '{"a\\"":1,"a\\"":2}',  # a key ending in an escaped quote
    '{"a\\\\":1,"a\\\\":2}',  # a key ending in an escaped backslash
    '{"a":1,"a":2,"s":"\\\\\\":"}',  # an escaped backslash, then an escaped quote
    '{"\\u0061":1,"a":2}',  # one key, written two ways
])
def test_a_key_twice_is_refused_however_it_is_written(text: str) -> None:
    with pytest.raises(Unreadable, match="occurs twice in one object"):
        json_documents(text)


@pytest.mark.parametrize("text", [
    '{"a":"\\":","b":":","c":"x\\":y"}',
    '{"a" : 1, "b":2}',
    '{"a":"\\u003a\\u003A","b":[":",{"c":"\\"\\\\"}]}',
    '{"\\u0061":1,"b":"\\ud800"}',  # a lone surrogate: msgspec refuses it, json does not
    '{"n":NaN,"i":123456789012345678901234567890}',
    '[]', '{}', '[1,[2,[3]]]', '"just text"', '7',
])
def test_other_documents_read_as_the_standard_library_reads_them(text: str) -> None:
    assert json_documents(text) == [json.loads(text)]


def test_documents_one_after_another_are_all_read() -> None:
    assert json_documents('{"a":1}\n{"a":2}') == [{"a": 1}, {"a": 2}]


def test_nesting_past_the_limit_is_refused_on_either_path() -> None:
    deep = '{"a":' * 600 + "1" + "}" * 600
    with pytest.raises(json.JSONDecodeError, match="nested"):
        json_documents(deep)


_KEYS = ["a", "b", ":", '"', '":', "\\", "é", "k:", "\u2028"]
_TEXTS = ["", ":", '":', ':"', '\\":', "x", "\\u003a"]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice([rng.choice(_TEXTS), rng.randint(-5, 5), None, True])
    if roll < 0.6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return [(rng.choice(_KEYS), _value(rng, depth + 1)) for _ in range(rng.randint(0, 4))]


def _written(value: Any, rng: random.Random) -> str:
    """JSON text with random layout; objects are (key, value) pairs, so keys may repeat."""
    colon = rng.choice([":", ": ", " :", ":"])
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        body = ",".join(f"{json.dumps(k, ensure_ascii=rng.random() < 0.5)}{colon}"
                        f"{_written(v, rng)}" for k, v in value)
        return "{" + body + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_written(v, rng) for v in value) + "]"
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def test_random_documents_decide_as_the_key_by_key_reader() -> None:
    rng = random.Random(20261206)
    refused = read = 0
    for _ in range(3000):
        text = _written(_value(rng, 0), rng)
        try:
            expected = _strict(text)
        except ValueError:
            with pytest.raises(Unreadable):
                json_documents(text)
            refused += 1
        else:
            assert json_documents(text) == [expected], text
            read += 1
    assert refused > 300 and read > 300  # both verdicts were exercised


def test_the_fast_path_takes_kubectl_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """What kubectl prints (indented, no space before colons) never needs the key-by-key
    reader; the proof is what makes it fast, so it must hold for the usual text."""
    text = json.dumps({"kind": "List", "items": [
        {"kind": "Pod", "metadata": {"name": f"p{i}", "annotations": {"a": '{"x":1}'}},
         "spec": {"containers": [{"name": "c", "image": "h/p/r:1"}]}} for i in range(50)]},
        indent=4)

    def refuse(*_: Any) -> Any:
        raise AssertionError("read key by key")

    monkeypatch.setattr(kubedocs._DECODER, "raw_decode", refuse)
    assert json_documents(text) == [json.loads(text)]
