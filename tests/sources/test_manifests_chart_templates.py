"""A chart's templates read as Kubernetes YAML too (hostile review, attack 6, m7, m9, m11).

A chart folder's templates were read only for their ``image:`` lines, so an image named in
an env value, an argument, a command or an image volume of a template went unseen and
`check` said "Nothing in use would be deleted" (exit 0), while the same Deployment as plain
YAML gave in-use-deleted. The snapshot (tests/data/evidence/app-snap.json) holds proj/app
2.0 (kept) and 1.0 (deleted).
"""

from __future__ import annotations

from pathlib import Path

from harborguard.sources.manifests import read_manifests
from tests.sources.test_manifests_chart_folders import APP, check, findings, write

CHART = {"charts/web/Chart.yaml": 'apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: "2.0"\n'}
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      volumes:
        - name: tools
          image: {reference: REF_VOLUME}
      initContainers:
        - name: copy
          image: busybox:1.36
          command: ["sh", "-c", "crane copy REF_COMMAND x"]
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:TAG"
          args:
            - --builder=REF_ARG
          env:
            - name: B
              value: REF_ENV
"""


def deployment(**refs: str) -> str:
    text = DEPLOYMENT.replace("TAG", "{{ .Values.image.tag | default .Chart.AppVersion }}")
    for key, ref in refs.items():
        text = text.replace(f"REF_{key.upper()}", ref)
    return text


def chart(root: Path, template: str, values: str = f"image:\n  repository: {APP}\n",
          helmfile: bool = False) -> None:
    write(root, {**CHART, "charts/web/values.yaml": values,
                 "charts/web/templates/d.yaml": template})
    if helmfile:
        write(root, {"helmfile.yaml": "releases:\n  - name: web\n    namespace: prod\n"
                                      "    chart: ./charts/web\n"})


def usages(root: Path) -> set[tuple[str, str]]:
    return {(u.ref, u.where) for u in read_manifests(str(root), "prod").usages}


KEPT = f"{APP}:2.0"
GONE = f"{APP}:1.0"
WHERE = "charts/web/templates/d.yaml"


def test_env_args_command_and_image_volumes_of_a_chart_template_are_read(tmp_path: Path) -> None:
    chart(tmp_path, deployment(volume=GONE, command=f"{APP}:1.0", arg=KEPT, env=KEPT))
    found = usages(tmp_path)
    assert (GONE, f"{WHERE}:10") in found  # the image volume
    assert (GONE, f"{WHERE}:14") in found  # the command
    assert (KEPT, f"{WHERE}:19") in found  # --builder=
    assert (KEPT, f"{WHERE}:22") in found  # env value
    code, stdout = check(tmp_path)
    assert code == 1, stdout
    assert ("in-use-deleted", "proj/app:1.0") in findings(stdout)


def test_a_chart_a_helmfile_release_names_has_its_template_env_read(tmp_path: Path) -> None:
    chart(tmp_path, deployment(volume=KEPT, command=KEPT, arg=KEPT, env=GONE), helmfile=True)
    assert (GONE, f"{WHERE}:22") in usages(tmp_path)
    assert check(tmp_path)[0] == 1


def test_an_env_value_rendered_with_the_charts_values_is_read(tmp_path: Path) -> None:
    """m7: the tag comes from values.yaml."""
    chart(tmp_path, deployment(volume=KEPT, command=KEPT, arg=KEPT,
                               env=f"{APP}:{{{{ .Values.builderTag }}}}"),
          values=f"image:\n  repository: {APP}\nbuilderTag: '1.0'\n")
    assert (GONE, f"{WHERE}:22") in usages(tmp_path)
    assert check(tmp_path)[0] == 1


def test_an_env_value_naming_an_image_through_an_unknown_template_is_unresolved(
        tmp_path: Path) -> None:
    chart(tmp_path, deployment(volume=KEPT, command=KEPT, arg=KEPT,
                               env=f"{APP}:{{{{ include \"web.tag\" . }}}}"))
    ev = read_manifests(str(tmp_path), "prod")
    assert f"{WHERE}:22" in {u.where for u in ev.unresolved}
    assert ("unresolved-reference", f"{WHERE}:22:") in findings(check(tmp_path)[1])


def test_an_image_line_is_not_counted_twice(tmp_path: Path) -> None:
    chart(tmp_path, deployment(volume=KEPT, command=KEPT, arg=KEPT, env=KEPT)
          .replace('busybox:1.36', f"{APP}:1.0"))
    ev = read_manifests(str(tmp_path), "prod")
    assert [u.where for u in ev.usages if u.ref == GONE] == [f"{WHERE}:13"]
    # The container's image comes from values.yaml (repository) and appVersion (tag):
    # cited there, not again at the template line.
    assert [u.where for u in ev.usages if u.ref == KEPT and u.where.endswith(":17")] == []


def test_a_template_that_is_no_yaml_names_its_unread_image_lines(tmp_path: Path) -> None:
    """Control structures that leave no YAML: today's image-line reading, and the lines
    naming an image that were not read are unresolved, never silence."""
    template = deployment(volume=KEPT, command=KEPT, arg=KEPT, env=GONE).replace(
        "          env:\n", "          env:\n{{ range .Values.x }}\n  - {{ . }}: [\n{{ end }}\n")
    chart(tmp_path, template)
    ev = read_manifests(str(tmp_path), "prod")
    assert {f"{WHERE}:{n}" for n in (10, 14, 19, 25)} <= {u.where for u in ev.unresolved}
    assert ev.problems == ()
    assert ("unresolved-reference", f"{WHERE}:25:") in findings(check(tmp_path)[1])


FLAT_VALUES = f"reg: {APP.split('/', 1)[0]}\nrepo: {APP.split('/', 1)[1]}\nver: \"1.0\"\n"


def test_an_image_line_built_wholly_from_flat_values_is_read(tmp_path: Path) -> None:
    """attack 7 m5: no literal beside the `/` (localchart does not read the line) and no
    image map in the values: the rendered line is read here, not dropped unsaid."""
    template = deployment(volume=KEPT, command=KEPT, arg=KEPT, env=KEPT).replace(
        '"{{ .Values.image.repository }}:TAG"'.replace("TAG", "{{ .Values.image.tag | "
                                                        "default .Chart.AppVersion }}"),
        '"{{ .Values.reg }}/{{ .Values.repo }}:{{ .Values.ver }}"')
    chart(tmp_path, template, values=FLAT_VALUES)
    assert (GONE, f"{WHERE}:17") in usages(tmp_path)
    assert check(tmp_path)[0] == 1


def test_an_image_line_built_by_printf_is_a_usage_or_unresolved(tmp_path: Path) -> None:
    """attack 7 m6: ``printf`` of values: a usage when rendered, else unresolved."""
    template = deployment(volume=KEPT, command=KEPT, arg=KEPT, env=KEPT).replace(
        '"{{ .Values.image.repository }}:TAG"'.replace("TAG", "{{ .Values.image.tag | "
                                                        "default .Chart.AppVersion }}"),
        '{{ printf "%s/%s:%s" .Values.reg .Values.repo .Values.ver }}')
    chart(tmp_path, template, values=FLAT_VALUES)
    ev = read_manifests(str(tmp_path), "prod")
    assert ((GONE, f"{WHERE}:17") in {(u.ref, u.where) for u in ev.usages}
            or f"{WHERE}:17" in {u.where for u in ev.unresolved})
    found = findings(check(tmp_path)[1])
    assert (("in-use-deleted", GONE) in found
            or ("unresolved-reference", f"{WHERE}:17:") in found)


def test_an_unread_image_line_of_a_template_that_is_no_yaml_is_unresolved(
        tmp_path: Path) -> None:
    """m6's line in a template no YAML parser reads: neither reader read it, so it is
    unresolved (masked, it names no registry host a line scan could see)."""
    template = deployment(volume=KEPT, command=KEPT, arg=KEPT, env=KEPT).replace(
        '"{{ .Values.image.repository }}:TAG"'.replace("TAG", "{{ .Values.image.tag | "
                                                        "default .Chart.AppVersion }}"),
        '{{ printf "%s/%s:%s" .Values.reg .Values.repo .Values.ver }}').replace(
        "          env:\n", "          env:\n{{ range .Values.x }}\n  - {{ . }}: [\n{{ end }}\n")
    chart(tmp_path, template, values=FLAT_VALUES)
    assert f"{WHERE}:17" in {u.where for u in read_manifests(str(tmp_path), "prod").unresolved}
