"""Manifests in a git submodule are never skipped silently (hostile review, attack 5).

`git clone`, GitLab CI and actions/checkout leave submodules out by default: the
submodule's folder is empty, and `check` said "Nothing in use would be deleted" while
what the submodule pins was deleted. Now a submodule that is not checked out is named
with the fix, and a submodule's history (its bumps are gitlink commits) is named as not
read: the run is incomplete (exit 3), never complete.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.fstree import yaml_files
from harborguard.sources.githistory import read_history
from harborguard.sources.manifests import read_manifests
from tests.builders import shared_dir
from tests.sources.test_gitdeclared import write
from tests.sources.test_githistory import commit, git, init
from tests.sources.test_gituncommitted import WEB, deployment

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")

SNAPSHOT = shared_dir() / "attack5" / "snap2.json"
FILE_PROTOCOL = ("-c", "protocol.file.allow=always")


def with_submodule(tmp_path: Path) -> Path:
    """A repository whose apps/ is a submodule pinning web 1.2.0 (1.1.0 before)."""
    source = tmp_path / "subsrc"
    init(source)
    write(source, "web.yaml", deployment("1.1.0"))
    commit(source, "web 1.1.0", "2026-01-01T00:00:00Z")
    write(source, "web.yaml", deployment("1.2.0"))
    commit(source, "web 1.2.0", "2026-01-02T00:00:00Z")
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "base/api.yaml", deployment("1.3.0").replace("name: web", "name: api"))
    git(repo, *FILE_PROTOCOL, "submodule", "add", "-q", str(source), "apps")
    commit(repo, "api, and apps as a submodule", "2026-01-03T00:00:00Z")
    return repo


def plain_clone(tmp_path: Path, repo: Path, submodule: str = "apps") -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert (clone / submodule).is_dir() and not any((clone / submodule).iterdir())
    return clone


def check(root: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(root), "--environment",
              "prod", "--history", "1", "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_a_submodule_not_checked_out_is_named_with_the_fix(tmp_path: Path) -> None:
    clone = plain_clone(tmp_path, with_submodule(tmp_path))
    _files, problems = yaml_files(clone)
    [problem] = problems
    assert problem.startswith("apps: a git submodule")
    assert "not read" in problem and "git submodule update --init" in problem
    assert any(p.startswith("apps: ") for p in read_manifests(str(clone), "prod").problems)
    code, report = check(clone)
    assert code == 3
    assert any("apps" in item["what"] and "submodule" in item["reason"]
               for item in report["incomplete"])  # type: ignore[union-attr]


def test_a_checked_out_submodule_is_read_and_its_history_named_as_not_read(
        tmp_path: Path) -> None:
    repo = with_submodule(tmp_path)
    assert yaml_files(repo) == (["apps/web.yaml", "base/api.yaml"], [])
    assert f"{WEB}:1.2.0" in {u.ref for u in read_manifests(str(repo), "prod").usages}
    ev = read_history(str(repo), "prod", 1)
    [problem] = ev.problems
    assert problem.startswith("apps: a git submodule") and "history" in problem
    assert "not read" in problem


def test_a_submodule_gitlink_in_history_is_not_complete(tmp_path: Path) -> None:
    clone = plain_clone(tmp_path, with_submodule(tmp_path))
    ev = read_history(str(clone), "prod", 1)
    assert [p.split(":", 1)[0] for p in ev.problems] == ["apps"]


def test_a_gitmodules_above_the_manifests_root_is_read(tmp_path: Path) -> None:
    source = tmp_path / "subsrc"
    init(source)
    write(source, "web.yaml", deployment("1.2.0"))
    commit(source, "web", "2026-01-01T00:00:00Z")
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "deploy/base/api.yaml", deployment("1.3.0"))
    git(repo, *FILE_PROTOCOL, "submodule", "add", "-q", str(source), "deploy/apps")
    commit(repo, "deploy/apps as a submodule", "2026-01-02T00:00:00Z")
    clone = plain_clone(tmp_path, repo, "deploy/apps")
    _files, problems = yaml_files(clone / "deploy")
    assert [p.split(":", 1)[0] for p in problems] == ["apps"]
    assert [p.split(":", 1)[0] for p in read_history(str(clone / "deploy"), "prod", 1).problems
            ] == ["apps"]


def test_without_submodules_nothing_changes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "apps/web.yaml", deployment("1.2.0"))
    write(repo, ".gitmodules", "# no submodules\n")
    commit(repo, "web", "2026-01-01T00:00:00Z")
    assert yaml_files(repo) == (["apps/web.yaml"], [])
    assert read_history(str(repo), "prod", 1).problems == ()


def test_manifests_pointing_at_a_submodule_not_checked_out(tmp_path: Path) -> None:
    clone = plain_clone(tmp_path, with_submodule(tmp_path))
    _files, problems = yaml_files(clone / "apps")
    assert [p.split(":", 1)[0] for p in problems] == ["."]
