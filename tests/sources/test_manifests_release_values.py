"""Values files a helmfile release lists are read for it, whatever their names (attack2 N2).

helmfile renders every entry of a release's ``values:`` for the environment, in order; the
file name need not be the environment's (``values/common.yaml``, ``values/web-tools.yaml``,
``default.yaml``). Each of these trees once gave no reference at all: a false all-clear.
"""

from __future__ import annotations

from pathlib import Path

from harborguard.sources.manifests import ManifestEvidence, read_manifests

WEB = "harbor.example.org/proj/web"


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def refs(ev: ManifestEvidence) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in ev.usages}


def release(values: str, chart: str = "./chart", extra: str = "") -> str:
    return (
        "releases:\n  - name: web\n    chart: " + chart + "\n    namespace: web\n"
        "    values:\n" + values + extra
        + "environments:\n  default: {}\n  tools: {}\n  toolsbeta: {}\n"
    )


IMAGE = f'image:\n  repository: {WEB}\n  tag: "1.1"\n'


def test_values_common_yaml_listed_by_the_release_is_read(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": release(
            "      - values/common.yaml\n      - values/{{ .Environment.Name }}.yaml\n"),
        "components/web/values/common.yaml": IMAGE,
        "components/web/values/tools.yaml": "replicaCount: 2\n",
    })
    ev = read_manifests(str(root), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", "components/web/values/common.yaml:3")}


def test_a_helmfile_d_values_file_named_release_env_is_read(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "helmfile.d/web.yaml": release("      - ../values/web-{{ .Environment.Name }}.yaml\n"),
        "values/web-tools.yaml": IMAGE,
        "values/web-toolsbeta.yaml": IMAGE.replace("1.1", "9.9"),
    })
    ev = read_manifests(str(root), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", "values/web-tools.yaml:3")}


def test_a_file_named_like_another_environment_listed_for_all_is_read(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": release(
            "      - default.yaml\n      - values/{{ .Environment.Name }}.yaml\n"),
        "components/web/default.yaml": IMAGE,
        "components/web/values/default.yaml": IMAGE.replace("1.1", "8.8"),
        "components/web/values/tools.yaml": "replicaCount: 2\n",
    })
    ev = read_manifests(str(root), "tools")
    # values/default.yaml is listed for the default environment only: not read for tools.
    assert refs(ev) == {(f"{WEB}:1.1", "components/web/default.yaml:3")}


def test_a_global_registry_in_values_common_applies_to_the_release(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": release(
            "      - values/common.yaml\n      - values/{{ .Environment.Name }}.yaml\n"),
        "components/web/values/common.yaml": "global:\n  imageRegistry: harbor.example.org\n",
        "components/web/values/tools.yaml": 'image:\n  repository: proj/web\n  tag: "1.1"\n',
    })
    ev = read_manifests(str(root), "tools")
    assert {r for r, _ in refs(ev)} == {f"{WEB}:1.1"}


def test_a_release_values_entry_still_templated_is_a_problem(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": release(
            "      - values/{{ .Values.flavour }}.yaml\n"),
        "components/web/values/tools.yaml": "replicaCount: 2\n",
    })
    ev = read_manifests(str(root), "tools")
    assert ev.problems == (
        "components/web/helmfile.yaml:6: release web: a values file named by a template "
        "that could not be resolved; it was not read (write its path)",
    )


# -- attack2 N9: `set:` wins over the values files whatever the chart's origin -------------

SET_TAG = '    set:\n      - name: image.tag\n        value: "1.1"\n'
REPO = "repositories:\n  - name: bitnami\n    url: https://charts.bitnami.com/bitnami\n"


