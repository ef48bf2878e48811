"""`check --manifests` on the attack2 round-2 trees (N2, N9, N7): each once exit 0.

proj/web holds 1.10 (new) and 1.1 (old); latestPushedK 1 deletes 1.1, which every tree
below deploys, so the verdict is exit 1 with proj/web:1.1 in use and deleted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import T, art, policy, rule, snapshot

WEB = "harbor.example.org/proj/web"
DAY = timedelta(days=1)
IMAGE = f'image:\n  repository: {WEB}\n  tag: "1.1"\n'
ENVS = "environments:\n  default: {}\n  tools: {}\n"
TREES: dict[str, dict[str, str]] = {
    "values-common": {
        "components/web/helmfile.yaml": "releases:\n  - name: web\n    chart: ./chart\n"
        "    values:\n      - values/common.yaml\n      - values/{{ .Environment.Name }}.yaml\n"
        + ENVS,
        "components/web/values/common.yaml": IMAGE,
        "components/web/values/tools.yaml": "replicaCount: 2\n",
    },
    "helmfile-d": {
        "helmfile.d/web.yaml": "releases:\n  - name: web\n    chart: ./chart\n"
        "    values:\n      - ../values/web-{{ .Environment.Name }}.yaml\n" + ENVS,
        "values/web-tools.yaml": IMAGE,
    },
    "set-over-repository-chart": {
        "components/web/helmfile.yaml": "repositories:\n  - name: bitnami\n"
        "    url: https://charts.bitnami.com/bitnami\nreleases:\n  - name: web\n"
        "    chart: bitnami/nginx\n    version: 15.0.0\n"
        "    values:\n      - values/{{ .Environment.Name }}.yaml\n"
        '    set:\n      - name: image.tag\n        value: "1.1"\n' + ENVS,
        "components/web/values/tools.yaml": IMAGE.replace("1.1", "1.10"),
    },
    "template-tag": {
        "components/web/helmfile.yaml": "releases:\n  - name: web\n    chart: ./chart\n"
        "    values:\n      - values/{{ .Environment.Name }}.yaml\n" + ENVS,
        "components/web/values/tools.yaml": "replicaCount: 1\n",
        "components/web/chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "components/web/chart/values.yaml": 'tag: "1.1"\n',
        "components/web/chart/templates/deployment.yaml":
            f'containers:\n  - image: "{WEB}:{{{{ .Values.tag }}}}"\n',
    },
}


@pytest.mark.parametrize("name", sorted(TREES))
def test_the_deployed_tag_is_in_use_and_deleted(tmp_path: Path, name: str) -> None:
    root = tmp_path / "deploy"
    for path, text in TREES[name].items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    snap = tmp_path / "snap.json"
    arts = {"web": [art("new", ["1.10"], T - DAY), art("old", ["1.1"], T - 9 * DAY)]}
    snap.write_text(json.dumps(snapshot(arts, policy(rule("latestPushedK", 1)))))
    result = CliRunner().invoke(
        cli, ["check", "--snapshot", str(snap), "--manifests", str(root), "--environment",
              "tools", "--history", "0", "--format", "json"], catch_exceptions=False)
    report: dict[str, Any] = json.loads(result.stdout)
    deleted_in_use = {f"{a['repository']}:{t}" for a in report["artifacts"]
                      if a["in_use"] and a["action"] == "delete" for t in a["tags"]}
    assert (result.exit_code, deleted_in_use) == (1, {"proj/web:1.1"})
