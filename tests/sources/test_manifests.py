"""The manifests source on the real toolforge-deploy files, and on composed edge cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harborguard.errors import InputError
from harborguard.evidence import Usage
from harborguard.sources.helmvalues import ImageField, ImageSpec
from harborguard.sources.manifests import (
    ManifestEvidence,
    Unresolved,
    chart_images,
    read_manifests,
)
from tests.builders import shared_dir

TOOLFORGE = shared_dir() / "toolforge"
BE73 = TOOLFORGE / "toolforge-deploy@be73bc9"
A83 = TOOLFORGE / "toolforge-deploy@83a7fcf"
CHART_VALUES = TOOLFORGE / "builds-api@322f874" / "deployment" / "chart" / "values.yaml"

HARBOR = "tools-harbor.wmcloud.org/toolforge"
BETA = "toolsbeta-harbor.wmcloud.org/toolforge"
V131 = "0.0.131-20240222212602-322f874b"
V130 = "0.0.130-20240221160838-03b2a120"
NGINX_DIGEST = "sha256:e9552a8ef46680e12f539e6ce853f5fd4282b4bd5fc5c73062642c54bb00429b"
INGRESS = f"docker-registry.tools.wmflabs.org/nginx-ingress-controller:v1.4.0@{NGINX_DIGEST}"
API_VALUES = "components/builds-api/values/tools.yaml.gotmpl"
CERT_VALUES = "components/cert-manager/chart-values/cert-manager.yaml"
NO_TAG = "an image without a tag (the chart's templates decide it; not assumed latest)"


def usages(ev: ManifestEvidence) -> set[tuple[str, str, bool]]:
    return {(u.ref, u.where, u.chart) for u in ev.usages}


def unresolved(ev: ManifestEvidence) -> set[tuple[str, str]]:
    return {(u.where, u.reason) for u in ev.unresolved}


def served_values(version: str) -> str:
    """The chart's values.yaml as Harbor serves it: CI's sed set the image tag (see
    builds-api@55a7773/.gitlab-ci.yml, publish-chart-tools)."""
    text = CHART_VALUES.read_text()
    assert "tag: OVERWRITTEN_BY_CI" in text
    return text.replace("tag: OVERWRITTEN_BY_CI", f"tag: {version}_image")


# -- the real files -----------------------------------------------------------------------


def test_real_be73bc9_for_tools() -> None:
    ev = read_manifests(str(BE73), "tools")
    assert ev.problems == ()
    assert ev.files_read == 5  # two helmfiles, tools.yaml.gotmpl, ingress-nginx, cert-manager
    api = next(c for c in ev.components if c.name == "builds-api")
    assert (api.release, api.namespace, api.chart) == ("builds-api", "builds-api", "builds-api")
    assert (api.chart_repository, api.oci, api.chart_version) == (HARBOR, True, V131)
    assert api.chart_ref == f"{HARBOR}/builds-api"
    assert api.declared_at == f"{API_VALUES}:1"
    assert api.values_files == (API_VALUES,)
    # cert-manager's three charts come from HTTP repositories: components, never artifacts.
    cert = [(c.release, c.chart, c.chart_version, c.oci, c.declared_at)
            for c in ev.components if c.name == "cert-manager"]
    assert cert == [
        ("reloader", "reloader", "v1.0.5", False, "components/cert-manager/helmfile.yaml:14"),
        ("reloader-psp", "raw", "v0.3.0", False, "components/cert-manager/helmfile.yaml:21"),
        ("cert-manager", "cert-manager", "v1.11.0", False,
         "components/cert-manager/helmfile.yaml:28"),
    ]
    assert usages(ev) == {
        (f"{HARBOR}/builds-api:{V131}", f"{API_VALUES}:1", True),
        # config.builder: the buildpacks builder image builds-api runs builds with.
        (f"{HARBOR}/heroku-builder:22", f"{API_VALUES}:5", False),
        (INGRESS, "components/ingress-nginx/values.yaml:9", False),
    }
    ingress = next(u for u in ev.usages if u.ref == INGRESS)
    assert ingress == Usage("manifests", "declared", INGRESS,
                            "components/ingress-nginx/values.yaml:9", digest=NGINX_DIGEST,
                            component="ingress-nginx", environment="tools")
    assert unresolved(ev) == {
        (f"{CERT_VALUES}:8", NO_TAG),
        (f"{CERT_VALUES}:11", NO_TAG),
        (f"{CERT_VALUES}:14", NO_TAG),
        (f"{CERT_VALUES}:17", NO_TAG),
        (f"{API_VALUES}:1",
         f"the images of {HARBOR}/builds-api:{V131} are unknown: no values.yaml from Harbor "
         "and no --image-tag-template"),
        # The extraction (tests/data/toolforge/SOURCES.md) omits reloader's two values files
        # that the helmfile lists: named, as a file helmfile would fail on (round-3 R2).
        *((f"components/cert-manager/helmfile.yaml:{line}",
           f"release {release}: values file 'chart-values/{release}.yaml' does not exist in "
           "the tree, so `helmfile apply` fails on it (missingFileHandler is Error); add the "
           "file, fix the path, or set missingFileHandler: Warn")
          for line, release in ((16, "reloader"), (23, "reloader-psp"))),
    }
    assert next(u for u in ev.unresolved if u.where == f"{CERT_VALUES}:8").text == (
        "repository: docker-registry.tools.wmflabs.org/cert-manager/controller")


@pytest.mark.parametrize(
    ("environment", "values", "registry", "builder_line"),
    [("toolsbeta", "toolsbeta.yaml.gotmpl", BETA, 6),
     ("local", "local.yaml.gotmpl", BETA, 9)],
)
def test_real_be73bc9_other_environments(
    environment: str, values: str, registry: str, builder_line: int
) -> None:
    # local.yaml.gotmpl has `http://{{ exec "../../helpers/get_harbor_ip.sh" (list) }}`
    # inside a value; toolsbeta's has exec calls as whole values. Neither is run.
    ev = read_manifests(str(BE73), environment)
    assert ev.problems == ()
    path = f"components/builds-api/values/{values}"
    api = next(c for c in ev.components if c.name == "builds-api")
    assert (api.chart_repository, api.chart_version, api.declared_at) == (
        registry, V131, f"{path}:1")
    assert (f"{registry}/builds-api:{V131}", f"{path}:1", True) in usages(ev)
    assert (f"{registry}/heroku-builder:22", f"{path}:{builder_line}", False) in usages(ev)
    # tools' values are not read for another environment.
    assert not any("tools.yaml" in u.where for u in ev.usages)


def test_real_83a7fcf_values_without_helmfiles() -> None:
    ev = read_manifests(str(A83), "tools")
    assert ev.problems == ()
    assert usages(ev) == set()  # no helmfile names a chart; allowedRegistries are hosts
    versions = {c.name: (c.chart_version, c.chart, c.declared_at) for c in ev.components}
    assert versions == {
        "jobs-api": ("0.0.566-20260820153703-a55fc510", None,
                     "components/jobs-api/values/tools.yaml:1"),
        "maintain-harbor": ("0.0.73-20260804112956-fcba8c11", None,
                            "components/maintain-harbor/values/tools.yaml.gotmpl:1"),
        "registry-admission": ("0.0.78-20260611135520-dff9af97", None,
                               "components/registry-admission/values/tools.yaml:1"),
    }
    orphan = "no helmfile beside it names the chart or the repository (chartRepository: tools)"
    assert unresolved(ev) == {
        ("components/jobs-api/values/tools.yaml:1", orphan),
        ("components/maintain-harbor/values/tools.yaml.gotmpl:1", orphan),
        ("components/registry-admission/values/tools.yaml:1", orphan),
        # maintainHarbor.image.name without a tag; the CronJob `name:`s are not images.
        ("components/maintain-harbor/values/tools.yaml.gotmpl:7", NO_TAG),
    }


def test_real_83a7fcf_toolsbeta_overrides_the_jobs_api_image_name() -> None:
    ev = read_manifests(str(A83), "toolsbeta")
    assert ev.problems == ()
    assert [c.name for c in ev.components] == ["jobs-api"]
    assert ("components/jobs-api/values/toolsbeta.yaml:8", NO_TAG) in unresolved(ev)
    text = next(u.text for u in ev.unresolved if u.where.endswith("toolsbeta.yaml:8"))
    assert text == 'name: "toolsbeta-harbor.wmcloud.org/toolforge/jobs-api"'


# -- the toolforge layout with charts from Harbor ----------------------------------------------


HELMFILE_FOR = (BE73 / "components/builds-api/helmfile.yaml").read_text()


def toolforge_tree(tmp_path: Path) -> Path:
    """be73bc9 plus 83a7fcf, with helmfiles for the 83a7fcf components written like the real
    builds-api one (the real repository has them; SOURCES.md did not keep them)."""
    root = tmp_path / "deploy"
    shutil.copytree(BE73, root)
    shutil.copytree(A83 / "components", root / "components", dirs_exist_ok=True)
    for name in ("jobs-api", "maintain-harbor", "registry-admission"):
        text = HELMFILE_FOR.replace("builds-api", name)
        (root / "components" / name / "helmfile.yaml").write_text(text)
    return root


def test_image_tag_template_names_each_charts_own_image(tmp_path: Path) -> None:
    root = toolforge_tree(tmp_path)
    ev = read_manifests(str(root), "tools", image_tag_template="{version}_image")
    assert ev.problems == ()
    mh = "components/maintain-harbor/values/tools.yaml.gotmpl"
    found = usages(ev)
    assert {
        (f"{HARBOR}/builds-api:{V131}", f"{API_VALUES}:1", True),
        (f"{HARBOR}/builds-api:{V131}_image", f"{API_VALUES}:1", False),
        (f"{HARBOR}/maintain-harbor:0.0.73-20260804112956-fcba8c11", f"{mh}:1", True),
        # The release values name the image without a tag; the template supplies it.
        (f"{HARBOR}/maintain-harbor:0.0.73-20260804112956-fcba8c11_image", f"{mh}:7", False),
        (f"{HARBOR}/jobs-api:0.0.566-20260820153703-a55fc510_image",
         "components/jobs-api/values/tools.yaml:1", False),
        (f"{HARBOR}/registry-admission:0.0.78-20260611135520-dff9af97_image",
         "components/registry-admission/values/tools.yaml:1", False),
    } <= found
    assert not any(u.reason.startswith("the images of") for u in ev.unresolved)
    # Third-party images without tags stay unresolved: the template is not theirs.
    assert (f"{CERT_VALUES}:8", NO_TAG) in unresolved(ev)


def test_chart_values_from_harbor(tmp_path: Path) -> None:
    root = toolforge_tree(tmp_path)
    asked: list[tuple[str, str]] = []

    def lookup(repository: str, version: str) -> str | None:
        asked.append((repository, version))
        return served_values(version) if repository == f"{HARBOR}/builds-api" else None

    ev = read_manifests(str(root), "tools", chart_values=lookup)
    assert (f"{HARBOR}/builds-api", V131) in asked
    assert (f"{HARBOR}/builds-api:{V131}_image", f"{API_VALUES}:1", False) in usages(ev)
    nginx = [u for u in ev.unresolved if "nginx.image" in u.text]
    # The chart's sidecar uses `nginxTag:`, which only its template knows.
    assert [(u.where, u.reason) for u in nginx] == [(f"{API_VALUES}:1", NO_TAG)]
    assert nginx[0].text.startswith("nginx.image: repository: docker-registry.tools.wmflabs.org")
    # Charts Harbor has no values.yaml for are still reported.
    assert ("components/jobs-api/values/tools.yaml:1",
            f"the images of {HARBOR}/jobs-api:0.0.566-20260820153703-a55fc510 are unknown: "
            "no values.yaml from Harbor and no --image-tag-template") in unresolved(ev)


# -- chart_images ------------------------------------------------------------------------


def test_chart_images_from_served_values() -> None:
    found = chart_images(served_values(V130), V130, None, repository=f"{HARBOR}/builds-api",
                         declared_at="v.yaml:1")
    assert [(i.ref, i.digest, i.where) for i in found.images] == [
        (f"{HARBOR}/builds-api:{V130}_image", None, None)]
    assert [(u.where, u.reason) for u in found.unresolved] == [("v.yaml:1", NO_TAG)]


def test_chart_images_from_the_git_copy_keep_the_placeholder() -> None:
    # The values.yaml in git is not what Harbor serves: CI replaces the tag before packaging.
    found = chart_images(CHART_VALUES.read_text(), V130, "{version}_image",
                         repository=f"{HARBOR}/builds-api")
    assert [i.ref for i in found.images] == [f"{HARBOR}/builds-api:OVERWRITTEN_BY_CI"]


def test_chart_images_from_template_only() -> None:
    found = chart_images(None, V130, "{version}_image", repository=f"{HARBOR}/builds-api")
    assert [(i.ref, i.where) for i in found.images] == [(f"{HARBOR}/builds-api:{V130}_image", None)]
    assert found.unresolved == ()
    found = chart_images(None, V130, "{chart}-{version}", repository=f"{HARBOR}/builds-api")
    assert [i.ref for i in found.images] == [f"{HARBOR}/builds-api:builds-api-{V130}"]


def test_chart_images_without_values_or_template_is_unresolved() -> None:
    found = chart_images(None, V130, None, repository=f"{HARBOR}/builds-api",
                         declared_at="a.yaml:3")
    assert found.images == ()
    assert [(u.where, u.text) for u in found.unresolved] == [
        ("a.yaml:3", f"{HARBOR}/builds-api:{V130}")]


def test_chart_images_release_values_override_the_chart() -> None:
    chart = "webservice:\n  image:\n    name: tools-harbor.wmcloud.org/toolforge/jobs-api\n" \
            "    tag: 1.0_image\n"
    override = ImageSpec(
        ("webservice", "image"), "components/jobs-api/values/toolsbeta.yaml", 7, "image:",
        fields={"name": ImageField(f"{BETA}/jobs-api", 8, "name: ...",
                                   "components/jobs-api/values/toolsbeta.yaml")},
    )
    found = chart_images(chart, "1.0", None, repository=f"{BETA}/jobs-api",
                         overrides=[override], declared_at="x:1")
    # Helm merges maps key by key: the override's name, the chart's tag.
    assert [(i.ref, i.where) for i in found.images] == [(f"{BETA}/jobs-api:1.0_image", None)]
    tag = ImageSpec(("webservice", "image"), "rel.yaml", 3, "image:",
                    fields={"tag": ImageField("2.0", 4, "tag: 2.0", "rel.yaml")})
    found = chart_images(chart, "1.0", None, repository=f"{HARBOR}/jobs-api", overrides=[tag])
    assert [(i.ref, i.where) for i in found.images] == [(f"{HARBOR}/jobs-api:2.0", "rel.yaml:4")]


def test_chart_images_unparseable_values_is_unresolved() -> None:
    found = chart_images("a: [\n", "1.0", None, repository="h.example/p/c", declared_at="v:1")
    assert found.images == ()
    assert "values.yaml of h.example/p/c:1.0 is not valid YAML" in found.unresolved[0].reason


def test_bad_image_tag_template_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--image-tag-template '{tag}_image'"):
        chart_images(None, "1.0", "{tag}_image", repository="h.example/p/c")


# -- Helm values and Kubernetes YAML anywhere -----------------------------------------------


def write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_image_maps_and_strings(tmp_path: Path) -> None:
    write(tmp_path, "values.yaml", f"""\
