"""An output file that names an input (-o/--output, --policy-out, snapshot's -o against
--snapshot, --kubectl-json, --helm-json, --policy, --against, --config, --ca-bundle, a
file --manifests or --from-logs reads) is refused before anything is read or written:
exit 2, one line naming both flags, every file as it was, no temporary file left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import certifi
import click
import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.cli.filenames import FOLDERS, INPUTS, NOT_GUARDED, OUTPUTS
from tests.cli.test_verify import write_logs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UNREACHABLE = "http://127.0.0.1:9"  # snapshot: refused before Harbor is asked


def _files(tmp: Path) -> dict[str, Path]:
    """Inputs every command can run from, in ``tmp/in``."""
    inputs = tmp / "in"
    inputs.mkdir()
    files = {"snap": inputs / "snap.json", "pods": inputs / "pods.json",
             "pods2": inputs / "pods2.json", "helm": inputs / "helm.json",
             "policy": inputs / "policy.yaml", "against": inputs / "against.yaml",
             "config": inputs / "config.yaml", "ca": inputs / "ca.pem"}
    shutil.copy(EXAMPLES / "toolforge-snapshot.json", files["snap"])
    shutil.copy(EXAMPLES / "cluster-kubectl.json", files["pods"])
    shutil.copy(EXAMPLES / "cluster-kubectl.json", files["pods2"])
    shutil.copy(EXAMPLES / "cluster-helm.json", files["helm"])
    shutil.copy(EXAMPLES / "keep-releases.yaml", files["policy"])
    shutil.copy(EXAMPLES / "keep-releases.yaml", files["against"])
    files["config"].write_text("quiet: true\n")
    shutil.copy(certifi.where(), files["ca"])
    shutil.copytree(EXAMPLES / "toolforge-deploy", tmp / "manifests")
    files["manifests"] = tmp / "manifests"
    (tmp / "logs").mkdir()
    write_logs(tmp / "logs")
    files["logs"] = tmp / "logs"
    return files


def _base(command: str, f: dict[str, Path]) -> list[str]:
    """A command line that runs (the output flag comes after)."""
    return {
        "simulate": ["simulate", "--snapshot", str(f["snap"]), "--policy", str(f["policy"]),
                     "--config", str(f["config"]), "--format", "json"],
        "check": ["check", "--snapshot", str(f["snap"]), "--kubectl-json", str(f["pods2"]),
                  "--kubectl-json", str(f["pods"]), "--helm-json", str(f["helm"]),
                  "--format", "json"],
        "diff": ["diff", "--snapshot", str(f["snap"]), "--policy", str(f["policy"]),
                 "--against", str(f["against"]), "--format", "json"],
        "drift": ["drift", "--manifests", str(f["manifests"]), "--environment", "tools",
                  "--kubectl-json", str(f["pods"]), "--helm-json", str(f["helm"]),
                  "--format", "json"],
        "protect": ["protect", "--snapshot", str(f["snap"]), "--kubectl-json", str(f["pods"]),
                    "--format", "json"],
        "verify": ["verify", "--from-logs", str(f["logs"]), "--snapshot", str(f["snap"]),
                   "--format", "json"],
        "snapshot": ["snapshot", "--harbor", UNREACHABLE, "--project", "p", "--timeout", "1",
                     "--config", str(f["config"])],
    }[command]


# Each writing command, each way it writes, and each input it reads from a file.
CASES = [
    ("simulate", "-o", "--snapshot", "snap"),
    ("simulate", "-o", "--policy", "policy"),
    ("simulate", "--output", "--config", "config"),
    ("simulate", "-o", "--ca-bundle", "ca"),
    ("check", "-o", "--snapshot", "snap"),
    ("check", "-o", "--kubectl-json", "pods"),  # the second of two
    ("check", "-o", "--helm-json", "helm"),
    ("diff", "-o", "--policy", "policy"),
    ("diff", "-o", "--against", "against"),
    ("drift", "-o", "--kubectl-json", "pods"),
    ("drift", "-o", "--helm-json", "helm"),
    ("protect", "-o", "--snapshot", "snap"),
    ("protect", "--policy-out", "--snapshot", "snap"),
    ("protect", "--policy-out", "--kubectl-json", "pods"),
    ("verify", "-o", "--snapshot", "snap"),
    ("snapshot", "-o", "--config", "config"),
    ("snapshot", "-o", "--ca-bundle", "ca"),
]


def _argv(command: str, f: dict[str, Path], in_flag: str, key: str) -> list[str]:
    argv = _base(command, f)
    if str(f[key]) not in argv:  # an input the base command line does not name
        argv += [in_flag, str(f[key])]
    return argv


def _state(tmp: Path) -> dict[str, tuple[bool, bytes | str]]:
    """Every file and link under ``tmp``, with what it holds (or where it points)."""
    found: dict[str, tuple[bool, bytes | str]] = {}
    for root, _, names in os.walk(tmp):
        for name in names:
            path = Path(root, name)
            found[str(path)] = ((True, os.readlink(path)) if path.is_symlink()
                                else (False, path.read_bytes()))
    return found


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, argv, env=env, catch_exceptions=False)
    return result.exit_code, result.stderr


def _refused(tmp: Path, argv: list[str], flags: tuple[str, str], path: str,
             env: dict[str, str] | None = None) -> None:
    before = _state(tmp)
    code, err = _run(argv, env)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("harborguard: error: "), err
    assert all(flag in lines[0] for flag in flags) and path in lines[0], err
    assert _state(tmp) == before  # nothing written, no temporary file left


@pytest.mark.parametrize(("command", "out_flag", "in_flag", "key"), CASES)
def test_an_output_naming_an_input_is_refused(tmp_path: Path, command: str, out_flag: str,
                                              in_flag: str, key: str) -> None:
    f = _files(tmp_path)
    target = str(f[key])
    _refused(tmp_path, [*_argv(command, f, in_flag, key), out_flag, target],
             (out_flag, in_flag), target)


@pytest.mark.parametrize(("command", "out_flag", "in_flag", "key"), CASES)
def test_a_link_or_another_spelling_of_an_input_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, out_flag: str,
        in_flag: str, key: str) -> None:
    f = _files(tmp_path)
    argv = _argv(command, f, in_flag, key)
    symbolic = tmp_path / "symbolic"
    symbolic.symlink_to(f[key])
    _refused(tmp_path, [*argv, out_flag, str(symbolic)], (out_flag, in_flag), str(symbolic))
    hard = tmp_path / "hard"
    os.link(f[key], hard)
    _refused(tmp_path, [*argv, out_flag, str(hard)], (out_flag, in_flag), str(hard))
    monkeypatch.chdir(f[key].parent)
    dotted = f"./sub/../{f[key].name}"
    (f[key].parent / "sub").mkdir()
    _refused(tmp_path, [*argv, out_flag, dotted], (out_flag, in_flag), dotted)


@pytest.mark.parametrize(("command", "out_flag", "in_flag", "key"), CASES)
def test_another_file_is_written(tmp_path: Path, command: str, out_flag: str, in_flag: str,
                                 key: str) -> None:
    f = _files(tmp_path)
    out = tmp_path / "out" / f[key].name  # the same name, another folder
    out.parent.mkdir()
    code, err = _run([*_argv(command, f, in_flag, key), out_flag, str(out)])
    assert "same file" not in err
    if command == "snapshot":
        assert code == 3, err  # Harbor is unreachable: nothing to write
    else:
        assert code in (0, 1, 3), err
        assert out.stat().st_size > 0


def _main(argv: list[str], cwd: Path, **stdin: Any) -> subprocess.CompletedProcess[bytes]:
    """``--snapshot -`` reads file descriptor 0: a process of its own (``stdin`` or
    ``input`` as subprocess.run takes them)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "harborguard", *argv], cwd=cwd, env=env,
                          capture_output=True, timeout=120, check=False, **stdin)


