"""What --manifests cannot read ends the run incomplete (exit 3), never in an all-clear.

A git checkout git refuses, a shallow clone short of --history, a helmfile or values file
of the wrong shape, an alias bomb, a named pipe, a link out of the tree, a file over the
size cap: each is named with its fix. Files named on the command line (policy, config,
kubectl YAML) that are bombs are bad input (exit 2), one line.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.fstree import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SNAPSHOT = str(EXAMPLES / "toolforge-snapshot.json")
IMAGE = "tools-harbor.wmcloud.org/toolforge/builds-api:0.0.130-20240221160838-03b2a120_image"
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: builds-api, namespace: b}\n"
    "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
    f"          image: {IMAGE}\n"
)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DUBIOUS = (
    "fatal: detected dubious ownership in repository at '{dir}'\n"
    "To add an exception for this directory, call:\n\n"
    "\tgit config --global --add safe.directory {dir}\n"
)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def check(root: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(root),
                            "--environment", "tools", "--format", "json", *extra)
    return code, json.loads(out), err


def reasons(report: dict[str, object]) -> list[str]:
    items = report["incomplete"]
    assert isinstance(items, list)
    return [f"{i['what']}: {i['reason']}" for i in items]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Complete evidence on its own: the running image, which the policy deletes (exit 1)."""
    root = tmp_path / "deploy"
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "deployment.yaml").write_text(DEPLOYMENT)
    code, report, err = check(root, "--history", "0")
    assert code == 1 and report["incomplete"] == [], err
    return root


# -- item 12: bounded reads ----------------------------------------------------------------


def test_alias_bomb_in_a_values_file_is_named_and_incomplete(tree: Path) -> None:
    (tree / "components/app/values").mkdir(parents=True)
    (tree / "components/app/values/tools.yaml").write_text(BOMB)
    code, report, err = check(tree, "--history", "0")
    assert code == 3
    assert any("components/app/values/tools.yaml" in r and "1,000,000 nodes" in r
               for r in reasons(report)), reasons(report)
    assert "Nothing in use would be deleted" not in err


def test_alias_bomb_in_a_plain_yaml_and_a_recursive_anchor(tree: Path) -> None:
    (tree / "k8s" / "bomb.yaml").write_text(BOMB)
    (tree / "k8s" / "loop.yaml").write_text("spec: &s {template: *s}\n")
    code, report, _ = check(tree, "--history", "0")
    assert code == 3
    found = reasons(report)
    assert any("k8s/bomb.yaml" in r for r in found)
    assert any("k8s/loop.yaml" in r and "recursive YAML is not read" in r for r in found)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_named_not_read(tree: Path) -> None:
    os.mkfifo(tree / "k8s" / "pipe.yaml")  # reading it would wait for a writer forever
    code, report, _ = check(tree, "--history", "0")
    assert code == 3
    assert any("k8s/pipe.yaml" in r and "a named pipe" in r for r in reasons(report))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_not_followed(tree: Path) -> None:
    (tree / "k8s" / "zero.yaml").symlink_to("/dev/zero")
    code, report, _ = check(tree, "--history", "0")
    assert code == 3
    assert any("k8s/zero.yaml" in r and "outside --manifests" in r for r in reasons(report))


