"""The Harbor API source against a fake Harbor served over real HTTP (tests/fakeharbor.py)."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from harborguard.errors import InputError, SourceError
from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import parse_snapshot
from harborguard.sources.harbor import (
    HarborClient,
    RetryPolicy,
    fetch_snapshot,
    repository_path,
)
from harborguard.timeutil import parse_nanos
from tests.builders import T, art, iso, policy, rule, shared_dir
from tests.conftest import SNAPSHOT_VALIDATOR
from tests.fakeharbor import FakeHarbor, iter_payloads

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "toolforge-snapshot.json"
ADMIN = "admin"
ROBOT = "robot$proj+ci"
PASSWORD = "Hunter2:with-colon&more"
USERS = {ADMIN: PASSWORD, ROBOT: PASSWORD}
NOW = datetime(2026, 3, 1, tzinfo=UTC)
ARTIFACT_QUERY = {"with_tag": ["true"], "with_label": ["true"],
                  "with_immutable_status": ["true"]}
IMMUTABLE_RULE = {
    "id": 3, "priority": 0, "disabled": False, "action": "immutable",
    "template": "immutable_template",
    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "*-stable"}],
    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                        "pattern": "**"}]},
}


# -- data builders --------------------------------------------------------------------------

def artifacts(prefix: str, count: int, *, kind: str = "IMAGE") -> list[dict[str, Any]]:
    return [
        art(f"{prefix}-{i}", [f"1.0.{i}"], T - timedelta(minutes=i), art_id=i + 1, kind=kind)
        for i in range(count)
    ]


def entry(
    name: str,
    repos: dict[str, list[dict[str, Any]]],
    *,
    public: bool = False,
    retention: dict[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
    project_id: int = 1,
    additions: dict[str, dict[str, dict[str, str]]] | None = None,
) -> dict[str, Any]:
    metadata = {"public": "true" if public else "false"}
    if retention is not None:
        retention = {**retention, "id": project_id,
                     "scope": {"level": "project", "ref": project_id}}
        metadata["retention_id"] = str(project_id)
    repositories = []
    for i, (repo, items) in enumerate(repos.items()):
        item: dict[str, Any] = {
            "repository": {"id": project_id * 1000 + i, "project_id": project_id,
                           "name": f"{name}/{repo}", "artifact_count": len(items),
                           "pull_count": 0, "creation_time": iso(T), "update_time": iso(T)},
            "artifacts": items,
        }
        if additions and repo in additions:
            item["additions"] = additions[repo]
        repositories.append(item)
    return {
        "project": {"project_id": project_id, "name": name, "owner_id": 1,
                    "owner_name": "admin", "repo_count": len(repos), "creation_time": iso(T),
                    "update_time": iso(T), "metadata": metadata},
        "retention": retention,
        "immutable_rules": rules if rules is not None else [IMMUTABLE_RULE],
        "repositories": repositories,
    }


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "harborguard.snapshot/v1", "harbor": "https://harbor.example.org",
            "harbor_version": "v2.11.1-6b7ecba1", "taken_at": "2026-03-01T00:00:00Z",
            "incomplete": [], "projects": list(entries)}


POLICY = policy(rule("latestPushedK", 10))


def simple(**options: Any) -> dict[str, Any]:
    return document(entry("proj", {"app": artifacts("app", 3), "db": artifacts("db", 2)},
                          retention=POLICY, **options))


@contextmanager
def harbor(snapshot: dict[str, Any], **options: Any) -> Iterator[FakeHarbor]:
    options.setdefault("users", USERS)
    with FakeHarbor(snapshot, **options) as fake:
        yield fake


def connect(fake: FakeHarbor, username: str | None = ADMIN, password: str | None = PASSWORD,
            *, sleeps: list[float] | None = None, **options: Any) -> HarborClient:
    """Retries without real sleeping: the delays asked for are recorded in ``sleeps``."""
    record = [] if sleeps is None else sleeps
    options.setdefault("retry", RetryPolicy(base_delay=0.01, max_delay=0.05))
    return HarborClient(fake.url, username=username, password=password if username else None,
                        sleep=record.append, jitter=lambda: 0.5, **options)


def fetch(fake: FakeHarbor, projects: list[str] | None = None, *, all_projects: bool = False,
          **options: Any) -> dict[str, Any]:
    fetch_options = {k: options.pop(k) for k in ("progress", "with_policies") if k in options}
    with connect(fake, **options) as client:
        return fetch_snapshot(client, projects, all_projects=all_projects, now=lambda: NOW,
                              **fetch_options)


def repo_names(snapshot: dict[str, Any], project: int = 0) -> list[str]:
    return [r["repository"]["name"] for r in snapshot["projects"][project]["repositories"]]


def artifact_pages(fake: FakeHarbor, repo: str = "") -> list[int]:
    return [int(s.query["page"][0]) for s in fake.requests_to(f"{repo}/artifacts$")]


# -- round trip -----------------------------------------------------------------------------

def _example_with_values() -> dict[str, Any]:
    source: dict[str, Any] = json.loads(EXAMPLE.read_text())
    for repo in source["projects"][0]["repositories"]:
        for artifact in repo["artifacts"]:
            del artifact["blobs"]  # read only with --dedup, from /v2/, not the Harbor API
        charts = [a for a in repo["artifacts"] if a["type"] == "CHART"]
        if charts:
            repo["additions"] = {
                a["digest"]: {"values.yaml": f"image:\n  tag: {a['tags'][0]['name']}\n"}
                for a in charts
            }
    return source


def test_round_trip_of_the_example_gives_back_the_same_snapshot() -> None:
    source = _example_with_values()
    with harbor(source) as fake:
        fetched = fetch(fake, ["toolforge"])
        charts = sum(len(r.get("additions", {})) for r in source["projects"][0]["repositories"])
        # systeminfo, users/current (the credentials accepted), project, retention,
        # immutable rules, repositories, 4 artifact lists, one values.yaml per chart:
        # nothing the data did not need.
        assert fake.count == 6 + 4 + charts
        artifact_queries = [s.query for s in fake.requests_to("/artifacts$")]
        assert artifact_queries == [{**ARTIFACT_QUERY, "page": ["1"], "page_size": ["100"]}] * 4
        url = fake.url
    assert fetched["projects"] == source["projects"]  # order of everything included
    assert fetched["harbor"] == url
    assert fetched["harbor_version"] == source["harbor_version"]
    assert fetched["taken_at"] == "2026-03-01T00:00:00Z"
    assert fetched["incomplete"] == []
    SNAPSHOT_VALIDATOR.validate(fetched)
    live, offline = parse_snapshot(fetched, "live"), parse_snapshot(source, "file")
    now = parse_nanos(source["taken_at"])
    behaviour = resolve(source["harbor_version"])
    decisions = [[d.action for r in p.repositories for d in r.decisions]
                 for p in simulate(live, now, behaviour).projects]
    assert decisions == [[d.action for r in p.repositories for d in r.decisions]
                         for p in simulate(offline, now, behaviour).projects]


def test_labels_and_immutable_status_are_asked_for() -> None:
    items = artifacts("app", 2)
    items[0]["tags"][0]["immutable"] = True
    items[1]["labels"] = [{"id": 4, "name": "keep", "description": "", "color": "#000000",
                           "scope": "g", "project_id": 0, "creation_time": iso(T),
                           "update_time": iso(T)}]
    source = document(entry("proj", {"app": items}, retention=POLICY))
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
    assert fetched["projects"] == source["projects"]


# -- pagination -----------------------------------------------------------------------------

def test_250_artifacts_are_read_in_three_pages_in_api_order() -> None:
    source = document(entry("proj", {"big": artifacts("big", 250)}, retention=POLICY))
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
        assert sorted(artifact_pages(fake)) == [1, 2, 3]
        assert {s.query["page_size"][0] for s in fake.requests_to("/artifacts$")} == {"100"}
    assert fetched["projects"][0]["repositories"][0]["artifacts"] == \
        source["projects"][0]["repositories"][0]["artifacts"]


@pytest.mark.parametrize("link", [True, False], ids=["link-header", "no-paging-headers"])
def test_pages_are_followed_without_x_total_count(link: bool) -> None:
    source = document(entry("proj", {"big": artifacts("big", 250),
                                     "even": artifacts("even", 200)}, retention=POLICY))
    with harbor(source, total_count=False, link=link) as fake:
        fetched = fetch(fake, ["proj"])
        assert artifact_pages(fake, "big") == [1, 2, 3]
        # Without any header a full last page costs one more (empty) page.
        assert artifact_pages(fake, "even") == ([1, 2] if link else [1, 2, 3])
    assert fetched["projects"] == source["projects"]
    assert fetched["incomplete"] == []


def test_a_list_that_changes_between_pages_is_read_again() -> None:
    source = document(entry("proj", {"big": artifacts("big", 250)}, retention=POLICY))
    with harbor(source) as fake:
        fake.fault("/artifacts$", None, query="page=2&", headers={"X-Total-Count": "251"})
        fetched = fetch(fake, ["proj"])
        assert sorted(artifact_pages(fake)) == [1, 1, 2, 2, 3, 3]
    assert fetched["incomplete"] == []
    assert len(fetched["projects"][0]["repositories"][0]["artifacts"]) == 250


def test_a_list_that_keeps_changing_is_incomplete() -> None:
    source = simple()
    with harbor(source) as fake:
        fake.fault("/app/artifacts$", None, times=None, headers={"X-Total-Count": "4"})
        fetched = fetch(fake, ["proj"])
    assert repo_names(fetched) == ["proj/db"]
    [missing] = fetched["incomplete"]
    assert missing["what"] == "proj/app"
    assert "kept changing" in missing["reason"] and "X-Total-Count 4" in missing["reason"]


def test_all_projects_are_listed_across_pages_in_api_order() -> None:
    entries = [entry(f"p{i:03d}", {"app": artifacts(f"p{i}", 1)} if i % 40 == 0 else {},
                     project_id=i + 1, public=i % 2 == 0) for i in range(101)]
    source = document(*entries)
    with harbor(source) as fake:
        fetched = fetch(fake, all_projects=True)
        assert sorted(int(s.query["page"][0]) for s in fake.requests_to("/projects$")) == [1, 2]
        # Listed projects are not fetched again one by one.
        assert fake.requests_to(r"/projects/p\d+$") == []
    assert fetched["projects"] == source["projects"]
    with harbor(source) as fake:
        anonymous = fetch(fake, all_projects=True, username=None, with_policies=False)
    assert [p["project"]["name"] for p in anonymous["projects"]] == \
        [f"p{i:03d}" for i in range(0, 101, 2)]


# -- names ----------------------------------------------------------------------------------

def test_nested_repository_names_are_encoded_twice() -> None:
    source = document(entry("proj", {"team/app": artifacts("t", 2), "a/b/c": artifacts("c", 1),
                                     "plain": artifacts("p", 1)}, retention=POLICY))
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
        raw = {s.raw_path for s in fake.requests_to("/artifacts$")}
        # Encoded once, Harbor's router would see the slash and find no route.
        single = httpx.get(f"{fake.url}/api/v2.0/projects/proj/repositories/team%2Fapp/artifacts",
                           auth=(ADMIN, PASSWORD))
        assert single.status_code == 404
    assert raw == {"/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts",
                   "/api/v2.0/projects/proj/repositories/a%252Fb%252Fc/artifacts",
                   "/api/v2.0/projects/proj/repositories/plain/artifacts"}
    assert fetched["projects"] == source["projects"]
    assert repository_path("p", "p/x y/z") == "/api/v2.0/projects/p/repositories/x%2520y%252Fz"


def test_a_numeric_project_name_is_read_by_name() -> None:
    source = document(entry("12345", {"app": artifacts("n", 1)}, project_id=7),
                      entry("other", {}, project_id=12345))
    with harbor(source) as fake:
        fetched = fetch(fake, ["12345"])
        as_id = httpx.get(f"{fake.url}/api/v2.0/projects/12345", auth=(ADMIN, PASSWORD))
        assert as_id.json()["name"] == "other"  # what a client without the header gets
        ours = [s for s in fake.requests_to("/projects/12345(/immutabletagrules)?$")
                if s.headers["user-agent"].startswith("harborguard/")]
        assert len(ours) == 2
        assert all(s.headers.get("x-is-resource-name") == "true" for s in ours)
    assert [p["project"]["name"] for p in fetched["projects"]] == ["12345"]
    assert repo_names(fetched) == ["12345/app"]


# -- authentication -------------------------------------------------------------------------

def test_a_robot_account_works() -> None:
    source = simple()
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"], username=ROBOT)
        assert {s.user for s in fake.seen} == {ROBOT}
    assert fetched["incomplete"] == []
    assert fetched["projects"] == source["projects"]


def test_a_wrong_password_names_the_account_and_never_the_password() -> None:
    with harbor(simple()) as fake, pytest.raises(SourceError) as caught:
        fetch(fake, ["proj"], password="wrong-" + PASSWORD)
    message = str(caught.value)
    assert "account 'admin'" in message and "HTTP 401" in message
    assert "HARBOR_PASSWORD" in message
    assert PASSWORD not in message


def test_missing_permissions_name_the_account_and_the_permission() -> None:
    granted = {"project:read", "repository:list", "immutable-tag:list", "artifact:list"}
    with harbor(simple(), permissions={ROBOT: granted}) as fake:
        fetched = fetch(fake, ["proj"], username=ROBOT)
    assert fetched["incomplete"] == [{
        "what": "proj",
        "reason": "retention policy: account 'robot$proj+ci' may not read the retention policy "
                  "of project 'proj' (HTTP 403); it needs the tag-retention:read permission",
    }]
    assert fetched["projects"][0]["retention"] is None
    assert repo_names(fetched) == ["proj/app", "proj/db"]

    with harbor(simple(), permissions={ROBOT: granted - {"artifact:list"}}) as fake:
        fetched = fetch(fake, ["proj"], username=ROBOT)
    assert [m["what"] for m in fetched["incomplete"]] == ["proj", "proj/app", "proj/db"]
    assert "it needs the artifact:list permission" in fetched["incomplete"][1]["reason"]
    assert repo_names(fetched) == []


def test_anonymous_access_reads_a_public_project_but_not_its_policy_or_rules() -> None:
    source = simple(public=True)
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"], username=None)
    assert fetched["harbor_version"] is None  # Harbor omits it for anonymous callers
    assert repo_names(fetched) == ["proj/app", "proj/db"]
    assert fetched["projects"][0]["repositories"] == source["projects"][0]["repositories"]
    reasons = {m["reason"].split(":")[0]: m["reason"] for m in fetched["incomplete"]}
    assert set(reasons) == {"retention policy", "immutable tag rules"}
    assert "HTTP 401" in reasons["retention policy"]
    assert "tag-retention:read, or use --policy" in reasons["retention policy"]
    assert "immutable-tag:list" in reasons["immutable tag rules"]

    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"], username=None, with_policies=False)
        assert fake.requests_to("/retentions/") == []
    assert [m["reason"].split(":")[0] for m in fetched["incomplete"]] == ["immutable tag rules"]


def test_anonymous_access_to_a_private_project_fails_with_the_fix() -> None:
    with harbor(simple()) as fake, pytest.raises(SourceError) as caught:
        fetch(fake, ["proj"], username=None)
    assert "not visible to anonymous access (HTTP 401)" in str(caught.value)
    assert "HARBOR_USERNAME" in str(caught.value)


def test_a_missing_project_is_a_source_error() -> None:
    with harbor(simple()) as fake:
        with pytest.raises(SourceError) as caught:
            fetch(fake, ["proj", "nope"])
        # Harbor checks permissions before existence: a missing project is a 403.
        assert "project 'nope'" in str(caught.value)
        assert "(HTTP 403): it does not exist" in str(caught.value)
        fake.fault(r"/projects/nope$", 404, times=None)
        with pytest.raises(SourceError) as caught:
            fetch(fake, ["nope"])
        assert str(caught.value).startswith(f"project 'nope' not found on {fake.url} (404); "
                                            "list projects with")


def test_no_cookie_is_ever_sent_back() -> None:
    with harbor(simple()) as fake:
        fetch(fake, ["proj"])
        # An injected client that would keep cookies is made to keep none.
        with httpx.Client() as keeps_cookies:
            client = HarborClient(fake.url, username=ADMIN, password=PASSWORD,
                                  http=keeps_cookies)
            fetched = fetch_snapshot(client, ["proj"])
            # The fake's CSRF trap is real: a plain cookie-keeping client trips it.
            with httpx.Client(base_url=fake.url, auth=(ADMIN, PASSWORD)) as plain:
                assert plain.get("/api/v2.0/systeminfo").status_code == 200
                assert plain.get("/api/v2.0/systeminfo").status_code == 403
        assert sum("cookie" in s.headers for s in fake.seen) == 1
        assert all("set-cookie" not in s.headers for s in fake.seen)
    assert fetched["incomplete"] == []


# -- retries and failures -------------------------------------------------------------------

def test_5xx_then_success_is_retried_with_growing_backoff() -> None:
    sleeps: list[float] = []
    with harbor(simple()) as fake:
        fake.fault("/app/artifacts$", 503, times=2)
        fetched = fetch(fake, ["proj"], sleeps=sleeps)
        assert len(fake.requests_to("/app/artifacts$")) == 3
    assert fetched["incomplete"] == []
    assert sleeps == pytest.approx([0.0075, 0.015])  # 0.01 doubling, equal jitter at 0.5


def test_5xx_forever_makes_one_repository_incomplete_and_the_rest_is_read() -> None:
    source = document(entry("proj", {"app": artifacts("a", 2), "broken": artifacts("b", 2),
                                     "db": artifacts("d", 1)}, retention=POLICY))
    with harbor(source) as fake:
        fake.fault("/broken/artifacts$", 503, times=None)
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/broken/artifacts$")) == 4
    assert fetched["incomplete"] == [{"what": "proj/broken", "reason": "HTTP 503 after 4 attempts"}]
    assert repo_names(fetched) == ["proj/app", "proj/db"]
    SNAPSHOT_VALIDATOR.validate(fetched)
    assert parse_snapshot(fetched, "live").incomplete[0].what == "proj/broken"


def test_429_honours_retry_after() -> None:
    sleeps: list[float] = []
    with harbor(simple()) as fake:
        fake.fault("/db/artifacts$", 429, retry_after="2")
        fetched = fetch(fake, ["proj"], sleeps=sleeps)
    assert sleeps == [2.0]
    assert fetched["incomplete"] == []


def test_a_retry_after_longer_than_the_limit_is_not_waited_for() -> None:
    sleeps: list[float] = []
    with harbor(simple()) as fake:
        fake.fault("/db/artifacts$", 429, times=None, retry_after="3600")
        fetched = fetch(fake, ["proj"], sleeps=sleeps)
        assert len(fake.requests_to("/db/artifacts$")) == 1
    assert sleeps == []
    assert fetched["incomplete"][0]["what"] == "proj/db"
    assert "Retry-After 3600 s" in fetched["incomplete"][0]["reason"]


def test_a_timeout_is_retried() -> None:
    with harbor(simple()) as fake:
        slow = fake.fault("/app/artifacts$", None, delay=0.5)
        fetched = fetch(fake, ["proj"], timeout=0.1)
        assert slow.hits == 1
    assert fetched["incomplete"] == []
    assert fetched["projects"] == simple()["projects"]


def test_malformed_json_is_incomplete_without_retries() -> None:
    with harbor(simple()) as fake:
        fake.fault("/app/artifacts$", None, times=None, body=b'[{"digest": "sha256:')
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/app/artifacts$")) == 1
    assert fetched["incomplete"] == [{
        "what": "proj/app", "reason": "malformed JSON in the HTTP 200 answer at line 1 column 13",
    }]
    assert repo_names(fetched) == ["proj/db"]


def test_an_artifact_the_reader_would_reject_makes_its_repository_incomplete() -> None:
    source = document(entry("proj", {"app": artifacts("app", 1), "db": artifacts("db", 2)},
                            retention=POLICY))
    with harbor(source) as fake:
        fake.fault("/app/artifacts$", None, times=None, headers={"X-Total-Count": "1"},
                   body=json.dumps([{"digest": 5}]).encode())
        fetched = fetch(fake, ["proj"])
    assert fetched["incomplete"] == [{
        "what": "proj/app",
        "reason": "unreadable artifact list: artifacts[0].digest: has the wrong type (int)",
    }]
    parse_snapshot(fetched, "live")  # the document itself stays readable


def test_a_project_without_retention_policy() -> None:
    source = document(entry("proj", {"app": artifacts("a", 1)}, retention=None, rules=[]))
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
        assert fake.requests_to("/retentions/") == []
    assert fetched["projects"][0]["retention"] is None
    assert fetched["projects"][0]["immutable_rules"] == []
    assert fetched["incomplete"] == []


def test_a_policy_without_rules_arrives_without_the_key_and_stays_readable() -> None:
    source = simple()
    del source["projects"][0]["retention"]["rules"]  # go-swagger omits an empty list
    with harbor(source) as fake:
        fetched = fetch(fake, ["proj"])
    assert fetched["incomplete"] == []
    assert fetched["projects"][0]["retention"]["rules"] == []
    parse_snapshot(fetched, "live")


def test_chart_values_are_read_for_charts_only_and_a_failure_is_recorded() -> None:
    charts = artifacts("chart", 3, kind="CHART")
    values = {charts[0]["digest"]: {"values.yaml": "image:\n  tag: 1.0.0\n"}}
    source = document(entry("proj", {"mixed": charts + artifacts("img", 2)}, retention=POLICY,
                            additions={"mixed": values}))
    with harbor(source) as fake:
        fake.fault(charts[2]["digest"] + "/additions/values.yaml$", 503, times=None)
        fetched = fetch(fake, ["proj"])
        assert len(fake.requests_to("/additions/values.yaml$")) == 2 + 4
    repo = fetched["projects"][0]["repositories"][0]
    assert repo["additions"] == {charts[0]["digest"]: values[charts[0]["digest"]],
                                 charts[1]["digest"]: {"values.yaml": ""}}
    assert fetched["incomplete"] == [{
        "what": f"proj/mixed@{charts[2]['digest']}",
        "reason": "values.yaml: HTTP 503 after 4 attempts",
    }]


def test_unreachable_harbor_is_a_source_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = HarborClient(f"http://{ADMIN}@127.0.0.1:{port}/", password=PASSWORD,
                          sleep=sleeps.append, retry=RetryPolicy(base_delay=0.01))
    with client, pytest.raises(SourceError) as caught:
        fetch_snapshot(client, ["proj"])
    assert str(caught.value).startswith(f"cannot reach Harbor at http://127.0.0.1:{port}: "
                                        "connection failed")
    assert str(caught.value).endswith("after 4 attempts")
    assert len(sleeps) == 3
    assert PASSWORD not in str(caught.value)


def test_something_that_is_not_harbor_is_a_source_error() -> None:
    with harbor(simple()) as fake:
        fake.fault("/systeminfo$", None, body=b"<html>login</html>")
        with pytest.raises(SourceError, match="no Harbor v2.0 API at .*malformed JSON"):
            fetch(fake, ["proj"])
        fake.fault("/systeminfo$", 404)
        with pytest.raises(SourceError, match=r"no Harbor v2.0 API at .*HTTP 404"):
            fetch(fake, ["proj"])


def test_the_password_never_appears_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, base64.b64encode(f"{ROBOT}:{PASSWORD}".encode()).decode()]
    texts: list[str] = []
    granted = {"project:read", "repository:list", "artifact:list"}
    with harbor(simple(), permissions={ROBOT: granted}) as fake:
        fake.fault("/db/artifacts$", 503, times=None)
        fake.fault("/app/artifacts$", None, body=b"{")
        with connect(fake, ROBOT) as client:
            texts += [repr(client), json.dumps(fetch_snapshot(client, ["proj"]))]
        for wrong in ("x" + PASSWORD, PASSWORD + "x"):
            with pytest.raises(SourceError) as caught:
                fetch(fake, ["proj"], username=ROBOT, password=wrong)
            texts.append(str(caught.value))
            secrets.append(wrong)
    texts.append(caplog.text)
    assert "retry" in caplog.text  # the log did record something
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_concurrency_is_bounded_and_progress_reaches_the_end() -> None:
    source = document(entry("proj", {f"r{i}": artifacts(f"r{i}", 1) for i in range(24)},
                            retention=POLICY))
    calls: list[tuple[int, int]] = []
    with harbor(source, latency=0.02) as fake:
        fetched = fetch(fake, ["proj"], concurrency=4, progress=lambda d, t: calls.append((d, t)))
        assert fake.max_in_flight == 4
    assert len(repo_names(fetched)) == 24
    assert calls[-1] == (24, 24)
    done = [d for d, _ in calls]
    assert done == sorted(done)


# -- client construction --------------------------------------------------------------------

def test_the_client_normalises_its_url_and_refuses_bad_input(tmp_path: Path) -> None:
    client = HarborClient("https://u%40corp@harbor.example.org:8443/api/v2.0/", password="p:w")
    assert (client.url, client.account) == ("https://harbor.example.org:8443", "u@corp")
    assert "p:w" not in repr(client)
    client.close()
    # A password in the URL is refused, masked (item 15: a raw '@' in the password).
    with pytest.raises(InputError, match="holds a password") as refused:
        HarborClient("http://robot:Pa@ssTail99@harbor.example.org")
    assert "ssTail99" not in str(refused.value) and "Pa" not in str(refused.value)
    assert "http://***@harbor.example.org" in str(refused.value)
    with pytest.raises(InputError, match="has no password"):
        HarborClient("https://harbor.example.org", username=ADMIN)
    with pytest.raises(InputError, match="not an http"):
        HarborClient("harbor.example.org")
    with pytest.raises(InputError, match="--ca-bundle"):
        HarborClient("https://harbor.example.org", ca_bundle=str(tmp_path / "missing.pem"))
    with harbor(simple()) as fake, connect(fake) as connected:
        with pytest.raises(InputError, match="--all-projects"):
            fetch_snapshot(connected, None)
        with pytest.raises(InputError, match="--all-projects"):
            fetch_snapshot(connected, ["proj"], all_projects=True)


# -- the fake against Harbor's API spec -----------------------------------------------------

SPEC: dict[str, Any] = yaml.safe_load((shared_dir() / "harbor" / "swagger.yaml").read_text())


def to_json_schema(node: Any) -> Any:
    """Swagger 2.0 -> JSON Schema. go-swagger declares no nullability, so null is allowed
    everywhere; a bare ``type: object`` is Go's interface{} (rule params hold numbers,
    extra_attrs strings), so it allows anything. Declared objects allow no undeclared field:
    the fake must not invent what Harbor does not send."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"anyOf": [{"$ref": node["$ref"]}, {"type": "null"}]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in ("description", "example", "format"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(schema) for name, schema in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    kind = out.get("type")
    if kind == "object" and "properties" not in out and "additionalProperties" not in out:
        return {}
    if kind == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    return out