def test_set_image_tag_overrides_a_values_file_of_a_repository_chart(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": REPO + release(
            "      - values/{{ .Environment.Name }}.yaml\n",
            chart="bitnami/nginx\n    version: 15.0.0", extra=SET_TAG),
        "components/web/values/tools.yaml": f'image:\n  repository: {WEB}\n  tag: "1.10"\n',
    })
    ev = read_manifests(str(root), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", "components/web/helmfile.yaml:13")}
    assert ev.unresolved == ()


def test_set_image_tag_overrides_a_values_file_of_a_local_chart(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "components/web/helmfile.yaml": release(
            "      - values/{{ .Environment.Name }}.yaml\n", extra=SET_TAG),
        "components/web/values/tools.yaml": f'image:\n  repository: {WEB}\n  tag: "1.10"\n',
        "components/web/chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    })
    ev = read_manifests(str(root), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", "components/web/helmfile.yaml:9")}


# -- attack2 N7: a template writing the repository and taking the tag from values ----------

TEMPLATE = (
    "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
    '          image: "' + WEB + ':{{ .Values.tag }}"\n'
    "        - name: side\n"
    "          image: " + WEB + ":{{ .Values.tag | default \"2.0\" }}\n"
)
CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
DEPLOYMENT = "components/web/chart/templates/deployment.yaml"


def local_chart(root: Path, template: str, values: str = "replicaCount: 1\n",
                extra: str = "") -> Path:
    return write(root, {
        "components/web/helmfile.yaml": release(
            "      - values/{{ .Environment.Name }}.yaml\n", extra=extra),
        "components/web/values/tools.yaml": values,
        "components/web/chart/Chart.yaml": CHART,
        "components/web/chart/values.yaml": 'tag: "1.1"\n',
        DEPLOYMENT: template,
    })


def test_a_template_tag_from_the_chart_values_is_resolved(tmp_path: Path) -> None:
    ev = read_manifests(str(local_chart(tmp_path, TEMPLATE)), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", f"{DEPLOYMENT}:6"), (f"{WEB}:1.1", f"{DEPLOYMENT}:8")}
    assert ev.unresolved == ()


def test_a_template_tag_from_the_release_values_and_set_wins(tmp_path: Path) -> None:
    ev = read_manifests(str(local_chart(tmp_path / "a", TEMPLATE, 'tag: "1.3"\n')), "tools")
    assert {r for r, _ in refs(ev)} == {f"{WEB}:1.3"}
    set_tag = '    set:\n      - name: tag\n        value: "1.4"\n'
    ev = read_manifests(str(local_chart(tmp_path / "b", TEMPLATE, 'tag: "1.3"\n',
                                        extra=set_tag)), "tools")
    assert {r for r, _ in refs(ev)} == {f"{WEB}:1.4"}


def test_a_template_tag_not_resolvable_is_unresolved_naming_the_line(tmp_path: Path) -> None:
    template = "containers:\n  - image: " + WEB + ":{{ include \"web.tag\" . }}\n"
    ev = read_manifests(str(local_chart(tmp_path, template)), "tools")
    assert refs(ev) == set()
    assert [(u.where, u.text) for u in ev.unresolved] == [
        (f"{DEPLOYMENT}:2", "- image: " + WEB + ":{{ include \"web.tag\" . }}")]


def test_a_template_image_built_from_values_only_is_left_to_the_values(tmp_path: Path) -> None:
    # helm create's scaffold: the image map in values is the evidence, read as such.
    template = ('image: "{{ .Values.image.repository }}:'
                '{{ .Values.image.tag | default .Chart.AppVersion }}"\n')
    values = f'image:\n  repository: {WEB}\n  tag: "1.5"\n'
    ev = read_manifests(str(local_chart(tmp_path, template, values)), "tools")
    assert {r for r, _ in refs(ev)} == {f"{WEB}:1.5"}
    assert ev.unresolved == ()


# -- attack2 N10: kustomize `helmCharts:` (kustomize build --enable-helm, Argo CD) ----------

KUSTOMIZATION = """helmCharts:
  - name: web
    repo: oci://harbor.example.org/proj
    version: "0.2"
    releaseName: web
    namespace: web
    valuesInline:
      replicaCount: 2
  - name: nover
    repo: oci://harbor.example.org/proj
"""


def test_kustomize_helm_charts_are_chart_versions_in_use(tmp_path: Path) -> None:
    root = write(tmp_path, {"web/kustomization.yaml": KUSTOMIZATION})
    ev = read_manifests(str(root), "tools", image_tag_template="{version}")
    chart = [(c.chart_ref, c.chart_version, c.declared_at, c.release) for c in ev.components]
    assert chart[0] == ("harbor.example.org/proj/web", "0.2", "web/kustomization.yaml:4", "web")
    assert (f"{WEB}:0.2", "web/kustomization.yaml:4") in refs(ev)
    assert [u.where for u in ev.unresolved] == ["web/kustomization.yaml:9"]
    assert "names no chart version" in ev.unresolved[0].reason


def test_a_template_with_a_templated_host_and_a_literal_path_is_read(tmp_path: Path) -> None:
    template = ('image: "{{ .Values.registry }}/proj/web:{{ .Values.tag }}"\n'
                'other: "{{ .Values.a }}/{{ .Values.b }}:{{ .Values.c }}"\n'
                'image: "{{ .Values.a }}/{{ .Values.b }}:{{ .Values.c }}"\n')
    values = "registry: harbor.example.org\n"
    ev = read_manifests(str(local_chart(tmp_path / "a", template, values)), "tools")
    assert refs(ev) == {(f"{WEB}:1.1", f"{DEPLOYMENT}:1")}
    ev = read_manifests(str(local_chart(tmp_path / "b", template)), "tools")
    assert refs(ev) == set()
    assert [u.where for u in ev.unresolved] == [f"{DEPLOYMENT}:1"]


# Round-3 review R1: a values file listed inside `{{ if eq .Environment.Name "x" }}` counts
# only for the environments whose templating lists it.
GUARDED = (
    "      - values/common.yaml\n"
    '{{- if eq .Environment.Name "toolsbeta" }}\n'
    "      - values/beta-override.yaml\n"
    "{{- end }}\n"
)


def guarded_tree(root: Path, values: str) -> Path:
    return write(root, {
        "components/web/helmfile.yaml.gotmpl": release(values),
        "components/web/values/common.yaml": IMAGE.replace("1.1", "1.10"),
        "components/web/values/beta-override.yaml": IMAGE,
    })


def test_a_values_file_listed_for_another_environment_is_not_read(tmp_path: Path) -> None:
    ev = read_manifests(str(guarded_tree(tmp_path, GUARDED)), "tools")
    assert refs(ev) == {(f"{WEB}:1.10", "components/web/values/common.yaml:3")}
    assert ev.unresolved == () and ev.problems == ()


def test_a_values_file_listed_for_this_environment_is_read(tmp_path: Path) -> None:
    ev = read_manifests(str(guarded_tree(tmp_path, GUARDED)), "toolsbeta")
    assert (f"{WEB}:1.1", "components/web/values/beta-override.yaml:3") in refs(ev)


def test_else_and_ne_branches_follow_the_environment(tmp_path: Path) -> None:
    values = (
        '{{- if ne .Environment.Name "tools" }}\n'
        "      - values/beta-override.yaml\n"
        "{{- else }}\n"
        "      - values/common.yaml\n"
        "{{- end }}\n"
    )
    tools = read_manifests(str(guarded_tree(tmp_path, values)), "tools")
    assert refs(tools) == {(f"{WEB}:1.10", "components/web/values/common.yaml:3")}
    beta = read_manifests(str(tmp_path), "toolsbeta")
    assert {r for r, _w in refs(beta)} == {f"{WEB}:1.1"}


def test_a_values_file_under_a_condition_not_understood_is_unresolved(tmp_path: Path) -> None:
    values = GUARDED.replace('eq .Environment.Name "toolsbeta"', "env \"BETA\"")
    ev = read_manifests(str(guarded_tree(tmp_path, values)), "tools")
    assert refs(ev) == {(f"{WEB}:1.10", "components/web/values/common.yaml:3")}
    assert [u.where for u in ev.unresolved] == ["components/web/helmfile.yaml.gotmpl:8"]
    assert "condition" in ev.unresolved[0].reason


# Round-3 review R2: a values entry that is remote, absolute or missing is named.
def _one_entry(root: Path, entry: str, extra: str = "") -> Path:
    return write(root, {
        "components/web/helmfile.yaml": release(f"      - {entry}\n", extra=extra),
        "components/web/chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "components/web/chart/values.yaml": IMAGE.replace("1.1", "1.10"),
    })


def test_a_remote_values_entry_is_named(tmp_path: Path) -> None:
    entry = "git::https://gitlab.example.org/infra/v.git@web/images.yaml?ref=main"
    ev = read_manifests(str(_one_entry(tmp_path, entry)), "tools")
    assert len(ev.problems) == 1
    assert ev.problems[0].startswith("components/web/helmfile.yaml:6: release web:")
    assert "remote" in ev.problems[0]


def test_an_absolute_values_entry_is_named(tmp_path: Path) -> None:
    ev = read_manifests(str(_one_entry(tmp_path, "/etc/helm-values/web.yaml")), "tools")
    assert len(ev.problems) == 1 and "outside the tree" in ev.problems[0]


def test_a_missing_values_file_is_named(tmp_path: Path) -> None:
    ev = read_manifests(str(_one_entry(tmp_path, "../../common/nothere.yaml")), "tools")
    assert len(ev.problems) == 1 and "does not exist" in ev.problems[0]


def test_a_glob_matching_nothing_is_fine(tmp_path: Path) -> None:
    ev = read_manifests(str(_one_entry(tmp_path, "values/{{ .Environment.Name }}.yaml*")),
                        "tools")
    assert ev.problems == ()


def test_a_missing_values_file_with_missing_file_handler_warn_is_skipped(tmp_path: Path) -> None:
    root = _one_entry(tmp_path, "values/nothere.yaml", extra="    missingFileHandler: Warn\n")
    ev = read_manifests(str(root), "tools")
    assert ev.problems == ()


def test_a_missing_values_file_of_a_third_party_chart_is_unresolved(tmp_path: Path) -> None:
    helmfile = release("      - values/nothere.yaml\n", chart="stable/web").replace(
        "releases:", "repositories:\n  - name: stable\n    url: https://charts.example.org\n"
        "releases:", 1).replace("namespace: web\n", "namespace: web\n    version: 1.0.0\n", 1)
    root = write(tmp_path, {"components/web/helmfile.yaml": helmfile})
    ev = read_manifests(str(root), "tools")
    assert ev.problems == ()
    assert [u.where for u in ev.unresolved] == ["components/web/helmfile.yaml:10"]
    assert "does not exist" in ev.unresolved[0].reason
