"""Benchmark: `--dedup` on 10,000 artifacts (issue 15), against the fake Harbor over HTTP.

The instance: 10 projects x 10 repositories x 100 artifacts. Every image shares a 30 MB
base layer with every other, a 50 MB layer with its project and a 20 MB layer with its
repository, and has a layer of its own; every 20th artifact is an image index over two
platform manifests (read in turn, not artifacts themselves); each project's last repository
holds copies (the same digest) of its first repository's 10 newest images. Harbor's `size`
is each artifact's blobs summed, as Harbor reports it. The policy keeps the 10 most recently
pushed per repository. The fake runs in its own process (as Harbor would), answering each
request in BENCH_LATENCY seconds (default 2 ms); the harborguard CLI runs as a user runs it.

Prints, measured in the same run:
- the baseline: `simulate --harbor ... --all-projects` without --dedup (best of 3);
- a cold run with --dedup (empty --cache-dir): wall time, and the manifest requests the fake
  saw against the distinct digests the data holds (one request per distinct digest, no
  more), token requests against repositories, pings of /v2/;
- warm runs with --dedup (the cache filled; best of 3): wall time, requests to /v2/ (0);
- offline: `simulate --snapshot` of a snapshot taken with --dedup, without and with --dedup;
- the figures (stored, kept, freed, growth) beside Harbor's summed sizes;
- with Debian's docker-registry installed, the same reader on real registry code (what
  `--registry` reads): a cold and a warm read of BENCH_REGISTRY_IMAGES images (200;
  pushing them takes longest).
Not a test: nothing here asserts on time. Exit 1 when a cold run sends more (or fewer)
manifest requests than distinct digests, or a warm run sends any.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROJECTS = int(os.environ.get("BENCH_PROJECTS", "10"))
REPOS = int(os.environ.get("BENCH_REPOS_PER_PROJECT", "10"))
ARTIFACTS = int(os.environ.get("BENCH_ARTIFACTS_PER_REPO", "100"))
COPIES = 10  # images of a project's first repository copied into its last one
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.002"))
USER, PASSWORD = "robot$bench+reader", "bench-secret"
NOW = "2026-03-01T00:00:00Z"
NOW_S = 1772323200
NEVER = "0001-01-01T00:00:00.000Z"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MB = 1_000_000


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def sha(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(name: str, size: int) -> dict[str, Any]:
    return {"mediaType": OCI_LAYER, "digest": sha(name), "size": size}


def image(project: int, repo: int, number: int, arch: str,
          manifests: dict[str, tuple[bytes, str]]) -> tuple[str, int]:
    """An image manifest (stored in ``manifests``); its digest and its blobs' total size."""
    config = {"mediaType": OCI_CONFIG, "digest": sha(f"config {project} {repo} {number} {arch}"),
              "size": 2000 + number}
    layers = [layer("debian base", 30 * MB), layer(f"project {project}", 50 * MB),
              layer(f"repo {project} {repo}", 20 * MB),
              layer(f"own {project} {repo} {number} {arch}", MB + 10_000 * number)]
    content = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                          "layers": layers}).encode()
    manifests[sha(content)] = (content, OCI_MANIFEST)
    return sha(content), len(content) + config["size"] + sum(x["size"] for x in layers)


def artifact(project: int, repo: int, number: int,
             manifests: dict[str, tuple[bytes, str]]) -> tuple[str, int]:
    """An artifact's digest and Harbor's size: an image, or every 20th an index of two."""
    if number % 20:
        return image(project, repo, number, "amd64", manifests)
    children = [image(project, repo, number, arch, manifests) for arch in ("amd64", "arm64")]
    content = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": d, "size": len(manifests[d][0]),
         "platform": {"architecture": arch, "os": "linux"}}
        for (d, _), arch in zip(children, ("amd64", "arm64"), strict=True)]}).encode()
    manifests[sha(content)] = (content, OCI_INDEX)
    return sha(content), len(content) + sum(size for _, size in children)