def test_standard_input_and_output_never_clash(tmp_path: Path) -> None:
    f = _files(tmp_path)
    run = _main(["simulate", "--snapshot", "-", "--format", "json", "-o", "-"], tmp_path,
                input=f["snap"].read_bytes())  # a pipe
    assert run.returncode in (0, 1) and b"same file" not in run.stderr, run.stderr


def test_a_file_named_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--snapshot - reads standard input and -o - writes standard output; --kubectl-json -
    names ./-, and so does -o ./-: that is the same file."""
    f = _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    shutil.copy(f["pods"], tmp_path / "-")
    argv = ["drift", "--manifests", str(f["manifests"]), "--environment", "tools",
            "--kubectl-json", "-", "--format", "json"]
    _refused(tmp_path, [*argv, "-o", "./-"], ("-o/--output", "--kubectl-json"), "-")
    before = _state(tmp_path)
    code, err = _run([*argv, "-o", "-"])
    assert code in (0, 1, 3) and "same file" not in err, err
    assert _state(tmp_path) == before  # the report went to standard output
    code, err = _run([*argv, "-o", "report.json"])
    assert code in (0, 1, 3) and "same file" not in err, err


def test_standard_input_redirected_from_the_output_is_refused(tmp_path: Path) -> None:
    f = _files(tmp_path)
    before = _state(tmp_path)
    with open(f["snap"], "rb") as snap:
        run = _main(["simulate", "--snapshot", "-", "-o", "in/snap.json"], tmp_path,
                    stdin=snap)
    assert run.returncode == 2, run.stderr
    assert b"-o/--output in/snap.json and --snapshot - are the same file" in run.stderr
    assert _state(tmp_path) == before


def test_the_same_file_for_both_outputs_of_protect_is_refused(tmp_path: Path) -> None:
    f = _files(tmp_path)
    out = str(tmp_path / "both.json")
    _refused(tmp_path, [*_base("protect", f), "-o", out, "--policy-out", out],
             ("-o/--output", "--policy-out"), out)


@pytest.mark.parametrize("command", ["check", "drift", "protect"])
@pytest.mark.parametrize("name", ["report.json", "values/new.yaml", "x.yml",
                                  "helmfile.yaml.gotmpl"])
def test_a_file_the_manifests_folder_reads_is_refused(tmp_path: Path, command: str,
                                                       name: str) -> None:
    f = _files(tmp_path)
    argv = _base(command, f)
    if "--manifests" not in argv:
        argv += ["--manifests", str(f["manifests"]), "--environment", "tools"]
    out = f["manifests"] / "components" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    _refused(tmp_path, [*argv, "-o", str(out)], ("-o/--output", "--manifests"), str(out))


def test_other_files_in_the_manifests_folder_are_written(tmp_path: Path) -> None:
    f = _files(tmp_path)
    out = f["manifests"] / "report.md"
    code, err = _run([*_base("drift", f), "-o", str(out)])
    assert code in (0, 1, 3) and out.stat().st_size > 0, err


def test_a_file_the_logs_folder_reads_is_refused(tmp_path: Path) -> None:
    f = _files(tmp_path)
    out = f["logs"] / "report.json"
    _refused(tmp_path, [*_base("verify", f), "-o", str(out)], ("-o/--output", "--from-logs"),
             str(out))
    hidden = f["logs"] / ".report.json"  # not read: written
    code, err = _run([*_base("verify", f), "-o", str(hidden)])
    assert code == 0 and hidden.stat().st_size > 0, err


def test_an_input_from_the_environment_or_the_config_file_is_refused(tmp_path: Path) -> None:
    f = _files(tmp_path)
    argv = ["simulate", "--format", "json", "-o", str(f["snap"])]
    _refused(tmp_path, argv, ("-o/--output", "HARBORGUARD_SNAPSHOT"), str(f["snap"]),
             env={"HARBORGUARD_SNAPSHOT": str(f["snap"])})
    f["config"].write_text(f"snapshot: {f['snap']}\n")
    _refused(tmp_path, [*argv, "--config", str(f["config"])], ("-o/--output", "'snapshot'"),
             str(f["snap"]))
    _refused(tmp_path, ["simulate", "--snapshot", str(f["snap"]), "-o", str(f["config"])],
             ("-o/--output", "HARBORGUARD_CONFIG"), str(f["config"]),
             env={"HARBORGUARD_CONFIG": str(f["config"])})
    # a global option before the subcommand
    _refused(tmp_path, ["--config", str(f["config"]), "simulate", "-o", str(f["config"])],
             ("-o/--output", "--config"), str(f["config"]))
    # the command line wins over the environment: that snapshot is not read
    code, err = _run(["simulate", "--snapshot", str(f["snap"]), "--format", "json",
                      "-o", str(f["pods"])], env={"HARBORGUARD_SNAPSHOT": str(f["pods"])})
    assert code in (0, 1) and "harborguard.report/v1" in f["pods"].read_text(), err


def test_a_default_config_file_is_an_input(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    f = _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    Path("harborguard.yaml").write_text("quiet: true\n")
    _refused(tmp_path, ["simulate", "--snapshot", str(f["snap"]), "-o", "harborguard.yaml"],
             ("-o/--output", "--config (the default config file)"), "harborguard.yaml")


def test_a_setting_the_command_does_not_read_is_no_clash(tmp_path: Path) -> None:
    """snapshot reads no snapshot: refreshing the one HARBORGUARD_SNAPSHOT names is fine."""
    f = _files(tmp_path)
    code, err = _run([*_base("snapshot", f), "-o", str(f["snap"])],
                     env={"HARBORGUARD_SNAPSHOT": str(f["snap"])})
    assert code == 3 and "same file" not in err, err


def test_every_file_option_of_every_command_is_classified() -> None:
    """A new option naming a file or folder must be said to be an input, an output, a
    folder read, or not guarded (and why): none is forgotten."""
    known = {*OUTPUTS, *INPUTS, *FOLDERS, *NOT_GUARDED}
    commands = [cli, *cli.commands.values()]
    for command in commands:
        for param in command.params:
            if isinstance(param, click.Option) and param.metavar in ("FILE", "PATH", "DIR"):
                assert param.name in known, f"{command.name}: {param.opts}"
