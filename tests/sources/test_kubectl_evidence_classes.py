"""Issue 12's kubectl classes: evidence that was read as nothing.

Image references in env values and args; DaemonSet and StatefulSet rollback targets
(ControllerRevisions); kinds with a pod spec that harborguard has no entry for (several
documents in one file: test_kubectl_documents.py). Each at parser level and through the
CLI, with the exact exit code. The reproductions are in tests/data/issue12-kubectl/
(SOURCES.md there).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.kubectl import (
    KubectlEvidence,
    load_kubectl_file,
    parse_kubectl_json,
)
from harborguard.sources.kubepods import named_image
from tests.builders import shared_dir

CASES = Path(__file__).resolve().parents[1] / "data" / "issue12-kubectl"
BASE = str(CASES / "base-snap.json")
APP = "tools-harbor.wmcloud.org/toolforge/app"
BUILDER = "tools-harbor.wmcloud.org/toolforge/heroku-builder:22"
EXAMPLE = shared_dir() / "toolforge" / "kubectl_list_example.json"


def invoke(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, report, result.stderr


def errors(report: dict[str, Any] | None) -> set[tuple[str, tuple[str, ...]]]:
    assert report is not None
    return {(f["code"], tuple(f["tags"] or ())) for f in report["findings"]
            if f["severity"] == "error"}


def uses(ev: KubectlEvidence) -> set[tuple[str, str, str]]:
    return {(u.kind, u.ref, u.where) for u in ev.usages}


def case(name: str) -> KubectlEvidence:
    return parse_kubectl_json(load_kubectl_file(CASES / name), name)


def obj(kind: str, name: str = "x", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": "ns"}, **fields}


def spec_with(image: str, **container: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": image, **container}]}


POD = obj("Pod", "p", spec=spec_with("a:1"))


# -- 1. image references in env values, args and command ----------------------------------


def test_env_value_naming_an_image_is_declared_evidence() -> None:
    ev = case("builder-kubectl.json")
    assert ev.missing == () and ev.problems == ()
    assert {u for u in uses(ev) if u[1] == BUILDER} == {
        ("declared", BUILDER, "builds-api/Deployment/builds-api:env BUILDER"),
        # The pod runs app:0.0.5 and starts builds in the builder: declared, not running.
        ("declared", BUILDER, "builds-api/Pod/builds-api-5d8-x:env BUILDER"),
    }


def test_cli_env_builder_image_deleted_is_an_error() -> None:
    code, report, err = invoke("check", "--snapshot", str(CASES / "builder-snap.json"),
                               "--kubectl-json", str(CASES / "builder-kubectl.json"))
    assert code == 1, err
    assert ("in-use-deleted", ("22", "22-20251201")) in errors(report)


def test_args_and_command_items_and_flag_values_are_read() -> None:
    pod = obj("Pod", spec=spec_with(
        "app:1", command=["/run", f"{APP}:0.0.2"],
        args=["--builder-image=localhost:5000/team/builder:7", "--verbose", "build",
              "--url=https://tools-harbor.wmcloud.org/toolforge/app:0.0.3"]))
    assert uses(parse_kubectl_json(pod, "t")) == {
        ("running", "app:1", "ns/Pod/x"),
        ("declared", f"{APP}:0.0.2", "ns/Pod/x:command[1]"),
        ("declared", "localhost:5000/team/builder:7", "ns/Pod/x:args[0]"),
    }


def test_several_references_in_one_value_each_count() -> None:
    pod = obj("Pod", spec=spec_with("app:1", env=[
        {"name": "BUILDERS", "value": f"{APP}:0.0.1, {APP}:0.0.2;{APP}:0.0.1"},
        {"name": "JSON", "value": json.dumps({"image": f"{APP}:0.0.3", "url": "https://x.org/a"})},
    ], command=["sh", "-c", f"crane copy {APP}:0.0.4 registry.example.org/mirror/app:0.0.4"]))
    assert uses(parse_kubectl_json(pod, "t")) == {
        ("running", "app:1", "ns/Pod/x"),
        ("declared", f"{APP}:0.0.1", "ns/Pod/x:env BUILDERS"),
        ("declared", f"{APP}:0.0.2", "ns/Pod/x:env BUILDERS"),
        ("declared", f"{APP}:0.0.3", "ns/Pod/x:env JSON"),
        ("declared", f"{APP}:0.0.4", "ns/Pod/x:command[2]"),
        ("declared", "registry.example.org/mirror/app:0.0.4", "ns/Pod/x:command[2]"),
    }


def test_env_without_value_or_of_odd_shape_adds_nothing() -> None:
    pod = obj("Pod", spec=spec_with("app:1", env=[
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
        {"name": "B", "value": 7}, "junk", {"name": "C", "value": "plain text"}]))
    assert uses(parse_kubectl_json(pod, "t")) == {("running", "app:1", "ns/Pod/x")}


def test_env_of_a_container_without_image_is_kept_and_the_item_named() -> None:
    pod = obj("Pod", spec={"containers": [{"name": "c", "env": [{"name": "B", "value": BUILDER}]}]})
    ev = parse_kubectl_json(pod, "t")
    assert uses(ev) == {("declared", BUILDER, "ns/Pod/x:env B")}
    assert ev.missing == ("t: Pod ns/x: containers[0] has no image; skipped",)


@pytest.mark.parametrize("text", [
    BUILDER,
    "tools-harbor.wmcloud.org/toolforge/heroku-builder@sha256:" + "a" * 64,
    "localhost/app:1",
    "registry:5000/app:1",
    "docker.io/library/nginx:1.25",
    "tools-harbor.wmcloud.org:443/toolforge/app:0.0.1",
])
def test_named_image_accepts_full_references(text: str) -> None:
    assert named_image(text) == text


@pytest.mark.parametrize("text", [
    "tools-harbor.wmcloud.org/toolforge/heroku-builder",  # no tag, no digest
    "nginx:1.25",  # no registry host
    "library/nginx:1.25",
    "toolforge/app:0.0.1",
    "https://tools-harbor.wmcloud.org/toolforge/app:0.0.1",  # a URL
    "postgres://user:pw@db.example.org:5432/app",
    "redis.ns.svc.cluster.local:6379/0",  # host:port/db
    "10.0.0.1:8080/metrics",
    "db.example.org:5432",
    "/var/run/app:1",
    "tools-harbor.wmcloud.org/Toolforge/App:1",  # not a valid path
    " tools-harbor.wmcloud.org/toolforge/app:1",
    "a b/c:1",
    "",
])
def test_named_image_refuses_everything_else(text: str) -> None:
    assert named_image(text) is None


# -- 3. DaemonSet and StatefulSet rollback targets -----------------------------------------


def test_daemonset_revisions_earlier_one_is_a_rollback_target() -> None:
    ev = case("k-daemonset-revisions.json")
    assert ev.missing == ()
    assert {u for u in uses(ev) if "ControllerRevision" in u[2]} == {
        ("rollback", f"{APP}:0.0.1", "app/ControllerRevision/agent-1abc"),
        ("declared", f"{APP}:0.0.5", "app/ControllerRevision/agent-2abc"),
    }


def test_cli_daemonset_rollback_target_deleted_is_an_error() -> None:
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json",
                               str(CASES / "k-daemonset-revisions.json"))
    assert code == 1, err
    assert ("rollback-deleted", ("0.0.1",)) in errors(report)


def _revision(name: str, number: Any, image: str, owner: str = "web",
              owner_kind: str = "StatefulSet") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": number,
            "metadata": {"name": name, "namespace": "ns", "ownerReferences": [
                {"kind": owner_kind, "name": owner, "controller": True}]},
            "data": {"spec": {"template": {"$patch": "replace", "spec": spec_with(image)}}}}


def test_statefulset_current_and_update_revisions_are_declared() -> None:
    sts = obj("StatefulSet", "web", spec={"template": {"spec": spec_with("app:3")}},
              status={"currentRevision": "web-2", "updateRevision": "web-3"})
    items = [sts, _revision("web-1", 1, "app:1"), _revision("web-2", 2, "app:2"),
             _revision("web-3", "3", "app:3")]
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert {u for u in uses(ev) if "ControllerRevision" in u[2]} == {
        ("rollback", "app:1", "ns/ControllerRevision/web-1"),
        # Mid-rollout: pods still run web-2 while web-3 rolls out.
        ("declared", "app:2", "ns/ControllerRevision/web-2"),
        ("declared", "app:3", "ns/ControllerRevision/web-3"),
    }


def test_revisions_without_their_owner_in_the_input_the_highest_is_current() -> None:
    items = [_revision("d-9", 9, "app:9", "d", "DaemonSet"),
             _revision("d-10", 10, "app:10", "d", "DaemonSet"),
             _revision("other-1", 1, "app:1", "other", "DaemonSet")]
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert {(u.kind, u.ref) for u in ev.usages} == {
        ("rollback", "app:9"), ("declared", "app:10"), ("declared", "app:1")}


def test_revision_without_number_or_owner_is_declared() -> None:
    orphan = _revision("o-1", None, "app:1")
    del orphan["metadata"]["ownerReferences"]
    assert {u.kind for u in parse_kubectl_json(orphan, "t").usages} == {"declared"}


def test_unreadable_daemonset_revision_is_missing_and_others_are_silent() -> None:
    broken = _revision("d-1", 1, "app:1", "d", "DaemonSet")
    broken["data"] = {"spec": {"updateStrategy": {}}}
    other = _revision("x-1", 1, "app:1", "x", "SomethingElse")
    other["data"] = {"spec": {"replicas": 3}}
    ev = parse_kubectl_json({"kind": "List", "items": [broken, other]}, "t")
    assert ev.usages == ()
    assert ev.missing == (
        "t: items[0]: ControllerRevision ns/d-1 has no data.spec.template.spec; skipped",)


def test_kubectl_fetches_controllerrevisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    args = _fake_kubectl(tmp_path, monkeypatch, "ok", CASES / "k-daemonset-revisions.json")
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl")
    assert code == 1, err
    assert ("rollback-deleted", ("0.0.1",)) in errors(report)
    assert "controllerrevisions" in json.loads(args.read_text())[1].split(",")


# -- 4. kinds harborguard has no entry for ------------------------------------------------


def test_replicationcontroller_and_podtemplate_are_declared() -> None:
    assert {u for u in uses(case("k-rc-mixed.json")) if u[0] == "declared"} == {
        ("declared", f"{APP}:0.0.1", "app/ReplicationController/legacy")}
    assert uses(case("k-podtemplate.json")) == {
        ("declared", f"{APP}:0.0.1", "app/PodTemplate/pt")}


@pytest.mark.parametrize("name", ["k-rc-mixed.json", "k-podtemplate.json", "k-rc.json"])
def test_cli_replicationcontroller_and_podtemplate_protect_their_image(name: str) -> None:
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json", str(CASES / name))
    assert code == 1, err
    assert ("in-use-deleted", ("0.0.1",)) in errors(report)


UNKNOWN_PLACED = [
    ("Rollout", {"spec": {"template": {"spec": spec_with("a:1")}}}),  # Argo Rollouts
    ("CronWorkflow", {"spec": {"jobTemplate": {"spec": {"template": {"spec":
                                                                     spec_with("a:1")}}}}}),
    ("PodLike", {"spec": spec_with("a:1")}),
    ("TemplateHolder", {"template": {"spec": spec_with("a:1")}}),
]


@pytest.mark.parametrize(("kind", "fields"), UNKNOWN_PLACED, ids=[k for k, _ in UNKNOWN_PLACED])
def test_unknown_kind_with_a_pod_spec_in_a_usual_place_is_declared(
        kind: str, fields: dict[str, Any]) -> None:
    ev = parse_kubectl_json({"kind": "List", "items": [obj(kind, "w", **fields)]}, "t")
    assert uses(ev) == {("declared", "a:1", f"ns/{kind}/w")} and ev.missing == ()


def test_unknown_kind_with_containers_elsewhere_makes_the_run_incomplete(tmp_path: Path) -> None:
    task = obj("Task", "build", spec={"steps": [{"name": "s"}], "sidecars": {
        "pods": [{"containers": [{"name": "c", "image": f"{APP}:0.0.1"}]}]}})
    ev = parse_kubectl_json({"kind": "List", "items": [task]}, "t")
    assert ev.usages == ()
    assert ev.missing == (
        "t: items[0]: Task ns/build has a container list at spec.sidecars.pods[0].containers, "
        "outside any pod spec harborguard can read, so what it runs is unknown; skipped",)
    target = tmp_path / "task.json"
    target.write_text(json.dumps({"kind": "List", "items": [
        task, obj("Pod", spec=spec_with(f"{APP}:0.0.5"))]}))
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json", str(target))
    assert code == 3
    assert "Task ns/build has a container list at spec.sidecars.pods[0].containers" in err


STRAY_IMAGES = [
    # Argo Workflows: a template's container is one object, not a list.
    ("Workflow", {"spec": {"templates": [{"name": "main", "container": {
        "image": f"{APP}:0.0.1", "command": ["run"]}}]}},
     "an image at spec.templates[0].container.image"),
    # Tekton: steps carry images.
    ("Task", {"spec": {"steps": [{"name": "build", "image": f"{APP}:0.0.1"}]}},
     "an image at spec.steps[0].image"),
]


@pytest.mark.parametrize(("kind", "fields", "where"), STRAY_IMAGES,
                         ids=[k for k, _, _ in STRAY_IMAGES])
def test_unknown_kind_naming_an_image_elsewhere_is_named(kind: str, fields: dict[str, Any],
                                                         where: str) -> None:
    ev = parse_kubectl_json({"kind": "List", "items": [obj(kind, "w", **fields), POD]}, "t")
    assert uses(ev) == {("running", "a:1", "ns/Pod/p")}
    assert ev.missing == (f"t: items[0]: {kind} ns/w has {where}, outside any pod spec "
                          "harborguard can read, so what it runs is unknown; skipped",)


def test_metadata_and_image_maps_are_not_images() -> None:
    crd = obj("Thing", spec={"schema": {"properties": {"image": {"type": "string"},
                                                       "containers": {"type": "array"}}}})
    crd["metadata"]["annotations"] = {"image": f"{APP}:0.0.1"}
    ev = parse_kubectl_json({"kind": "List", "items": [crd, POD]}, "t")
    assert ev.missing == ()


def test_objects_without_containers_stay_silent() -> None:
    items = [obj("Service", spec={"ports": [{"port": 80}]}),
             obj("ConfigMap", data={"containers": "not a list"}),
             obj("Thing", spec={"containers": []}), POD]
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert (uses(ev), ev.missing, ev.objects) == ({("running", "a:1", "ns/Pod/p")}, (), 4)


def test_managed_fields_are_not_searched() -> None:
    item = obj("Thing")
    item["metadata"]["managedFields"] = [{"fieldsV1": {"containers": [{"image": "a:1"}]}}]
    ev = parse_kubectl_json({"kind": "List", "items": [item, POD]}, "t")
    assert (uses(ev), ev.missing) == ({("running", "a:1", "ns/Pod/p")}, ())


def test_only_revisions_or_unknown_workloads_are_workloads() -> None:
    # Not "objects but no workload": a ControllerRevision, a Rollout carry pod specs.
    for item in (_revision("d-1", 1, "app:1", "d", "DaemonSet"),
                 obj("Rollout", spec={"template": {"spec": spec_with("a:1")}})):
        ev = parse_kubectl_json({"kind": "List", "items": [item]}, "t")
        assert ev.missing == () and ev.workloads == 1 and len(ev.usages) == 1


# -- the kubectl subprocess: refused output is incomplete (3), never half-read -------------

FAKE = """\
#!{python}
import json, os, sys
with open(os.environ["FAKE_KUBECTL_ARGS"], "w") as f:
    json.dump(sys.argv[1:], f)
