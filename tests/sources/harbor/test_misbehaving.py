"""A Harbor that misbehaves (issue 12, items 8-11 and 13): paging that never ends, counts
that disagree with what was read, answers trickled a byte at a time, headers that are not
numbers. Each ends in a bounded number of requests with the item named and incomplete."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.errors import SourceError
from harborguard.sources.harbor import RetryPolicy, client, paging
from harborguard.sources.harbor import fetch as fetch_plan
from tests.sources.harbor.test_client import (
    ADMIN,
    PASSWORD,
    POLICY,
    artifacts,
    document,
    entry,
    fetch,
    harbor,
    repo_names,
    simple,
)


def big(count: int = 250, *, artifact_count: int | None = None,
        drop_count: bool = False) -> dict[str, Any]:
    source = document(entry("proj", {"big": artifacts("big", count),
                                     "small": artifacts("small", 2)}, retention=POLICY))
    payload = source["projects"][0]["repositories"][0]["repository"]
    if artifact_count is not None:
        payload["artifact_count"] = artifact_count
    if drop_count:
        del payload["artifact_count"]
    return source


def only_big_missing(fetched: dict[str, Any]) -> str:
    assert repo_names(fetched) == ["proj/small"]
    [missing] = fetched["incomplete"]
    assert missing["what"] == "proj/big"
    return str(missing["reason"])


# -- item 8: paging that would never end ----------------------------------------------------

@pytest.mark.parametrize("total_count", [True, False], ids=["x-total-count", "links-only"])
def test_a_server_that_ignores_page_ends_and_the_repository_is_incomplete(
        total_count: bool) -> None:
    with harbor(big(), ignore_page="/big/artifacts$", total_count=total_count) as fake:
        fetched = fetch(fake, ["proj"])
        asked = len(fake.requests_to("/big/artifacts$"))
    assert "repeats items of earlier pages" in only_big_missing(fetched)
    # Three readings of at most three pages each: bounded, not 27,737 pages.
    assert asked <= 3 * 3


def test_a_short_list_that_always_links_to_a_next_page_is_incomplete() -> None:
    with harbor(simple(), ignore_page="/app/artifacts$") as fake:
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/app/artifacts$")) == 3
    assert repo_names(fetched) == ["proj/db"]
    assert "X-Total-Count 3 ends at page 1, but that page links to a next one" in \
        fetched["incomplete"][0]["reason"]


def test_a_server_that_ignores_page_in_the_project_list_is_a_source_error() -> None:
    entries = [entry(f"p{i:03d}", {}, project_id=i + 1) for i in range(150)]
    with harbor(document(*entries), ignore_page="/projects$", total_count=False) as fake:
        with pytest.raises(SourceError, match="cannot list the projects.*repeats items"):
            fetch(fake, all_projects=True)
        assert len(fake.requests_to("/projects$")) <= 3 * 2


def test_a_page_repeated_once_is_read_again_and_then_complete() -> None:
    with harbor(big()) as fake:
        # Page 2 answers page 1's items once (a cache in front of Harbor, say).
        page_one = json.dumps(big()["projects"][0]["repositories"][0]["artifacts"][:100])
        fake.fault("/big/artifacts$", None, query="page=2&", body=page_one.encode())
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/big/artifacts$")) == 6
    assert fetched["incomplete"] == []
    assert len(fetched["projects"][0]["repositories"][0]["artifacts"]) == 250


def test_an_empty_page_that_links_to_a_next_one_is_incomplete() -> None:
    with harbor(big(drop_count=True), total_count=False) as fake:
        fake.fault("/big/artifacts$", None, times=None, query="page=2&", body=b"[]")
        fetched = fetch(fake, ["proj"])
    assert "page 2 is empty but links to a next one" in only_big_missing(fetched)


def test_paging_stops_at_the_artifact_count() -> None:
    # Links only, and a server that keeps linking: the 251st item is past artifact_count.
    with harbor(big(artifact_count=150), total_count=False) as fake:
        fetched = fetch(fake, ["proj"])
        pages = [int(s.query["page"][0]) for s in fake.requests_to("/big/artifacts$")]
    assert max(pages) <= 2
    assert "artifact_count 150" in only_big_missing(fetched)


def test_paging_stops_at_the_hard_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "MAX_LIST_PAGES", 2)
    with harbor(big(drop_count=True), total_count=False) as fake:
        fetched = fetch(fake, ["proj"])
        pages = [int(s.query["page"][0]) for s in fake.requests_to("/big/artifacts$")]
    assert pages == [1, 2]  # no third page, and not read again: the cap is final
    assert "more than 2 pages of 100" in only_big_missing(fetched)


# -- item 9: a count that disagrees with what was read --------------------------------------

@pytest.mark.parametrize(("link", "artifact_count", "expected"), [
    (True, None, "X-Total-Count 100 but artifact_count 150"),
    (True, 100, "links to a next one"),
    (False, None, "X-Total-Count 100 but artifact_count 150"),
], ids=["links-and-count", "links-count-agrees-with-header", "count-only"])
def test_x_total_count_smaller_than_the_list_is_incomplete(
        link: bool, artifact_count: int | None, expected: str) -> None:
    with harbor(big(150, artifact_count=artifact_count), link=link) as fake:
        fake.fault("/big/artifacts$", None, times=None, headers={"X-Total-Count": "100"})
        fetched = fetch(fake, ["proj"])
    reason = only_big_missing(fetched)
    assert expected in reason and "read 3 times" in reason


def test_an_artifact_count_that_disagrees_with_a_consistent_list_is_incomplete() -> None:
    with harbor(big(150, artifact_count=151)) as fake:
        fetched = fetch(fake, ["proj"])
    assert "X-Total-Count 150 but artifact_count 151" in only_big_missing(fetched)


# -- item 11: a count too large to plan ------------------------------------------------------

def test_a_huge_x_total_count_is_not_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    with harbor(big(drop_count=True)) as fake:
        fake.fault("/big/artifacts$", None, times=None,
                   headers={"X-Total-Count": str(10 ** 11)})
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/big/artifacts$")) == 1
    assert "X-Total-Count 100000000000 is more than the 200000 items" in \
        only_big_missing(fetched)


def test_a_count_far_larger_than_the_list_stops_at_the_first_short_page() -> None:
    with harbor(big(drop_count=True)) as fake:
        fake.fault("/big/artifacts$", None, times=None, headers={"X-Total-Count": "199999"})
        fetched = fetch(fake, ["proj"], concurrency=2)
        asked = len(fake.requests_to("/big/artifacts$"))
    # Page 3 (50 items) or page 4 (none), whichever came back first.
    assert re.search(r"page [34] of the 2000 X-Total-Count 199999 gives holds (50|0) items",
                     only_big_missing(fetched))
    assert asked <= 3 * 5  # a few pages beyond the short one per reading, not 2,000


def test_a_page_larger_than_asked_for_is_incomplete() -> None:
    with harbor(big(150, drop_count=True), total_count=False, link=False) as fake:
        body = json.dumps(big(150)["projects"][0]["repositories"][0]["artifacts"]).encode()
        fake.fault("/big/artifacts$", None, times=None, body=body)
        fetched = fetch(fake, ["proj"])
    assert "page 1 holds 150 items, more than the 100 asked for" in only_big_missing(fetched)


def test_pages_are_asked_for_lazily_at_most_concurrency_at_once() -> None:
    with harbor(big(1000, drop_count=True), latency=0.01) as fake:
        fetched = fetch(fake, ["proj"], concurrency=2)
        assert fake.max_in_flight <= 2
    assert fetched["incomplete"] == []
    assert len(fetched["projects"][0]["repositories"][0]["artifacts"]) == 1000


# -- item 13: header values that are not numbers ---------------------------------------------

@pytest.mark.parametrize("value", ["\u00b2", "", "-1", "1e3", "0x10", "9" * 5000, "1 2",
                                   "\u00b9\u00b2"])
def test_a_malformed_x_total_count_names_the_header_and_the_repository(value: str) -> None:
    with harbor(big()) as fake:
        fake.fault("/big/artifacts$", None, times=None, headers={"X-Total-Count": value})
        fetched = fetch(fake, ["proj"])
    reason = only_big_missing(fetched)
    assert "malformed X-Total-Count header" in reason
    assert "/api/v2.0/projects/proj/repositories/big/artifacts" in reason


def test_a_malformed_x_total_count_on_the_project_list_is_a_source_error() -> None:
    with harbor(simple()) as fake:
        fake.fault("/projects$", None, times=None, headers={"X-Total-Count": "\u00b2"})
        with pytest.raises(SourceError, match="malformed X-Total-Count header"):
            fetch(fake, all_projects=True)


@pytest.mark.parametrize("value", ["\u00b2", "soon", "Mon, 99 Foo 2026 99:99:99 GMT", "-5"])
def test_a_malformed_retry_after_falls_back_to_the_usual_backoff(value: str) -> None:
    sleeps: list[float] = []
    with harbor(simple()) as fake:
        fake.fault("/db/artifacts$", 503, retry_after=value)
        fetched = fetch(fake, ["proj"], sleeps=sleeps)
    assert fetched["incomplete"] == []
    assert len(sleeps) == 1 and 0 < sleeps[0] < 1


# -- item 10: a whole answer within --timeout -------------------------------------------------

@pytest.mark.parametrize("head", [False, True], ids=["body", "headers-and-body"])
def test_a_trickled_answer_is_cut_off_and_retried(head: bool) -> None:
    with harbor(simple()) as fake:
        slow = fake.fault("/app/artifacts$", None, trickle=0.05, trickle_head=head)
        fetched = fetch(fake, ["proj"], timeout=0.5)
        assert slow.hits == 1
    assert fetched["incomplete"] == []
    assert fetched["projects"] == simple()["projects"]


def test_an_answer_trickled_every_time_is_incomplete() -> None:
    with harbor(simple()) as fake:
        fake.fault("/app/artifacts$", None, times=None, trickle=0.05)
        fetched = fetch(fake, ["proj"], timeout=0.5,
                        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01))
    assert repo_names(fetched) == ["proj/db"]
    [missing] = fetched["incomplete"]
    assert missing["what"] == "proj/app"
    assert missing["reason"].startswith("timed out") and "after 2 attempts" in missing["reason"]


def test_an_answer_larger_than_the_bound_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "MAX_RESPONSE_BYTES", 600)
    with harbor(simple()) as fake:
        fake.fault("/app/artifacts$", None, times=None, body=b"[" + b" " * 1000 + b"]")
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/app/artifacts$")) == 1
    assert "larger than 600 bytes" in fetched["incomplete"][0]["reason"]


def test_the_cli_timeout_bounds_a_trickled_answer(tmp_path: Path) -> None:
    with harbor(simple()) as fake:
        fake.fault("/app/artifacts$", None, times=None, trickle=0.2)
        target = tmp_path / "snap.json"
        result = CliRunner().invoke(
            cli, ["--harbor", fake.url, "--username", ADMIN, "--timeout", "1", "snapshot",
                  "--project", "proj", "-o", str(target)],
            env={"HARBOR_PASSWORD": PASSWORD}, catch_exceptions=False)
    assert result.exit_code == 3, result.stderr
    assert "incomplete: proj/app: timed out" in result.stderr
    assert PASSWORD not in result.stderr + target.read_text()


@pytest.mark.parametrize("digest", ["x", "sha256:abc", "SHA256:" + "a" * 64, "md5:" + "a" * 32,
                                    "sha256:" + "A" * 64])
def test_an_artifact_whose_digest_is_not_a_digest_makes_its_repository_incomplete(
        digest: str) -> None:
    source = document(entry("proj", {"app": artifacts("app", 1), "db": artifacts("db", 2)},
                            retention=POLICY))
    broken = [{**source["projects"][0]["repositories"][0]["artifacts"][0], "digest": digest}]
    with harbor(source) as fake:
        fake.fault("/app/artifacts$", None, times=None, body=json.dumps(broken).encode())
        fetched = fetch(fake, ["proj"])
    assert repo_names(fetched) == ["proj/db"]
    assert fetched["incomplete"] == [{
        "what": "proj/app",
        "reason": f"unreadable artifact list: artifacts[0].digest {digest!r} is not a digest"}]


def test_a_repository_list_that_disagrees_with_repo_count_is_incomplete() -> None:
    # An empty list, consistently counted 0: only the project's repo_count shows the lie.
    with harbor(big()) as fake:
        fake.fault("/projects/proj/repositories$", None, times=None, body=b"[]",
                   headers={"X-Total-Count": "0"})
        fetched = fetch(fake, ["proj"])
    assert fetched["projects"][0]["repositories"] == []
    [missing] = fetched["incomplete"]
    assert missing["what"] == "proj"
    assert "X-Total-Count 0 but repo_count 2" in missing["reason"]


@pytest.mark.parametrize("command", [["snapshot", "-o", "snap.json"], ["simulate"]])
def test_the_cli_names_a_malformed_header_and_exits_3(
        tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with harbor(big()) as fake:
        fake.fault("/big/artifacts$", None, times=None, headers={"X-Total-Count": "\u00b2"})
        result = CliRunner().invoke(
            cli, ["--harbor", fake.url, "--username", ADMIN, command[0], "--project", "proj",
                  *command[1:]],
            env={"HARBOR_PASSWORD": PASSWORD}, catch_exceptions=False)
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert ("proj/big: GET /api/v2.0/projects/proj/repositories/big/artifacts: malformed "
            "X-Total-Count header '\u00b2' (not a count)") in result.stdout + result.stderr


def test_a_values_yaml_larger_than_the_bound_is_incomplete(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_plan, "MAX_VALUES_CHARS", 100)
    charts = artifacts("chart", 2, kind="CHART")
    values = {charts[0]["digest"]: {"values.yaml": "image:\n  tag: '1'\n"},
              charts[1]["digest"]: {"values.yaml": "image:\n  tag: '1'\n" + "#" * 200}}
    source = document(entry("proj", {"charts": charts}, retention=POLICY,
                            additions={"charts": values}))
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
    [repository] = fetched["projects"][0]["repositories"]
    assert list(repository["additions"]) == [charts[0]["digest"]]
    assert fetched["incomplete"] == [{
        "what": f"proj/charts@{charts[1]['digest']}",
        "reason": "values.yaml: larger than 100 characters, the most harborguard reads of a "
                  "chart's values.yaml"}]
