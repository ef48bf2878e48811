"""The kubectl source: real `kubectl get -o json` shapes, files, and a fake kubectl on PATH."""

from __future__ import annotations

import copy
import json
import os
import stat
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage
from harborguard.sources.kubectl import (
    RESOURCES,
    KubectlEvidence,
    kubectl_command,
    load_kubectl_file,
    parse_kubectl_json,
    run_kubectl,
)
from tests.builders import shared_dir

TOOLFORGE = shared_dir() / "toolforge"
K8S = shared_dir() / "realworld" / "k8s"
EXAMPLE = TOOLFORGE / "kubectl_list_example.json"
INCIDENT = TOOLFORGE / "kubectl_list_incident_state_example.json"
EDGE = TOOLFORGE / "kubectl_list_edge_cases_example.json"

HARBOR = "tools-harbor.wmcloud.org/toolforge"
API_130 = f"{HARBOR}/builds-api:0.0.130-20240221160838-03b2a120_image"
API_128 = f"{HARBOR}/builds-api:0.0.128-20240212150430-023b8914_image"
NGINX = "docker-registry.tools.wmflabs.org/nginx:latest"
NGINX_DIGEST = "sha256:d00417c709b96b7d8adfe586f45aeafc25039086fb861c6b0cf4c6a17911640a"
MAINTAIN = f"{HARBOR}/maintain-harbor:0.0.20-20241203211731-adea7447_image"
# builds-api starts every build in this image (env BUILDER): deleting it breaks builds.
BUILDER = f"{HARBOR}/heroku-builder:22"


def evidence(path: Path) -> KubectlEvidence:
    return parse_kubectl_json(load_kubectl_file(path), path.name)


def kinds(ev: KubectlEvidence) -> dict[str, int]:
    return dict(Counter(u.kind for u in ev.usages))


def by_where(ev: KubectlEvidence) -> dict[str, set[tuple[str, str, str | None]]]:
    out: dict[str, set[tuple[str, str, str | None]]] = {}
    for u in ev.usages:
        out.setdefault(u.where, set()).add((u.kind, u.ref, u.digest))
    return out


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- the Toolforge examples ---------------------------------------------------------------


def test_example_deployment_replicasets_and_pod() -> None:
    ev = evidence(EXAMPLE)
    assert ev.problems == ()
    assert kinds(ev) == {"declared": 7, "rollback": 3, "running": 2}
    assert by_where(ev) == {
        "builds-api/Deployment/builds-api": {
            ("declared", API_130, None), ("declared", NGINX, None)},
        "builds-api/Deployment/builds-api:env BUILDER": {("declared", BUILDER, None)},
        "builds-api/ReplicaSet/builds-api-7c9b5d6f8d": {
            ("rollback", API_128, None), ("rollback", NGINX, None)},
        # What an old template starts is what a rollback would start.
        "builds-api/ReplicaSet/builds-api-7c9b5d6f8d:env BUILDER": {("rollback", BUILDER, None)},
        "builds-api/ReplicaSet/builds-api-5d8f7c9b4d": {
            ("declared", API_130, None), ("declared", NGINX, None)},
        "builds-api/ReplicaSet/builds-api-5d8f7c9b4d:env BUILDER": {("declared", BUILDER, None)},
        "builds-api/Pod/builds-api-5d8f7c9b4d-x7kq2": {
            ("running", API_130,
             "sha256:f0347cd50640a29cae5396c4cad7ec8ac0f175e4df7885e675af36a4a0c907f7"),
            ("running", NGINX, NGINX_DIGEST)},
        # A pod does not run the image its env names: it is declared, not running.
        "builds-api/Pod/builds-api-5d8f7c9b4d-x7kq2:env BUILDER": {("declared", BUILDER, None)},
    }
    assert all(u.source == "kubectl" and not u.chart for u in ev.usages)


def test_report_shape_of_a_rollback_usage() -> None:
    rollback = next(u for u in evidence(EXAMPLE).usages if u.kind == "rollback")
    assert rollback.as_report() == {
        "source": "kubectl", "kind": "rollback", "ref": API_128,
        "where": "builds-api/ReplicaSet/builds-api-7c9b5d6f8d",
    }


