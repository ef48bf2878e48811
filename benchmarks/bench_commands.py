"""Benchmark: `check` beside `simulate` on the same snapshot, measured side by side.

The snapshot is bench_simulate's (BENCH_REPOS x BENCH_PER_REPO artifacts, 100,000 by
default); the cluster is BENCH_PODS running pods (5,000) naming tags of its repositories,
a tenth of them by digest, a tenth in other registries. Both whole processes write a JSON
report to a file; they alternate, BENCH_ROUNDS times (3), and the best of each is compared
(the machine's cores are shared: the best of N is the least disturbed). Target: check
within 1.2x simulate. Not a test.
"""

from __future__ import annotations

import json
import os
import platform
import random
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


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "harborguard"), *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{args[0]} exited {done.returncode}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        snapshot, cluster = work / "snap.json", work / "pods.json"
        generate(snapshot)
        pods(cluster)
        common = ["--snapshot", str(snapshot), "--format", "json"]
        best = {"simulate": float("inf"), "check": float("inf")}
        for _ in range(ROUNDS):
            best["simulate"] = min(best["simulate"], timed(
                ["simulate", *common, "-o", str(work / "s.json")]))
            best["check"] = min(best["check"], timed(
                ["check", *common, "--kubectl-json", str(cluster), "-o", str(work / "c.json")]))
        ratio = best["check"] / best["simulate"]
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
              f"{REPOS * PER_REPO:,} artifacts, {PODS:,} pods; best of {ROUNDS}")
        print(f"simulate {best['simulate']:.2f} s, check {best['check']:.2f} s: "
              f"check/simulate {ratio:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
