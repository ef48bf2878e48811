"""simulate streamed (harborguard.pipeline), in one process or in parts
(harborguard.parallel): the joined parts are the whole run, byte for byte, exit code and
messages included, and so is the stream of one process to the run read whole; anything
odd falls back to the whole run in one process."""

from __future__ import annotations

import json
import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard import parallel
from harborguard.cli import cli
from harborguard.pipeline import plan_parts
from tests.builders import T, art, iso, policy, rule, sel
from tests.conftest import validate_report


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, bytes, str, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr, result.stdout


JOINED: list[int] = []  # how many parts each run in parts joined (not fallen back)


@pytest.fixture(autouse=True)
def _count_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parallel.start_parts

    def counting(work: Any, count: int) -> Any:
        parts = real(work, count)
        if parts is not None:
            JOINED.append(len(parts.results))
        return parts

    monkeypatch.setattr(parallel, "start_parts", counting)


def _both(path: str, tmp_path: Path, *extra: str, jobs: int = 2
          ) -> tuple[tuple[int, bytes, str], tuple[int, bytes, str]]:
    """(one process, in parts): exit code, the report file's bytes, stderr."""
    JOINED.clear()
    out = []
    for n in (1, jobs):
        target = tmp_path / f"report-{n}.json"
        target.unlink(missing_ok=True)
        code, _, err, _ = _run(["simulate", "--snapshot", path, "--format", "json", "-o",
                                str(target), "--jobs", str(n), *extra])
        out.append((code, target.read_bytes() if target.exists() else b"", err))
    return out[0], out[1]


def _random_snapshot(rng: random.Random) -> dict[str, Any]:
    """Several projects, each with its own quirks: no repositories, no retention field,
    null retention, a broken repository pattern (the launch fails), a broken tag pattern
    or unknown template (repositories fail), immutable rules, ties, versions and not."""
    projects = []
    for p in range(rng.randint(1, 5)):
        name = f"proj{p}"
        repos = []
        for r in range(rng.choice((0, 1, 2, 3, 7))):
            artifacts = []
            base = T - timedelta(days=rng.randint(1, 400))
            for i in range(rng.randint(0, 14)):
                tags = rng.choice(([f"1.{i // 4}.{i % 4}"], [f"v0.0.{i}", "latest"] if i == 0
                                   else [f"v0.0.{i}"], [], [f"build-{rng.randint(0, 99)}"],
                                   [f"release-{i}", f"2.{i}"]))
                pushed = base - timedelta(seconds=rng.choice((0, 1, 60, 3600, 86400)) * i)
                pulled = base + timedelta(days=rng.randint(0, 90)) if rng.random() < 0.5 else None
                artifacts.append(art(f"{name}-{r}-{i}-{rng.random()}", tags, pushed, pulled,
                                     size=rng.randint(1, 10**9), art_id=i + 1))
            rng.shuffle(artifacts)
            repos.append({"repository": {"name": f"{name}/team-{r % 2}/app-{r}"},
                          "artifacts": artifacts})
        rules = [
            rule("latestPushedK", rng.randint(1, 5)),
            rule("nDaysSinceLastPull", rng.randint(1, 60),
                 tags=[sel(rng.choice(("{1.*,v*}", "release-*", "**")), extras=None)]),
            rule("always", tags=[sel(rng.choice(("release-*", "latest", "v0.0.1")),
                                     extras='{"untagged":false}')],
                 repos=[sel(rng.choice(("team-1/**", "**")), "repoMatches", None)]),
        ]
        quirk = rng.choice(("none", "none", "launch", "tag-pattern", "template", "no-field",
                            "null", "latestPulledN"))
        if quirk == "launch":
            rules[0]["scope_selectors"]["repository"] = [sel("team-[", "repoMatches", None)]
        elif quirk == "tag-pattern":
            rules[1]["tag_selectors"] = [sel("1.[", extras=None)]
        elif quirk == "template":
            rules[2]["template"] = "keepEverythingForever"
        elif quirk == "latestPulledN":
            rules[0] = rule("latestPulledN", 2)
        project: dict[str, Any] = {
            "project": {"project_id": p + 1, "name": name},
            "immutable_rules": [{"id": 7, "tag_selectors": [sel("release-1*", extras=None)],
                                 "scope_selectors": {"repository": [sel("**", "repoMatches",
                                                                        None)]}}]
            if rng.random() < 0.4 else [],
            "repositories": repos,
        }
        if quirk != "no-field":
            project["retention"] = None if quirk == "null" else policy(*rules)
        projects.append(project)
    incomplete = [{"what": "proj9", "reason": "repositories: HTTP 500"}] \
        if rng.random() < 0.3 else []
    return {"schema": "harborguard.snapshot/v1", "harbor": "https://harbor.example.org",
            "harbor_version": rng.choice(("v2.11.0", "v2.5.0", None, "v9.9.9")),
            "taken_at": iso(T), "incomplete": incomplete, "projects": projects}