a:
  image: registry.example/team/app:1.2
b:
  image:
    registry: registry.k8s.io
    image: ingress-nginx/controller
    tag: "v1.9.4"
    digest: sha256:{"a" * 64}
c:
  image: {{repository: registry.example/team/db, tag: 15}}
d:
  image:
    repository: registry.example/team/only-digest
    digest: sha256:{"b" * 64}
e:
  image:
    pullPolicy: Always
f:
  image:
    tag: "3.0"
g:
  image: ""
sidecars:
  - registry.example/team/sidecar:2.0
harbor:
  url: https://registry.example/api/v2.0
  host: registry.example
""")
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.problems == ()
    assert usages(ev) == {
        ("registry.example/team/app:1.2", "values.yaml:2", False),
        (f"registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:{'a' * 64}",
         "values.yaml:7", False),
        ("registry.example/team/db:15", "values.yaml:10", False),
        (f"registry.example/team/only-digest@sha256:{'b' * 64}", "values.yaml:14", False),
        ("registry.example/team/sidecar:2.0", "values.yaml:24", False),
    }
    assert unresolved(ev) == {("values.yaml:20", "an image tag without a repository")}


KUBERNETES = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: registry.example/team/init:1
      containers:
        - name: web
          image: registry.example/team/web:2
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: "registry.example/team/job:3"
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: debug}
    spec:
      containers:
        - {name: a, image: "registry.example/team/a:4"}
      ephemeralContainers:
        - {name: dbg, image: busybox}
"""


