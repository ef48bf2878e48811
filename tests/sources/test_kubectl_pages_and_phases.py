"""Issue 12, round 2: kubectl evidence read as less than it is, or as more.

A page of a paged list taken for the whole cluster; images named as maps or lists in kinds
without a pod spec; ``$(VAR)`` and ``docker://`` in env values; finished pods counted as
running. Each at parser level and through the CLI, with the exact exit code. The
reproductions are in tests/data/issue12-kubectl/ (SOURCES.md there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.kubectl import KubectlEvidence, load_kubectl_file, parse_kubectl_json
from harborguard.sources.kubepods import container_references, expand, references_in

CASES = Path(__file__).resolve().parents[1] / "data" / "issue12-kubectl"
BASE = str(CASES / "base-snap.json")
HOST = "tools-harbor.wmcloud.org"
APP = f"{HOST}/toolforge/app"


def invoke(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, report, result.stderr


def check(name: str) -> tuple[int, dict[str, Any] | None, str]:
    return invoke("check", "--snapshot", BASE, "--kubectl-json", str(CASES / name))


def deleted_in_use(report: dict[str, Any] | None) -> set[str]:
    assert report is not None
    return {tag for f in report["findings"] if f["code"] == "in-use-deleted"
            for tag in f["tags"] or ()}


def case(name: str) -> KubectlEvidence:
    return parse_kubectl_json(load_kubectl_file(CASES / name), name)


def uses(ev: KubectlEvidence) -> set[tuple[str, str, str]]:
    return {(u.kind, u.ref, u.where) for u in ev.usages}


def pod(name: str = "p", image: str = f"{APP}:0.0.5", **status: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
                            "spec": {"containers": [{"name": "c", "image": image}]}}
    if status:
        item["status"] = status
    return item


# -- 1. a page of a paged list ------------------------------------------------------------

@pytest.mark.parametrize(("name", "more"), [
    ("k-continue.json", "41 more items exist (metadata.remainingItemCount)"),
    ("k-continue-list.json", "12 more items exist (metadata.remainingItemCount)"),
])
def test_a_page_of_a_paged_list_is_missing_evidence(name: str, more: str) -> None:
    ev = case(name)
    assert uses(ev) == {("running", f"{APP}:0.0.5", "app/Pod/p")}
    assert len(ev.missing) == 1
    assert ev.missing[0].startswith(f"{name}: a page of a longer list: {more}; ")
    assert "without --chunk-size or --limit" in ev.missing[0]


def test_cli_a_page_of_a_paged_list_is_incomplete() -> None:
    code, report, err = check("k-continue.json")
    assert code == 3
    assert report is not None and report["incomplete"]
    assert "k-continue.json" in err and "41 more items exist" in err


def test_continue_token_alone_and_nested_page_are_named() -> None:
    page = {"kind": "PodList", "metadata": {"continue": "eyJ"}, "items": [pod()]}
    ev = parse_kubectl_json({"kind": "List", "items": [page]}, "t")
    assert ev.missing == ("t: items[0]: a page of a longer list: more items exist "
                          "(metadata.continue is set); save the output of `kubectl get ... "
                          "-o json` without --chunk-size or --limit (kubectl fetches every "
                          "page itself)",)


@pytest.mark.parametrize("metadata", [{}, {"continue": ""}, {"remainingItemCount": 0},
                                      {"continue": None, "remainingItemCount": None},
                                      {"resourceVersion": "1"}])
def test_a_whole_list_is_not_a_page(metadata: dict[str, Any]) -> None:
    ev = parse_kubectl_json({"kind": "PodList", "metadata": metadata, "items": [pod()]}, "t")
    assert ev.missing == ()


# -- 2. an image map or an image list outside any pod spec ----------------------------------

@pytest.mark.parametrize(("name", "where"), [
    ("k27-crd-imagemap.json", "an image at spec.image"),
    ("k28-crd-imagestr-list.json", "an image list at spec.images"),
])
def test_image_map_or_list_outside_a_pod_spec_is_named(name: str, where: str) -> None:
    ev = case(name)
    assert ev.missing == (f"{name}: items[0]: Thing app/t has {where}, outside any pod spec "
                          "harborguard can read, so what it runs is unknown; skipped",)


@pytest.mark.parametrize("name", ["k27-crd-imagemap.json", "k28-crd-imagestr-list.json"])
def test_cli_image_map_or_list_outside_a_pod_spec_is_incomplete(name: str) -> None:
    code, report, err = check(name)
    assert code == 3
    assert report is not None and report["incomplete"]
    assert name in err


@pytest.mark.parametrize(("spec", "where"), [
    ({"image": {"registry": HOST, "repository": "toolforge/app", "tag": "0.0.1"}},
     "an image at spec.image"),
    ({"app": {"image": {"repository": APP, "digest": "sha256:" + "a" * 64}}},
     "an image at spec.app.image"),
    ({"images": [{"repository": APP, "tag": "0.0.1"}]}, "an image list at spec.images"),
])
def test_image_map_shapes_are_named(spec: dict[str, Any], where: str) -> None:
    thing = {"kind": "Thing", "metadata": {"name": "t", "namespace": "ns"}, "spec": spec}
    ev = parse_kubectl_json({"kind": "List", "items": [thing, pod()]}, "t")
    assert len(ev.missing) == 1 and f"has {where}," in ev.missing[0]


@pytest.mark.parametrize("spec", [{"image": {"type": "string"}}, {"images": []},
                                  {"images": [""]}, {"images": {"a": 1}}])
def test_what_is_no_image_map_or_list_stays_silent(spec: dict[str, Any]) -> None:
    thing = {"kind": "Thing", "metadata": {"name": "t", "namespace": "ns"}, "spec": spec}
    ev = parse_kubectl_json({"kind": "List", "items": [thing, pod()]}, "t")
    assert ev.missing == ()


# -- 3. dependent env vars ------------------------------------------------------------------

def test_env_value_built_from_an_earlier_var_is_expanded() -> None:
    ev = case("k20b-envexpand-pod.json")
    assert ("declared", f"{APP}:0.0.1", "app/Deployment/p:env BUILDER") in uses(ev)


def test_cli_env_value_built_from_an_earlier_var_protects_its_image() -> None:
    code, report, _ = check("k20b-envexpand-pod.json")
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1"}


@pytest.mark.parametrize(("value", "expected"), [
    ("$(REG)/a:1", f"{HOST}/a:1"),
    ("$$(REG)/a:1", "$(REG)/a:1"),
    ("$$$(REG)", f"${HOST}"),
    ("$(NOPE)/a:1", "$(NOPE)/a:1"),
    ("$(REG", "$(REG"),
    ("a$", "a$"),
    ("$x$(REG)", f"$x{HOST}"),
    ("no vars", "no vars"),
])
def test_expand_follows_the_kubelet(value: str, expected: str) -> None:
    assert expand(value, {"REG": HOST}) == expected


def test_only_earlier_env_entries_expand_an_env_value_and_all_expand_args() -> None:
    container = {"env": [{"name": "B", "value": "$(REG)/toolforge/app:0.0.1"},
                         {"name": "REG", "value": HOST},
                         {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s"}}},
                         {"name": "C", "value": "$(S)/toolforge/app:0.0.2"}],
                 "args": ["--builder=$(REG)/toolforge/app:0.0.3", "$$(REG)/toolforge/app:9"],
                 "command": ["$(REG)/toolforge/app:0.0.4"]}
    assert list(container_references(container)) == [
        ("command[0]", f"{APP}:0.0.4"), ("args[0]", f"{APP}:0.0.3")]


def test_expansion_that_grows_past_the_bound_is_cut() -> None:
    env = [{"name": "V0", "value": "x" * 1000}]
    env += [{"name": f"V{i}", "value": f"$(V{i - 1})$(V{i - 1})"} for i in range(1, 40)]
    assert list(container_references({"env": env})) == []
    # Past the container's budget values are read as written; a plain reference still counts.
    env.append({"name": "B", "value": f"{APP}:0.0.1"})
    assert list(container_references({"env": env})) == [("env B", f"{APP}:0.0.1")]


# -- 4. transports --------------------------------------------------------------------------

def test_docker_transport_names_the_image_after_it() -> None:
    ev = case("k8-docker-transport.json")
    assert ("declared", f"{APP}:0.0.1", "app/Deployment/p:env BUILDER") in uses(ev)


def test_cli_docker_transport_protects_its_image() -> None:
    code, report, _ = check("k8-docker-transport.json")
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1"}


@pytest.mark.parametrize(("value", "refs"), [
    (f"skopeo copy docker://{APP}:0.0.1 oci:/tmp/x", [f"{APP}:0.0.1"]),
    (f"docker-daemon:{APP}:0.0.1", []),
    (f"containers-storage:{APP}:0.0.1", []),
    (f"oci-archive:/tmp/{APP}:0.0.1", []),
])
def test_only_the_registry_transport_names_an_image(value: str, refs: list[str]) -> None:
    assert references_in(value) == refs


# -- 5. finished pods -----------------------------------------------------------------------

def test_evicted_pod_is_not_running_and_is_noted() -> None:
    ev = case("evicted.json")
    assert uses(ev) == {("declared", f"{APP}:0.0.5", "app/Deployment/d")}
    assert ev.problems == ("evicted.json: Pod app/p: phase Failed (Evicted): it will not run "
                           "again, so its images are not counted as running",)
    assert ev.missing == ()


@pytest.mark.parametrize("name", ["evicted.json", "k21-succeeded.json"])
def test_cli_finished_pod_does_not_protect_its_image(name: str) -> None:
    code, report, err = check(name)
    assert code == 0
    assert deleted_in_use(report) == set()
    assert "will not run again" in err


@pytest.mark.parametrize("status", [None, {}, {"phase": "Pending"}, {"phase": "Running"},
                                    {"phase": "Unknown"}, {"phase": 3}])
def test_pod_not_finished_stays_running(status: dict[str, Any] | None) -> None:
    item = pod(image=f"{APP}:0.0.1")
    if status is not None:
        item["status"] = status
    ev = parse_kubectl_json({"kind": "List", "items": [item]}, "t")
    assert uses(ev) == {("running", f"{APP}:0.0.1", "ns/Pod/p")}
    assert ev.problems == ()


def test_finished_pod_env_references_are_not_counted_either() -> None:
    item = pod(image="a:1", phase="Succeeded")
    item["spec"]["containers"][0]["env"] = [{"name": "B", "value": f"{APP}:0.0.1"}]
    ev = parse_kubectl_json({"kind": "List", "items": [item]}, "t")
    assert (ev.usages, ev.workloads, ev.missing) == ((), 1, ())
