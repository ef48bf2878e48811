"""Evidence under other conventions than `image: {repository, tag}` (issue 12, cases 03-07, 16).

Each reproduction once ended in "Nothing in use would be deleted" (exit 0) while the image
or chart it declares is deleted. The snapshot (tests/data/evidence/chart-snap.json) holds
toolforge/app CHART 0.0.N and IMAGE 0.0.N_image; its policy deletes 0.0.1..0.0.3 of both.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources import gotmpl
from harborguard.sources.manifests import ManifestEvidence, read_manifests
from tests.builders import shared_dir

HOST = "tools-harbor.wmcloud.org"
APP = f"{HOST}/toolforge/app"
SNAPSHOT = shared_dir() / "evidence" / "chart-snap.json"

HELMFILE = """repositories:
  - name: tools
    url: tools-harbor.wmcloud.org/toolforge
    oci: true

releases:
  - name: app
    chart: "{{ .Values.chartRepository }}/app"
    version: "{{ .Values.chartVersion }}"
    namespace: app
    values:
      - values/{{ .Environment.Name }}.yaml*
EXTRA
environments:
  tools:
    values:
      - values/{{ .Environment.Name }}.yaml*
"""


def write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def component(root: Path, values: str, *, helmfile: str = HELMFILE, extra: str = "") -> Path:
    write(root, "components/app/helmfile.yaml", helmfile.replace("EXTRA\n", extra))
    write(root, "components/app/values/tools.yaml", values)
    return root


def refs(ev: ManifestEvidence) -> set[str]:
    return {u.ref for u in ev.usages}


def reasons(ev: ManifestEvidence) -> list[str]:
    return [f"{u.where}: {u.reason}" for u in ev.unresolved]


def served(version: str) -> str | None:
    return f"image:\n  name: {APP}\n  tag: {version}_image\n"


def check(root: Path, snapshot: Path = SNAPSHOT) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        cli,
        ["check", "--snapshot", str(snapshot), "--manifests", str(root), "--environment",
         "tools", "--history", "0", "--format", "json"],
        catch_exceptions=False,
    )
    return result.exit_code, json.loads(result.stdout)


def deleted_in_use(report: dict[str, object]) -> set[str]:
    artifacts = report["artifacts"]
    assert isinstance(artifacts, list)
    return {t for a in artifacts if a.get("in_use") and a["action"] == "delete" for t in a["tags"]}


def codes(report: dict[str, object]) -> list[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return [f["code"] for f in findings]


# --- 05a, 05b: a map of image maps; any key ending in Image ---------------------------------

PLURAL = f"""chartVersion: 0.0.5
chartRepository: tools
images:
  worker:
    repository: {APP}
    tag: 0.0.1_image
  web: {APP}:0.0.2_image
"""
SIDECAR = f"""chartVersion: 0.0.5
chartRepository: tools
sidecarImage:
  repository: {APP}
  tag: 0.0.1_image
initImage: {APP}:0.0.2_image
useImage: true
tokenRefresher: {{repository: {APP}, tag: 0.0.3_image}}
"""


def test_a_map_of_image_maps_declares_each_image(tmp_path: Path) -> None:
    ev = read_manifests(str(component(tmp_path, PLURAL)), "tools", chart_values=lambda r, v:
                        served(v))
    assert {f"{APP}:0.0.1_image", f"{APP}:0.0.2_image", f"{APP}:0.0.5_image"} <= refs(ev)


def test_keys_ending_in_image_and_repository_tag_maps_are_images(tmp_path: Path) -> None:
    ev = read_manifests(str(component(tmp_path, SIDECAR)), "tools", chart_values=lambda r, v:
                        served(v))
    assert {f"{APP}:0.0.1_image", f"{APP}:0.0.2_image", f"{APP}:0.0.3_image"} <= refs(ev)
    assert not ev.unresolved  # `useImage: true` is no image


def test_cli_images_plural_and_sidecar_image_are_in_use(tmp_path: Path) -> None:
    code, report = check(component(tmp_path / "plural", PLURAL))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1_image", "0.0.2_image"}
    code, report = check(component(tmp_path / "sidecar", SIDECAR))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1_image", "0.0.2_image", "0.0.3_image"}


# --- 05c, F3: `image: host/repo` and `imageTag: X` (Elastic's charts) -----------------------

def test_tagless_image_string_takes_the_tag_beside_it(tmp_path: Path) -> None:
    values = (f"chartVersion: 0.0.5\nchartRepository: tools\nimage: {APP}\n"
              "imageTag: 0.0.1_image\n")
    ev = read_manifests(str(component(tmp_path, values)), "tools",
                        chart_values=lambda r, v: f"image: {APP}\nimageTag: {v}_image\n")
    assert f"{APP}:0.0.1_image" in refs(ev)
    assert f"{APP}:0.0.5_image" not in refs(ev)  # the release's imageTag overrides the chart's
    assert not any(r.endswith(":latest") or r == APP for r in refs(ev))


def test_release_image_tag_alone_overrides_the_charts(tmp_path: Path) -> None:
    values = "chartVersion: 0.0.5\nchartRepository: tools\nimageTag: 0.0.2_image\n"
    ev = read_manifests(str(component(tmp_path, values)), "tools",
                        chart_values=lambda r, v: f"image: {APP}\nimageTag: {v}_image\n")
    assert f"{APP}:0.0.2_image" in refs(ev)


def test_tagless_image_string_without_a_tag_is_unresolved_not_latest(tmp_path: Path) -> None:
    write(tmp_path, "values/tools.yaml", f"image: {APP}\nsidecarImage: {HOST}/toolforge/x\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert not refs(ev)
    assert sorted(reasons(ev)) == [
        "values/tools.yaml:1: an image without a tag (the chart's templates decide it; not "
        "assumed latest)",
        "values/tools.yaml:2: an image without a tag (the chart's templates decide it; not "
        "assumed latest)",
    ]


def elastic_snapshot(tmp_path: Path) -> Path:
    """The chart values name `image: host/repo` and `imageTag: X`, as Elastic's charts do."""
    data = json.loads(SNAPSHOT.read_text())
    for repository in data["projects"][0]["repositories"]:
        for additions in (a.get("additions") or {} for a in repository["artifacts"]):
            for item in additions.values():
                text = item["values.yaml"]
                name = text.split("name: ")[1].split("\n")[0]
                tag = text.split("tag: ")[1].split("\n")[0]
                item["values.yaml"] = f"image: {name}\nimageTag: {tag}\n"
    target = tmp_path / "elastic-snap.json"
    target.write_text(json.dumps(data))
    return target


