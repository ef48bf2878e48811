"""Benchmark: `check` beside `simulate` on the same snapshot, measured side by side.

The snapshot is bench_simulate's (BENCH_REPOS x BENCH_PER_REPO artifacts, 100,000 by
default); the cluster is BENCH_PODS running pods (5,000) naming tags of its repositories,
a tenth of them in other registries. Both whole processes write a JSON report to a file,
as run by default (in parts, one per CPU); they alternate, BENCH_ROUNDS times (3), and the
best of each is compared (the machine's cores are shared: the best of N is the least
disturbed). Beside the wall time, the CPU time of each process and its parts (user +
system, from getrusage of the children): on cores other work is using too, it says what
each run costs when the wall time cannot; and the median of each round's ratio (the two run
one after the other, so a host that slows down between rounds moves both). Target: check
within 1.2x simulate. Not a test.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_simulate import PER_REPO, REPOS, generate  # noqa: E402

PODS = int(os.environ.get("BENCH_PODS", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 1.2


def pods(path: Path) -> None:
    rng = random.Random(5)
    items = []
    for n in range(PODS):
        r = rng.randrange(REPOS)
        tag = f"1.{(PER_REPO - 1 - rng.randrange(30)) // 10}.{rng.randrange(10)}"
        host = "docker.io/library" if n % 10 == 0 else "harbor.bench.invalid/bench"
        image = f"{host}/team-{r % 37}/app-{r}:{tag}"
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": f"app-{r}-{n}", "namespace": f"ns-{r % 50}"},
                      "spec": {"containers": [{"name": "app", "image": image}]},
                      "status": {"phase": "Running"}})
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items,
                                "metadata": {}}))


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its parts)."""
    cpu = _cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harborguard", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{args[0]} exited {done.returncode}")
    return elapsed, _cpu() - cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        snapshot, cluster = work / "snap.json", work / "pods.json"
        generate(snapshot)
        pods(cluster)
        common = ["--snapshot", str(snapshot), "--format", "json"]
        runs = {"simulate": ["simulate", *common, "-o", str(work / "s.json")],
                "check": ["check", *common, "--kubectl-json", str(cluster), "-o",
                          str(work / "c.json")]}
        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(ROUNDS):
            for name, args in runs.items():
                took, used = timed(args)
                wall[name].append(took)
                cpu[name].append(used)
        load = os.getloadavg()[0]
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
              f"(load average {load:.1f} at the end); {REPOS * PER_REPO:,} artifacts, "
              f"{PODS:,} pods; best of {ROUNDS}")
        for label, times in (("wall", wall), ("CPU: ", cpu)):
            best = {name: min(values) for name, values in times.items()}
            print(f"{label} simulate {best['simulate']:.2f} s, check {best['check']:.2f} s: "
                  f"check/simulate {best['check'] / best['simulate']:.2f}"
                  + (f" (target <= {TARGET})" if label == "wall" else ""))
        # Each round runs the two one after the other: their ratio does not see the host
        # slowing down or speeding up between rounds, which the bests may straddle.
        paired = sorted(c / s for s, c in zip(wall["simulate"], wall["check"], strict=True))
        print(f"wall, round by round: check/simulate median {statistics.median(paired):.2f} "
              f"(from {paired[0]:.2f} to {paired[-1]:.2f})")

if __name__ == "__main__":
    main()
