"""Uncommitted changes under --manifests: HEAD's committed version is a rollback target.

A developer bumps a version in the checkout and runs `check --manifests .` before
committing. The working tree is what --manifests reads as declared; the committed HEAD is
what is deployed until the change is, so it counts too, besides the N versions before it
(hostile review, attack 5: before, HEAD's version fell out of both and `check` said
"Nothing in use would be deleted" while it was deleted).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.githistory import HistoryEvidence, read_history
from tests.builders import shared_dir
from tests.sources.test_gitdeclared import write
from tests.sources.test_githistory import (
    NEW,
    V130,
    V131,
    build_incident,
    commit,
    git,
    gotmpl_tools_values,
    init,
    versions,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")

SNAPSHOT = shared_dir() / "attack5" / "snap2.json"
WEB = "harbor.example.org/proj/web"
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: IMAGE
"""


def deployment(tag: str) -> str:
    return DEPLOYMENT.replace("IMAGE", f"{WEB}:{tag}")


def rollback(ev: HistoryEvidence) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in ev.usages}


def check(root: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(root), "--environment",
              "prod", "--history", "1", "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def deleted(report: dict[str, object], code: str) -> set[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {f["message"].split(" ", 1)[0] for f in findings if f["code"] == code}


def one_commit(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "apps/web.yaml", deployment("1.2.0"))
    return repo, commit(repo, "web 1.2.0", "2026-01-01T00:00:00Z")


def test_an_uncommitted_bump_keeps_heads_version_as_a_rollback_target(tmp_path: Path) -> None:
    repo, head = one_commit(tmp_path)
    write(repo, "apps/web.yaml", deployment("1.3.0"))
    ev = read_history(str(repo), "prod", 1)
    assert rollback(ev) == {(f"{WEB}:1.2.0", f"{head}:apps/web.yaml:9")}
    assert {u.kind for u in ev.usages} == {"rollback"}
    assert "the working tree differs from HEAD" in ev.summary()
    assert "apps/web.yaml" in ev.summary()
    code, report = check(repo)
    assert code == 1
    assert deleted(report, "rollback-deleted") == {"proj/web:1.2.0"}


def test_a_clean_tree_is_read_as_before(tmp_path: Path) -> None:
    repo, _ = one_commit(tmp_path)
    ev = read_history(str(repo), "prod", 1)
    assert ev.usages == ()
    assert "differs" not in ev.summary()
    # An untracked file that is not read (not YAML) is not a difference.
    write(repo, "README.txt", "notes\n")
    assert "differs" not in read_history(str(repo), "prod", 1).summary()


def test_heads_version_comes_besides_the_n_before_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "apps/web.yaml", deployment("1.1.0"))
    first = commit(repo, "web 1.1.0", "2026-01-01T00:00:00Z")
    write(repo, "apps/web.yaml", deployment("1.2.0"))
    second = commit(repo, "web 1.2.0", "2026-01-02T00:00:00Z")
    write(repo, "apps/api.yaml", deployment("1.3.0").replace("name: web", "name: api"))
    commit(repo, "add api", "2026-01-03T00:00:00Z")
    write(repo, "apps/web.yaml", deployment("1.3.0"))
    ev = read_history(str(repo), "prod", 1)
    assert rollback(ev) == {(f"{WEB}:1.2.0", f"{second}:apps/web.yaml:9"),
                            (f"{WEB}:1.1.0", f"{first}:apps/web.yaml:9")}
    assert ev.declared_versions == 1  # the versions before HEAD, as the report counts them


def test_a_file_deleted_in_the_working_tree(tmp_path: Path) -> None:
    repo, head = one_commit(tmp_path)
    write(repo, "apps/api.yaml", deployment("1.3.0").replace("name: web", "name: api"))
    (repo / "apps/web.yaml").unlink()
    ev = read_history(str(repo), "prod", 1)
    assert rollback(ev) == {(f"{WEB}:1.2.0", f"{head}:apps/web.yaml:9")}


def test_a_staged_bump_counts_too(tmp_path: Path) -> None:
    repo, head = one_commit(tmp_path)
    write(repo, "apps/web.yaml", deployment("1.3.0"))
    git(repo, "add", "-A")
    assert rollback(read_history(str(repo), "prod", 1)) == {
        (f"{WEB}:1.2.0", f"{head}:apps/web.yaml:9")}


def test_an_uncommitted_chart_version_bump(tmp_path_factory: pytest.TempPathFactory,
                                           tmp_path: Path) -> None:
    incident = build_incident(tmp_path_factory.mktemp("incident") / "repo")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(incident.repo), str(clone))
    (clone / NEW).write_text(gotmpl_tools_values("0.0.999-uncommitted"))
    ev = read_history(str(clone), "tools", 1)
    [component] = ev.components
    assert component.head_version == V131
    assert [v for v, _ in versions(ev)] == [V130]  # the versions before HEAD
    assert component.committed is not None
    assert (component.committed.version, component.committed.where) == (
        V131, f"{incident.c131}:{NEW}:1")
    charts = {u.ref for u in ev.usages if u.chart}
    assert f"tools-harbor.wmcloud.org/toolforge/builds-api:{V131}" in charts
    assert f"tools-harbor.wmcloud.org/toolforge/builds-api:{V130}" in charts



def test_manifests_in_a_subdirectory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init(repo)
    write(repo, "deploy/apps/web.yaml", deployment("1.2.0"))
    write(repo, "other/web.yaml", deployment("1.1.0"))
    head = commit(repo, "web 1.2.0", "2026-01-01T00:00:00Z")
    write(repo, "other/web.yaml", deployment("1.0.0"))  # outside --manifests: not a change
    ev = read_history(str(repo / "deploy"), "prod", 1)
    assert (ev.usages, ev.uncommitted) == ((), ())
    write(repo, "deploy/apps/web.yaml", deployment("1.3.0"))
    ev = read_history(str(repo / "deploy"), "prod", 1)
    assert ev.uncommitted == ("apps/web.yaml",)
    assert rollback(ev) == {(f"{WEB}:1.2.0", f"{head}:apps/web.yaml:9")}
