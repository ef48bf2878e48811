"""Inputs past what can be read (nesting, digits, option values, times, outputs): one line
naming the file or option, exit 2 for what the command line names, 3 for what kubectl or
helm print; never "internal error"."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard import jsonio
from harborguard.cli import cli
from tests.builders import T, art, policy, rule, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SNAPSHOT = str(EXAMPLES / "toolforge-snapshot.json")
KUBECTL = str(EXAMPLES / "cluster-kubectl.json")
HARBORGUARD = [sys.executable, "-m", "harborguard"]
DEEP = 50_000


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def nested(kind: str, depth: int = DEEP) -> str:
    if kind == "arrays":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


BIG_INTEGER = "9" * 5001  # past Python's int_max_str_digits (4,300)


def _snapshot_with(value: str) -> str:
    text = json.dumps(snapshot({"app": [art("a", ["1"], T)]}, policy(rule("latestPushedK", 1))))
    # In a field the reader reads generically (the project's retention), and at the top.
    return text.replace('"algorithm": "or"', f'"algorithm": "or", "x": {value}', 1)


# -- every file named on the command line -------------------------------------------------

CONTENTS = {
    "nested arrays": lambda: nested("arrays"),
    "nested objects": lambda: nested("objects"),
    "a 5001-digit integer": lambda: f"[{BIG_INTEGER}]",
}
FILES = {
    "snapshot": lambda p: ["simulate", "--snapshot", p],
    "policy": lambda p: ["simulate", "--snapshot", SNAPSHOT, "--policy", p],
    "kubectl-json": lambda p: ["check", "--snapshot", SNAPSHOT, "--kubectl-json", p],
    "helm-json": lambda p: ["check", "--snapshot", SNAPSHOT, "--helm-json", p],
}


@pytest.mark.parametrize("content", sorted(CONTENTS))
@pytest.mark.parametrize("option", sorted(FILES))
def test_a_file_past_the_limits_is_one_line_naming_it_exit_2(
        tmp_path: Path, option: str, content: str) -> None:
    path = tmp_path / "input.json"
    path.write_text(CONTENTS[content]())
    code, out, err = invoke(*FILES[option](str(path)), "--format", "json")
    line = one_line(err)
    assert code == 2 and out == ""
    assert str(path) in line and "line 1, column" in line
    assert ("nested too deeply" in line) == content.startswith("nested")


@pytest.mark.parametrize("where", ["retention", "items"])
def test_depth_inside_valid_documents_is_refused_past_500(tmp_path: Path, where: str) -> None:
    """Just past the bound, inside an otherwise valid file: refused where it is read, not
    by whatever walks it later (a comparison that recursed crashed at 850 levels)."""
    if where == "retention":
        path = tmp_path / "snap.json"
        path.write_text(_snapshot_with(nested("arrays", 600)))
        args = ["simulate", "--snapshot", str(path)]
    else:
        data = json.loads(Path(KUBECTL).read_text())
        data["items"][0]["metadata"]["annotations"] = {"x": "@@"}
        path = tmp_path / "kubectl.json"
        path.write_text(json.dumps(data).replace('"@@"', nested("arrays", 600)))
        args = ["check", "--snapshot", SNAPSHOT, "--kubectl-json", str(path)]
    code, _, err = invoke(*args, "--format", "json")
    assert code == 2 and "more than 500 levels" in one_line(err)


def test_a_snapshot_with_a_huge_integer_in_a_field_read_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(_snapshot_with(BIG_INTEGER))
    code, _, err = invoke("simulate", "--snapshot", str(path), "--format", "json")
    assert code == 2 and "5001 digits" in one_line(err)


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("nested flow", "rules: " + nested("arrays"), "nested too deeply"),
    ("integer", f"rules: []\nx: {BIG_INTEGER}\n", "more than 4300 digits"),
    ("month 13", "rules: []\nx: 2024-13-01\n", "month must be in 1..12"),
])
@pytest.mark.parametrize("option", ["policy", "config", "snapshot", "kubectl-json"])
def test_yaml_past_what_can_be_built_is_one_line_exit_2(
        tmp_path: Path, option: str, name: str, text: str, needle: str) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    args = {
        "policy": ["simulate", "--snapshot", SNAPSHOT, "--policy", str(path)],
        "config": ["--config", str(path), "simulate", "--snapshot", SNAPSHOT],
        "snapshot": ["simulate", "--snapshot", str(path)],
        "kubectl-json": ["check", "--snapshot", SNAPSHOT, "--kubectl-json", str(path)],
    }[option]
    code, _, err = invoke(*args, "--format", "json")
    line = one_line(err)
    assert code == 2 and str(path) in line
    # libyaml (kubectl's loader) stops nesting at 1,000 levels itself, naming the place.
    assert needle in line or (name == "nested flow" and "(line 1, column" in line)


def test_loads_keeps_what_it_reads_within_the_bounds() -> None:
    assert jsonio.loads(nested("arrays", 500)) == json.loads(nested("arrays", 500))
    assert jsonio.loads("[" + "9" * 4300 + "]") == [int("9" * 4300)]
    with pytest.raises(json.JSONDecodeError, match="more than 500 levels"):
        jsonio.loads(nested("arrays", 501).encode())
    with pytest.raises(json.JSONDecodeError) as raised:
        jsonio.loads('{"a": "[[[", "b": [' + BIG_INTEGER + "]}")
    assert raised.value.colno == 20  # the number, not a bracket inside a string
    with pytest.raises(UnicodeDecodeError):
        jsonio.loads(b'["\xff"]')  # not our limit: the caller's "not UTF-8"


# -- data from kubectl and helm: exit 3 ---------------------------------------------------

FAKE_TOOL = """#!{python}
import sys
sys.stdout.write(open({output!r}).read())
"""


@pytest.mark.parametrize("tool", ["kubectl", "helm"])
@pytest.mark.parametrize("content", sorted(CONTENTS))
def test_tool_output_past_the_limits_is_incomplete_exit_3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, content: str) -> None:
    output = tmp_path / "out.json"
    output.write_text(CONTENTS[content]())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / tool
    exe.write_text(FAKE_TOOL.format(python=sys.executable, output=str(output)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, f"--{tool}", "--format", "json")
    assert code == 3, err
    assert "internal error" not in err and "Traceback" not in err
    assert f"`{tool} " in err  # the command is named


# -- options ------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "named"), [
    (["--timeout", "nan"], "--timeout: expected a number of seconds, got 'nan'"),
    (["--timeout", "inf"], "--timeout: expected a number of seconds, got 'inf'"),
    (["--timeout", "1e999"], "--timeout: expected a number of seconds"),
    (["--timeout", "-1"], "--timeout: must be greater than 0"),
    (["--timeout", "0"], "--timeout: must be greater than 0"),
    (["--timeout", "86401"], "--timeout: at most 86400 seconds"),
    (["--concurrency", "0"], "--concurrency: must be at least 1"),
    (["--concurrency", "257"], "--concurrency: at most 256"),
    (["--concurrency", "2.5"], "--concurrency: expected a whole number"),
])
@pytest.mark.parametrize("evidence", [[], ["--kubectl-json", KUBECTL]])
def test_bad_timeout_and_concurrency_are_exit_2_even_when_unused(
        args: list[str], named: str, evidence: list[str]) -> None:
    command = "check" if evidence else "simulate"
    code, out, err = invoke(*args, command, "--snapshot", SNAPSHOT, *evidence,
                            "--format", "json")
    assert code == 2 and out == "" and named in one_line(err)


def test_a_bad_timeout_from_the_environment_names_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARBORGUARD_TIMEOUT", "nan")
    code, _, err = invoke("simulate", "--snapshot", SNAPSHOT, "--format", "json")
    assert code == 2 and "environment variable HARBORGUARD_TIMEOUT" in one_line(err)


@pytest.mark.parametrize("now", [
    "2024-01-01T00:00:00+99:99", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00-23:60",
    "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:60Z", "2024-01-01", "",
])
def test_a_bad_now_is_exit_2_naming_the_option(now: str) -> None:
    code, out, err = invoke("simulate", "--snapshot", SNAPSHOT, "--now", now,
                            "--format", "json")
    assert code == 2 and out == "" and one_line(err).startswith("harborguard: error: --now:")


@pytest.mark.parametrize("now", ["2024-01-01T00:00:00+23:59", "2024-01-01T00:00:00-23:59",
                                 "2024-02-29T23:59:59.123456789Z"])
def test_offsets_within_a_day_are_read(now: str) -> None:
    code, out, _ = invoke("simulate", "--snapshot", SNAPSHOT, "--now", now, "--format", "json")
    assert code in (0, 1) and json.loads(out)["now"]


@pytest.mark.parametrize("command", [
    ["simulate", "--snapshot", SNAPSHOT],
    ["check", "--snapshot", SNAPSHOT, "--kubectl-json", KUBECTL],
    ["drift", "--manifests", str(EXAMPLES), "--environment", "tools"],
    ["snapshot", "--harbor", "http://127.0.0.1:9", "--project", "p"],
])
@pytest.mark.parametrize("output", ["", " "])
def test_an_empty_output_name_is_exit_2_not_stdout(command: list[str], output: str) -> None:
    code, out, err = invoke(*command, "-o", output)
    assert code == 2 and out == "" and "-o/--output: the file name is empty" in one_line(err)


# -- an output that cannot be written ------------------------------------------------------

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="Linux /dev/full")


@needs_dev_full
@pytest.mark.parametrize("fmt", ["json", "table", "markdown", "junit"])
@pytest.mark.parametrize("command", [
    ["simulate", "--snapshot", SNAPSHOT],
    ["check", "--snapshot", SNAPSHOT, "--kubectl-json", KUBECTL],
])
def test_stdout_on_a_full_device_is_one_line_exit_2(command: list[str], fmt: str) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*HARBORGUARD, *command, "--format", fmt], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2
    assert "standard output: cannot write the report: No space left on device" in \
        one_line(done.stderr)


@needs_dev_full
def test_output_file_on_a_full_device_is_one_line_exit_2() -> None:
    done = subprocess.run([*HARBORGUARD, "simulate", "--snapshot", SNAPSHOT, "--format", "json",
                           "-o", "/dev/full"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "/dev/full: cannot write" in one_line(done.stderr)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    """`| head`: the pipe closes early; the run keeps its own exit code, says nothing."""
    done = subprocess.run(["sh", "-c", '"$@" | head -c 1 >/dev/null',
                           "sh", *HARBORGUARD, "simulate", "--snapshot", SNAPSHOT,
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert "error" not in done.stderr and "Traceback" not in done.stderr


# -- a huge pattern in a policy is evaluated, as Harbor would ------------------------------

@pytest.mark.parametrize("pattern", ["**/" * 400, "**/" * 400 + "0.0.13*", "*" * 400 + "x",
                                     "{a," * 400 + "0.0.13*" + "}" * 400])
@pytest.mark.parametrize("version", ["v2.11.0", "v2.9.0"])  # doublestar 1.3.4 and 1.1.1
def test_a_policy_with_a_huge_pattern_is_evaluated(tmp_path: Path, pattern: str,
                                                   version: str) -> None:
    retention = json.loads(Path(SNAPSHOT).read_text())["projects"][0]["retention"]
    retention["rules"][0]["tag_selectors"][0]["pattern"] = pattern
    retention["rules"][0]["scope_selectors"]["repository"][0]["pattern"] = pattern
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(retention))
    code, out, err = invoke("simulate", "--snapshot", SNAPSHOT, "--policy", str(path),
                            "--harbor-version", version, "--format", "json")
    assert code in (0, 1), err
    assert json.loads(out)["summary"]["artifacts"] == 129