def test_plain_kubernetes_yaml(tmp_path: Path) -> None:
    write(tmp_path, "k8s/app.yaml", KUBERNETES)
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.problems == ()
    assert usages(ev) == {
        ("registry.example/team/init:1", "k8s/app.yaml:9", False),
        ("registry.example/team/web:2", "k8s/app.yaml:12", False),
        ("registry.example/team/job:3", "k8s/app.yaml:24", False),
        ("registry.example/team/a:4", "k8s/app.yaml:40", False),
        ("busybox", "k8s/app.yaml:42", False),
    }
    assert {(u.source, u.kind) for u in ev.usages} == {("manifests", "declared")}


def test_templated_kubernetes_image_is_unresolved(tmp_path: Path) -> None:
    write(tmp_path, "pod.yaml.gotmpl", """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: a
      image: "{{ requiredEnv "IMAGE" }}"
""")
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.usages == ()
    assert [(u.where, u.text) for u in ev.unresolved] == [
        ("pod.yaml.gotmpl:8", 'image: "{{ requiredEnv "IMAGE" }}"')]


# -- templates ---------------------------------------------------------------------------


HELMFILE = """\
repositories:
  - name: tools
    url: oci://registry.example/charts
    oci: true
releases:
  - name: app
    namespace: app-ns
    chart: "{{ .Values.chartRepository }}/app"
    version: "{{ .Values.chartVersion }}"
    values:
      - values/{{ .Environment.Name }}.yaml*
      - inline:
          image:
            repository: registry.example/team/inline
            tag: "7"
  - name: off
    chart: tools/off
    version: 1.0.0
    installed: false
  - name: direct
    chart: oci://registry.example/other/direct
    version: 2.0.0
  - name: local
    chart: ./charts/local
    version: 0.1.0
  - name: latest
    chart: tools/latest
environments:
  tools:
    values:
      - values/{{ .Environment.Name }}.yaml*
"""

