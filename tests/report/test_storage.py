"""The --dedup figures in words (harborguard/report/storage.py): the run's, a diff's
against the previous policy, and each repository's beside Harbor's summed sizes, in the
table and Markdown, on the embedded example (whose artifacts carry illustrative blobs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from harborguard.cli import cli
from harborguard.report.common import human_bytes
from harborguard.report.storage import repository_storage_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DIFF = ["diff", "--snapshot", str(EXAMPLES / "toolforge-snapshot.json"),
        "--policy", str(EXAMPLES / "keep-releases.yaml"), "--dedup"]


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.stderr
    return " ".join(result.stdout.split())  # the table wraps long lines


def test_each_repository_shows_its_figures_beside_harbors_sum() -> None:
    report = json.loads(invoke(*DIFF, "--format", "json"))
    table = invoke(*DIFF, "--format", "table")
    markdown = invoke(*DIFF, "--format", "markdown")
    for row in report["repositories"]:
        naive = sum(a["size"] for a in report["artifacts"]
                    if a["repository"] == row["repository"] and a["action"] == "delete")
        line = (f"Storage, each blob counted once: {human_bytes(row['bytes_stored_dedup'])} "
                f"stored, {human_bytes(row['bytes_kept_dedup'])} kept, frees "
                f"{human_bytes(row['bytes_freed_dedup'])} (Harbor's sizes summed: up to "
                f"{human_bytes(naive)}); kept grows by "
                f"{human_bytes(row['growth_bytes_per_30d'])} a month")
        assert line in table, row["repository"]
        assert line in markdown, row["repository"]
    # heroku-builder's two deleted builds: Harbor's sizes say about 1 GB, but their
    # stack and buildpacks layers stay with the builds kept.
    builder = next(r for r in report["repositories"]
                   if r["repository"] == "toolforge/heroku-builder")
    assert 0 < builder["bytes_freed_dedup"] < 512_000_000 // 2


def test_diff_says_what_keeping_every_release_costs_against_today() -> None:
    report = json.loads(invoke(*DIFF, "--format", "json"))
    s, before = report["summary"], report["summary"]["previous"]
    more = s["bytes_kept_dedup"] - before["bytes_kept_dedup"]
    assert more > 0
    # Much less than Harbor's sizes say: the versions kept share their base layers.
    naive_more = sum(a["size"] for a in report["artifacts"]
                     if a["previous_action"] == "delete" and a["action"] != "delete")
    assert more < naive_more / 2
    sentence = (f"keeps {human_bytes(more)} more than today (deduplicated), growing by "
                f"{human_bytes(s['growth_bytes_per_30d'])} a month instead of "
                f"{human_bytes(before['growth_bytes_per_30d'])}")
    assert sentence in invoke(*DIFF, "--format", "table")
    assert sentence in invoke(*DIFF, "--format", "markdown")


def test_unknown_figures_are_said_so_per_repository() -> None:
    row: dict[str, Any] = {"bytes_stored_dedup": None, "bytes_kept_dedup": None,
                           "bytes_freed_dedup": None, "growth_bytes_per_30d": None}
    [line] = repository_storage_lines(row, [{"size": 7_000_000, "action": "delete"},
                                            {"size": 5, "action": "retain"}])
    assert "unknown, some manifests were not read" in line and "up to 7.0 MB" in line
    row.update(bytes_stored_dedup=3_000_000, bytes_kept_dedup=1_000_000,
               growth_bytes_per_30d=0)
    [line] = repository_storage_lines(row, [])
    assert "frees unknown" in line and "3.0 MB stored" in line
    assert repository_storage_lines({"repository": "p/r"}, []) == []  # no --dedup


def test_readme_shows_the_real_output_of_both_questions() -> None:
    """The README's answers (simulate: what the policy frees; diff with keep-releases.yaml:
    what keeping every release costs) are these runs' output, not made-up figures."""
    readme = " ".join((EXAMPLES.parent / "README.md").read_text().split())
    simulate = invoke("simulate", "--snapshot", str(EXAMPLES / "toolforge-snapshot.json"),
                      "--dedup", "--format", "table")
    for output in (simulate, invoke(*DIFF, "--format", "table")):
        summary = output[output.index("Summary: "):]
        assert summary.strip() in readme
    builds_api = simulate[simulate.index("toolforge/builds-api "):]
    line = builds_api[builds_api.index("Storage"):builds_api.index(" a month")]
    assert line[:line.index(" (Harbor")] in readme


def test_readme_shows_the_real_end_of_make_demo(tmp_path: Path) -> None:
    """make demo's check runs with --dedup; the README quotes the end of its output."""
    deploy = tmp_path / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(deploy)], check=True,
                   capture_output=True)
    makefile = (EXAMPLES.parent / "Makefile").read_text()
    assert "--kubectl-json examples/cluster-kubectl.json --format table --dedup" in makefile
    output = invoke("check", "--snapshot", str(EXAMPLES / "toolforge-snapshot.json"),
                    "--manifests", str(deploy), "--environment", "tools",
                    "--image-tag-template", "{version}_image", "--kubectl-json",
                    str(EXAMPLES / "cluster-kubectl.json"), "--format", "table", "--dedup",
                    code=1)
    readme = " ".join((EXAMPLES.parent / "README.md").read_text().split())
    assert output[output.index("Summary: "):].strip() in readme