def test_incident_image_pull_backoff_is_still_running_evidence() -> None:
    ev = evidence(INCIDENT)
    assert ev.problems == ()
    assert kinds(ev) == {"declared": 10, "rollback": 3, "running": 2}
    pod = by_where(ev)["builds-api/Pod/builds-api-6b4f9d8c7f-m2v9t"]
    # The api container never pulled (imageID ""): evidence without a digest.
    assert pod == {("running", API_130, None), ("running", NGINX, NGINX_DIGEST)}
    # Revision 14 (2 replicas) and the stuck revision 15 (1 replica) both run now.
    for name in ("builds-api-5d8f7c9b4d", "builds-api-6b4f9d8c7f"):
        assert ("declared", API_130, None) in by_where(ev)[f"builds-api/ReplicaSet/{name}"]
    assert {u.where for u in ev.usages if u.kind == "rollback"} == {
        "builds-api/ReplicaSet/builds-api-7c9b5d6f8d",
        "builds-api/ReplicaSet/builds-api-7c9b5d6f8d:env BUILDER"}


def test_edge_cases_cronjob_job_init_ephemeral_and_image_ids() -> None:
    ev = evidence(EDGE)
    assert ev.problems == ()
    assert kinds(ev) == {"declared": 2, "running": 6}
    assert by_where(ev) == {
        "maintain-harbor/CronJob/mh--manage-image-retention-cron": {("declared", MAINTAIN, None)},
        "maintain-harbor/Job/mh--manage-image-retention-cron-28890623": {
            ("declared", MAINTAIN, None)},
        "tool-example/Pod/debug-me": {
            # initContainer: written "busybox", the status says docker.io/library/busybox.
            ("running", "busybox",
             "sha256:8f04740060a50d5d9f3b366aa6fefc6aaf102422705e5a3dbe8d74571672f5b3"),
            # registry:port and tag@digest, kept as written.
            ("running",
             "registry.example.org:5000/team/app:1.2.3@sha256:"
             "3fab5c181bd28a09b64397df76ae2bfaf1eac182979b5fdb7a342858004f36af",
             "sha256:3fab5c181bd28a09b64397df76ae2bfaf1eac182979b5fdb7a342858004f36af"),
            # A bare sha256: imageID is a local image ID: no registry digest.
            ("running", "tools-harbor.wmcloud.org/tool-example/tool-example:latest", None),
            # Ephemeral (kubectl debug) container, matched to its own status by name.
            ("running", "docker.io/library/busybox:1.36",
             "sha256:8ee24be53688965b9960a61fee53594b5f6d888954cfacbca5b068c090525d3f"),
        },
        "tool-example2/Pod/legacy-dockershim-pod": {
            ("running", "docker-registry.tools.wmflabs.org/toolforge-python311-sssd-web:latest",
             "sha256:eb3d698b755584ddec0edc22ce6e0e7512c8b868c912fb463e9d7011fbecd22b"),
            # docker://sha256: is dockershim's local image ID.
            ("running", "my-local-build:dev", None),
        },
    }


# -- real-world single objects ------------------------------------------------------------