GOTMPL_VALUES = """\
chartVersion: 1.2.3
chartRepository: tools
{{- if eq .Environment.Name "tools" }}
replicas: 2
{{- end }}
image:
  repository: registry.example/charts/app
  tag: "{{ .Values.chartVersion }}_image"
env: {{ .Environment.Name }}
password: {{ exec "get_secret.sh" (list "pw") }}
resources:
  {{- toYaml .Values.resources
      | nindent 2 }}
extra:
  tag: {{ .Values.missing }}
  version: "{{ env "VERSION" }}"
sidecar: registry.example/team/side:{{ .Environment.Name }}
"""


def test_helmfile_and_gotmpl_subset(tmp_path: Path) -> None:
    write(tmp_path, "components/app/helmfile.yaml", HELMFILE)
    write(tmp_path, "components/app/values/tools.yaml.gotmpl", GOTMPL_VALUES)
    write(tmp_path, "components/app/values/toolsbeta.yaml", "chartVersion: 9.9.9\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.problems == ()
    values = "components/app/values/tools.yaml.gotmpl"
    helmfile = "components/app/helmfile.yaml"
    by_release = {c.release: c for c in ev.components}
    assert set(by_release) == {"app", "direct", "local", "latest"}  # `installed: false` is off
    app = by_release["app"]
    assert (app.namespace, app.chart_ref, app.chart_version, app.declared_at) == (
        "app-ns", "registry.example/charts/app", "1.2.3", f"{values}:1")
    assert by_release["direct"].chart_ref == "registry.example/other/direct"
    assert by_release["direct"].declared_at == f"{helmfile}:22"
    assert (by_release["local"].chart, by_release["local"].oci) == ("local", False)
    assert usages(ev) == {
        ("registry.example/charts/app:1.2.3", f"{values}:1", True),
        # `.Values.chartVersion` from the same file, on its own line (8).
        ("registry.example/charts/app:1.2.3_image", f"{values}:8", False),
        ("registry.example/team/side:tools", f"{values}:17", False),
        ("registry.example/team/inline:7", f"{helmfile}:15", False),
        ("registry.example/other/direct:2.0.0", f"{helmfile}:22", True),
    }
    assert unresolved(ev) >= {
        (f"{values}:15", "tag is set by a template"),
        (f"{values}:16", "version is set by a template"),
        (f"{helmfile}:26", "release latest names no chart version (helm would take the newest)"),
    }
    assert not any("password" in u.text or "resources" in u.text for u in ev.unresolved)


def test_unresolvable_chart_version_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "components/app/helmfile.yaml", HELMFILE.replace(
        ".Values.chartVersion", ".Values.nope"))
    write(tmp_path, "components/app/values/tools.yaml.gotmpl", GOTMPL_VALUES)
    ev = read_manifests(str(tmp_path), "tools")
    app = next(c for c in ev.components if c.release == "app")
    assert app.chart_version is None
    # What an OCI chart's release deploys is unknown: the run is incomplete, not a warning.
    assert [p for p in ev.problems if p.startswith("components/app/helmfile.yaml:9: the chart "
            "version of registry.example/charts/app is set by a template")]
    assert not any(u.ref.startswith("registry.example/charts/app:") for u in ev.usages if u.chart)


