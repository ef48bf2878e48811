"""The CLI against a fake Harbor over real HTTP: snapshot, and live = snapshot results."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from tests.fakeharbor import FakeHarbor

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "toolforge-snapshot.json"
NOW = "2024-02-26T10:00:00Z"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def comparable(report: dict[str, object]) -> list[tuple[object, ...]]:
    return [(a["repository"], a["digest"], a["action"], a["reason"], a["tie"])  # type: ignore[index]
            for a in report["artifacts"]]  # type: ignore[attr-defined]


def test_snapshot_then_simulate_equals_live_simulate(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    with FakeHarbor(data, users={"robot$toolforge+ci": "s3cret-pw"}) as fake:
        env = {"HARBOR_USERNAME": "robot$toolforge+ci", "HARBOR_PASSWORD": "s3cret-pw"}
        target = tmp_path / "snap.json"
        code, out, err = invoke("--harbor", fake.url, "snapshot", "--project", "toolforge",
                                "-o", str(target), env=env)
        assert code == 0, err
        assert "s3cret-pw" not in target.read_text() + out + err
        code, saved, _ = invoke("simulate", "--snapshot", str(target), "--now", NOW,
                                "--format", "json")
        code_live, live, err = invoke("simulate", "--harbor", fake.url, "--project",
                                      "toolforge", "--now", NOW, "--format", "json", env=env)
        assert code_live == code == 0, err
        assert comparable(json.loads(live)) == comparable(json.loads(saved))
        assert comparable(json.loads(live)) == comparable(json.loads(invoke(
            "simulate", "--snapshot", str(EXAMPLE), "--format", "json")[1]))


def test_project_from_the_config_file(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    with FakeHarbor(data, users={"admin": "pw"}) as fake:
        config = tmp_path / "harborguard.yaml"
        config.write_text(f"harbor: {fake.url}\nusername: admin\nproject: [toolforge]\n")
        code, out, err = invoke("--config", str(config), "simulate", "--now", NOW,
                                "--format", "json", env={"HARBOR_PASSWORD": "pw"})
        assert code == 0, err
        assert json.loads(out)["summary"]["artifacts"] == 129


def test_wrong_password_is_incomplete_and_names_the_account(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    with FakeHarbor(data, users={"admin": "pw"}) as fake:
        target = tmp_path / "report.json"
        code, _, err = invoke("simulate", "--harbor", fake.url, "--project", "toolforge",
                              "--username", "admin", "-o", str(target),
                              env={"HARBOR_PASSWORD": "not-the-pw"})
        assert code == 3
        assert "admin" in err and "not-the-pw" not in err + target.read_text()
        assert json.loads(target.read_text())["incomplete"]


def test_password_from_stdin_and_robot_account() -> None:
    data = json.loads(EXAMPLE.read_text())
    with FakeHarbor(data, users={"robot$toolforge+ci": "from-stdin-pw"}) as fake:
        result = CliRunner().invoke(
            cli, ["simulate", "--harbor", fake.url, "--project", "toolforge", "--now", NOW,
                  "--username", "robot$toolforge+ci", "--password-stdin", "--format", "json"],
            input="from-stdin-pw\n", catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["summary"]["artifacts"] == 129
        assert "from-stdin-pw" not in result.stdout + result.stderr


def test_policy_file_with_anonymous_read_of_a_public_project(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps(data["projects"][0]["retention"]))
    with FakeHarbor(data) as fake:
        code, out, err = invoke("simulate", "--harbor", fake.url, "--project", "toolforge",
                                "--policy", str(policy), "--now", NOW, "--format", "json")
        report = json.loads(out)
        # Anonymous users read public projects but not policies (given here) nor immutable
        # rules: the run is incomplete, it says what and how to fix it, and still reports.
        assert code == 3
        assert [i["what"] for i in report["incomplete"]] == ["toolforge"]
        assert "immutable-tag:list" in report["incomplete"][0]["reason"]
        assert "immutable-tag:list" in err
        assert report["source"]["policy"] == str(policy)
        assert report["summary"]["artifacts"] == 129
