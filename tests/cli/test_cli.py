"""The command line: exit codes, the JSON contract, bad input, option precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard import __version__
from harborguard.cli import cli
from tests.builders import T, art, policy, rule, sel, snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
S = 1


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def simple_snapshot(tmp_path: Path, retention: dict[str, Any] | None = None) -> str:
    from datetime import timedelta

    artifacts = [art(f"a{i}", [f"1.0.{3 - i}"], T - timedelta(seconds=10 * (i + 1)))
                 for i in range(4)]
    data = snapshot({"app": artifacts}, retention or policy(rule("latestPushedK", 2)))
    return write(tmp_path, "snap.json", data)


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.strip() == f"harborguard {__version__}"


def test_every_command_has_help() -> None:
    for args in (["--help"], ["simulate", "--help"]):
        code, out, _ = invoke(*args)
        assert code == 0 and "Usage:" in out


def test_json_contract(tmp_path: Path) -> None:
    code, out, err = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["schema"] == "harborguard.report/v1"
    assert report["tool"] == f"harborguard {__version__}"
    assert report["now"] == "2026-01-01T00:00:00Z"
    assert report["order"] == "push"
    assert report["source"] == {"harbor": "https://harbor.example.org",
                                "snapshot": str(tmp_path / "snap.json"), "policy": "harbor"}
    assert [a["action"] for a in report["artifacts"]] == ["retain", "retain", "delete", "delete"]
    first = report["artifacts"][0]
    assert first["push_time"] == "2025-12-31T23:59:50Z" and first["pull_time"] is None
    assert first["retained_by"] == [0] and first["tie"] is False and first["in_use"] == []
    assert first["reason"] == "kept by rule 0 (latestPushedK 2)"
    assert report["artifacts"][2]["reason"].startswith("not kept by any rule")
    assert report["summary"] == {"artifacts": 4, "retain": 2, "delete": 2, "immutable": 0,
                                 "bytes_deleted": 2000, "errors": 0, "warnings": 0}


def test_global_options_before_or_after_subcommand(tmp_path: Path) -> None:
    snap = simple_snapshot(tmp_path)
    _, before, _ = invoke("--harbor-version", "v2.9.0", "simulate", "--snapshot", snap,
                          "--format", "json")
    _, after, _ = invoke("simulate", "--snapshot", snap, "--format", "json",
                         "--harbor-version", "v2.9.0")
    assert json.loads(before)["harbor_version"] == json.loads(after)["harbor_version"] == "v2.9.0"


def test_precedence_cli_env_config_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = simple_snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)

    def version(*args: str, env: dict[str, str] | None = None) -> str:
        code, out, err = invoke("simulate", "--snapshot", snap, "--format", "json", *args, env=env)
        assert code == 0, err
        report = json.loads(out)
        return str(report["harbor_version"])

    # The snapshot records no version: main's decisions (DESIGN.md: missing is the
    # newest behaviour), the version the report states.
    assert version() == "main"
    (tmp_path / "harborguard.yaml").write_text("harbor-version: v2.11.0\n")
    assert version() == "v2.11.0"
    assert version(env={"HARBORGUARD_HARBOR_VERSION": "v2.12.0"}) == "v2.12.0"
    assert version("--harbor-version", "v2.13.0",
                   env={"HARBORGUARD_HARBOR_VERSION": "v2.12.0"}) == "v2.13.0"
    code, out, _ = invoke("simulate", "--snapshot", snap, "--format", "json")
    assert json.loads(out)["source"]["config"].endswith("harborguard.yaml")


def test_unknown_config_key_is_bad_input(tmp_path: Path) -> None:
    cfg = write(tmp_path, "cfg.yaml", "harbor-verison: v2.11.0\n")
    code, out, err = invoke("--config", cfg, "simulate", "--snapshot", simple_snapshot(tmp_path))
    assert code == 2 and out == ""
    assert "unknown key 'harbor-verison'" in err and len(err.strip().splitlines()) == 1


def test_exit_1_on_policy_error_and_fail_on(tmp_path: Path) -> None:
    broken = policy(rule("nothing"))
    snap = simple_snapshot(tmp_path, broken)
    code, out, _ = invoke("simulate", "--snapshot", snap, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["policy-error"]
    assert report["summary"]["delete"] == 0 and report["summary"]["errors"] == 1


def test_warning_gates_only_with_fail_on_warning(tmp_path: Path) -> None:
    snap = simple_snapshot(tmp_path)
    proposed = policy(*[rule("latestPushedK", 2) for _ in range(2)])
    pfile = write(tmp_path, "p.json", proposed)
    code, out, _ = invoke("simulate", "--snapshot", snap, "--policy", pfile, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert [f["code"] for f in report["findings"]] == ["policy-invalid"]
    assert report["source"]["policy"] == pfile
    code, _, _ = invoke("simulate", "--snapshot", snap, "--policy", pfile, "--format", "json",
                        "--fail-on", "warning")
    assert code == 1


def test_policy_in_yaml_with_extras_map(tmp_path: Path) -> None:
    snap = simple_snapshot(tmp_path)
    pfile = write(tmp_path, "p.yaml", """