@pytest.mark.parametrize("seed", range(24))
def test_parts_joined_are_the_whole_run(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(rng)))
    extra = rng.choice(([], ["--order", "semver"], ["--fail-on", "warning"],
                        ["--version-pattern", r"release-(?P<major>\d+)(?P<minor>)(?P<patch>)"],
                        ["--version-pattern", r"no-(?P<major>\d+)(?P<minor>)(?P<patch>)"]))
    jobs = rng.choice((2, 3, 4))
    whole, parted = _both(str(path), tmp_path, *extra, jobs=jobs)
    assert parted == whole
    assert JOINED == ([jobs] if whole[0] != 2 else [])  # a bad --now etc.: one process
    assert whole[0] in (0, 1, 3)
    validate_report(json.loads(parted[1]))


def test_parts_of_the_example_and_a_policy_file(tmp_path: Path) -> None:
    example = str(Path(__file__).resolve().parents[2] / "examples/toolforge-snapshot.json")
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(policy(rule("latestPushedK", 3), rule(
        "always", tags=[sel("0.0.13*", extras=None)]), algorithm="or") | {"tag_selector": 1}))
    for extra in ([], ["--policy", str(policy_file)], ["--now", "2030-01-01T00:00:00Z"]):
        whole, parted = _both(example, tmp_path, *extra, jobs=3)
        assert parted == whole and JOINED == [3]


