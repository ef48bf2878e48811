"""Benchmark: matching 50,000 pod references against 1,000,000 artifacts (issue 5).

Builds a simulated result of 1,000 repositories x 1,000 artifacts directly (no engine run)
and times harborguard.check.check() on 50,000 usages: running pods by tag and by digest,
rollback ReplicaSets, references to other registries and to missing tags. Matching is a
dictionary lookup per reference; repositories are indexed on first use. Not a test.
"""

from __future__ import annotations

import gc
import os
import platform
import random
import time

from harborguard.check import check
from harborguard.evidence import Usage
from harborguard.harborversion import resolve
from harborguard.model import Artifact, Project, Repository
from harborguard.retention.engine import Decision, ProjectOutcome, RepositoryOutcome
from harborguard.simulate import RunResult

REPOS = int(os.environ.get("BENCH_REPOS", "1000"))
PER_REPO = int(os.environ.get("BENCH_PER_REPO", "1000"))
USAGES = int(os.environ.get("BENCH_USAGES", "50000"))
HOST = "harbor.bench.invalid"


def build() -> RunResult:
    keep = Decision("retain", "kept by rule 0 (latestPushedK 10)", (0,))
    drop = Decision("delete", "not kept by any rule")
    outcomes = []
    for r in range(REPOS):
        artifacts = tuple(
            Artifact(f"sha256:{r:08x}{i:056x}", (f"1.{i}.0",), "IMAGE", 1000, 10_000 - i,
                     -62135596800, 10_000 - i)
            for i in range(PER_REPO)
        )
        decisions = tuple(keep if i < 10 else drop for i in range(PER_REPO))
        repo = Repository(f"bench/app-{r}", artifacts)
        outcomes.append(RepositoryOutcome(repo, "evaluated", decisions, (0,)))
    project = Project("bench", 1, None, (), tuple(o.repository for o in outcomes))
    return RunResult(0, "push", resolve(None), (ProjectOutcome(project, None, tuple(outcomes)),),
                     (), ())


def usages() -> list[Usage]:
    rng = random.Random(7)
    out = []
    for n in range(USAGES):
        r, i = rng.randrange(REPOS), rng.randrange(20)
        kind = rng.choice(("running", "running", "declared", "rollback"))
        where = f"ns-{r}/Pod/app-{r}-{n}"
        if n % 10 == 0:
            out.append(Usage("kubectl", "running", f"docker.io/library/nginx:1.{n % 7}", where))
        elif n % 10 == 1:
            out.append(Usage("kubectl", "running", f"{HOST}/bench/app-{r}:9.9.9", where))
        elif n % 10 == 2:
            digest = f"sha256:{r:08x}{i:056x}"
            out.append(Usage("kubectl", "running", f"{HOST}/bench/app-{r}:1.{i}.0", where,
                             digest=digest))
        else:
            out.append(Usage("kubectl", kind, f"{HOST}/bench/app-{r}:1.{i}.0", where))  # type: ignore[arg-type]
    return out


def main() -> None:
    gc.disable()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    start = time.perf_counter()
    result = build()
    refs = usages()
    print(f"built {REPOS * PER_REPO} artifacts and {len(refs)} usages in "
          f"{time.perf_counter() - start:.2f} s (not part of the figure)")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found = check(result, refs, [HOST])
        best = min(best, time.perf_counter() - start)
    print(f"check     {best:6.3f} s  (best of 3; {found.matched} references into the Harbor, "
          f"{found.ignored} elsewhere, {len(found.findings)} findings)")


if __name__ == "__main__":
    main()