def test_cli_image_and_image_tag_protect_the_tag_not_latest(tmp_path: Path) -> None:
    root = component(tmp_path / "m", "chartVersion: 0.0.1\nchartRepository: tools\n")
    code, report = check(root, elastic_snapshot(tmp_path))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1", "0.0.1_image"}
    assert "in-use-missing" not in codes(report)  # no `app:latest` read into the values


# --- 06: helmfile `set:` / `setString:` -------------------------------------------------------

def test_set_entries_override_the_release_values(tmp_path: Path) -> None:
    extra = ("    set:\n      - name: image.tag\n        value: 0.0.1_image\n"
             "      - name: replicas\n        value: 3\n"
             "    setString:\n      - name: sidecarImage\n"
             f"        value: {APP}:0.0.2_image\n")
    root = component(tmp_path, "chartVersion: 0.0.5\nchartRepository: tools\n", extra=extra)
    ev = read_manifests(str(root), "tools", chart_values=lambda r, v: served(v))
    assert f"{APP}:0.0.1_image" in refs(ev)
    assert f"{APP}:0.0.2_image" in refs(ev)
    assert f"{APP}:0.0.5_image" not in refs(ev)
    assert not ev.unresolved


def test_set_entry_helm_syntax_not_understood_is_unresolved(tmp_path: Path) -> None:
    extra = ("    set:\n      - name: containers[0].image\n"
             f"        value: {APP}:0.0.1_image\n")
    root = component(tmp_path, "chartVersion: 0.0.5\nchartRepository: tools\n", extra=extra)
    ev = read_manifests(str(root), "tools", chart_values=lambda r, v: served(v))
    assert [r for r in reasons(ev) if "containers[0].image" in r]


def test_cli_set_image_tag_is_in_use(tmp_path: Path) -> None:
    extra = "    set:\n      - name: image.tag\n        value: 0.0.1_image\n"
    code, report = check(component(tmp_path, "chartVersion: 0.0.5\nchartRepository: tools\n",
                                   extra=extra))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1_image"}


# --- 03a, 03b: repositories from bases, Harbor's chartrepo, unknown prefixes --------------------

BASES_HELMFILE = """bases:
  - ../../helmfile-base.yaml
---
releases:
  - name: app
    chart: tools/app
    version: "{{ .Values.chartVersion }}"
    namespace: app
    values:
      - values/{{ .Environment.Name }}.yaml*
"""
BASE = """repositories:
  - name: tools
    url: tools-harbor.wmcloud.org/toolforge
    oci: true
environments:
  tools:
    values:
      - components/app/values/tools.yaml
"""


def test_repositories_and_environments_from_bases(tmp_path: Path) -> None:
    write(tmp_path, "helmfile-base.yaml", BASE)
    root = component(tmp_path, "chartVersion: 0.0.1\n", helmfile=BASES_HELMFILE)
    ev = read_manifests(str(root), "tools", chart_values=lambda r, v: served(v))
    assert {f"{APP}:0.0.1", f"{APP}:0.0.1_image"} <= refs(ev)
    assert not ev.problems and not ev.unresolved


