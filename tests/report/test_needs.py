"""report/needs.py: the table, Markdown and JUnit formats keep only the artifact rows they
print (a stand-in for the rows they only count), and write byte for byte what the whole
report gives them: the same formatter over the run's JSON report, every row in it."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report import render
from harborguard.report.needs import CountedRow, artifact_keeper
from tests.builders import T, art, policy, rule, sel, snapshot

FORMATS = ("table", "markdown", "junit")


def _snapshot(rng: random.Random, repositories: int) -> dict[str, Any]:
    repos: dict[str, list[dict[str, Any]]] = {}
    for r in range(repositories):
        base = T - timedelta(days=rng.randint(1, 300))
        repos[f"team-{r % 3}/app-{r}"] = [
            art(f"{r}-{i}-{rng.random()}", rng.choice(([f"1.{i // 5}.{i % 5}"], [],
                                                       [f"release-{i}", f"2.{i}"])),
                base - timedelta(seconds=rng.choice((0, 1, 3600, 86400)) * i),
                base + timedelta(days=rng.randint(0, 60)) if rng.random() < 0.5 else None,
                size=rng.randint(1, 10**8), art_id=i + 1)
            for i in range(rng.randint(0, 12))]
    return snapshot(repos, policy(
        rule("latestPushedK", rng.randint(1, 4)),
        rule("nDaysSinceLastPull", rng.randint(5, 40), tags=[sel("1.*", extras=None)]),
        rule("always", tags=[sel("release-*", extras='{"untagged":false}')])))


def _pods(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    items = []
    for repo in data["projects"][0]["repositories"]:
        for artifact in repo["artifacts"]:
            if artifact["tags"] and rng.random() < 0.15:
                image = (f"harbor.example.org/{repo['repository']['name']}:"
                         f"{artifact['tags'][0]['name']}")
                items.append({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": f"p{len(items)}", "namespace": "ns"},
                              "spec": {"containers": [{"name": "c", "image": image}]},
                              "status": {"phase": "Running"}})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("repositories", (12, 45))
def test_what_a_format_keeps_renders_as_every_row(tmp_path: Path, seed: int,
                                                  repositories: int) -> None:
    rng = random.Random(seed)
    data = _snapshot(rng, repositories)
    path, pods, proposed = tmp_path / "snap.json", tmp_path / "pods.json", tmp_path / "p.json"
    path.write_text(json.dumps(data))
    pods.write_text(json.dumps(_pods(data, rng)))
    proposed.write_text(json.dumps(policy(rule("latestPushedK", 3))))
    for command in (["simulate"], ["check", "--kubectl-json", str(pods)],
                    ["diff", "--policy", str(proposed)]):
        args = [*command, "--snapshot", str(path), "--fail-on", "warning", "--jobs", "2"]
        code, text = _run([*args, "--format", "json"])
        whole = json.loads(text)
        for fmt in FORMATS:
            shown = _run([*args, "--format", fmt])
            expected = render(fmt, whole, colour=False, width=140, fail_on="warning")
            assert shown == (code, expected), (command, fmt)


def test_the_rows_kept() -> None:
    rows = [{"project": "p", "repository": "p/a", "digest": f"d{i}", "action": action,
             "in_use": [], "tie": False, "previous_action": before}
            for i, (action, before) in enumerate([("delete", "delete"), ("retain", "retain"),
                                                   ("retain", "delete"), ("retain", "retain"),
                                                   ("immutable", "immutable")])]
    repo = {"project": "p", "repository": "p/a", "status": "evaluated"}
    keep = artifact_keeper("junit", 100, ())
    assert keep is not None
    kept = keep(repo, rows, ())
    assert [isinstance(row, CountedRow) for row in kept] == [False, True, False, True, True]
    assert kept[1] is kept[3] and kept[1]["previous_action"] == "retain"  # one per kind
    assert artifact_keeper("table", 30, ()) is None  # every repository shown in full
    assert artifact_keeper("json", 10**6, ()) is None
    table = artifact_keeper("table", 31, ())
    assert table is not None
    assert all(isinstance(row, CountedRow) for row in table(repo, rows[:2], ()))
    assert table(repo, rows, ()) == rows  # a fate changes: the table details it
