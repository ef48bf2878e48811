"""The helm source: `helm list --all-namespaces -o json` output, files and a fake helm on PATH."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage
from harborguard.sources.helm import (
    HELM_ARGS,
    HelmRelease,
    helm_command,
    load_helm_file,
    parse_helm_list,
    run_helm,
    split_chart,
)
from tests.fakehelm import install

HARBOR = "tools-harbor.wmcloud.org/toolforge"
V130 = "0.0.130-20240221160838-03b2a120"

# Composed in the shape helm 3 prints (revision is a string), for the cluster of the
# incident: builds-api still at 0.0.130 while the repository named 0.0.131.
HELM_LIST: list[dict[str, Any]] = [
    {"name": "builds-api", "namespace": "builds-api", "revision": "14",
     "updated": "2024-02-21 16:30:01.123456789 +0000 UTC", "status": "deployed",
     "chart": f"builds-api-{V130}", "app_version": "0.0.130"},
    {"name": "ingress-nginx-gen2", "namespace": "ingress-nginx-gen2", "revision": "7",
     "updated": "2023-11-02 10:00:00.0 +0000 UTC", "status": "deployed",
     "chart": "ingress-nginx-4.3.0", "app_version": "1.4.0"},
    {"name": "cert-manager", "namespace": "cert-manager", "revision": "3",
     "updated": "2023-05-01 10:00:00.0 +0000 UTC", "status": "failed",
     "chart": "cert-manager-v1.11.0", "app_version": "v1.11.0"},
    {"name": "raw", "namespace": "cert-manager", "revision": 2,
     "updated": "2023-05-01 10:00:00.0 +0000 UTC", "status": "deployed",
     "chart": "raw-v0.3.0", "app_version": ""},
]


def test_parse_the_releases() -> None:
    releases = parse_helm_list(HELM_LIST, "helm list")
    assert releases[0] == HelmRelease(
        name="builds-api", namespace="builds-api", revision=14,
        updated="2024-02-21 16:30:01.123456789 +0000 UTC", status="deployed",
        chart=f"builds-api-{V130}", app_version="0.0.130", origin="helm list")
    assert [(r.name, r.revision, r.status, r.app_version) for r in releases[1:]] == [
        ("ingress-nginx-gen2", 7, "deployed", "1.4.0"),
        ("cert-manager", 3, "failed", "v1.11.0"),
        ("raw", 2, "deployed", None),
    ]
    assert parse_helm_list([], "helm list") == []


@pytest.mark.parametrize(
    ("field", "name", "version"),
    [
        (f"builds-api-{V130}", "builds-api", V130),
        ("ingress-nginx-4.3.0", "ingress-nginx", "4.3.0"),
        ("cert-manager-v1.11.0", "cert-manager", "v1.11.0"),
        ("raw-v0.3.0", "raw", "v0.3.0"),
        ("my-chart-2-1.0.0+build.5", "my-chart-2", "1.0.0+build.5"),
        ("app-1.0.0-rc.1", "app", "1.0.0-rc.1"),
        # Not that chart: another one, or only a prefix of its name.
        ("ingress-nginx-4.3.0", "nginx", None),
        ("cert-manager-v1.11.0", "cert", None),
        ("builds-api-0.0.130", "builds-api-0.0.130", None),
        ("builds-api", "builds-api", None),
        ("builds-api-latest", "builds-api", None),
        ("anything-1.0.0", "", None),
    ],
)
def test_split_chart(field: str, name: str, version: str | None) -> None:
    assert split_chart(field, name) == version


def test_chart_usage_is_the_chart_artifact() -> None:
    release = parse_helm_list(HELM_LIST, "helm list")[0]
    assert release.version("builds-api") == V130
    usage = release.chart_usage("builds-api", f"oci://{HARBOR}/", component="builds-api",
                                environment="tools")
    assert usage == Usage("helm", "declared", f"{HARBOR}/builds-api:{V130}",
                          "builds-api/HelmRelease/builds-api", component="builds-api",
                          environment="tools", chart=True)
    assert release.chart_usage("jobs-api", HARBOR) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"releases": []}, "helm list: expected the JSON list `helm list -o json` prints, got "
                           "an object"),
        ("text", "expected the JSON list `helm list -o json` prints, got str"),
        ([1], "helm list: release [0]: expected an object, got int"),
        ([{"name": "a", "namespace": "n"}], "release [0]: `chart` is missing or not a string"),
        ([{"name": "", "namespace": "n", "chart": "c-1"}], "`name` is missing"),
        ([{"name": "a", "namespace": "n", "chart": "c-1", "revision": "x"}],
         "release [0] (n/a): revision 'x' is not a number"),
    ],
)
def test_malformed_output_is_a_source_error(data: Any, message: str) -> None:
    with pytest.raises(SourceError, match="^helm list") as raised:
        parse_helm_list(data, "helm list")
    assert message in str(raised.value)


# -- --helm-json FILE ------------------------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "helm.json"
    path.write_text(json.dumps(HELM_LIST))
    releases = load_helm_file(path)
    assert [r.name for r in releases] == ["builds-api", "ingress-nginx-gen2", "cert-manager",
                                         "raw"]
    assert releases[0].origin == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"NAME NAMESPACE REVISION\n", "not JSON, nor the YAML list"),
        (b"[1,", "not JSON (line 1, column 4)"),
        (b"- a: [\n", "not JSON, nor YAML (line"),
        (b"\xff\xfe[\x00]\x00", "not UTF-8 text"),
        (b'{"a": 1}', "expected the JSON list"),
    ],
)
def test_unusable_file_is_an_input_error_naming_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "helm.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"^{path}") as raised:
        load_helm_file(path)
    assert message in str(raised.value)


def test_load_yaml_file(tmp_path: Path) -> None:
    """`helm list -o yaml` is read as well as -o json: the same objects."""
    import yaml

    path = tmp_path / "helm.yaml"
    path.write_text(yaml.safe_dump(HELM_LIST))
    from_yaml = load_helm_file(path)
    json_path = tmp_path / "helm.json"
    json_path.write_text(json.dumps(HELM_LIST))
    from_json = load_helm_file(json_path)
    assert [(r.name, r.namespace, r.chart, r.revision, r.status) for r in from_yaml] == \
        [(r.name, r.namespace, r.chart, r.revision, r.status) for r in from_json]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_helm_file(tmp_path / "nope.json")
    with pytest.raises(InputError, match="cannot read"):
        load_helm_file(tmp_path)


# -- the subprocess, with a fake helm on PATH -----------------------------------------------

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake helm is a script")


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """helm on PATH answering `helm list` with HELM_LIST; returns where the last `list`
    command line is written."""
    install(tmp_path / "bin", {"releases": HELM_LIST}, monkeypatch)
    return tmp_path / "bin" / "args.json"


def test_run_helm(fake_helm: Path) -> None:
    data = run_helm(timeout=30)
    assert json.loads(fake_helm.read_text()) == list(HELM_ARGS)
    assert HELM_ARGS == ("list", "--all-namespaces", "--all", "--max", "0", "-o", "json")
    assert [r.name for r in parse_helm_list(data, "helm list")][0] == "builds-api"


def test_command_line() -> None:
    assert helm_command("/opt/helm") == ["/opt/helm", *HELM_ARGS]


def test_failure_names_command_and_first_stderr_line_without_credentials(
    fake_helm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_HELM_MODE", "fail")
    with pytest.raises(SourceError) as raised:
        run_helm(timeout=30)
    message = str(raised.value)
    assert message.startswith("`helm list --all-namespaces --all --max 0 -o json` failed with exit "
                              "code 1: Error: Kubernetes cluster unreachable")
    assert "hunter2" not in message and "***@k8s.example" in message
    assert "\n" not in message


def test_failure_without_stderr(fake_helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HELM_MODE", "fail-silent")
    with pytest.raises(SourceError, match=r"exit code 2: \(nothing on stderr\)"):
        run_helm(timeout=30)


@pytest.mark.parametrize(
    ("mode", "message"),
    [("garbage", "printed output that is not JSON"),
     ("object", "printed JSON that is not a list of releases")],
)
def test_garbage_output(fake_helm: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                        message: str) -> None:
    monkeypatch.setenv("FAKE_HELM_MODE", mode)
    with pytest.raises(SourceError, match=message):
        run_helm(timeout=30)


def test_timeout_kills_helm_and_its_children(
    fake_helm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_HELM_MODE", "sleep")
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not finish within 0.5s"):
        run_helm(timeout=0.5)
    assert time.monotonic() - started < 10


def test_helm_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError, match="helm not found on PATH .*--helm-json FILE"):
        run_helm(timeout=5)


def test_not_executable(tmp_path: Path) -> None:
    exe = tmp_path / "helm"
    exe.write_text("not a program")
    exe.chmod(0o644)
    with pytest.raises(SourceError, match="cannot run"):
        run_helm(timeout=5, executable=str(exe))


# -- releases as evidence on their own (issue 12 item 1) -----------------------------------


def _snap(repos: dict[str, list[str]], additions: dict[str, dict[str, str]] | None = None
          ) -> Any:
    from harborguard.snapshot import parse_snapshot
    from tests.builders import art, policy, rule, snapshot

    data = snapshot({name: [art(f"{name}-{t}", [t], kind="CHART") for t in tags]
                     for name, tags in repos.items()}, policy(rule("latestPushedK", 1)))
    if additions:
        for repo in data["projects"][0]["repositories"]:
            for artifact in repo["artifacts"]:
                tag = artifact["tags"][0]["name"]
                if f"{repo['repository']['name']}:{tag}" in additions:
                    repo["additions"] = {artifact["digest"]: additions[
                        f"{repo['repository']['name']}:{tag}"]}
    return parse_snapshot(data, "test")


def _release(chart: str, name: str = "app", namespace: str = "ns") -> HelmRelease:
    return HelmRelease(name, namespace, 1, "", "deployed", chart, None, "helm.json")


def _evidence(releases: list[HelmRelease], snap: Any, template: str | None = None) -> Any:
    from harborguard.sources.helm import release_evidence

    return release_evidence(releases, [], None, snapshot=snap, hosts=["harbor.example.org"],
                            chart_values=None, image_tag_template=template)


@pytest.mark.parametrize(("chart", "ref"), [
    ("app-1.0.0", "proj/app:1.0.0"),
    ("my-app-2.1.0-rc.1", "proj/my-app:2.1.0-rc.1"),
    ("cert-manager-v1.11.0", "proj/cert-manager:v1.11.0"),
    ("app-1.0.0-20240221160838-03b2a120", "proj/app:1.0.0-20240221160838-03b2a120"),
])
def test_a_release_alone_is_its_chart_artifact(chart: str, ref: str) -> None:
    repository, tag = ref.split(":")
    found = _evidence([_release(chart)], _snap({repository.split("/")[1]: [tag]}),
                      "{version}_image")
    assert [(u.ref, u.chart) for u in found.usages] == [
        (f"harbor.example.org/{ref}", True), (f"harbor.example.org/{ref}_image", False)]
    assert found.charts == 1 and not found.findings and not found.incomplete


def test_a_chart_no_repository_holds_is_unmatched_info() -> None:
    found = _evidence([_release("ingress-nginx-4.3.0")], _snap({"app": ["1.0.0"]}))
    assert [(f.code, f.severity) for f in found.findings] == [("unmatched-reference", "info")]
    assert not found.usages and not found.incomplete


def test_a_matching_repository_without_the_version_names_it_for_in_use_missing() -> None:
    found = _evidence([_release("app-9.9.9")], _snap({"app": ["1.0.0"]}), "{version}_image")
    assert [u.ref for u in found.usages] == ["harbor.example.org/proj/app:9.9.9",
                                             "harbor.example.org/proj/app:9.9.9_image"]
    assert found.charts == 0


def test_unknown_images_of_a_found_chart_are_unresolved_and_incomplete() -> None:
    found = _evidence([_release("app-1.0.0")], _snap({"app": ["1.0.0"]}))
    assert [u.ref for u in found.usages] == ["harbor.example.org/proj/app:1.0.0"]
    assert [f.code for f in found.findings] == ["unresolved-reference"]
    assert [i.what for i in found.incomplete] == ["helm release ns/app"]
    image_map_without_tag = _snap({"app": ["1.0.0"]}, {"proj/app:1.0.0": {
        "values.yaml": "image:\n  repository: harbor.example.org/proj/other\n"}})
    found = _evidence([_release("app-1.0.0")], image_map_without_tag)
    assert [f.code for f in found.findings] == ["unresolved-reference"] and found.incomplete


def test_values_yaml_from_the_snapshot_names_the_images() -> None:
    snap = _snap({"app": ["1.0.0"]}, {"proj/app:1.0.0": {
        "values.yaml": "image:\n  repository: harbor.example.org/proj/worker\n  tag: '7.0'\n"
                       "sidecar:\n  image: docker.io/library/nginx:1.25\n"}})
    found = _evidence([_release("app-1.0.0")], snap)
    assert sorted(u.ref for u in found.usages if not u.chart) == [
        "docker.io/library/nginx:1.25", "harbor.example.org/proj/worker:7.0"]
    assert not found.incomplete


def test_every_repository_a_chart_field_could_mean_counts() -> None:
    # "app-x-1.0.0": chart "app-x" version 1.0.0; no "app" split (x-1.0.0 is no version).
    snap = _snap({"app-x": ["1.0.0"], "app": ["x-1.0.0"]})
    found = _evidence([_release("app-x-1.0.0")], snap, "{version}_image")
    assert [u.ref for u in found.usages if u.chart] == ["harbor.example.org/proj/app-x:1.0.0"]
    twins = _snap({"svc": ["1.0.0"], "svc-1.0.0": ["2.0.0"]})
    found = _evidence([_release("svc-1.0.0-2.0.0")], twins, "{version}_image")
    assert sorted(u.ref for u in found.usages if u.chart) == [
        "harbor.example.org/proj/svc-1.0.0:2.0.0"]  # svc:1.0.0-2.0.0 does not exist
    assert any("could be any of" in n for n in found.notes)


def test_without_a_snapshot_only_component_charts_count() -> None:
    found = _evidence([_release("app-1.0.0")], None)
    assert not found.usages and not found.findings and not found.incomplete


def test_a_component_release_running_another_version_protects_that_versions_images() -> None:
    from harborguard.sources.helm import release_evidence
    from harborguard.sources.helmfile import Component

    def component(repository: str) -> Component:
        return Component(name="app", environment="tools", release="app", namespace="ns",
                         chart="app", chart_repository=repository, oci=True,
                         chart_version="2.0.0", declared_at="components/app/helmfile.yaml:5")

    snap = _snap({"app": ["1.0.0", "2.0.0"]})
    ours = release_evidence([_release("app-1.0.0")], [component("harbor.example.org/proj")],
                            "tools", snapshot=snap, hosts=["harbor.example.org"],
                            chart_values=None, image_tag_template="{version}_image")
    assert [(u.ref, u.component) for u in ours.usages] == [
        ("harbor.example.org/proj/app:1.0.0", "app"),
        ("harbor.example.org/proj/app:1.0.0_image", "app")]
    unknown = release_evidence([_release("app-1.0.0")], [component("harbor.example.org/proj")],
                               "tools", snapshot=snap, hosts=["harbor.example.org"],
                               chart_values=None, image_tag_template=None)
    assert [i.what for i in unknown.incomplete] == ["helm release ns/app"]
    # A chart from another registry is that registry's: its images are not asked for.
    theirs = release_evidence([_release("app-1.0.0")], [component("ghcr.io/vendor")],
                              "tools", snapshot=snap, hosts=["harbor.example.org"],
                              chart_values=None, image_tag_template=None)
    assert [u.ref for u in theirs.usages] == ["ghcr.io/vendor/app:1.0.0"]
    assert not theirs.incomplete and not theirs.findings
    # The version the manifests declare: its images come from the manifests.
    same = release_evidence([_release("app-2.0.0")], [component("harbor.example.org/proj")],
                            "tools", snapshot=snap, hosts=["harbor.example.org"],
                            chart_values=None, image_tag_template=None)
    assert [u.ref for u in same.usages] == ["harbor.example.org/proj/app:2.0.0"]
    assert not same.incomplete


def _many(count: int) -> list[dict[str, Any]]:
    return [{**HELM_LIST[1], "name": f"r{i}", "namespace": f"ns{i}"} for i in range(count)]


@pytest.mark.parametrize(("count", "cut"), [(255, False), (256, True), (257, False)])
def test_a_saved_list_of_exactly_256_releases_is_helms_silent_cut(
        tmp_path: Path, count: int, cut: bool) -> None:
    # `helm list` stops at --max 256 by default without a word: a file of exactly 256
    # releases says nothing of the 257th.
    from harborguard.gather import EvidenceOptions, gather

    saved = tmp_path / "helm.json"
    saved.write_text(json.dumps(_many(count)))
    gathered = gather(EvidenceOptions(helm_json=(str(saved),)), None, ())
    said = [i for i in gathered.incomplete if "256" in i.reason]
    assert bool(said) == cut
    if cut:
        assert said[0].what == f"helm releases in {saved}"
        assert "--max 0" in said[0].reason and "--all" in said[0].reason
        assert not gathered.evidence[-1].complete


def test_256_releases_from_helm_run_with_max_0_are_whole(
        fake_helm: Path, tmp_path: Path) -> None:
    from harborguard.gather import EvidenceOptions, gather

    (tmp_path / "bin" / "cluster.json").write_text(json.dumps({"releases": _many(256)}))
    gathered = gather(EvidenceOptions(use_helm=True), None, ())
    assert json.loads(fake_helm.read_text()) == list(HELM_ARGS)  # --max 0
    assert not [i for i in gathered.incomplete if "256" in i.reason]