REALWORLD = [
    ("k9s-render-po.json", {"running": 1}, "default/Pod/nginx", "nginx:alpine",
     "sha256:482ead44b2203fa32b3390abdaf97cbdc8ad15c07fb03a3e68d7c35a19ad7595"),
    # initContainer and container both nginx:alpine with one digest: one piece of evidence.
    ("k9s-render-po_init.json", {"running": 1}, "default/Pod/nginx", "nginx:alpine",
     "sha256:482ead44b2203fa32b3390abdaf97cbdc8ad15c07fb03a3e68d7c35a19ad7595"),
    ("k9s-render-dp.json", {"declared": 1}, "icx/Deployment/icx-db", "postgres:9.2-alpine", None),
    # apiVersion networking.k8s.io/v1 is a fixture error upstream; the kind decides.
    ("k9s-render-rs.json", {"declared": 1}, "icx/ReplicaSet/icx-db-7d4b578979",
     "postgres:9.2-alpine", None),
    ("k9s-render-cj.json", {"declared": 1}, "default/CronJob/hello", "blang/busybox-bash", None),
    ("k9s-render-job.json", {"declared": 1}, "default/Job/hello-1567179180",
     "blang/busybox-bash", None),
    ("gitops-engine-pod-crashloop.yaml", {"running": 1}, "argocd/Pod/my-pod", "alpine:latest",
     "sha256:621c2f39f8133acb8e64023a94dbdf0d5ca81896102b9e57c0dc184cadaf5528"),
    # The last-applied-configuration annotation also names the image: only the spec counts.
    ("gitops-engine-deployment-degraded.yaml", {"declared": 1}, "default/Deployment/guestbook-ui",
     "gcr.io/heptio-images/ks-guestbook-demo:0.3", None),
]


@pytest.mark.parametrize(("name", "counts", "where", "ref", "digest"), REALWORLD,
                         ids=[r[0] for r in REALWORLD])
def test_realworld_objects(name: str, counts: dict[str, int], where: str, ref: str,
                           digest: str | None) -> None:
    ev = evidence(K8S / name)
    assert ev.problems == ()
    assert kinds(ev) == counts
    assert [(u.where, u.ref, u.digest) for u in ev.usages] == [(where, ref, digest)]


def test_realworld_files_in_one_list_keep_every_usage() -> None:
    items = [load_kubectl_file(K8S / name) for name, *_ in REALWORLD]
    ev = parse_kubectl_json({"apiVersion": "v1", "kind": "List", "items": items}, "all")
    # Both k9s pods are default/Pod/nginx with the same image and digest: one usage.
    assert len(ev.usages) == len(REALWORLD) - 1
    assert ev.problems == ()


# -- ReplicaSet rules ---------------------------------------------------------------------


def _example_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = load(EXAMPLE)["items"]
    return items