DEFINITIONS = {name: to_json_schema(schema) for name, schema in SPEC["definitions"].items()}


def response_validator(route: str, status: int) -> jsonschema.Draft7Validator | None:
    response = SPEC["paths"][route]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response.get("schema")
    if schema is None or schema.get("type") == "string":
        return None
    return jsonschema.Draft7Validator({"definitions": DEFINITIONS, **to_json_schema(schema)})


def test_every_answer_of_the_fake_follows_swagger_yaml() -> None:
    source = _example_with_values()
    source["projects"].append(entry(
        "nested", {"team/app": artifacts("n", 120), "charts/x": artifacts("c", 2, kind="CHART")},
        public=True, retention=policy(rule("latestPushedK", 5), rule("nDaysSinceLastPull", 30)),
        project_id=13))
    with harbor(source, record_bodies=True,
                permissions={ROBOT: {"project:read", "repository:list"}}) as fake:
        fetch(fake, all_projects=True)
        fetch(fake, ["nested"], username=None)  # 401 answers
        fetch(fake, ["nested"], username=ROBOT)  # 403 answers
        httpx.get(f"{fake.url}/api/v2.0/projects?page_size=101", auth=(ADMIN, PASSWORD))
        httpx.get(f"{fake.url}/api/v2.0/users/current", auth=(ADMIN, "wrong"))
        answers = list(iter_payloads(fake))
    checked: dict[str, set[int]] = {}
    for seen in answers:
        validator = response_validator(seen.route, seen.status)  # type: ignore[arg-type]
        assert validator is not None, (seen.route, seen.status)
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
                  for e in validator.iter_errors(seen.body)]
        assert errors == [], (seen.route, seen.status, errors[:3])
        checked.setdefault(str(seen.route), set()).add(seen.status)
    assert checked == {
        "/systeminfo": {200},
        "/users/current": {200, 401, 412},
        "/projects": {200, 422},
        "/projects/{project_name_or_id}": {200},
        "/retentions/{id}": {200, 401, 403},
        "/projects/{project_name_or_id}/immutabletagrules": {200, 401, 403},
        "/projects/{project_name}/repositories": {200},
        "/projects/{project_name}/repositories/{repository_name}/artifacts": {200, 403},
    }
    for name in ("Project", "Repository", "Artifact", "Tag", "RetentionPolicy", "ImmutableRule"):
        assert name in DEFINITIONS


def test_the_fake_rejects_pages_over_100_and_links_like_harbor() -> None:
    source = document(entry("proj", {"team/app": artifacts("a", 250)}, retention=POLICY))
    with harbor(source) as fake:
        base = f"{fake.url}/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts"
        too_big = httpx.get(base, params={"page_size": 101}, auth=(ADMIN, PASSWORD))
        assert too_big.status_code == 422
        middle = httpx.get(base, params={"page": 2, "page_size": 100, "with_tag": "true"},
                           auth=(ADMIN, PASSWORD))
    path = "/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts"
    assert middle.headers["X-Total-Count"] == "250"
    assert middle.headers["Link"] == (
        f'<{path}?page=1&page_size=100&with_tag=true>; rel="prev" , '
        f'<{path}?page=3&page_size=100&with_tag=true>; rel="next"'
    )
    assert middle.headers["Set-Cookie"].startswith("sid=")