def instance() -> tuple[dict[str, Any], dict[str, tuple[bytes, str]]]:
    """A snapshot-shaped instance and the manifests its artifacts name."""
    manifests: dict[str, tuple[bytes, str]] = {}
    projects = []
    next_id = 1
    for p in range(PROJECTS):
        name = f"team-{p:02d}"
        repositories = []
        first: list[tuple[str, int]] = []
        for r in range(REPOS):
            index = p * REPOS + r
            artifacts = []
            for a in range(ARTIFACTS):
                if r == REPOS - 1 and a < COPIES and first:
                    digest, size = first[a]  # the same image, copied: the same digest
                else:
                    digest, size = artifact(p, r, ARTIFACTS - a, manifests)
                if r == 0:
                    first.append((digest, size))
                pushed = iso(NOW_S - 86_400 * 3 * a - 60 * index)  # newest first, 3 days apart
                tag = f"1.0.{ARTIFACTS - a}"
                artifacts.append({
                    "id": next_id, "type": "IMAGE", "digest": digest, "size": size,
                    "project_id": p + 1, "repository_id": index + 1,
                    "repository_name": f"{name}/svc-{r}", "push_time": pushed,
                    "pull_time": NEVER, "references": None, "labels": None,
                    "tags": [{"id": next_id, "repository_id": index + 1,
                              "artifact_id": next_id, "name": tag, "push_time": pushed,
                              "pull_time": NEVER, "immutable": False}]})
                next_id += 1
            repositories.append({
                "repository": {"id": index + 1, "project_id": p + 1, "name": f"{name}/svc-{r}",
                               "artifact_count": ARTIFACTS, "pull_count": 0,
                               "creation_time": iso(NOW_S), "update_time": iso(NOW_S)},
                "artifacts": artifacts})
        projects.append({
            "project": {"project_id": p + 1, "name": name, "owner_id": 1,
                        "owner_name": "admin", "repo_count": REPOS,
                        "creation_time": iso(NOW_S), "update_time": iso(NOW_S),
                        "metadata": {"public": "false", "retention_id": str(p + 1)}},
            "retention": {"id": p + 1, "algorithm": "or",
                          "scope": {"level": "project", "ref": p + 1},
                          "rules": [{"action": "retain", "template": "latestPushedK",
                                     "params": {"latestPushedK": 10},
                                     "tag_selectors": [{"kind": "doublestar",
                                                        "decoration": "matches",
                                                        "pattern": "**"}],
                                     "scope_selectors": {"repository": [{
                                         "kind": "doublestar", "decoration": "repoMatches",
                                         "pattern": "**"}]}}]},
            "immutable_rules": [],
            "repositories": repositories})
    data = {"schema": "harborguard.snapshot/v1", "harbor_version": "v2.11.1",
            "taken_at": iso(NOW_S), "projects": projects}
    return data, manifests


def serve(conn: Connection) -> None:
    """The fake Harbor's process: answers "stats" (and resets them) until "stop"."""
    from tests.fakeharbor import FakeHarbor

    data, manifests = instance()
    artifacts = sum(len(r["artifacts"]) for p in data["projects"] for r in p["repositories"])
    with FakeHarbor(data, users={USER: PASSWORD}, latency=LATENCY,
                    manifests=manifests) as fake:
        conn.send((fake.url, artifacts, len(manifests)))
        while (command := conn.recv()) != "stop":
            assert command == "stats"
            sent = fake.requests_to(r"/manifests/")
            conn.send({"manifest": len(sent), "distinct": len({s.path.rsplit("/", 1)[1]
                                                               for s in sent}),
                       "unauthorized": sum(s.status == 401 for s in sent),
                       "token": len(fake.requests_to(r"^/service/token$")),
                       "ping": len(fake.requests_to(r"^/v2/$")),
                       "v2": len(fake.requests_to(r"^/v2/")), "all": fake.count})
            fake.seen.clear()