def _find(items: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(i for i in items if i["kind"] == kind and i["metadata"]["name"] == name)


def test_current_replicaset_of_a_deployment_scaled_to_zero_is_declared() -> None:
    items = _example_items()
    _find(items, "Deployment", "builds-api")["spec"]["replicas"] = 0
    _find(items, "ReplicaSet", "builds-api-5d8f7c9b4d")["spec"]["replicas"] = 0
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert {u.where for u in ev.usages if u.kind == "rollback" and ":" not in u.where} == {
        "builds-api/ReplicaSet/builds-api-7c9b5d6f8d"}
    assert "builds-api/ReplicaSet/builds-api-5d8f7c9b4d" in {u.where for u in ev.usages}


def test_old_replicaset_without_its_deployment_in_the_input_is_still_rollback() -> None:
    rs = _find(_example_items(), "ReplicaSet", "builds-api-7c9b5d6f8d")
    ev = parse_kubectl_json(rs, "t")
    assert {u.kind for u in ev.usages} == {"rollback"}


def test_replicaset_scaled_to_zero_without_a_deployment_owner_is_declared() -> None:
    rs = _find(_example_items(), "ReplicaSet", "builds-api-7c9b5d6f8d")
    del rs["metadata"]["ownerReferences"]
    assert {u.kind for u in parse_kubectl_json(rs, "t").usages} == {"declared"}


def test_replicaset_without_spec_replicas_defaults_to_one() -> None:
    rs = _find(_example_items(), "ReplicaSet", "builds-api-7c9b5d6f8d")
    del rs["spec"]["replicas"]
    assert {u.kind for u in parse_kubectl_json(rs, "t").usages} == {"declared"}


def test_rollback_without_revision_annotation_says_so() -> None:
    rs = _find(_example_items(), "ReplicaSet", "builds-api-7c9b5d6f8d")
    del rs["metadata"]["annotations"]
    wheres = {u.where for u in parse_kubectl_json(rs, "t").usages}
    assert wheres == {"builds-api/ReplicaSet/builds-api-7c9b5d6f8d",
                      "builds-api/ReplicaSet/builds-api-7c9b5d6f8d:env BUILDER"}


# -- input shapes -------------------------------------------------------------------------


def test_raw_api_list_items_without_kind_take_it_from_the_list() -> None:
    pod = load(K8S / "k9s-render-po.json")
    del pod["kind"], pod["apiVersion"]
    ev = parse_kubectl_json({"kind": "PodList", "apiVersion": "v1", "items": [pod]}, "t")
    assert [u.where for u in ev.usages] == ["default/Pod/nginx"]


def test_empty_and_ignored() -> None:
    nothing = ("t: holds no objects at all; an empty namespace cannot be told from a wrong "
               "context or namespace, so nothing was learnt",)
    assert parse_kubectl_json({"kind": "List", "items": []}, "t") == \
        KubectlEvidence((), (), nothing)
    assert parse_kubectl_json({"kind": "List", "items": None}, "t") == \
        KubectlEvidence((), (), nothing)
    # Objects but no workload (issue 12 item 3): what runs is unknown, as for an empty List.
    service = {"kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    listed = parse_kubectl_json({"kind": "List", "items": [service]}, "t")
    assert (listed.usages, listed.objects, listed.workloads) == ((), 1, 0)
    assert listed.missing == (
        "t: holds 1 objects (Service) but no workload (Pod, Deployment, StatefulSet, "
        "DaemonSet, ReplicaSet, Job, CronJob), so nothing was learnt; save `kubectl get "
        "pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,controllerrevisions -A "
        "-o json`",)
    assert parse_kubectl_json(service, "t").missing == listed.missing


@pytest.mark.parametrize("kinds", [
    ["Service"], ["ConfigMap", "Endpoints"], ["Service", "ConfigMap", "Endpoints", "Secret"],
    ["Namespace"], ["Ingress", "HorizontalPodAutoscaler"],
])
def test_objects_without_a_workload_are_unread_never_nothing_in_use(kinds: list[str]) -> None:
    items = [{"kind": k, "metadata": {"name": f"o{i}", "namespace": "x"}}
             for i, k in enumerate(kinds)]
    for data in ({"kind": "List", "items": items},
                 # A raw API list (`ServiceList`) leaves out each item's kind.
                 {"kind": f"{kinds[0]}List", "items": [{k: v for k, v in i.items() if k != "kind"}
                                                       for i in items]}
                 if len(set(kinds)) == 1 else None):
        if data is None:
            continue
        ev = parse_kubectl_json(data, "dump.json")
        assert ev.workloads == 0 and ev.objects == len(kinds)
        assert len(ev.missing) == 1 and "but no workload" in ev.missing[0]


def test_a_list_with_one_workload_among_other_objects_is_read() -> None:
    items = [{"kind": "Service", "metadata": {"name": "s", "namespace": "x"}},
             {"kind": "Pod", "metadata": {"name": "p", "namespace": "x"},
              "spec": {"containers": [{"name": "c", "image": "h/p/r:1"}]}}]
    ev = parse_kubectl_json({"kind": "List", "items": items}, "t")
    assert (ev.missing, ev.objects, ev.workloads) == ((), 2, 1)
    assert [u.ref for u in ev.usages] == ["h/p/r:1"]


def _pod(**spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}


GOOD = _pod(containers=[{"name": "c", "image": "good:1"}])

MALFORMED = [
    ("item not an object", "x", "items[0]: is a str, not an object; skipped"),
    ("no kind", {"metadata": {"name": "a"}}, "items[0]: has no kind; skipped"),
    ("no metadata", {"kind": "Pod", "spec": {}}, "items[0]: Pod has no metadata; skipped"),
    ("no name", {"kind": "Pod", "metadata": {}, "spec": {}},
     "items[0]: Pod has no metadata.name; skipped"),
    ("no spec", {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}},
     "items[0]: Pod ns/p has no spec; skipped"),
    ("cronjob without jobTemplate",
     {"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"schedule": "* * * * *"}},
     "items[0]: CronJob c has no spec.jobTemplate.spec.template.spec; skipped"),
    ("containers not a list", _pod(containers={"image": "x"}),
     "Pod ns/p: containers is an object, not a list; skipped"),
    ("container not an object", _pod(containers=["nginx"]),
     "Pod ns/p: containers[0] is a str, not an object; skipped"),
    ("container without image", _pod(containers=[{"name": "c"}]),
     "Pod ns/p: containers[0] has no image; skipped"),
    ("image not a string", _pod(initContainers=[{"name": "c", "image": 5}]),
     "Pod ns/p: initContainers[0] has no image; skipped"),
]


@pytest.mark.parametrize(("label", "item", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_items_are_skipped_and_named(label: str, item: Any, problem: str) -> None:
    ev = parse_kubectl_json({"kind": "List", "items": [item, copy.deepcopy(GOOD)]}, "f.json")
    # What it runs is unknown: missing evidence (the run is incomplete), not a mere note.
    assert ev.missing == (f"f.json: {problem}",) and ev.problems == ()
    assert [u.ref for u in ev.usages] == ["good:1"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([1, 2], "t: not a Kubernetes object or List (a list); nothing read"),
        (None, "t: not a Kubernetes object or List (null); nothing read"),
        ({"kind": "List", "items": {"a": 1}}, "t: 'items' is an object, not a list; nothing read"),
        ({"metadata": {}}, "t: no 'kind' and no 'items'; nothing read"),
    ],
)
def test_unusable_documents_are_problems_not_crashes(data: Any, problem: str) -> None:
    assert parse_kubectl_json(data, "t") == KubectlEvidence((), (), (problem,))


def test_an_api_status_instead_of_objects_is_missing_evidence() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
              "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert parse_kubectl_json(status, "t") == KubectlEvidence((), (), (
        "t: the API answered with a Status (Failure: Unauthorized), not objects; nothing read",))


def test_bad_image_id_keeps_the_usage_without_digest() -> None:
    pod = _pod(containers=[{"name": "c", "image": "good:1"}])
    pod["status"] = {"containerStatuses": [{"name": "c", "imageID": "nginx:latest"}]}
    ev = parse_kubectl_json(pod, "t")
    assert ev.usages == (Usage("kubectl", "running", "good:1", "ns/Pod/p"),)
    assert len(ev.problems) == 1
    assert ev.problems[0].startswith("t: Pod ns/p: containerStatuses of 'c': invalid imageID")


def test_statuses_match_containers_by_name_within_their_group() -> None:
    digest_a, digest_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    pod = _pod(initContainers=[{"name": "x", "image": "init:1"}],
               containers=[{"name": "y", "image": "app:1"}, {"name": "x2", "image": "side:1"}])
    pod["status"] = {
        "containerStatuses": [{"name": "y", "imageID": f"app@{digest_b}"}, "junk"],
        "initContainerStatuses": [{"name": "x", "imageID": f"init@{digest_a}"}],
    }
    got = {(u.ref, u.digest) for u in parse_kubectl_json(pod, "t").usages}
    assert got == {("init:1", digest_a), ("app:1", digest_b), ("side:1", None)}


def test_bad_status_list_is_a_problem() -> None:
    pod = _pod(containers=[{"name": "c", "image": "good:1"}])
    pod["status"] = {"containerStatuses": "oops"}
    ev = parse_kubectl_json(pod, "t")
    assert [u.digest for u in ev.usages] == [None]
    assert ev.problems == (
        "t: Pod ns/p: status.containerStatuses is a str, not a list; digests not used",)


def test_unparseable_image_reference_is_still_evidence() -> None:
    # Matching reports it (unmatched-reference); dropping it here would hide a usage.
    ev = parse_kubectl_json(_pod(containers=[{"name": "c", "image": "Not/Valid"}]), "t")
    assert [u.ref for u in ev.usages] == ["Not/Valid"]
    assert ev.problems == ()


def test_pod_without_namespace_is_named_by_kind_and_name() -> None:
    pod = {"kind": "Pod", "metadata": {"name": 123}, "spec": {"containers": [{"image": "a"}]}}
    assert [u.where for u in parse_kubectl_json(pod, "t").usages] == ["Pod/123"]


# -- files --------------------------------------------------------------------------------


def test_load_json_and_yaml_give_the_same_evidence(tmp_path: Path) -> None:
    data = load(EXAMPLE)
    target = tmp_path / "list.yaml"
    target.write_text(yaml.safe_dump(data))
    assert evidence(target).usages == evidence(EXAMPLE).usages


def test_load_multi_document_yaml_as_a_list(tmp_path: Path) -> None:
    docs = [(K8S / "gitops-engine-pod-crashloop.yaml").read_text(),
            (K8S / "gitops-engine-deployment-degraded.yaml").read_text()]
    target = tmp_path / "two.yaml"
    target.write_text("---\n" + "\n---\n".join(docs) + "\n---\n")
    data = load_kubectl_file(target)
    assert data["kind"] == "List" and len(data["items"]) == 2
    assert kinds(parse_kubectl_json(data, "two.yaml")) == {"running": 1, "declared": 1}


def test_load_utf16_from_powershell_redirect(tmp_path: Path) -> None:
    target = tmp_path / "ps.json"
    target.write_bytes(EXAMPLE.read_text().encode("utf-16"))
    assert load_kubectl_file(target) == load(EXAMPLE)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"kind": "List", "items": [', "not valid JSON (line 1"),
        (b"kind: [unclosed\n", "not valid JSON or YAML (line"),
        (b"", "empty"),
        (b"# only a comment\n", "empty"),
        (b"just some text\n", "not a Kubernetes object or List"),
        (b"[1, 2]", "not a Kubernetes object or List"),
        (b'{"apiVersion": "v1"}', "not a Kubernetes object or List"),
        (b"\xff\x00\xfe", "not UTF-8"),
    ],
)
def test_unreadable_files_are_input_errors_naming_the_file(
    tmp_path: Path, content: bytes, words: str
) -> None:
    target = tmp_path / "bad.json"
    target.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_kubectl_file(target)
    assert str(info.value).startswith(f"{target}: ")
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kubectl JSON file not found"):
        load_kubectl_file(tmp_path / "nope.json")
    with pytest.raises(InputError, match="cannot read kubectl JSON file"):
        load_kubectl_file(tmp_path)