def _two_errors(tmp_path: Path) -> str:
    artifacts = [art(f"a{i}", [f"1.0.{i}"], T - timedelta(hours=i), art_id=i) for i in range(5)]
    repos = [{"repository": {"name": f"proj/app-{r}"}, "artifacts": [dict(a) for a in artifacts]}
             for r in range(6)]
    repos[4]["artifacts"][2]["push_time"] = "yesterday"  # in the second half
    repos[5]["artifacts"][0]["size"] = -3
    data = {"schema": "harborguard.snapshot/v1", "taken_at": iso(T), "projects": [
        {"project": {"name": "proj"}, "retention": policy(rule("latestPushedK", 2)),
         "repositories": repos}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_bad_snapshot_in_a_later_part_is_the_same_one_line_error(tmp_path: Path) -> None:
    whole, parted = _both(_two_errors(tmp_path), tmp_path, jobs=2)
    assert whole[0] == 2 and "repositories[4].artifacts[2].push_time" in whole[2]
    assert parted == whole and JOINED == []


def test_a_part_that_dies_falls_back_to_one_process(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import harborguard.pipeline

    rng = random.Random(5)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(rng)))
    whole, _ = _both(str(path), tmp_path, jobs=2)
    real = harborguard.pipeline.run_part
    calls: list[object] = []

    def dying(*args: Any) -> Any:
        part = args[4]
        if part[1] > 1:  # the run in one process (--jobs 1) streams too: not counted
            calls.append(part)
        if part[0] == 1:
            raise MemoryError  # in the child: it exits without a result
        return real(*args)

    monkeypatch.setattr(harborguard.pipeline, "run_part", dying)
    _, parted = _both(str(path), tmp_path, jobs=2)
    assert parted == whole and JOINED == []
    assert calls == [(0, 2)]  # this process's part; then the whole run, not in parts


def test_pipes_and_duplicate_names_and_surrogates(tmp_path: Path) -> None:
    """A snapshot from a named pipe is read once and then cut in parts; a
    repository listed twice keeps its own versions column; a lone surrogate in one part
    changes only its own string's bytes."""
    data = _random_snapshot(random.Random(8))
    repos = data["projects"][0]["repositories"]
    if repos:
        repos.append(json.loads(json.dumps(repos[0])))
        repos[-1]["artifacts"] = repos[-1]["artifacts"][:2]
    data["projects"][0]["repositories"].insert(0, {"repository": {"name": "proj0/é-1"},
                                                   "artifacts": []})
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(data))
    whole, parted = _both(str(path), tmp_path, jobs=3)
    assert parted == whole and JOINED == [3]
    odd = tmp_path / "policy.json"  # read by json: msgspec refuses the lone surrogate
    odd.write_text(json.dumps(policy(rule("latestPushedK", 2), rule(
        "x\udcff", repos=[sel("é-*", "repoMatches", None)]))))
    whole_odd, parted_odd = _both(str(path), tmp_path, "--policy", str(odd), jobs=3)
    assert parted_odd == whole_odd and JOINED == [3]
    assert b"\\udcff" in whole_odd[1] and "é".encode() in whole_odd[1]
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # a writer for the named pipe
        with open(fifo, "wb") as pipe:
            pipe.write(path.read_bytes())
        os._exit(0)
    JOINED.clear()
    code, _, _, _ = _run(["simulate", "--snapshot", str(fifo), "--format", "json", "-o",
                          str(tmp_path / "from-pipe.json"), "--jobs", "2"])
    os.waitpid(pid, 0)
    assert code == whole[0] and JOINED == [2]  # a pipe is read once, then cut in parts
    piped = (tmp_path / "from-pipe.json").read_bytes()
    assert piped == whole[1].replace(str(path).encode(), str(fifo).encode())


