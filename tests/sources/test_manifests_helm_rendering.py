"""`check --manifests` reads values as Helm renders them (attack review findings 2, 7, 9, 13).

Each tree once gave "nothing in use would be deleted" (exit 0) or a self-contradicting
warning. The snapshot holds, per repository, a newer tag and an older one; the policy
(latestPushedK 1) deletes the older, which is what the release really deploys.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.sources.manifests import read_manifests
from tests.builders import T, art, policy, rule, snapshot

HOST = "harbor.example.org"
DAY = timedelta(days=1)
LOCAL_CHART = """releases:
  - name: web
    chart: ./chart
    namespace: web
    values:
      - values/{{ .Environment.Name }}.FILE
environments:
  tools: {}
"""


def _snapshot(tmp_path: Path, repos: dict[str, tuple[str, str]]) -> Path:
    arts = {name: [art(f"{name}-new", [new], T - DAY), art(f"{name}-old", [old], T - 9 * DAY)]
            for name, (new, old) in repos.items()}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot(arts, policy(rule("latestPushedK", 1)))))
    return path


def _tree(tmp_path: Path, values: str, file: str = "yaml", helmfile: str = LOCAL_CHART) -> Path:
    root = tmp_path / "deploy"
    folder = root / "components" / "web"
    (folder / "values").mkdir(parents=True)
    (folder / "helmfile.yaml").write_text(helmfile.replace("FILE", file))
    (folder / "values" / f"tools.{file}").write_text(values)
    return root


def _check(snap: Path, root: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(snap), "--manifests", str(root), "--environment",
              "tools", "--history", "0", "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _deleted_in_use(report: dict[str, Any]) -> set[str]:
    return {f"{a['repository']}:{t}" for a in report["artifacts"]
            if a["in_use"] and a["action"] == "delete" for t in a["tags"]}


def _codes(report: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in report["findings"])


def test_an_unquoted_tag_1_10_deploys_1_1_which_the_policy_deletes(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, {"web": ("1.10", "1.1")})
    root = _tree(tmp_path, f"image:\n  repository: {HOST}/proj/web\n  tag: 1.10\n")
    code, report = _check(snap, root)
    assert code == 1 and _deleted_in_use(report) == {"proj/web:1.1"}
    assert _codes(report) == ["in-use-deleted"]
    quoted = _tree(tmp_path / "q", f"image:\n  repository: {HOST}/proj/web\n  tag: '1.10'\n")
    assert _check(snap, quoted)[0] == 0  # quoted, 1.10 is what runs, and it is kept


def test_bitnami_global_image_registry_names_this_harbor(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, {"api": ("new", "7.0.0"), "web": ("new", "old")})
    helmfile = """repositories:
  - name: bitnami
    url: https://charts.bitnami.com/bitnami
releases:
  - name: shop
    chart: bitnami/nginx
    version: 15.0.0
    values:
      - values/{{ .Environment.Name }}.FILE
environments:
  tools: {}
"""
    values = (f"global:\n  imageRegistry: {HOST}\nimage:\n  repository: proj/api\n"
              f"  tag: 7.0.0\nmetrics:\n  image: {HOST}/proj/web:new\n")
    code, report = _check(snap, _tree(tmp_path, values, helmfile=helmfile))
    assert code == 1 and _deleted_in_use(report) == {"proj/api:7.0.0"}
    assert "foreign-registry" not in _codes(report)  # no `--registry-alias docker.io` advice


def test_if_else_branches_in_one_map_each_count(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, {"web": ("1.10", "1.1")})
    values = (f"image:\n  repository: {HOST}/proj/web\n"
              '{{- if eq .Environment.Name "tools" }}\n  tag: "1.1"\n'
              '{{- else }}\n  tag: "1.10"\n{{- end }}\n')
    code, report = _check(snap, _tree(tmp_path, values, "yaml.gotmpl"))
    assert code == 1 and _deleted_in_use(report) == {"proj/web:1.1"}
    (web_new,) = [a for a in report["artifacts"] if a["tags"] == ["1.10"]]
    assert web_new["in_use"]  # the other branch is in use as well (which one runs is unknown)


def test_an_image_string_with_a_tag_in_an_image_map_is_no_tagless_warning(
    tmp_path: Path,
) -> None:
    snap = _snapshot(tmp_path, {"envimg": ("3.0", "1.0")})
    code, report = _check(snap, _tree(tmp_path, f"envimage:\n  image: {HOST}/proj/envimg:1.0\n"))
    assert code == 1 and _codes(report) == ["in-use-deleted"]
    assert _deleted_in_use(report) == {"proj/envimg:1.0"}


def test_a_global_registry_in_another_values_file_of_the_release(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, {"api": ("new", "7.0.0")})
    helmfile = LOCAL_CHART.replace("    values:\n", "    values:\n      - values.yaml\n")
    root = _tree(tmp_path, "image:\n  repository: proj/api\n  tag: 7.0.0\n", helmfile=helmfile)
    (root / "components" / "web" / "values.yaml").write_text(
        f"global:\n  imageRegistry: {HOST}\n")
    code, report = _check(snap, root)
    assert code == 1 and _deleted_in_use(report) == {"proj/api:7.0.0"}


def test_an_environment_float_rendered_by_helmfile_into_a_quoted_tag(tmp_path: Path) -> None:
    # helmfile holds `webTag: 1.10` as a float64 and prints it 1.1, quotes or not.
    snap = _snapshot(tmp_path, {"web": ("1.10", "1.1")})
    helmfile = LOCAL_CHART.replace("environments:\n  tools: {}\n",
                                   "environments:\n  tools:\n    values:\n      - env.yaml\n")
    values = f'image:\n  repository: {HOST}/proj/web\n  tag: "{{{{ .Values.webTag }}}}"\n'
    root = _tree(tmp_path, values, "yaml.gotmpl", helmfile=helmfile)
    (root / "components" / "web" / "env.yaml").write_text("webTag: 1.10\nbuild: 20240221160838\n")
    code, report = _check(snap, root)
    assert code == 1 and _deleted_in_use(report) == {"proj/web:1.1"}


def test_a_chart_version_written_in_two_branches_is_not_the_last_one(tmp_path: Path) -> None:
    helmfile = """repositories:
  - name: tools
    url: harbor.example.org/proj
    oci: true
releases:
  - name: web
    chart: tools/web
    version: "{{ .Values.chartVersion }}"
environments:
  tools:
    values:
      - values/tools.yaml.gotmpl
"""
    values = ('{{- if eq .Environment.Name "tools" }}\nchartVersion: 0.2.0\n'
              "{{- else }}\nchartVersion: 0.3.0\n{{- end }}\n")
    found = read_manifests(str(_tree(tmp_path, values, "yaml.gotmpl", helmfile=helmfile)),
                           "tools")
    assert not any(u.ref.endswith("web:0.3.0") for u in found.usages)
    assert [p for p in found.problems if "set by a template that cannot be resolved" in p]
    single = values.replace("chartVersion: 0.3.0", "other: 1")
    found = read_manifests(str(_tree(tmp_path / "one", single, "yaml.gotmpl",
                                     helmfile=helmfile)), "tools")
    assert [u.ref for u in found.usages if u.chart] == [f"{HOST}/proj/web:0.2.0"]