def test_environment_not_defined_by_the_helmfile(tmp_path: Path) -> None:
    write(tmp_path, "components/app/helmfile.yaml", HELMFILE)
    write(tmp_path, "components/app/values/tools.yaml.gotmpl", GOTMPL_VALUES)
    ev = read_manifests(str(tmp_path), "staging")
    assert ev.components == ()
    assert ev.usages == ()


def test_hidden_files_and_chart_templates_are_not_read(tmp_path: Path) -> None:
    write(tmp_path, ".gitlab-ci.yml", "job:\n  image: registry.example/ci/tox:latest\n")
    write(tmp_path, ".git/x.yaml", "image: registry.example/x/y:1\n")
    write(tmp_path, "charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n")
    write(tmp_path, "charts/app/values.yaml", "image: registry.example/team/app:1\n")
    write(tmp_path, "charts/app/templates/deployment.yaml",
          "spec: {{ toYaml .Values | nindent 2 }}\n  image: {{ .Values.image }}\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.problems == ()
    assert usages(ev) == {("registry.example/team/app:1", "charts/app/values.yaml:1", False)}


# -- bad input ---------------------------------------------------------------------------


def test_unparseable_file_is_a_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    shutil.copytree(BE73, tmp_path / "deploy")
    bad = tmp_path / "deploy/components/ingress-nginx/values.yaml"
    bad.write_text("controller:\n  image: [unclosed\n  other: 1\n")
    write(tmp_path / "deploy", "components/x/latin1.yaml", "")
    (tmp_path / "deploy/components/x/latin1.yaml").write_bytes(b"image: caf\xe9\n")
    ev = read_manifests(str(tmp_path / "deploy"), "tools")
    assert len(ev.problems) == 2
    # The wording is libyaml's or PyYAML's; the file and the line are ours.
    assert ev.problems[0].startswith("components/ingress-nginx/values.yaml: not valid YAML: ")
    assert ev.problems[0].endswith("(line 3, column 8)")
    assert ev.problems[1] == "components/x/latin1.yaml: not UTF-8 text (byte 10)"
    assert (f"{HARBOR}/builds-api:{V131}", f"{API_VALUES}:1", True) in usages(ev)


def test_unparseable_helmfile_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "components/app/helmfile.yaml", "releases: [\n")
    write(tmp_path, "components/other/values.yaml", "image: registry.example/a/b:1\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert [p.split(":")[0] for p in ev.problems] == ["components/app/helmfile.yaml"]
    assert [u.ref for u in ev.usages] == ["registry.example/a/b:1"]


def test_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_manifests(str(tmp_path / "nope"), "tools")
    (tmp_path / "file.yaml").write_text("a: 1\n")
    with pytest.raises(InputError, match="is not a directory"):
        read_manifests(str(tmp_path / "file.yaml"), "tools")
    with pytest.raises(InputError, match="--environment"):
        read_manifests(str(tmp_path), "")


def test_unresolved_is_hashable_and_reported_once(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "image:\n  name: registry.example/x/y\n")
    ev = read_manifests(str(tmp_path), "tools")
    assert ev.unresolved == (Unresolved("a.yaml:2", "name: registry.example/x/y", NO_TAG),)


def test_real_chart_templates_read_cleanly_and_stay_unresolved() -> None:
    # builds-api@322f874 keeps its chart without Chart.yaml in SOURCES.md's copy, so the
    # template is read as a manifest: `replicas: {{ .Values.replicas }}` and
    # `resources: {{ toYaml .Values.resources | nindent 12 }}` must not break the YAML.
    ev = read_manifests(str(TOOLFORGE / "builds-api@322f874"), "tools")
    assert ev.problems == ()
    template = "deployment/chart/templates/deployment.yaml.gotmpl"
    assert [(u.where, u.text) for u in ev.unresolved if u.where.startswith(template)] == [
        (f"{template}:22", 'image: "{{ .Values.image.name }}:{{ .Values.image.tag }}"'),
        (f"{template}:50",
         '"{{ .Values.nginx.image.repository }}:{{ .Values.nginx.image.nginxTag }}"'),
    ]
    # The git copy of values.yaml still has CI's placeholder: Harbor serves the real tag.
    assert usages(ev) == {(f"{HARBOR}/builds-api:OVERWRITTEN_BY_CI",
                           "deployment/chart/values.yaml:7", False)}
