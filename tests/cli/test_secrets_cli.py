"""Credentials in URLs never reach any output (issue 12, items 15 and 16): a --harbor,
HARBOR_URL or config `harbor` with a password is refused (exit 2), masked; a snapshot whose
`harbor` holds user:password@ is shown masked in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.redact import mask_url, split_userinfo, url_has_password

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
KUBECTL = EXAMPLE.parent / "cluster-kubectl.json"
SECRET_URLS = [
    "http://robot:Pa@ssTail99@harbor.example.org",  # a raw '@' in the password
    "https://admin:ssTail99@harbor.example.org:8443/",
    "https://robot$p+ci:Pa/ss?Tail99#x@harbor.example.org",  # '/', '?', '#' in it
    "https://:ssTail99@harbor.example.org",
]
PIECES = ("ssTail99", "Pa@ss", "Pa/ss")


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def leaked(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_the_url_cleaner_splits_at_the_last_at(url: str) -> None:
    userinfo, rest = split_userinfo(url)
    assert userinfo is not None and "@" not in rest and leaked(rest) == []
    assert url_has_password(url)
    assert mask_url(url).split("://")[1].startswith("***@harbor.example.org")
    assert not url_has_password("https://robot@harbor.example.org")
    assert mask_url("https://harbor.example.org/x") == "https://harbor.example.org/x"


@pytest.mark.parametrize("url", SECRET_URLS)
@pytest.mark.parametrize("where", ["flag", "env", "config"])
@pytest.mark.parametrize("command", [
    ["simulate", "--project", "toolforge"],
    ["snapshot", "--project", "toolforge", "-o", "out.json"],
    ["simulate", "--snapshot", str(EXAMPLE)],
], ids=["live", "snapshot", "offline"])
def test_a_harbor_url_with_a_password_is_refused_and_masked(
        tmp_path: Path, url: str, where: str, command: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"HARBOR_PASSWORD": "", "HARBOR_URL": ""}
    args = list(command)
    if where == "flag":
        args = ["--harbor", url, *args]
    elif where == "env":
        env["HARBOR_URL"] = url
    else:
        (tmp_path / "harborguard.yaml").write_text(json.dumps({"harbor": url}))
    code, output = invoke(*args, env=env)
    assert code == 2, output
    assert "holds a password" in output and "***@harbor.example.org" in output
    assert leaked(output) == []
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "junit"])
@pytest.mark.parametrize("command", ["simulate", "check"])
def test_a_snapshot_harbor_with_credentials_is_masked_in_every_format(
        tmp_path: Path, fmt: str, command: str) -> None:
    data = json.loads(EXAMPLE.read_text())
    host = data["harbor"].split("://", 1)[1]
    data["harbor"] = f"https://robot:Pa@ssTail99@{host}"
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(json.dumps(data))
    args = [command, "--snapshot", str(snapshot), "--format", fmt]
    if command == "check":
        args += ["--kubectl-json", str(KUBECTL)]
    code, output = invoke(*args)
    assert code in (0, 1, 3), output
    assert leaked(output) == []
    if fmt == "json":
        assert json.loads(output[: output.rindex("}") + 1])["source"]["harbor"] == \
            f"https://***@{host}"