# -- the subprocess, with a fake kubectl on PATH -------------------------------------------

FAKE = """\
#!{python}
import json, os, subprocess, sys, time
with open(os.environ["FAKE_KUBECTL_ARGS"], "w") as f:
    json.dump(sys.argv[1:], f)
mode = os.environ["FAKE_KUBECTL_MODE"]
if mode == "ok":
    sys.stdout.write(open(os.environ["FAKE_KUBECTL_OUTPUT"]).read())
elif mode == "fail":
    sys.stderr.write("\\nerror: context \\"nope\\" does not exist\\nsecond line\\n")
    sys.exit(1)
elif mode == "fail-secret":
    sys.stderr.write('Get "https://admin:hunter2@k8s.example/api": dial tcp: refused\\n')
    sys.exit(1)
elif mode == "fail-silent":
    sys.exit(2)
elif mode == "sleep":
    time.sleep(60)
elif mode == "sleep-with-plugin":
    # Like an exec credential plugin waiting for a browser login: a child on our stderr.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(60)
elif mode == "garbage":
    sys.stdout.write("W0101 warning from a plugin\\n{{not json")
elif mode == "empty":
    pass
elif mode == "not-k8s":
    sys.stdout.write("[1, 2, 3]")
elif mode == "endless":
    while True:
        sys.stdout.write("[" * 65536)
elif mode == "endless-stderr":
    sys.stderr.write("error: trouble\\n")
    while True:
        sys.stderr.write("x" * 65536)
"""


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kubectl"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUBECTL_ARGS", str(tmp_path / "args.json"))
    monkeypatch.setenv("FAKE_KUBECTL_OUTPUT", str(EXAMPLE))
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "ok")
    return tmp_path / "args.json"


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a script")