def test_a_part_that_cannot_write_its_share_falls_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each part writes its share of the output file; if one fails, the run is done again
    in one process, and no partial file is left."""
    import harborguard.pipeline as parts

    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(random.Random(11))))
    typo = tmp_path / "policy.json"  # its note must be said once, after the fall back too
    typo.write_text(json.dumps(policy(rule("latestPushedK", 3)) | {"tag_selector": 1}))
    whole, _ = _both(str(path), tmp_path, "--policy", str(typo), jobs=3)
    assert whole[2].count("is not a field") == 1
    real = parts.write_share
    parent = os.getpid()
    for victim in ("this process", "the children"):

        def failing(target: str, places: Any, spills: Any, victim: str = victim) -> None:
            here = os.getpid() == parent
            if here == (victim == "this process"):
                raise OSError(28, "No space left on device")
            real(target, places, spills)

        monkeypatch.setattr(parts, "write_share", failing)
        _, parted = _both(str(path), tmp_path, "--policy", str(typo), jobs=3)
        assert parted == whole and JOINED == [3]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "policy.json", "report-1.json", "report-3.json", "snap.json"]


def test_jobs_option_is_checked(tmp_path: Path) -> None:
    code, _, err, _ = _run(["simulate", "--snapshot", "x.json", "--jobs", "0"])
    assert code == 2 and "--jobs" in err and "\n" not in err.strip()
    code, _, err, _ = _run(["simulate", "--snapshot", "x.json"], env={"HARBORGUARD_JOBS": "many"})
    assert code == 2 and "HARBORGUARD_JOBS" in err


def test_small_snapshots_and_other_formats_stay_in_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(random.Random(1))))

    def refuse(*args: Any) -> None:
        raise AssertionError("forked")

    monkeypatch.setattr(parallel, "start_parts", refuse)
    assert _run(["simulate", "--snapshot", str(path), "--format", "json"])[0] == 3
    assert _run(["simulate", "--snapshot", str(path), "--format", "table"])[0] == 3
    assert _run(["simulate", "--snapshot", str(path), "--format", "json", "--jobs", "1"]
                )[0] == 3


def test_stdout_in_parts_is_the_same(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(random.Random(3))))
    one = _run(["simulate", "--snapshot", str(path), "--format", "json", "--jobs", "1"])
    JOINED.clear()
    two = _run(["simulate", "--snapshot", str(path), "--format", "json", "--jobs", "2"])
    assert one == two and one[1].startswith(b"{") and JOINED == [2]


def test_plan_parts_is_ordered_balanced_and_total() -> None:
    weights = [[10, 1, 30, 5, 5], [], [50]]
    plan = plan_parts(weights, 2)
    assert len(plan) == 1 + 5 + 1 + 1 + 1
    assert plan == sorted(plan) and set(plan) == {0, 1}
    assert plan_parts(weights, 1) == [0] * len(plan)
    assert plan_parts([], 3) == [] and plan_parts([[], []], 3) == [0, 1]
    many = plan_parts([[9] * 40], 4)
    assert [many.count(i) for i in range(4)] == [11, 10, 10, 10]  # the project, then 10 each


def test_start_parts_and_finish_directly(tmp_path: Path) -> None:
    """The runner on its own: results in order, finish steps run in every process, a
    part without a message fails instead of waiting forever, a failing part is None."""
    marks = tmp_path / "marks"
    marks.mkdir()

    def work(index: int) -> Any:
        def finish(message: Any) -> None:
            (marks / f"{index}-{message}").write_text("done")
        return index * 10, finish

    parts = parallel.start_parts(work, 3)
    assert parts is not None and parts.results == [0, 10, 20]
    assert parts.finish(["a", "b", "c"]) is True
    assert sorted(p.name for p in marks.iterdir()) == ["0-a", "1-b", "2-c"]
    parts = parallel.start_parts(work, 3)
    assert parts is not None
    assert parts.finish(["x", "y"]) is False  # part 2 got no message

    def failing(index: int) -> Any:
        if index == 2:
            raise ValueError("part 2 cannot")
        return index, lambda message: None

    assert parallel.start_parts(failing, 3) is None


@pytest.mark.parametrize("seed", range(12))
def test_the_stream_is_the_run_read_whole(tmp_path: Path, seed: int) -> None:
    """The stream (--jobs 1 into a file: harborguard.pipeline, one repository at a time)
    against the run read whole in memory (a small snapshot on standard output, no
    --jobs): the same bytes, exit code and messages."""
    rng = random.Random(100 + seed)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(_random_snapshot(rng)))
    extra = rng.choice(([], ["--order", "semver"], ["--fail-on", "warning"],
                        ["--version-pattern", r"release-(?P<major>\d+)(?P<minor>)(?P<patch>)"]))
    code, whole, err, _ = _run(["simulate", "--snapshot", str(path), "--format", "json",
                                *extra])
    (streamed_code, streamed, streamed_err), _ = _both(str(path), tmp_path, *extra)
    assert (streamed_code, streamed, streamed_err) == (code, whole, err)


def test_a_file_that_is_not_a_snapshot_is_refused_before_any_output(tmp_path: Path) -> None:
    good = json.dumps(_random_snapshot(random.Random(3)))
    head, _, tail = good.rpartition('"artifacts": [{')  # the last repository's first artifact
    for name, text in (("broken.json", good[:-40]), ("other.json", '{"projects": []}'),
                       ("late.json", head + '"artifacts": [1, {' + tail)):
        path = tmp_path / name
        path.write_text(text)
        target = tmp_path / "report.json"
        for jobs in ("1", "2"):
            code, out, err, _ = _run(["simulate", "--snapshot", str(path), "--format", "json",
                                      "-o", str(target), "--jobs", jobs])
            assert code == 2 and not target.exists() and out == b""
            assert err.count("\n") == 1 and name in err