class Timed(NamedTuple):
    wall: float  # seconds
    cpu: float  # the harborguard process's user + system seconds: what load does not inflate
    report: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall, {self.cpu:5.2f} s CPU"


def run(args: list[str]) -> Timed:
    """One CLI run: its wall and CPU time and its JSON report."""
    env = {**os.environ, "HARBOR_USERNAME": USER, "HARBOR_PASSWORD": PASSWORD}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "harborguard", *args, "--now", NOW,
                               "--format", "json", "-o", out.name], env=env,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            sys.exit(f"harborguard {' '.join(args)} exited {done.returncode}: "
                     f"{done.stderr.strip()[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return Timed(wall, cpu, json.loads(Path(out.name).read_text()))


def best(runs: int, args: list[str]) -> Timed:
    results = [run(args) for _ in range(runs)]
    return Timed(min(r.wall for r in results), min(r.cpu for r in results),
                 results[-1].report)


def mb(value: int | None) -> str:
    return "unknown" if value is None else f"{value / MB:,.0f} MB"


def real_registry() -> bool:
    """With Debian's docker-registry installed: the same reader on real registry code (what
    --registry reads), REGISTRY_IMAGES images over 10 repositories sharing a base layer,
    every 20th an index of two; cold and warm. True when the requests are not as they must
    be."""
    import shutil

    from harborguard.sources.harbor import HarborClient
    from harborguard.sources.registry import ManifestCache, ManifestReader, Tokens
    from tests.distribution import BINARY, OCI_INDEX, OCI_LAYER, Registry

    binary = BINARY if os.access(BINARY, os.X_OK) else shutil.which("docker-registry")
    if binary is None:
        print("registry  docker-registry is not installed: the real-registry figures are "
              "skipped (apt-get install docker-registry)")
        return False
    count = int(os.environ.get("BENCH_REGISTRY_IMAGES", "200"))
    with tempfile.TemporaryDirectory() as scratch:
        registry = Registry(binary, Path(scratch)).start()
        try:
            wanted: list[tuple[str, str]] = []
            distinct = 0
            start = time.perf_counter()
            for r in range(10):
                repository = f"bench/svc-{r}"
                base = registry.blob(repository, b"base layer" * 30_000, OCI_LAYER)
                for n in range(count // 10):
                    own = registry.blob(repository, b"own %d %d " % (r, n) * 100, OCI_LAYER)
                    image = registry.image(repository, [base, own], b'{"n": "%d %d"}' % (r, n))
                    distinct += 1
                    if n % 20 == 0:
                        index = registry.manifest(repository, {
                            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
                                {"mediaType": image[2], "digest": image[0],
                                 "size": len(image[1])}]})
                        wanted.append((repository, index[0]))
                        distinct += 1
                    else:
                        wanted.append((repository, image[0]))
            pushed = time.perf_counter() - start
            cache = str(Path(scratch) / "cache")
            walls = []
            for _ in range(2):
                with HarborClient(registry.url, concurrency=8) as transport:
                    reader = ManifestReader(transport, Tokens(transport, None),
                                            ManifestCache(cache))
                    start = time.perf_counter()
                    found = reader.read(wanted)
                    walls.append((time.perf_counter() - start, found))
        finally:
            registry.stop()
            registry.http.close()
    (cold, first), (warm, second) = walls
    print(f"registry  docker-registry (real distribution code, --registry's path): "
          f"{len(wanted)} artifacts, {distinct} distinct manifests (pushed in {pushed:.1f} s)")
    print(f"          cold {cold:6.2f} s: {first.requests} manifest requests, "
          f"{len(first.failures)} failures; warm {warm:6.2f} s: {second.requests} requests, "
          f"{second.cached} from the cache")
    return (first.requests != distinct or bool(first.failures) or second.requests != 0
            or second.blobs != first.blobs)


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    server.start()
    failed = False
    try:
        url, artifacts, distinct = parent.recv()
        live = ["simulate", "--harbor", url, "--all-projects"]
        print(f"instance: {artifacts} artifacts in {PROJECTS * REPOS} repositories, "
              f"{distinct} distinct manifests (index children included, copies once), "
              f"{LATENCY * 1000:.0f} ms per request")

        def stats() -> dict[str, int]:
            parent.send("stats")
            found: dict[str, int] = parent.recv()
            return found

        with tempfile.TemporaryDirectory() as scratch:
            cache = str(Path(scratch) / "cache")
            dedup = [*live, "--dedup", "--yes", "--cache-dir", cache]
            stats()
            baseline = best(3, live)
            base_requests = stats()["all"] // 3
            print(f"baseline  simulate, no --dedup:  {baseline}  (best of 3; "
                  f"{base_requests} requests to the Harbor API)")
            cold = run(dedup)
            seen = stats()
            exact = seen["manifest"] == seen["distinct"] == distinct
            failed |= not exact
            print(f"cold      --dedup, empty cache:  {cold}  ({seen['manifest']} "
                  f"manifest requests for {distinct} distinct digests: "
                  f"{seen['manifest'] - distinct:+d}; {seen['unauthorized']} answered 401; "
                  f"{seen['token']} token requests for {PROJECTS * REPOS} repositories; "
                  f"{seen['ping']} ping of /v2/)")
            bound = seen["all"] * LATENCY / 8
            print(f"          lower bound {seen['all']} requests x latency / concurrency 8: "
                  f"{bound:.2f} s (the rest: the fake's and the client's work on this machine)")
            warm = best(3, dedup)
            seen = stats()
            failed |= seen["v2"] != 0
            print(f"warm      --dedup, cache filled: {warm}  (best of 3; {seen['v2']} "
                  f"requests to /v2/; {warm.wall - baseline.wall:+.2f} s wall, "
                  f"{warm.cpu - baseline.cpu:+.2f} s CPU over the baseline)")
            snapshot = str(Path(scratch) / "snapshot.json")
            done = subprocess.run([sys.executable, "-m", "harborguard", "--harbor", url,
                                   "snapshot", "--all-projects", "--dedup", "--cache-dir",
                                   cache, "-o", snapshot],
                                  env={**os.environ, "HARBOR_USERNAME": USER,
                                       "HARBOR_PASSWORD": PASSWORD},
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"snapshot --dedup exited {done.returncode}: {done.stderr[-2000:]}")
            offline = best(3, ["simulate", "--snapshot", snapshot])
            offline_dedup = best(3, ["simulate", "--snapshot", snapshot, "--dedup"])
            print(f"offline   simulate --snapshot:   {offline}  (best of 3)")
            print(f"offline   ... --dedup:           {offline_dedup}  (best of 3; "
                  f"{offline_dedup.cpu - offline.cpu:+.2f} s CPU for the figures)")
        s = cold.report["summary"]
        same = s == warm.report["summary"] == offline_dedup.report["summary"]
        failed |= not same or baseline.report["summary"]["bytes_deleted"] != s["bytes_deleted"]
        print(f"figures   Harbor's sizes summed: up to {mb(s['bytes_deleted'])} deleted; "
              f"each blob once: {mb(s['bytes_stored_dedup'])} stored, "
              f"{mb(s['bytes_kept_dedup'])} kept, {mb(s['bytes_freed_dedup'])} freed, "
              f"growing {mb(s['growth_bytes_per_30d'])} a month"
              f" ({'the same' if same else 'NOT the same'} cold, warm and offline)")
    finally:
        parent.send("stop")
        server.join(timeout=10)
    failed |= real_registry()
    if failed:
        sys.exit("bench_dedup: requests or figures not as they must be (see above)")


if __name__ == "__main__":
    main()
