"""Property: whatever one artifact page of a fake Harbor is corrupted into (truncated,
repeated, emptied, an item dropped, duplicated or added, a field dropped or of another type,
X-Total-Count or Link changed), each repository of the snapshot is either exactly what
Harbor holds (same artifacts, same tags, same order) or named in ``incomplete``: never a
shorter or different list taken for the whole one (issue 12, items 8, 9, 11, 13)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakeharbor import Fault
from tests.sources.harbor.test_client import POLICY, artifacts, document, entry, fetch, harbor

SOURCE = document(entry("proj", {"big": artifacts("big", 250), "small": artifacts("small", 2)},
                        retention=POLICY))
ARTIFACTS = {r["repository"]["name"]: r["artifacts"]
             for r in SOURCE["projects"][0]["repositories"]}
BIG = ARTIFACTS["proj/big"]
PAGES = {page: BIG[(page - 1) * 100: page * 100] for page in (1, 2, 3)}


KINDS = ["truncate", "repeat", "empty", "drop-item", "duplicate-item", "add-item",
         "drop-field", "retype-field", "none"]


@st.composite
def corruptions(draw: st.DrawFn) -> dict[str, Any]:
    """A short description of one corruption (the body is built from it by ``_body``)."""
    headers: dict[str, str | None] = {}
    if draw(st.booleans()):
        headers["X-Total-Count"] = draw(st.one_of(
            st.integers(0, 400).map(str), st.just(str(10 ** 11)), st.just(None),
            st.sampled_from(["\u00b2", "", "-3", "2.5e2", " 250 "])))
    if draw(st.booleans()):
        headers["Link"] = draw(st.sampled_from([
            None, '</x?page=9&page_size=100>; rel="next"', '</x?page=1>; rel="prev"']))
    return {"page": draw(st.integers(1, 3)), "kind": draw(st.sampled_from(KINDS)),
            "at": draw(st.integers(0, 10 ** 6)), "other": draw(st.integers(0, 10 ** 6)),
            "field": draw(st.sampled_from(["digest", "push_time", "tags"])),
            "value": draw(st.sampled_from([5, "x", [], {}, True, None, 10 ** 30])),
            "headers": headers, "times": draw(st.sampled_from([1, 2, None]))}


def _body(corruption: dict[str, Any]) -> bytes | None:
    page, kind = corruption["page"], corruption["kind"]
    items = [dict(item) for item in PAGES[page]]
    index = corruption["at"] % len(items)
    other = corruption["other"]
    if kind == "none":
        return None
    if kind == "truncate":
        text = json.dumps(items).encode()
        return text[: corruption["at"] % len(text)]
    if kind == "repeat":
        return json.dumps(PAGES[[p for p in PAGES if p != page][other % 2]]).encode()
    if kind == "empty":
        return b"[]"
    if kind == "drop-item":
        del items[index]
    elif kind == "duplicate-item":
        items.insert(index, items[other % len(items)])
    elif kind == "add-item":
        items.insert(index, artifacts("extra", 1)[0])
    elif kind == "drop-field":
        del items[index][corruption["field"] if corruption["field"] != "tags" else "digest"]
    else:
        value = corruption["value"]
        if corruption["field"] == "tags" and value in ([], None):
            value = "x"  # an empty or null tag list is a valid answer (untagged), not corrupt
        items[index][corruption["field"]] = value
    return json.dumps(items).encode()


def _tags(items: list[Any]) -> list[tuple[Any, list[Any]]]:
    return [(a.get("digest"), [t.get("name") for t in a.get("tags") or []]) for a in items]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          print_blob=True)
@given(corruption=corruptions())
def test_a_corrupted_page_gives_the_whole_list_or_an_incomplete_repository(
        corruption: dict[str, Any]) -> None:
    with harbor(SOURCE) as fake:
        fake.faults.append(Fault("/big/artifacts$", None, query=f"page={corruption['page']}&",
                                 times=corruption["times"], body=_body(corruption),
                                 headers=corruption["headers"]))
        fetched = fetch(fake, ["proj"])
        assert fake.count < 60  # bounded, whatever the answers
    missing = {item["what"] for item in fetched["incomplete"]}
    read = {r["repository"]["name"]: r["artifacts"]
            for r in fetched["projects"][0]["repositories"]}
    for name, items in ARTIFACTS.items():
        assert name in missing or _tags(read[name]) == _tags(items), (name, corruption)
        assert not (name in missing and name in read)


REPOSITORIES = [r["repository"] for r in SOURCE["projects"][0]["repositories"]]


@st.composite
def list_corruptions(draw: st.DrawFn) -> dict[str, Any]:
    return {"kind": draw(st.sampled_from(["truncate", "empty", "drop-item", "duplicate-item",
                                          "add-item", "drop-field", "retype-field", "none"])),
            "at": draw(st.integers(0, 10 ** 6)),
            "field": draw(st.sampled_from(["name", "artifact_count"])),
            "value": draw(st.sampled_from([5, "x", "proj/", "other/app", None, -1, 0, 3, 251,
                                           True, 10 ** 30])),
            "total": draw(st.sampled_from([None, "0", "1", "3", "\u00b2", str(10 ** 11)])),
            "times": draw(st.sampled_from([1, None]))}


def _list_body(corruption: dict[str, Any]) -> bytes | None:
    items = [dict(item) for item in REPOSITORIES]
    index = corruption["at"] % len(items)
    kind = corruption["kind"]
    if kind == "none":
        return None
    if kind == "truncate":
        text = json.dumps(items).encode()
        return text[: corruption["at"] % len(text)]
    if kind == "empty":
        return b"[]"
    if kind == "drop-item":
        del items[index]
    elif kind == "duplicate-item":
        items.insert(index, items[(index + 1) % len(items)])
    elif kind == "add-item":
        items.insert(index, {**items[0], "id": 99, "name": "proj/ghost"})
    elif kind == "drop-field":
        del items[index][corruption["field"]]
    else:
        items[index][corruption["field"]] = corruption["value"]
    return json.dumps(items).encode()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
          print_blob=True)
@given(corruption=list_corruptions())
def test_a_corrupted_repository_list_gives_every_repository_or_names_what_is_missing(
        corruption: dict[str, Any]) -> None:
    headers = {} if corruption["total"] is None else {"X-Total-Count": corruption["total"]}
    with harbor(SOURCE) as fake:
        fake.faults.append(Fault("/projects/proj/repositories$", None,
                                 times=corruption["times"], body=_list_body(corruption),
                                 headers=headers))
        fetched = fetch(fake, ["proj"])
        assert fake.count < 60
    missing = {item["what"] for item in fetched["incomplete"]}
    read = {r["repository"]["name"]: r["artifacts"]
            for r in fetched["projects"][0]["repositories"]}
    for name, items in ARTIFACTS.items():
        if name in read:
            assert _tags(read[name]) == _tags(items), (name, corruption)
        else:
            # The repository itself, or its project's repository list, is named.
            assert name in missing or "proj" in missing, (name, corruption)