def test_a_base_outside_the_tree_or_missing_is_a_problem(tmp_path: Path) -> None:
    helmfile = BASES_HELMFILE.replace("../../helmfile-base.yaml", "../../../outside.yaml")
    ev = read_manifests(str(component(tmp_path / "a", "chartVersion: 0.0.1\n",
                                      helmfile=helmfile)), "tools")
    assert [p for p in ev.problems if "outside --manifests" in p]
    ev = read_manifests(str(component(tmp_path / "b", "chartVersion: 0.0.1\n",
                                      helmfile=BASES_HELMFILE)), "tools")
    assert [p for p in ev.problems if "a base helmfile that does not exist" in p]


def test_chart_prefix_no_repository_defines_is_unresolved(tmp_path: Path) -> None:
    helmfile = BASES_HELMFILE.replace("bases:\n  - ../../helmfile-base.yaml\n---\n", "")
    ev = read_manifests(str(component(tmp_path, "chartVersion: 0.0.1\n", helmfile=helmfile)),
                        "tools")
    assert reasons(ev) == [
        "components/app/helmfile.yaml:3: the chart's repository 'tools' is not one this "
        "helmfile or its bases define (known: none), so which chart and registry it names is "
        "unknown"
    ]


def test_a_local_chart_folder_is_no_repository(tmp_path: Path) -> None:
    helmfile = BASES_HELMFILE.replace("bases:\n  - ../../helmfile-base.yaml\n---\n", "")
    write(tmp_path, "components/app/tools/app/Chart.yaml", "name: app\nversion: 0.0.1\n")
    ev = read_manifests(str(component(tmp_path, "chartVersion: 0.0.1\n", helmfile=helmfile)),
                        "tools")
    assert not ev.unresolved and not ev.problems


def test_harbor_chartrepo_url_names_the_chart_in_that_project(tmp_path: Path) -> None:
    helmfile = HELMFILE.replace(
        "url: tools-harbor.wmcloud.org/toolforge\n    oci: true",
        "url: https://tools-harbor.wmcloud.org/chartrepo/toolforge")
    ev = read_manifests(str(component(tmp_path, "chartVersion: 0.0.1\nchartRepository: tools\n",
                                      helmfile=helmfile)), "tools", chart_values=lambda r, v:
                        served(v))
    assert {f"{APP}:0.0.1", f"{APP}:0.0.1_image"} <= refs(ev)


def test_cli_bases_and_chartrepo_protect_the_chart(tmp_path: Path) -> None:
    write(tmp_path / "b", "helmfile-base.yaml", BASE)
    code, report = check(component(tmp_path / "b", "chartVersion: 0.0.1\n",
                                   helmfile=BASES_HELMFILE))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1", "0.0.1_image"}
    helmfile = HELMFILE.replace(
        "url: tools-harbor.wmcloud.org/toolforge\n    oci: true",
        "url: https://tools-harbor.wmcloud.org/chartrepo/toolforge")
    code, report = check(component(tmp_path / "h", "chartVersion: 0.0.1\nchartRepository: "
                                   "tools\n", helmfile=helmfile))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1", "0.0.1_image"}


def test_cli_unknown_chart_repository_is_a_warning_not_an_all_clear(tmp_path: Path) -> None:
    helmfile = BASES_HELMFILE.replace("bases:\n  - ../../helmfile-base.yaml\n---\n", "")
    code, report = check(component(tmp_path, "chartVersion: 0.0.1\n", helmfile=helmfile))
    assert "unresolved-reference" in codes(report)


# --- 16: trivial pipes in templates -----------------------------------------------------------

def test_trivial_pipes_resolve_without_running_templates() -> None:
    def lookup(key: str) -> tuple[str, str] | None:
        return {"v": ("0.0.1", "values.yaml:1"), "empty": ("", "values.yaml:2")}.get(key)

    cases = {
        "a: {{ .Values.v | quote }}": 'a: "0.0.1"',
        'a: "{{ .Values.v | quote }}"': 'a: "0.0.1"',
        "a: '{{ .Values.v | squote }}'": "a: '0.0.1'",
        "a: {{ .Values.v | toString }}": "a: 0.0.1",
        "a: {{ quote .Values.v }}": 'a: "0.0.1"',
        'a: {{ .Values.unset | default "9.9" }}': "a: 9.9",
        'a: {{ .Values.empty | default "9.9" | quote }}': 'a: "9.9"',
        'a: {{ default "9.9" .Values.v }}': "a: 0.0.1",
    }
    for source, rendered in cases.items():
        assert gotmpl.render(source, "tools", lookup).text == rendered, source
    for source in ("a: {{ .Values.v | upper }}", "a: {{ .Values.v | default .Values.w }}",
                   'a: {{ .Values.v | printf "%s" }}'):
        assert gotmpl.is_templated(gotmpl.render(source, "tools", lookup).text), source


