"""Docs that cannot drift: README's example commands run, and every command has help."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[list[str]]:
    return [shlex.split(line.removeprefix(".venv/bin/harborguard "))
            for line in README.splitlines() if line.startswith(".venv/bin/harborguard ")]


def test_readme_has_the_two_quick_start_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in quick.strip().splitlines()] == [
        "make demo", "make test"]


@pytest.mark.parametrize("args", readme_commands(), ids=lambda a: " ".join(a[:2]))
def test_readme_examples_run(args: list[str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    if ".demo/toolforge-deploy" in args:
        dest = tmp_path / "toolforge-deploy"
        subprocess.run(["sh", "examples/build-deploy-repo.sh", str(dest)], check=True,
                       capture_output=True)
        args = [str(dest) if a == ".demo/toolforge-deploy" else a for a in args]
    result = CliRunner().invoke(cli, [*args, "--format", "table"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stdout.strip()


def test_every_command_and_option_in_the_readme_exists() -> None:
    commands = set(cli.commands)  # type: ignore[attr-defined]
    assert commands == {"simulate", "check", "diff", "drift", "snapshot", "protect",
                        "verify"}
    for name in commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
        documented = set(re.findall(r"--[a-z][a-z-]+", result.output))
        assert documented, name
    for flag in set(re.findall(r"`(--[a-z][a-z-]+)", README)):
        helps = "".join(CliRunner().invoke(cli, [c, "--help"]).output for c in commands)
        assert flag in helps or flag == "--version", flag