algorithm: or
rules:
  - action: retain
    template: latestPushedK
    params: {latestPushedK: 1}
    tag_selectors:
      - {kind: doublestar, decoration: matches, pattern: "1.0.*", extras: {untagged: false}}
    scope_selectors:
      repository: [{kind: doublestar, decoration: repoMatches, pattern: "**"}]
""")
    code, out, err = invoke("simulate", "--snapshot", snap, "--policy", pfile, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["summary"]["retain"] == 1


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        ("[1, 2]", "(top level): is list, not a snapshot object"),
        (json.dumps({"schema": "other/v9"}), "schema: is 'other/v9'"),
        (json.dumps({"schema": "harborguard.snapshot/v1", "taken_at": "2026-01-01T00:00:00Z"}),
         "projects: missing"),
    ],
)
def test_bad_snapshot_is_one_line_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    path = write(tmp_path, "bad.json", content)
    code, out, err = invoke("simulate", "--snapshot", path, "--format", "json")
    assert code == 2 and out == ""
    assert needle in err and path in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_field_names_the_field(tmp_path: Path) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, None)
    del data["projects"][0]["repositories"][0]["artifacts"][0]["digest"]
    code, _, err = invoke("simulate", "--snapshot", write(tmp_path, "s.json", data))
    assert code == 2
    assert "projects[0].repositories[0].artifacts[0].digest: missing" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [("rules: [", "not valid JSON or YAML"), ("{}", "'rules' is missing"),
     ("[]", "must be an object"), ("rules: 5", "'rules' is missing or not a list")],
)
def test_bad_policy_is_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    pfile = write(tmp_path, "p.yaml", content)
    code, out, err = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "--policy", pfile)
    assert code == 2 and out == "" and needle in err


def test_missing_files_and_bad_now(tmp_path: Path) -> None:
    code, _, err = invoke("simulate", "--snapshot", str(tmp_path / "nope.json"))
    assert code == 2 and "snapshot file not found" in err
    code, _, err = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "--now", "yesterday")
    assert code == 2 and "--now" in err
    code, _, err = invoke("simulate")
    assert code == 2 and "--snapshot" in err


def test_incomplete_snapshot_exits_3(tmp_path: Path) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, None)
    data["incomplete"] = [{"what": "proj/other", "reason": "HTTP 503 after 4 attempts"}]
    code, out, _ = invoke("simulate", "--snapshot", write(tmp_path, "s.json", data),
                          "--format", "json")
    assert code == 3
    assert json.loads(out)["incomplete"] == data["incomplete"]


def test_output_file_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, _ = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["schema"] == "harborguard.report/v1"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_table_view_groups_by_repository() -> None:
    code, out, _ = invoke("simulate", "--snapshot", str(EXAMPLE), "--format", "table")
    assert code in (0, 1)
    assert "toolforge/builds-api" in out and "Summary:" in out
    assert "versions: keeps 0.0.96..0.0.99, 0.0.131; deletes 0.0.77..0.0.94, 0.0.100..0.0.130" \
        in out
    assert "more deleted artifacts, none of them in use" in out


def test_example_snapshot_reproduces_the_incident() -> None:
    code, out, _ = invoke("simulate", "--snapshot", str(EXAMPLE), "--format", "json")
    report = json.loads(out)
    fate = {tuple(a["tags"]): a["action"] for a in report["artifacts"]
            if a["repository"] == "toolforge/builds-api"}
    assert fate[("0.0.130-20240221160838-03b2a120_image",)] == "delete"
    assert fate[("0.0.131-20240222212602-322f874b_image",)] == "retain"
    assert fate[("0.0.99-20231003123435-edb508d4_image",)] == "retain"
    assert fate[("0.0.100-20231004160507-65ccbdcf_image",)] == "delete"


def test_python_dash_m_works(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "harborguard", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == f"harborguard {__version__}"


def test_label_selector_is_policy_error_not_bad_input(tmp_path: Path) -> None:
    labelled = policy(rule("latestPushedK", 1, tags=[sel("x", "withLabels", None, kind="label")]))
    code, out, _ = invoke("simulate", "--snapshot", simple_snapshot(tmp_path, labelled),
                          "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert "selector label is not registered" in report["findings"][0]["message"]
    assert report["findings"][0]["rule"] == 0


def test_check_catches_the_incident_from_kubectl_json() -> None:
    from tests.builders import shared_dir

    cluster = shared_dir() / "toolforge" / "kubectl_list_example.json"
    code, out, err = invoke("check", "--snapshot", str(EXAMPLE), "--kubectl-json", str(cluster),
                            "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    found = {(f["code"], tuple(f["tags"] or ())) for f in report["findings"]}
    assert ("in-use-deleted", ("0.0.130-20240221160838-03b2a120_image",)) in found
    assert ("rollback-deleted", ("0.0.128-20240212150430-023b8914_image",)) in found
    running = [a for a in report["artifacts"] if any(u["kind"] == "running" for u in a["in_use"])]
    assert [a["tags"] for a in running] == [["0.0.130-20240221160838-03b2a120_image"]]
    assert "is running (kubectl: builds-api/Pod/" in next(
        f["message"] for f in report["findings"] if f["code"] == "in-use-deleted")


def test_check_without_evidence_is_bad_invocation() -> None:
    code, _, err = invoke("check", "--snapshot", str(EXAMPLE))
    assert code == 2 and "needs evidence" in err


def test_check_with_failing_kubectl_is_incomplete(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\necho 'error: You must be logged in to the server' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    code, out, _ = invoke("check", "--snapshot", str(EXAMPLE), "--kubectl", "--format", "json")
    assert code == 3
    report = json.loads(out)
    assert report["incomplete"][0]["what"] == "kubectl"


def test_diff_marks_previous_action_and_fate_changes(tmp_path: Path) -> None:
    from tests.builders import shared_dir

    proposed = write(tmp_path, "new.yaml", """