def test_run_all_namespaces(fake_kubectl: Path) -> None:
    data = run_kubectl(context=None, namespace=None, timeout=30)
    assert json.loads(fake_kubectl.read_text()) == ["get", RESOURCES, "-o", "json",
                                                    "--all-namespaces"]
    assert parse_kubectl_json(data, "kubectl").usages == evidence(EXAMPLE).usages


def test_run_with_context_and_namespace(fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_OUTPUT", str(K8S / "k9s-render-po.json"))
    data = run_kubectl(context="toolforge", namespace="builds-api", timeout=30)
    assert json.loads(fake_kubectl.read_text()) == [
        "--context", "toolforge", "get", RESOURCES, "-o", "json", "--namespace", "builds-api"]
    assert data["kind"] == "Pod"


def test_command_line() -> None:
    assert kubectl_command(context=None, namespace="n", executable="/opt/kubectl") == [
        "/opt/kubectl", "get",
        "pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,controllerrevisions",
        "-o", "json", "--namespace", "n"]


def test_non_zero_exit_names_command_and_first_stderr_line(
    fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "fail")
    with pytest.raises(SourceError) as info:
        run_kubectl(context="nope", namespace=None, timeout=30)
    message = str(info.value)
    assert message.startswith(
        f"`kubectl --context nope get {RESOURCES} -o json --all-namespaces` failed with exit "
        "code 1: error: context \"nope\" does not exist; check the context")
    assert "second line" not in message and "\n" not in message


def test_non_zero_exit_hides_credentials_in_urls(
    fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "fail-secret")
    with pytest.raises(SourceError) as info:
        run_kubectl(context=None, namespace=None, timeout=30)
    assert "hunter2" not in str(info.value) and "admin" not in str(info.value)
    assert "https://***@k8s.example/api" in str(info.value)


def test_non_zero_exit_without_stderr(fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "fail-silent")
    with pytest.raises(SourceError, match=r"exit code 2: \(nothing on stderr\)"):
        run_kubectl(context=None, namespace=None, timeout=30)


@pytest.mark.parametrize("mode", ["sleep", "sleep-with-plugin"])
def test_timeout_kills_kubectl_and_its_children(
    fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", mode)
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        run_kubectl(context=None, namespace=None, timeout=1)
    assert time.monotonic() - started < 10
    assert "did not finish within 1s" in str(info.value)
    assert str(info.value).startswith(f"`kubectl get {RESOURCES}")


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("garbage", "printed output that is not JSON at line 1, column 1"),
        ("empty", "printed nothing"),
        ("not-k8s", "printed JSON that is not a Kubernetes List"),
    ],
)
def test_unusable_output(fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                         words: str) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", mode)
    with pytest.raises(SourceError, match=words):
        run_kubectl(context=None, namespace=None, timeout=30)


def test_missing_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError) as info:
        run_kubectl(context=None, namespace=None, timeout=5)
    assert str(info.value).startswith("kubectl not found on PATH")
    assert "--kubectl-json FILE" in str(info.value)


def test_kubectl_that_is_not_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kubectl").write_text("not a program")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError, match="cannot run `kubectl get .*: Permission denied"):
        run_kubectl(context=None, namespace=None, timeout=5)
    with pytest.raises(SourceError, match="cannot run .*; check that .*kubectl is kubectl"):
        run_kubectl(context=None, namespace=None, timeout=5,
                    executable=str(tmp_path / "kubectl"))


def test_a_kubectl_that_prints_without_end_is_cut_off(fake_kubectl: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import harborguard.sources.process as process

    monkeypatch.setattr(process, "MAX_OUTPUT_BYTES", 1 << 20)
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "endless")
    with pytest.raises(SourceError, match=r"printed more than 1 MiB.*--kubectl-json"):
        run_kubectl(context=None, namespace=None, timeout=30)


def test_a_kubectl_that_writes_stderr_without_end_times_out_in_bounded_memory(
    fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "endless-stderr")
    with pytest.raises(SourceError, match="did not finish within 1s"):
        run_kubectl(context=None, namespace=None, timeout=1)
