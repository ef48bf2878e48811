"""Benchmark: simulate a generated snapshot of 100,000 artifacts in 1,000 repositories.

Prints, separately:
  load      reading and validating the snapshot file (JSON parse + domain objects)
  engine    the retention engine alone (evaluate_project for every project): every
            artifact's decision and reason; the figure the 1-second target is about
  evaluate  harborguard.simulate.simulate: the engine plus the version and tie analysis
  report    building the report/v1 document and rendering it as JSON
  json.load `python -c 'import json,sys; json.load(open(sys.argv[1]))' F`, measured
            side by side with the command below (the 1.5x target of issue 13)
  process   the whole `harborguard simulate --snapshot F --format json -o FILE`
            command in a fresh Python process (interpreter start-up included), best of
            three, with its peak memory: all its processes' PSS summed (pages shared
            between the parts count once), sampled from /proc/<pid>/smaps_rollup; as run
            by default (one process per CPU, at most 4) and with --jobs 1 (one process);
            then both again for a policy whose third rule keeps `latest` instead of every
            release (a seventh of the findings, two thirds of the report)
  ratio     each process's best time over json.load's, beside the target (1.5x), and its
            peak memory beside the target (2 GB)
  spread    with BENCH_ALSO_REPOS=N: the same number of artifacts in N repositories,
            --jobs 1 and by default, beside the first: memory follows the largest
            repository, not the snapshot (1,000,000 artifacts: 1,000 x 1,000 and 10,000 x
            100)
BENCH_REPOS and BENCH_PER_REPO set the size (1,000 x 100 by default); BENCH_PROCESS_ONLY=1
skips the in-process figures (for 1,000,000 artifacts: `make bench-million`). Generated
snapshots go to BENCH_DIR (default: the system's temporary directory), removed at the end.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import random
import shutil
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


TIME_TARGET = 1.5  # the whole process within 1.5x json.load of the same file (issue 13)
MEMORY_TARGET_MB = 2000  # all its processes' PSS summed


def main() -> None:
    gc.disable()  # as harborguard.cli.main does
    workdir = Path(tempfile.mkdtemp(prefix="hg-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        _main(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _main(workdir: Path) -> None:
    path = workdir / "snapshot.json"
    # The same snapshot with a policy that keeps `latest` rather than every release: few
    # version findings, so the report is a third smaller.
    typical = workdir / "snapshot-latest.json"
    # Generated in child processes: this one stays small, so the commands it starts below
    # (which share its memory until they exec) report their own peak RSS, not its size.
    for target, keep in ((path, "release-*"), (typical, "latest")):
        subprocess.run([sys.executable, __file__, "--generate", str(target), keep], check=True)
    size_mb = path.stat().st_size / 1e6
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    print(f"snapshot: {REPOS} repositories x {PER_REPO} artifacts = {REPOS * PER_REPO} "
          f"artifacts, 3 rules, {size_mb:.1f} MB")
    for snapshot, what in ((path, ""), (typical, ", third rule: always keep `latest`")):
        baseline = process(snapshot, workdir, "json.load", " (the same file)", command=[
            sys.executable, "-c", "import json,sys; json.load(open(sys.argv[1]))",
            str(snapshot)])
        default = process(snapshot, workdir, "process  ", f" (default: {os.cpu_count()} "
                          f"CPUs{what})")
        one = process(snapshot, workdir, "process  ", f" (--jobs 1{what})", "--jobs", "1")
        for label, (best, _, peak) in (("default", default), ("--jobs 1", one)):
            print(f"ratio     {label:9s} {best / baseline[0]:5.2f}x json.load (target <= "
                  f"{TIME_TARGET}x), peak PSS {peak:.0f} MB (target < {MEMORY_TARGET_MB} MB)")
        if snapshot == path:
            spread(workdir, one[2], default[2])
    if os.environ.get("BENCH_PROCESS_ONLY"):
        return

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


def spread(workdir: Path, one_mb: float, default_mb: float) -> None:
    """The same number of artifacts in BENCH_ALSO_REPOS repositories: peak memory beside
    the first snapshot's."""
    repos = int(os.environ.get("BENCH_ALSO_REPOS", "0"))
    if not repos:
        return
    per_repo = REPOS * PER_REPO // repos
    other = workdir / "snapshot-spread.json"
    subprocess.run([sys.executable, __file__, "--generate", str(other), "release-*"],
                   check=True, env={**os.environ, "BENCH_REPOS": str(repos),
                                    "BENCH_PER_REPO": str(per_repo)})
    print(f"spread: the same {repos * per_repo} artifacts in {repos} repositories x "
          f"{per_repo} ({other.stat().st_size / 1e6:.1f} MB)")
    one = process(other, workdir, "process  ", f" (--jobs 1, {repos} x {per_repo})",
                  "--jobs", "1")
    default = process(other, workdir, "process  ", f" (default, {repos} x {per_repo})")
    print(f"spread    peak PSS --jobs 1 {one[2]:.0f} MB with {repos} repositories, "
          f"{one_mb:.0f} MB with {REPOS}; default {default[2]:.0f} MB, {default_mb:.0f} MB")
    other.unlink()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process(path: Path, workdir: Path, label: str, note: str, *extra: str,
            command: list[str] | None = None) -> tuple[float, float, float]:
    """The command in a fresh process, three times, its processes' summed PSS sampled
    every 50 ms. posix_spawn, not fork: a forked child would share the benchmark's own
    heap until it execs. Returns the best and median seconds and the peak PSS in MB."""
    out = workdir / "report.json"
    cmd = command or [sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                      str(path), "--format", "json", "-o", str(out), *extra]
    walls, peaks = [], []
    code = 0
    for _ in range(3):
        # A new file each time, as in CI: replacing the last run's 100 MB report would add
        # the kernel's freeing of it (a tenth of a second here) to the figure.
        out.unlink(missing_ok=True)
        err = workdir / "stderr.txt"
        actions = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, str(err), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                    0o644)]
        start = time.perf_counter()
        pid = os.posix_spawn(sys.executable, cmd, dict(os.environ), file_actions=actions)
        peak = 0
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, sum(map(_pss, _descendants(pid))))
            time.sleep(0.05)
        walls.append(time.perf_counter() - start)
        peaks.append(peak / 1e6)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            print(err.read_text(), file=sys.stderr)
            sys.exit(1)
    figures = (min(walls), sorted(walls)[1], max(peaks))
    if command:
        print(f"{label} {min(walls):6.3f} s  best of 3 (median {sorted(walls)[1]:.3f} s), "
              f"peak PSS {max(peaks):.0f} MB{note}")
        return figures
    with out.open(encoding="utf-8") as lines:  # not loaded whole: this process stays small
        findings = sum(1 for line in lines if line.startswith('    {"severity":'))
    print(f"{label} {min(walls):6.3f} s  best of 3 (median {sorted(walls)[1]:.3f} s), exit "
          f"{code}, peak PSS {max(peaks):.0f} MB (all processes), report "
          f"{out.stat().st_size / 1e6:.0f} MB, {findings} findings{note}")
    out.unlink()
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), keep_always=sys.argv[3])
    else:
        main()
