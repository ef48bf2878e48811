"""Benchmark: simulate a generated snapshot of 100,000 artifacts in 1,000 repositories.

Prints, separately:
  load      reading and validating the snapshot file (JSON parse + domain objects)
  engine    the retention engine alone (evaluate_project for every project): every
            artifact's decision and reason; the figure the 1-second target is about
  evaluate  harborguard.simulate.simulate: the engine plus the version and tie analysis
  report    building the report/v1 document and rendering it as JSON
  process   the whole `harborguard simulate --snapshot F --format json -o FILE`
            command in a fresh Python process (interpreter start-up included)
and the peak RSS of that process. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from harborguard.harborversion import resolve
from harborguard.report import render
from harborguard.report.build import Source, build_report
from harborguard.retention.engine import evaluate_project
from harborguard.simulate import simulate
from harborguard.snapshot import load_snapshot
from harborguard.timeutil import parse_nanos

REPOS = int(os.environ.get("BENCH_REPOS", "1000"))
PER_REPO = int(os.environ.get("BENCH_PER_REPO", "100"))
NOW = "2026-03-01T00:00:00Z"


def _digest(n: int) -> str:
    """A real-looking digest: the SHA-256 of something, as Harbor's are."""
    return "sha256:" + hashlib.sha256(b"artifact %d" % n).hexdigest()


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000Z"


def generate(path: Path, keep_always: str = "release-*") -> None:
    rng = random.Random(42)
    now = 1772323200  # 2026-03-01
    repositories = []
    next_id = 1
    for r in range(REPOS):
        artifacts = []
        t = now - rng.randint(3600, 86400 * 400)
        for i in range(PER_REPO):
            t -= rng.choice((0, 1, 7, 60, 3600, 86400))  # some share a second
            n = PER_REPO - 1 - i  # newer pushes carry higher versions, as releases do
            tags = [f"1.{n // 10}.{n % 10}"]
            if i % 17 == 0:
                tags.append(f"release-{i}")
            if i == 0:
                tags.append("latest")
            if i % 23 == 5:
                tags = []
            pulled = iso(t + rng.randint(0, 86400 * 60)) if rng.random() < 0.6 else None
            artifacts.append({
                "id": next_id, "type": "IMAGE", "digest": _digest(next_id),
                "size": rng.randint(1_000_000, 90_000_000), "push_time": iso(t),
                "pull_time": pulled or "0001-01-01T00:00:00.000Z",
                "tags": [{"id": next_id * 10 + j, "name": name, "push_time": iso(t),
                          "pull_time": pulled or "0001-01-01T00:00:00.000Z", "immutable": False}
                         for j, name in enumerate(tags)] or None,
            })
            next_id += 1
        repositories.append({"repository": {"name": f"bench/team-{r % 37}/app-{r}"},
                             "artifacts": artifacts})
    snapshot = {
        "schema": "harborguard.snapshot/v1", "harbor": "https://harbor.bench.invalid",
        "harbor_version": "v2.11.0", "taken_at": NOW, "incomplete": [],
        "projects": [{
            "project": {"project_id": 1, "name": "bench"},
            "retention": {"id": 1, "algorithm": "or", "scope": {"level": "project", "ref": 1},
                          "rules": [
                {"action": "retain", "template": "latestPushedK", "params": {"latestPushedK": 10},
                 "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                    "pattern": "**", "extras": "{\"untagged\":true}"}],
                 "scope_selectors": {"repository": [{"kind": "doublestar",
                                                     "decoration": "repoMatches",
                                                     "pattern": "**"}]}},
                {"action": "retain", "template": "nDaysSinceLastPull",
                 "params": {"nDaysSinceLastPull": 30},
                 "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                    "pattern": "{1.*,release-*}",
                                    "extras": "{\"untagged\":false}"}],
                 "scope_selectors": {"repository": [{"kind": "doublestar",
                                                     "decoration": "repoMatches",
                                                     "pattern": "team-*/**"}]}},
                {"action": "retain", "template": "always", "params": {},
                 "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                    "pattern": keep_always,
                                    "extras": "{\"untagged\":false}"}],
                 "scope_selectors": {"repository": [{"kind": "doublestar",
                                                     "decoration": "repoExcludes",
                                                     "pattern": "team-3/**"}]}},
            ]},
            "immutable_rules": [{"id": 1, "tag_selectors": [{"kind": "doublestar",
                                 "decoration": "matches", "pattern": "latest"}],
                                 "scope_selectors": {"repository": [{"kind": "doublestar",
                                 "decoration": "repoMatches", "pattern": "**"}]}}],
            "repositories": repositories,
        }],
    }
    path.write_text(json.dumps(snapshot))