def test_a_link_out_of_the_tree_is_not_quoted(tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "environ"
    secret.write_text("image: {{ .Values.x }}\ntoken: SecretOutside42\n")
    (tree / "k8s" / "env.yaml").symlink_to(secret)
    outside = tmp_path / "elsewhere"
    (outside / "values").mkdir(parents=True)
    (outside / "values" / "tools.yaml").write_text("image: SecretOutside42\n")
    (tree / "components").mkdir()
    (tree / "components" / "linked").symlink_to(outside, target_is_directory=True)
    for fmt in ("json", "table", "markdown"):
        code, out, err = invoke("check", "--snapshot", SNAPSHOT, "--manifests", str(tree),
                                "--environment", "tools", "--history", "0", "--format", fmt)
        assert code == 3
        assert "SecretOutside42" not in out + err
    code, report, _ = check(tree, "--history", "0")
    found = reasons(report)
    assert any("k8s/env.yaml" in r and "outside --manifests; not followed" in r for r in found)
    assert any("components/linked" in r and "folder outside --manifests" in r for r in found)


def test_a_link_inside_the_tree_is_read(tree: Path) -> None:
    (tree / "k8s" / "deployment.yaml").rename(tree / "real.yaml.txt")
    (tree / "k8s" / "deployment.yaml").symlink_to(tree / "real.yaml.txt")
    code, report, err = check(tree, "--history", "0")
    assert code == 1 and report["incomplete"] == [], err


def test_a_file_over_the_size_cap_is_named(tree: Path) -> None:
    with (tree / "k8s" / "huge.yaml").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, and never read
    code, report, _ = check(tree, "--history", "0")
    assert code == 3
    assert any("k8s/huge.yaml" in r and "larger than 8 MiB" in r for r in reasons(report))


def test_a_bomb_in_a_policy_extras_is_bad_input(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        BOMB.replace("a: &a", "x-lol: &a", 1)
        + "algorithm: or\nrules:\n  - template: always\n    tag_selectors:\n"
        "      - {kind: doublestar, decoration: matches, pattern: '**', extras: *i}\n"
        "    scope_selectors: {repository: [{kind: doublestar, decoration: repoMatches, "
        "pattern: '**'}]}\n")
    code, out, err = invoke("simulate", "--snapshot", SNAPSHOT, "--policy", str(policy))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(policy) in err and "nodes" in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("option", ["--policy", "--config"])
def test_an_endless_policy_or_config_file_is_bad_input(option: str) -> None:
    if option == "--config":
        code, out, err = invoke("--config", "/dev/zero", "simulate", "--snapshot", SNAPSHOT)
    else:
        code, out, err = invoke("simulate", "--snapshot", SNAPSHOT, "--policy", "/dev/zero")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: /dev/zero: larger than 8 MiB; harborguard reads at most that much of a policy "
        "or config file"] or ("larger than 8 MiB" in err and len(err.strip().splitlines()) == 1)


def test_a_bomb_as_config_file_is_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "harborguard.yaml"
    config.write_text(BOMB)
    code, _, err = invoke("--config", str(config), "simulate", "--snapshot", SNAPSHOT)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nodes" in err


def test_a_bomb_as_kubectl_yaml_is_bad_input(tmp_path: Path) -> None:
    dump = tmp_path / "pods.yaml"
    dump.write_text(BOMB + "kind: List\nitems: [*i]\n")
    code, _, err = invoke("check", "--snapshot", SNAPSHOT, "--kubectl-json", str(dump))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nodes" in err


# -- item 6: helmfiles and values files of the wrong shape --------------------------------

HELMFILE = """\
repositories:
  - name: tools
    url: oci://tools-harbor.wmcloud.org/toolforge
releases:
  - name: app
    namespace: app
    chart: tools/builds-api
    version: 0.0.130-20240221160838-03b2a120
"""


@pytest.mark.parametrize(
    ("helmfile", "needle"),
    [
        ("releases: [1, 2]\n", "releases[0]: expected a map (name, chart, version...), got int"),
        ("releases: {app: {chart: tools/x}}\n", "releases: expected a list, got map"),
        (HELMFILE.replace("chart: tools/builds-api", "chart: 7"),
         "releases[0].chart: expected a string, got int (line 7)"),
        (HELMFILE.replace("version: 0.0.130-20240221160838-03b2a120", "version: [1, 2]"),
         "releases[0].version: expected a string, got list"),
        (HELMFILE + "    values: values/tools.yaml\n", "releases[0].values: expected a list"),
        (HELMFILE.replace("    chart: tools/builds-api\n", ""), "releases[0].chart: missing"),
        ("releases: &r [*r]\n", "recursive YAML is not read"),
        ("releases:\n  - &r {name: app, chart: tools/x, values: [*r]}\n", "recursive YAML"),
        ("repositories: {tools: x}\n" + HELMFILE.split("releases:")[1].join(["releases:", ""]),
         "repositories: expected a list, got map"),
        (HELMFILE + "environments: [tools]\n", "environments: expected a map, got list"),
        (HELMFILE + "environments: {tools: [1]}\n", "environments.tools: expected a map"),
        (HELMFILE + "environments: {tools: {values: {a: 1}}}\n",
         "environments.tools.values: expected a list, got map"),
        ("releases: [null]\n", "releases[0]: expected a map (name, chart, version...), got null"),
        (BOMB, "1,000,000 nodes"),
    ],
)
def test_a_helmfile_that_cannot_be_read_is_incomplete(tree: Path, helmfile: str,
                                                      needle: str) -> None:
    (tree / "components/x").mkdir(parents=True)
    (tree / "components/x/helmfile.yaml").write_text(helmfile)
    code, report, err = check(tree, "--history", "0")
    found = reasons(report)
    assert code == 3, err
    assert any("components/x/helmfile.yaml: " in r and needle in r for r in found), found


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ("- chartVersion: 1.0.0\n", "expected a map of values, got list"),
        ("chartVersion: [1.0.0]\n", "chartVersion: expected a string, got list"),
        ("just a string\n", "expected a map of values, got string"),
    ],
)
def test_a_values_file_that_is_not_values_is_incomplete(tree: Path, values: str,
                                                        needle: str) -> None:
    (tree / "components/x/values").mkdir(parents=True)
    (tree / "components/x/helmfile.yaml").write_text(HELMFILE)
    (tree / "components/x/values/tools.yaml").write_text(values)
    code, report, _ = check(tree, "--history", "0")
    assert code == 3
    assert any("components/x/values/tools.yaml" in r and needle in r
               for r in reasons(report)), reasons(report)


