"""Benchmark: fetch a whole Harbor instance from the fake Harbor with 20 ms per request.

The instance: 500 projects x 10 repositories (5,000), 3 artifacts each, every 10th repository
with a chart (one values.yaml request), every 1,000th with 250 artifacts (3 pages), nested
repository names. The fake runs in its own process (as Harbor would), so its work does not
compete with the client's for the GIL.

Prints, for each concurrency: requests made (counted by the fake) against the requests the
data needs, wall time, the lower bound requests x latency / concurrency, their ratio (target
1.3 or less), and the client's peak RSS. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import gc
import hashlib
import math
import multiprocessing
import os
import platform
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harborguard.sources.harbor import HarborClient, fetch_snapshot  # noqa: E402

PROJECTS = int(os.environ.get("BENCH_PROJECTS", "500"))
REPOS_PER_PROJECT = int(os.environ.get("BENCH_REPOS_PER_PROJECT", "10"))
ARTIFACTS = 3
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.02"))
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "8,16").split(",")]
USER, PASSWORD = "robot$bench+reader", "bench-secret"
NEVER = "0001-01-01T00:00:00.000Z"


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def instance() -> dict[str, Any]:
    """A snapshot-shaped instance; ids and times are deterministic."""
    now = 1772323200
    projects = []
    next_id = 1
    for p in range(PROJECTS):
        name = f"team-{p:03d}"
        repositories = []
        for r in range(REPOS_PER_PROJECT):
            index = p * REPOS_PER_PROJECT + r
            repo = f"{name}/svc-{r}" if r % 3 else f"{name}/group-{r % 4}/svc-{r}"
            count = 250 if index % 1000 == 999 else ARTIFACTS
            artifacts = []
            for a in range(count):
                kind = "CHART" if index % 10 == 0 and a == 0 else "IMAGE"
                pushed = iso(now - 3600 * (a + 1) - index)
                digest = "sha256:" + hashlib.sha256(f"{repo}:{a}".encode()).hexdigest()
                artifacts.append({
                    "id": next_id, "type": kind, "digest": digest, "size": 1000 + a,
                    "project_id": p + 1, "repository_id": index + 1, "repository_name": repo,
                    "push_time": pushed, "pull_time": NEVER, "references": None,
                    "labels": None,
                    "tags": [{"id": next_id, "repository_id": index + 1, "artifact_id": next_id,
                              "name": f"1.{a}.0", "push_time": pushed, "pull_time": NEVER,
                              "immutable": False}],
                })
                next_id += 1
            repositories.append({
                "repository": {"id": index + 1, "project_id": p + 1, "name": repo,
                               "artifact_count": count, "pull_count": 0,
                               "creation_time": iso(now), "update_time": iso(now)},
                "artifacts": artifacts,
            })
        projects.append({
            "project": {"project_id": p + 1, "name": name, "owner_id": 1,
                        "owner_name": "admin", "repo_count": REPOS_PER_PROJECT,
                        "creation_time": iso(now), "update_time": iso(now),
                        "metadata": {"public": "false", "retention_id": str(p + 1)}},
            "retention": {"id": p + 1, "algorithm": "or", "scope": {"level": "project",
                                                                    "ref": p + 1},
                          "rules": [{"action": "retain", "template": "latestPushedK",
                                     "params": {"latestPushedK": 10},
                                     "tag_selectors": [{"kind": "doublestar",
                                                        "decoration": "matches",
                                                        "pattern": "**"}],
                                     "scope_selectors": {"repository": [{
                                         "kind": "doublestar", "decoration": "repoMatches",
                                         "pattern": "**"}]}}]},
            "immutable_rules": [],
            "repositories": repositories,
        })
    return {"schema": "harborguard.snapshot/v1", "harbor_version": "v2.11.1",
            "taken_at": iso(now), "projects": projects}


def needed(data: dict[str, Any]) -> int:
    """The requests the data needs: systeminfo, the project pages, per project a policy,
    its rules and its repositories, per repository its artifact pages, per chart a file."""
    total = 1 + math.ceil(len(data["projects"]) / 100)
    for project in data["projects"]:
        total += 3
        for repo in project["repositories"]:
            total += max(1, math.ceil(len(repo["artifacts"]) / 100))
            total += sum(a["type"] == "CHART" for a in repo["artifacts"])
    return total


def serve(conn: Connection) -> None:
    """The fake Harbor's process: answers "stats" (and resets them) until "stop"."""
    from tests.fakeharbor import FakeHarbor

    data = instance()
    with FakeHarbor(data, users={USER: PASSWORD}, latency=LATENCY) as fake:
        conn.send((fake.url, needed(data)))
        while (command := conn.recv()) != "stop":
            assert command == "stats"
            conn.send((fake.count, fake.max_in_flight))
            fake.seen.clear()
            fake.max_in_flight = 0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    gc.disable()  # as harborguard.cli.main does
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    server.start()
    try:
        url, need = parent.recv()
        print(f"instance: {PROJECTS} projects, {PROJECTS * REPOS_PER_PROJECT} repositories, "
              f"{LATENCY * 1000:.0f} ms per request; the data needs {need} requests")
        print(f"before fetching: peak RSS {rss_mb():.0f} MB")
        for concurrency in CONCURRENCIES:
            with HarborClient(url, username=USER, password=PASSWORD,
                              concurrency=concurrency) as client:
                start = time.perf_counter()
                snapshot = fetch_snapshot(client, None, all_projects=True)
                wall = time.perf_counter() - start
            parent.send("stats")
            requests, in_flight = parent.recv()
            repositories = sum(len(p["repositories"]) for p in snapshot["projects"])
            bound = requests * LATENCY / concurrency
            print(f"concurrency {concurrency:2d}: {requests} requests ({requests - need:+d} over "
                  f"need), {repositories} repositories, {len(snapshot['incomplete'])} "
                  f"incomplete, max in flight {in_flight}")
            print(f"    wall {wall:6.2f} s, bound {bound:6.2f} s, ratio {wall / bound:.2f}, "
                  f"peak RSS {rss_mb():.0f} MB")
            del snapshot
    finally:
        parent.send("stop")
        server.join(timeout=10)


if __name__ == "__main__":
    main()