algorithm: or
rules:
  - action: retain
    template: latestPushedK
    params: {latestPushedK: 20}
    tag_selectors: [{kind: doublestar, decoration: matches, pattern: "**"}]
    scope_selectors: {repository: [{kind: doublestar, decoration: repoMatches, pattern: "**"}]}
""")
    cluster = shared_dir() / "toolforge" / "kubectl_list_example.json"
    code, out, err = invoke("diff", "--snapshot", str(EXAMPLE), "--policy", proposed,
                            "--kubectl-json", str(cluster), "--format", "json")
    assert code == 1, err  # the proposal still deletes the running 0.0.130
    report = json.loads(out)
    assert report["command"] == "diff" and report["source"]["against"] == "harbor"
    assert all("previous_action" in a for a in report["artifacts"])
    changes = [a for a in report["artifacts"] if a["previous_action"] != a["action"]]
    assert report["summary"]["changed"] == len(changes) > 0
    assert {(a["previous_action"], a["action"]) for a in changes} == {("delete", "retain"),
                                                                    ("immutable", "retain")}
    assert "in-use-deleted" in {f["code"] for f in report["findings"]}
    code, out, _ = invoke("diff", "--snapshot", str(EXAMPLE), "--policy", proposed,
                          "--format", "table")
    assert "fate changes" in out and "delete -> retain" in out
    code, _, err = invoke("diff", "--snapshot", str(EXAMPLE))
    assert code == 2 and "--policy NEW" in err


def test_unreadable_policy_is_not_evaluated_not_safe(tmp_path: Path) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, None)
    data["incomplete"] = [{"what": "proj", "reason": "retention policy: HTTP 403 (needs "
                                                      "tag-retention:read)"}]
    code, out, _ = invoke("simulate", "--snapshot", write(tmp_path, "s.json", data),
                          "--format", "json")
    report = json.loads(out)
    assert code == 3
    assert report["repositories"][0]["status"] == "policy-unreadable"
    assert report["artifacts"][0]["reason"].startswith("not evaluated")


def test_snapshot_policy_without_rules_key_is_an_empty_policy(tmp_path: Path) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, {"id": 3, "algorithm": "or",
                                                 "scope": {"level": "project", "ref": 1}})
    code, out, err = invoke("simulate", "--snapshot", write(tmp_path, "s.json", data),
                            "--format", "json")
    assert code == 0, err
    assert json.loads(out)["repositories"][0]["status"] == "no-rules"


def test_version_after_the_subcommand() -> None:
    code, out, _ = invoke("simulate", "--version")
    assert code == 0 and out.strip() == f"harborguard {__version__}"


def test_unreachable_harbor_still_writes_a_report(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, _, err = invoke("simulate", "--harbor", "https://user@127.0.0.1:9/",
                          "--project", "x", "--timeout", "1", "-o", str(target),
                          env={"HARBOR_PASSWORD": "sekrit2"})
    assert code == 3
    report = json.loads(target.read_text())
    assert report["incomplete"] and report["summary"]["artifacts"] == 0
    assert "sekrit" not in target.read_text() and "sekrit" not in err


def test_negative_size_is_bad_input(tmp_path: Path) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, None)
    data["projects"][0]["repositories"][0]["artifacts"][0]["size"] = -5
    code, _, err = invoke("simulate", "--snapshot", write(tmp_path, "s.json", data))
    assert code == 2 and "size: is negative" in err


A0 = "projects[0].repositories[0].artifacts[0]"


@pytest.mark.parametrize(
    ("where", "fields", "error"),
    [
        ("artifact", {"size": "big"}, f"{A0}.size: has the wrong type (str)"),
        ("artifact", {"type": 7}, f"{A0}.type: has the wrong type (int)"),
        ("artifact", {"references": "x"}, f"{A0}.references: has the wrong type (str)"),
        ("artifact", {"references": ["x"]}, f"{A0}.references[0]: a reference must be an object"),
        ("artifact", {"references": [{"child_id": 2}]},
         f"{A0}.references[0].child_digest: missing"),
        ("artifact", {"references": [{"child_digest": 2}]},
         f"{A0}.references[0].child_digest: has the wrong type (int)"),
        ("artifact", {"labels": "x"}, f"{A0}.labels: has the wrong type (str)"),
        ("artifact", {"labels": [7]}, f"{A0}.labels[0]: a label must be an object"),
        ("artifact", {"labels": [{"id": 1}]}, f"{A0}.labels[0].name: missing"),
        ("artifact", {"labels": [{"name": None}]},
         f"{A0}.labels[0].name: has the wrong type (null)"),
        ("tag", {"immutable": "yes"}, f"{A0}.tags[0].immutable: has the wrong type (str)"),
        ("top", {"harbor": 5}, "harbor: has the wrong type (int)"),
        ("top", {"harbor_version": 5}, "harbor_version: has the wrong type (int)"),
    ],
)
def test_wrong_type_is_one_line_exit_2(tmp_path: Path, where: str, fields: dict[str, Any],
                                       error: str) -> None:
    data = snapshot({"app": [art("a", ["1"])]}, None)
    artifact = data["projects"][0]["repositories"][0]["artifacts"][0]
    {"top": data, "artifact": artifact, "tag": artifact["tags"][0]}[where].update(fields)
    path = write(tmp_path, "snap.json", data)
    code, out, err = invoke("simulate", "--snapshot", path)
    assert code == 2 and out == ""
    assert err == f"harborguard: error: {path}: {error}\n"


def test_day_rule_cutoff_outside_calendar_does_not_crash(tmp_path: Path) -> None:
    pfile = write(tmp_path, "p.json", policy(rule("nDaysSinceLastPush", 5)))
    code, out, err = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "--policy", pfile,
                            "--now", "0001-01-01T00:00:00Z", "--format", "json")
    assert code == 0, err
    assert {a["action"] for a in json.loads(out)["artifacts"]} == {"retain"}
    from harborguard.timeutil import format_seconds

    assert "outside years 1-9999" in format_seconds(-10**12)


def test_table_view_of_a_large_project_is_an_overview_plus_what_matters(tmp_path: Path) -> None:
    """Many repositories: one line each, tables only for those that need attention, and
    warnings summarised per code; errors are never summarised away."""
    from datetime import timedelta

    from harborguard.report.table import DETAILS_SHOWN, REPOS_IN_FULL

    repos: dict[str, list[dict[str, Any]]] = {}
    for r in range(REPOS_IN_FULL + 30):
        same = T - timedelta(days=r)  # two artifacts pushed in the same second: a tie at the cut
        arts = [art(f"r{r}a{i}", [f"1.0.{5 - i}"],
                    same if i < 2 else T - timedelta(days=r, hours=i)) for i in range(5)]
        repos[f"app-{r}"] = arts
    data = snapshot(repos, policy(rule("latestPushedK", 1)))
    code, out, _ = invoke("simulate", "--snapshot", write(tmp_path, "big.json", data),
                          "--format", "table")
    assert code == 0
    assert f"{REPOS_IN_FULL + 30} repositories" in out
    assert "proj/app-0 " in out and f"proj/app-{REPOS_IN_FULL + 29} " in out  # overview lines
    assert out.count("action ") == DETAILS_SHOWN  # table headers: tied repositories, capped
    assert "more repositories with artifacts in use, tied, changed or failing" in out
    assert "more time-tie in" in out and "places (see --format json)" in out
    assert out.count("warning time-tie") == 3


def test_unknown_keys_in_a_policy_file_are_named_with_the_likely_key(tmp_path: Path) -> None:
    pol = policy(rule("latestPushedK", 2))
    pol["rules"][0]["tag_selector"] = pol["rules"][0].pop("tag_selectors")
    code, _, err = invoke("simulate", "--snapshot", simple_snapshot(tmp_path), "--policy",
                          write(tmp_path, "p.json", pol), "--format", "json")
    assert code == 0
    assert ("rules[0].tag_selector is not a field of Harbor's retention policy; Harbor ignores "
            "it, and so does this run; did you mean 'tag_selectors'?") in err


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--harbor-version", "banana"], {}, "--harbor-version: 'banana' is not a Harbor version"),
    ([], {"HARBORGUARD_NOW": "yesterday"}, "environment variable HARBORGUARD_NOW: 'yesterday'"),
])
def test_bad_option_values_name_where_they_came_from(tmp_path: Path, args: list[str],
                                                     env: dict[str, str], named: str) -> None:
    code, out, err = invoke(*args, "simulate", "--snapshot", simple_snapshot(tmp_path),
                            "--format", "json", env=env)
    assert code == 2 and out == "" and named in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("closed", ["1", "2"])
def test_a_closed_stdout_or_stderr_keeps_the_exit_code(tmp_path: Path, closed: str) -> None:
    """Started with a descriptor closed (`2>&-`): the code still says what happened."""
    snap = snapshot({"app": [art("a", ["1"], T)]}, policy(rule("latestPushedK", 1)))
    snap["incomplete"] = [{"what": "x", "reason": "y"}]
    path = write(tmp_path, "snap.json", snap)
    proc = subprocess.run(
        f"{sys.executable} -m harborguard simulate --snapshot {path} --format json "
        f"-o {tmp_path / 'r.json'} {closed}>&-", shell=True, capture_output=False, check=False)
    assert proc.returncode == 3


def test_policy_keys_match_case_insensitively_like_go(tmp_path: Path) -> None:
    """Harbor's API decoder (encoding/json) reads "Params" as params: so does the what-if."""
    exact = policy(rule("latestPushedK", 1))
    folded = policy(rule("latestPushedK", 1))
    folded["rules"][0]["Params"] = folded["rules"][0].pop("params")
    folded["rules"][0]["scope_selectors"]["repositories"] = []
    snap = simple_snapshot(tmp_path)
    _, want, _ = invoke("simulate", "--snapshot", snap, "--policy",
                        write(tmp_path, "a.json", exact), "--format", "json")
    code, got, err = invoke("simulate", "--snapshot", snap, "--policy",
                            write(tmp_path, "b.json", folded), "--format", "json")
    actions = [[a["action"] for a in json.loads(r)["artifacts"]] for r in (want, got)]
    assert actions[0] == actions[1] == ["retain", "delete", "delete", "delete"]
    assert "Params" not in err and "scope_selectors.repositories is not a field" in err


def test_snapshot_from_standard_input() -> None:
    """`--snapshot -` reads the snapshot from standard input (a pipe), as a file."""
    example = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
    with open(example, "rb") as handle:
        piped = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                                "-", "--format", "json"], stdin=handle, capture_output=True,
                               check=False)
    assert piped.returncode == 0, piped.stderr
    named = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot",
                            str(example), "--format", "json"], capture_output=True, check=False)
    piped_report, named_report = json.loads(piped.stdout), json.loads(named.stdout)
    assert piped_report["source"].pop("snapshot") == "-"
    named_report["source"].pop("snapshot")
    assert piped_report == named_report
    empty = subprocess.run([sys.executable, "-m", "harborguard", "simulate", "--snapshot", "-"],
                           stdin=subprocess.DEVNULL, capture_output=True, check=False)
    assert empty.returncode == 2 and b"not a snapshot object" in empty.stderr