def test_cli_quoted_chart_version_protects_the_chart(tmp_path: Path) -> None:
    helmfile = HELMFILE.replace('version: "{{ .Values.chartVersion }}"',
                                "version: {{ .Values.chartVersion | quote }}")
    code, report = check(component(tmp_path, "chartVersion: 0.0.1\nchartRepository: tools\n",
                                   helmfile=helmfile))
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1", "0.0.1_image"}


def test_cli_unresolvable_chart_version_of_a_chart_is_incomplete(tmp_path: Path) -> None:
    helmfile = HELMFILE.replace('version: "{{ .Values.chartVersion }}"',
                                "version: {{ .Values.chartVersion | upper }}")
    code, report = check(component(tmp_path, "chartVersion: 0.0.1\nchartRepository: tools\n",
                                   helmfile=helmfile))
    assert code == 3
    incomplete = report["incomplete"]
    assert isinstance(incomplete, list)
    assert [i for i in incomplete if "helmfile.yaml:9" in i["what"]
            and "set by a template that cannot be resolved" in i["reason"]]


def test_set_entries_of_a_local_chart_are_evidence_as_written(tmp_path: Path) -> None:
    helmfile = ("releases:\n  - name: app\n    chart: ./chart\n    values:\n"
                f"      - image: {APP}:0.0.3_image\n"
                "    set:\n      - name: worker.image\n"
                f"        value: {APP}:0.0.1_image\n")
    write(tmp_path, "components/app/helmfile.yaml", helmfile)
    ev = read_manifests(str(tmp_path), "tools")
    assert {f"{APP}:0.0.1_image", f"{APP}:0.0.3_image"} <= refs(ev)


# --- 07: GitOps objects (Flux HelmRelease, Argo CD Application) ------------------------------

FLUX = f"""apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
spec:
  chart:
    spec:
      chart: app
      version: 0.0.1
      sourceRef:
        kind: HelmRepository
        name: tools
  values:
    image:
      repository: {APP}
      tag: 0.0.1_image
  valuesFrom:
    - kind: ConfigMap
      name: app-values
"""
ARGO = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: app
spec:
  source:
    repoURL: {HOST}/toolforge
    chart: app
    targetRevision: 0.0.2
    helm:
      values: |
        image:
          repository: {APP}
          tag: 0.0.2_image
      valuesObject:
        worker:
          image: {APP}:0.0.3_image
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: many
spec: {{}}
"""


def test_flux_helm_release_values_are_evidence_and_its_chart_unresolved(tmp_path: Path) -> None:
    write(tmp_path, "apps/app/helmrelease.yaml", FLUX)
    ev = read_manifests(str(tmp_path), "tools")
    assert refs(ev) == {f"{APP}:0.0.1_image"}
    assert [u.where for u in ev.usages] == ["apps/app/helmrelease.yaml:16"]
    assert sorted(u.where for u in ev.unresolved) == [
        "apps/app/helmrelease.yaml:18", "apps/app/helmrelease.yaml:9"]
    assert any("chart app version 0.0.1 from HelmRepository/tools" in r for r in reasons(ev))


def test_argo_application_values_text_and_object_are_evidence(tmp_path: Path) -> None:
    write(tmp_path, "apps/app.yaml", ARGO)
    ev = read_manifests(str(tmp_path), "tools")
    assert refs(ev) == {f"{APP}:0.0.2_image", f"{APP}:0.0.3_image"}
    assert {u.ref: u.where for u in ev.usages}[f"{APP}:0.0.2_image"] == "apps/app.yaml:14"
    assert sorted(u.where for u in ev.unresolved) == ["apps/app.yaml:19", "apps/app.yaml:9"]


def test_cli_flux_helm_release_image_is_in_use(tmp_path: Path) -> None:
    write(tmp_path, "apps/app/helmrelease.yaml", FLUX)
    code, report = check(tmp_path)
    assert code == 1
    assert deleted_in_use(report) == {"0.0.1_image"}
    assert codes(report).count("unresolved-reference") == 2


def test_kustomization_image_overrides_are_evidence(tmp_path: Path) -> None:
    write(tmp_path, "components/web/helmfile.yaml", "releases:\n  - name: web\n    chart: ./c\n")
    write(tmp_path, "components/app/kustomization.yaml",
          "resources: [deployment.yaml]\nimages:\n  - name: app\n"
          f"    newName: {APP}\n    newTag: 0.0.1_image\n  - name: other\n    newName: x/y\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert refs(ev) == {f"{APP}:0.0.1_image"}
    assert [u.where for u in ev.usages] == ["components/app/kustomization.yaml:5"]
