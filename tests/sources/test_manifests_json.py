"""`.json` Kubernetes manifests in --manifests (hostile review, attack 4, case 4).

`kubectl apply -f dir/` and Argo CD directory sources read `.json` files too; they were
skipped, so a Deployment written as JSON on a deleted image gave exit 0. Only objects with
apiVersion and kind are read (package.json, renovate.json are not Kubernetes: no noise).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.manifests import read_manifests
from tests.builders import shared_dir

APP = "harbor.example.org/proj/app"
SNAPSHOT = shared_dir() / "evidence" / "app-snap.json"
DEPLOY = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: {APP}:2.0
"""
WORKER = (
    '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "worker"},\n'
    ' "spec": {"template": {"spec": {"containers": [{"name": "worker", '
    f'"image": "{APP}:1.0"}}]}}}}}}}}\n'
)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def usages(root: Path) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in read_manifests(str(root), "prod").usages}


def test_a_json_deployment_is_read_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"deploy.yaml": DEPLOY, "worker.json": WORKER})
    ev = read_manifests(str(tmp_path), "prod")
    assert {(u.ref, u.where, u.kind) for u in ev.usages} == {
        (f"{APP}:2.0", "deploy.yaml:10", "declared"),
        (f"{APP}:1.0", "worker.json:2", "declared"),
    }
    assert ev.problems == ()
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(SNAPSHOT), "--manifests", str(tmp_path),
              "--environment", "prod", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1, result.stdout
    codes = {(f["code"], f["message"].split(" ", 1)[0])
             for f in json.loads(result.stdout)["findings"]}
    assert ("in-use-deleted", "proj/app:1.0") in codes


def test_a_json_list_and_a_tab_indented_object_are_read(tmp_path: Path) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
         "spec": {"containers": [{"name": "a", "image": f"{APP}:1.0"}]}}]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"},
           "spec": {"containers": [{"name": "b", "image": f"{APP}:0.9"}]}}
    write(tmp_path, {
        "list.json": json.dumps(items, indent=2),
        "pod.json": json.dumps(pod, indent="\t"),
    })
    found = usages(tmp_path)
    assert (f"{APP}:1.0", "list.json:15") in found
    assert (f"{APP}:0.9", "pod.json:11") in found


def test_json_that_is_not_kubernetes_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": json.dumps({"name": "x", "config": {"image": f"{APP}:1.0"}}),
        "renovate.json": '{"extends": ["config:base"], "image": {"repository": "x", '
                         f'"tag": "1.0"}}, "docker": {{"image": "{APP}:1.0"}}}}',
        "tsconfig.json": '{\n  // comments are not JSON\n  "compilerOptions": {}\n}\n',
        "values.schema.json": '{"type": "object", "properties": {"image": {}}}',
        ".eslintrc.json": "{",
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert ev.usages == ()
    assert ev.unresolved == ()
    assert ev.problems == ()


def test_broken_json_naming_a_kubernetes_object_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, {"worker.json": WORKER.replace("},\n", "},,\n", 1)})
    ev = read_manifests(str(tmp_path), "prod")
    assert [p.split(":", 1)[0] for p in ev.problems] == ["worker.json"]


def test_other_tools_json_is_not_opened(tmp_path: Path) -> None:
    """A package-lock.json may pass the 8 MiB a file is read up to: it is not opened, and
    npm's node_modules/ is not read for JSON (fixtures of Kubernetes client libraries)."""
    write(tmp_path, {
        "package-lock.json": '{"name": "x", "packages": {"a": "' + "x" * (9 << 20) + '"}}',
        "node_modules/k8s/fixture.json": WORKER,
        "chart/values.schema.json": '{"apiVersion": "v1", "kind": ',
    })
    ev = read_manifests(str(tmp_path), "prod")
    assert (ev.usages, ev.problems, ev.files_read) == ((), (), 0)