def main() -> None:
    gc.disable()  # as harborguard.cli.main does
    workdir = Path(tempfile.mkdtemp(prefix="hg-bench-"))
    path = workdir / "snapshot.json"
    generate(path)
    size_mb = path.stat().st_size / 1e6
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    print(f"snapshot: {REPOS} repositories x {PER_REPO} artifacts = {REPOS * PER_REPO} "
          f"artifacts, 3 rules, {size_mb:.1f} MB")

    t0 = time.perf_counter()
    snapshot = load_snapshot(str(path))
    t1 = time.perf_counter()
    behaviour = resolve(snapshot.harbor_version)
    now_ns = parse_nanos(NOW)
    engine = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for project in snapshot.projects:
            evaluate_project(project, project.retention, now_ns, behaviour)
        engine = min(engine, time.perf_counter() - start)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = simulate(snapshot, now_ns, behaviour)
        best = min(best, time.perf_counter() - start)
    t2 = time.perf_counter()
    report = build_report(result, Source(snapshot.harbor, str(path), "harbor"))
    render("json", report)
    t3 = time.perf_counter()
    deleted = report["summary"]["delete"]
    print(f"load      {t1 - t0:6.3f} s")
    print(f"engine    {engine:6.3f} s  (retention decisions only, best of 3; {deleted} deletions)")
    print(f"evaluate  {best:6.3f} s  (engine + version and tie analysis: "
          f"{len(result.findings)} findings, best of 3)")
    print(f"report    {t3 - t2:6.3f} s")

    from harborguard.versions import parse_tag

    tags = [f"0.{i // 1000}.{i % 1000}-2024{i:010d}-{i * 2654435761 % 2**32:08x}"
            for i in range(100_000)]
    start = time.perf_counter()
    for tag in tags:
        parse_tag(tag)
    print(f"versions  {time.perf_counter() - start:6.3f} s  (100,000 distinct tags parsed once)")

    tracemalloc.start()
    simulate(snapshot, parse_nanos(NOW), behaviour)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"evaluate  peak Python allocations {peak / 1e6:.1f} MB (tracemalloc)")

    process(path, workdir, "process  ", "")
    # The same snapshot with a policy that keeps `latest` rather than every release: few
    # version findings, so the report is a third smaller.
    typical = workdir / "snapshot-latest.json"
    generate(typical, keep_always="latest")
    process(typical, workdir, "process  ", " (third rule: always keep `latest`)")


def process(path: Path, workdir: Path, label: str, note: str) -> None:
    out = workdir / "report.json"
    cmd = [sys.executable, "-m", "harborguard", "simulate", "--snapshot", str(path),
           "--format", "json", "-o", str(out)]
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            sys.exit(1)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(out.read_text())
    print(f"{label} {min(walls):6.3f} s  best of 3 (median {sorted(walls)[1]:.3f} s), exit "
          f"{proc.returncode}, peak RSS {rss_mb:.0f} MB, report "
          f"{out.stat().st_size / 1e6:.0f} MB, {len(report['findings'])} findings{note}")


if __name__ == "__main__":
    main()
