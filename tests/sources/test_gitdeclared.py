"""The rollback window covers everything the manifests declare (issue 12, cases 04a-d).

Before, only `chartVersion` in values/<env>.yaml was walked: a helmfile literal version
bump, an image tag bump under the same chartVersion, a plain Deployment's image bump and a
component renamed and bumped in one commit left the earlier version unprotected, and
`check` said "Nothing in use would be deleted" while the rollback target was deleted.
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
from tests.sources.test_githistory import commit, git, init

APP = "tools-harbor.wmcloud.org/toolforge/app"
SNAPSHOT = shared_dir() / "evidence" / "chart-snap.json"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")

HELMFILE = """repositories:
  - name: tools
    url: tools-harbor.wmcloud.org/toolforge
    oci: true

releases:
  - name: app
    chart: tools/app
    version: VERSION
    namespace: app
    values:
      - values/{{ .Environment.Name }}.yaml*

environments:
  tools:
    values:
      - values/{{ .Environment.Name }}.yaml*
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: IMAGE
"""


def write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def served(repository: str, version: str) -> str:
    """The chart's values.yaml as the snapshot serves it."""
    return f"image:\n  name: {APP}\n  tag: {version}_image\n"


def rollback(ev: HistoryEvidence) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in ev.usages}


def check(root: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(root), "--environment",
              "tools", "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def rollback_deleted(report: dict[str, object]) -> set[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {f["message"].split(" ", 1)[0] for f in findings if f["code"] == "rollback-deleted"}


def literal(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "literal"
    init(repo)
    write(repo, "components/app/helmfile.yaml", HELMFILE.replace("VERSION", "0.0.1"))
    write(repo, "components/app/values/tools.yaml", "replicas: 1\n")
    first = commit(repo, "v1", "2026-01-01T00:00:00Z")
    write(repo, "components/app/helmfile.yaml", HELMFILE.replace("VERSION", "0.0.5"))
    commit(repo, "v5", "2026-01-02T00:00:00Z")
    return repo, first


def test_a_helmfile_literal_version_bump_keeps_the_earlier_chart(tmp_path: Path) -> None:
    repo, first = literal(tmp_path)
    ev = read_history(str(repo), "tools", 1, image_tag_template="{version}_image")
    where = f"{first}:components/app/helmfile.yaml:9"
    assert rollback(ev) == {(f"{APP}:0.0.1", where), (f"{APP}:0.0.1_image", where)}
    assert all(u.kind == "rollback" and u.source == "git-history" for u in ev.usages)
    code, report = check(repo)
    assert code == 1
    assert rollback_deleted(report) == {"toolforge/app:0.0.1", "toolforge/app:0.0.1_image"}


def image_bumps(tmp_path: Path, tags: list[str]) -> tuple[Path, list[str]]:
    repo = tmp_path / "imagebump"
    init(repo)
    write(repo, "components/app/helmfile.yaml",
          HELMFILE.replace("VERSION", '"{{ .Values.chartVersion }}"'))
    commits = []
    for day, tag in enumerate(tags, start=1):
        write(repo, "components/app/values/tools.yaml",
              f"chartVersion: 0.0.5\nimage:\n  tag: {tag}\n")
        commits.append(commit(repo, tag, f"2026-01-0{day}T00:00:00Z"))
    return repo, commits


def test_an_image_tag_bump_under_the_same_chart_version(tmp_path: Path) -> None:
    repo, commits = image_bumps(tmp_path, ["0.0.1_image", "0.0.4_image"])
    ev = read_history(str(repo), "tools", 1, chart_values=served)
    assert rollback(ev) == {(f"{APP}:0.0.1_image",
                             f"{commits[0]}:components/app/values/tools.yaml:3")}
    code, report = check(repo)
    assert code == 1
    assert rollback_deleted(report) == {"toolforge/app:0.0.1_image"}


def test_the_window_counts_distinct_declared_versions(tmp_path: Path) -> None:
    repo, commits = image_bumps(tmp_path, ["0.0.1_image", "0.0.2_image", "0.0.1_image",
                                           "0.0.3_image", "0.0.4_image"])
    values = "components/app/values/tools.yaml:3"
    ev = read_history(str(repo), "tools", 1, chart_values=served)
    assert rollback(ev) == {(f"{APP}:0.0.3_image", f"{commits[3]}:{values}")}
    ev = read_history(str(repo), "tools", 3, chart_values=served)
    # 0.0.1 counts once (a revert), cited where it was last set.
    assert rollback(ev) == {(f"{APP}:0.0.3_image", f"{commits[3]}:{values}"),
                            (f"{APP}:0.0.1_image", f"{commits[2]}:{values}"),
                            (f"{APP}:0.0.2_image", f"{commits[1]}:{values}")}


def test_a_plain_deployment_image_bump(tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    init(repo)
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.1_image"))
    first = commit(repo, "v1", "2026-01-01T00:00:00Z")
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.5_image"))
    commit(repo, "v5", "2026-01-02T00:00:00Z")
    ev = read_history(str(repo), "tools", 1)
    assert rollback(ev) == {(f"{APP}:0.0.1_image", f"{first}:app/deployment.yaml:10")}
    code, report = check(repo)
    assert code == 1
    assert rollback_deleted(report) == {"toolforge/app:0.0.1_image"}


def test_a_component_renamed_and_bumped_in_one_commit(tmp_path: Path) -> None:
    repo = tmp_path / "rename"
    init(repo)
    helmfile = HELMFILE.replace("VERSION", '"{{ .Values.chartVersion }}"')
    write(repo, "components/app/helmfile.yaml", helmfile)
    write(repo, "components/app/values/tools.yaml", "chartVersion: 0.0.1\n")
    first = commit(repo, "v1", "2026-01-01T00:00:00Z")
    shutil.rmtree(repo / "components/app")
    write(repo, "components/app-api/helmfile.yaml", helmfile)
    write(repo, "components/app-api/values/tools.yaml", "chartVersion: 0.0.5\n")
    commit(repo, "rename and bump", "2026-01-02T00:00:00Z")
    ev = read_history(str(repo), "tools", 1, image_tag_template="{version}_image")
    where = f"{first}:components/app/values/tools.yaml:1"
    assert rollback(ev) == {(f"{APP}:0.0.1", where), (f"{APP}:0.0.1_image", where)}
    code, report = check(repo)
    assert code == 1
    assert rollback_deleted(report) == {"toolforge/app:0.0.1", "toolforge/app:0.0.1_image"}


def test_what_head_still_declares_is_not_rollback(tmp_path: Path) -> None:
    repo = tmp_path / "same"
    init(repo)
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.5_image"))
    commit(repo, "v5", "2026-01-01T00:00:00Z")
    write(repo, "app/deployment.yaml",
          DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.5_image") + "# a comment\n")
    commit(repo, "comment", "2026-01-02T00:00:00Z")
    assert read_history(str(repo), "tools", 1).usages == ()


def test_an_earlier_version_that_cannot_be_resolved_is_a_finding(tmp_path: Path) -> None:
    repo = tmp_path / "templated"
    init(repo)
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:{{{{ .Tag }}}}"))
    first = commit(repo, "templated", "2026-01-01T00:00:00Z")
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.5_image"))
    commit(repo, "v5", "2026-01-02T00:00:00Z")
    ev = read_history(str(repo), "tools", 1)
    assert [u.where for u in ev.unresolved] == [f"{first}:app/deployment.yaml:10"]
    code, report = check(repo)
    findings = report["findings"]
    assert isinstance(findings, list)
    assert [f["message"] for f in findings if f["code"] == "unresolved-reference"
            and f["message"].startswith(f"{first}:app/deployment.yaml:10")]


def test_a_shallow_clone_short_of_the_window_is_a_problem(tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    init(repo)
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.1_image"))
    commit(repo, "v1", "2026-01-01T00:00:00Z")
    write(repo, "app/deployment.yaml", DEPLOYMENT.replace("IMAGE", f"{APP}:0.0.5_image"))
    commit(repo, "v5", "2026-01-02T00:00:00Z")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    ev = read_history(str(clone), "tools", 1)
    assert ev.usages == ()
    assert [p for p in ev.problems if p.startswith(
        "app/deployment.yaml: fewer than 1 earlier versions of what it declares for tools: "
        "the clone is shallow") and "git fetch --unshallow" in p]
    code, report = check(clone)
    assert code == 3


CHART_TEMPLATE = """apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: app
        image: harbor.example.org/proj/app:TAG
"""


def test_history_selects_the_files_the_working_tree_does(tmp_path: Path) -> None:
    """Chart folders (Chart.yaml, templates/), werf's .helm, .json: one selection."""
    from harborguard.sources.fstree import yaml_files
    from harborguard.sources.gitdeclared import tree_yaml_files

    repo = tmp_path / "sel"
    init(repo)
    for path, text in {
        "charts/app/Chart.yaml": "name: app\n", "charts/app/values.yaml": "a: 1\n",
        "charts/app/templates/d.yaml": "a: 1\n", "charts/app/templates/_h.tpl": "x\n",
        ".helm/values.yaml": "a: 1\n", ".helm/templates/x.yaml": "a: 1\n",
        ".chart/Chart.yaml": "name: c\n", ".chart/templates/x.yaml": "a: 1\n",
        ".github/ci.yaml": "a: 1\n", ".x/values.yaml": "a: 1\n",
        "worker.json": "{}\n", "package.json": "{}\n", "deploy.yaml": "a: 1\n",
    }.items():
        write(repo, path, text)
    commit(repo, "all", "2026-01-01T00:00:00Z")
    listing = git(repo, "ls-files").split("\n")
    assert tree_yaml_files(listing) == yaml_files(repo)[0]
    assert ".helm/templates/x.yaml" in listing and ".x/values.yaml" not in yaml_files(repo)[0]


def test_an_unnamed_charts_template_bump_keeps_the_earlier_image(tmp_path: Path) -> None:
    """A chart an Argo CD Application deploys (no helmfile), outside components/: the
    template's earlier image is a rollback target."""
    repo = tmp_path / "argo"
    init(repo)
    write(repo, "charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
    write(repo, "charts/app/values.yaml", "replicas: 1\n")
    write(repo, "charts/app/templates/d.yaml", CHART_TEMPLATE.replace("TAG", "1.0"))
    first = commit(repo, "1.0", "2026-01-01T00:00:00Z")
    write(repo, "charts/app/templates/d.yaml", CHART_TEMPLATE.replace("TAG", "2.0"))
    commit(repo, "2.0", "2026-01-02T00:00:00Z")
    ev = read_history(str(repo), "prod", 1)
    assert rollback(ev) == {
        ("harbor.example.org/proj/app:1.0", f"{first}:charts/app/templates/d.yaml:8")}