mode = os.environ["FAKE_KUBECTL_MODE"]
text = open(os.environ["FAKE_KUBECTL_OUTPUT"]).read()
if mode == "ok":
    sys.stdout.write(text)
elif mode == "twice":
    sys.stdout.write(text + text)
elif mode == "duplicate":
    sys.stdout.write(text.replace('"kind": "List",', '"kind": "List", "items": [],', 1))
"""


def _fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                  output: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "kubectl"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUBECTL_ARGS", str(tmp_path / "args.json"))
    monkeypatch.setenv("FAKE_KUBECTL_OUTPUT", str(output))
    monkeypatch.setenv("FAKE_KUBECTL_MODE", mode)
    return tmp_path / "args.json"


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a script")


def test_the_ci_example_saves_what_kubectl_would_fetch() -> None:
    from harborguard.sources.kubectl import RESOURCES

    example = Path(__file__).resolve().parents[2] / "examples" / "ci" / "gitlab-ci.yml"
    assert f"kubectl get {RESOURCES} " in example.read_text()


def test_unknown_kind_nested_too_deep_to_search_is_named() -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(70):
        deep = {"x": deep}
    ev = parse_kubectl_json({"kind": "List", "items": [obj("Thing", spec=deep), POD]}, "t")
    assert len(ev.missing) == 1 and "objects nested deeper than 64 levels" in ev.missing[0]


def test_env_image_of_an_old_revision_is_a_rollback_target() -> None:
    old = _revision("d-1", 1, "app:1", "d", "DaemonSet")
    old["data"]["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "BUILDER", "value": BUILDER}]
    items = [old, _revision("d-2", 2, "app:2", "d", "DaemonSet")]
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert ("rollback", BUILDER, "ns/ControllerRevision/d-1:env BUILDER") in uses(ev)