def test_the_brief_example_names_file_and_field(tree: Path) -> None:
    (tree / "components/x").mkdir(parents=True)
    (tree / "components/x/helmfile.yaml").write_text(
        HELMFILE.replace("chart: tools/builds-api", "chart: 7"))
    code, _, err = check(tree, "--history", "0")
    assert code == 3
    assert "components/x/helmfile.yaml: releases[0].chart: expected a string, got int" in err


# -- item 5: git that cannot be read --------------------------------------------------------


def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """A git that answers as git does for a checkout owned by another user."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "git"
    message = DUBIOUS.format(dir=directory)
    script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{message}EOF\nexit 128\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.parametrize("history", [(), ("--history", "2")])
def test_a_checkout_of_another_user_is_incomplete(tree: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  history: tuple[str, ...]) -> None:
    (tree / ".git").mkdir()
    fake_git(tmp_path, monkeypatch, tree)
    code, report, err = check(tree, *history)
    assert code == 3
    found = " ".join(reasons(report))
    assert "detected dubious ownership" in found
    assert f"git config --global --add safe.directory {tree}" in found
    assert "is not a git checkout" not in err


def test_a_subfolder_of_a_checkout_of_another_user_is_incomplete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "repo"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "deploy" / "k8s").mkdir(parents=True)
    (checkout / "deploy" / "k8s" / "deployment.yaml").write_text(DEPLOYMENT)
    fake_git(tmp_path, monkeypatch, checkout)
    code, report, _ = check(checkout / "deploy")
    assert code == 3
    assert f"safe.directory {checkout}`" in " ".join(reasons(report))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")
def test_a_broken_worktree_link_is_incomplete_not_a_plain_folder(tree: Path) -> None:
    (tree / ".git").write_text("gitdir: /nonexistent/worktrees/deploy\n")
    code, report, _ = check(tree)
    assert code == 3
    assert any("git cannot read the checkout" in r and "not a git repository" in r
               for r in reasons(report)), reasons(report)


def test_a_folder_without_git_keeps_the_note(tree: Path) -> None:
    code, report, err = check(tree)
    assert code == 1 and report["incomplete"] == [], err
    assert any("is not a git checkout" in n for n in report["notes"])  # type: ignore[union-attr]


def deploy_repo(tmp_path: Path) -> Path:
    dest = tmp_path / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(dest)], check=True,
                   capture_output=True)
    return dest


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")
def test_a_shallow_clone_short_of_history_is_incomplete(tmp_path: Path) -> None:
    full = deploy_repo(tmp_path)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{full}", str(clone)],
                   check=True, capture_output=True)
    code, report, err = check(clone, "--image-tag-template", "{version}_image")
    assert code == 3, err
    found = " ".join(reasons(report))
    assert "found 0 of 1 earlier chart versions" in found
    assert "git fetch --unshallow" in found and "GIT_DEPTH: 0" in found
    assert "Nothing in use would be deleted" not in err
    # A full clone with fewer versions than asked: there are none older, nothing missing.
    code, report, err = check(full, "--history", "10", "--image-tag-template", "{version}_image")
    assert code == 1 and report["incomplete"] == [], err
