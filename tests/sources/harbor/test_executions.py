"""Harbor's retention executions over HTTP against the fake Harbor: the Location header
read strictly, every page of a long task list, a list whose count disagrees refused, and
the one unretried POST."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harborguard.sources.harbor.client import HarborClient
from harborguard.sources.harbor.executions import (
    ExecutionError,
    execution_from_location,
    list_executions,
    list_tasks,
    start_dry_run,
    stop,
    task_log,
)
from tests.fakeharbor import FakeHarbor

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "toolforge-snapshot.json"
USER, PASSWORD = "robot$toolforge+verify", "s3cret-pw"


@pytest.mark.parametrize(("location", "expected"), [
    ("/api/v2.0/retentions/7/executions/12", 12),
    ("https://harbor.example/api/v2.0/retentions/7/executions/12/", 12),
    ("/api/v2.0/retentions/8/executions/12", None),  # another policy's
    ("/api/v2.0/retentions/7/executions/x12", None),
    ("/api/v2.0/retentions/7/executions", None),
    ("", None),
    (None, None),
])
def test_the_location_header_is_read_strictly(location: str | None,
                                              expected: int | None) -> None:
    assert execution_from_location(location, 7) == expected


def many_repositories(count: int) -> dict[str, Any]:
    """The example project with ``count`` one-artifact repositories."""
    data = json.loads(EXAMPLE.read_text())
    project = data["projects"][0]
    template = project["repositories"][0]
    artifact = template["artifacts"][0]
    repos = []
    for number in range(count):
        name = f"toolforge/app-{number:03d}"
        repos.append({"repository": {**template["repository"], "name": name, "id": 1000 + number,
                                     "artifact_count": 1},
                      "artifacts": [{**artifact, "repository_name": name}]})
    project["repositories"] = repos
    return dict(data)


def test_every_page_of_a_long_task_list_is_read() -> None:
    with FakeHarbor(many_repositories(230), users={USER: PASSWORD}) as fake, \
            HarborClient(fake.url, username=USER, password=PASSWORD) as client:
        started = start_dry_run(client, 7)
        assert started.status == 201 and started.execution_id == 1
        tasks = list_tasks(client, 7, 1)
        assert len(tasks) == 230 == len({t["id"] for t in tasks})
        assert [s.query["page"] for s in fake.requests_to(r"/tasks$")] == \
            [["1"], ["2"], ["3"]]
        log = task_log(client, 7, 1, tasks[-1]["id"])
        assert isinstance(log, bytes) and b"toolforge/app-229" in log


def test_a_task_list_whose_count_disagrees_is_refused() -> None:
    with FakeHarbor(many_repositories(3), users={USER: PASSWORD}) as fake, \
            HarborClient(fake.url, username=USER, password=PASSWORD) as client:
        start_dry_run(client, 7)
        fault = fake.fault(r"/tasks$", status=None, headers={"X-Total-Count": "5"},
                           times=None)
        with pytest.raises(ExecutionError, match="3 tasks listed, X-Total-Count says 5"):
            list_tasks(client, 7, 1)
        fault.times = fault.hits + 1  # only the first page says 5 now
        with pytest.raises(ExecutionError, match=r"X-Total-Count changed between pages"):
            list_tasks(client, 7, 1)


def test_a_failed_post_is_not_retried_and_names_the_permission() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake, \
            HarborClient(fake.url, username=USER, password=PASSWORD) as client:
        fake.fault(r"/executions$", status=503, times=None)
        with pytest.raises(ExecutionError, match="HTTP 503"):
            start_dry_run(client, 7)
        assert [s.method for s in fake.seen] == ["POST"]
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD},
                    permissions={USER: {"tag-retention:read"}}) as fake, \
            HarborClient(fake.url, username=USER, password=PASSWORD) as client:
        with pytest.raises(ExecutionError, match="needs the tag-retention:update permission"):
            start_dry_run(client, 7)


def test_stop_and_the_executions_list() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake, \
            HarborClient(fake.url, username=USER, password=PASSWORD) as client:
        fake.executions.polls_to_end = None
        start_dry_run(client, 7)
        start_dry_run(client, 7)
        listed = list_executions(client, 7)
        assert [e["id"] for e in listed] == [2, 1]  # newest first
        assert all(e["dry_run"] is True and e["status"] == "Running" for e in listed)
        assert stop(client, 7, 2) is None
        assert fake.executions.stopped == [2]
        assert "execution 9" in (stop(client, 7, 9) or "")  # Harbor's 404
        assert [e["status"] for e in list_executions(client, 7)] == ["Stopped", "Running"]
