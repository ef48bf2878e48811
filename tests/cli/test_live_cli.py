"""The CLI against a fake Harbor over real HTTP: snapshot, and live = snapshot results."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harborguard.cli import cli
from tests.builders import shared_dir
from tests.fakeharbor import FakeHarbor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
DEPLOY = EXAMPLE.parent / "toolforge-deploy"
DEPLOY_VALUES = "components/builds-api/values/tools.yaml.gotmpl"
CHART_VALUES = shared_dir() / "toolforge" / "builds-api@322f874" / "deployment/chart/values.yaml"
NOW = "2024-02-26T10:00:00Z"
V131 = "0.0.131-20240222212602-322f874b"


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


def test_snapshot_redacts_chart_values_under_secret_keys_and_keeps_their_images(
        tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    repo = data["projects"][0]["repositories"][0]
    assert repo["repository"]["name"] == "toolforge/builds-api"
    chart = next(a for a in repo["artifacts"]
                 if a["type"] == "CHART" and [t["name"] for t in a["tags"]] == [V131])
    # The chart's values.yaml as Harbor serves it (CI set the tag), with secrets added.
    values = CHART_VALUES.read_text().replace("tag: OVERWRITTEN_BY_CI", f"tag: {V131}_image")
    values += ("harborPassword: TopSecretValue123\n"
               "auth:\n  apiToken: tok-abcdef-999\n"
               "  tls:\n    privateKey: |\n      BlockSecret42\n"
               "mirror: https://robot:UrlPass777@tools-harbor.wmcloud.org/v2\n")
    secrets = ("TopSecretValue123", "tok-abcdef-999", "BlockSecret42", "UrlPass777")
    repo["additions"] = {chart["digest"]: {"values.yaml": values}}
    env = {"HARBOR_USERNAME": "admin", "HARBOR_PASSWORD": "pw"}
    check = ("check", "--manifests", str(DEPLOY), "--environment", "tools", "--history", "0",
             "--registry-alias", "tools-harbor.wmcloud.org", "--now", NOW, "--format", "json")

    def chart_image_in_use(report: dict[str, object]) -> list[str]:
        return [u["where"] for a in report["artifacts"]  # type: ignore[attr-defined]
                if f"{V131}_image" in a["tags"] for u in a["in_use"]]

    with FakeHarbor(data, users={"admin": "pw"}) as fake:
        target = tmp_path / "snap.json"
        code, out, err = invoke("--harbor", fake.url, "snapshot", "--project", "toolforge",
                                "-o", str(target), env=env)
        assert code == 0, err
        text = target.read_text()
        assert [s for s in secrets if s in text + out + err] == []
        stored = json.loads(text)["projects"][0]["repositories"][0]["additions"]
        stored_values = stored[chart["digest"]]["values.yaml"]
        assert "harborPassword: <redacted>" in stored_values.split("\n")
        assert "mirror: https://***@tools-harbor.wmcloud.org/v2" in stored_values.split("\n")
        assert stored_values.count("\n") == values.count("\n")
        # The image the chart runs is still read from the stored values.yaml, offline and live.
        code, saved, err = invoke(*check, "--snapshot", str(target))
        assert code in (0, 1), err
        assert chart_image_in_use(json.loads(saved)) == [f"{DEPLOY_VALUES}:1"], saved
        code, live, err = invoke(*check, "--harbor", fake.url, "--project", "toolforge",
                                 env=env)
        assert code in (0, 1), err
        assert [s for s in secrets if s in live + err] == []
        assert chart_image_in_use(json.loads(live)) == chart_image_in_use(json.loads(saved))


def test_all_projects_with_a_rejected_password_is_never_an_all_clear(tmp_path: Path) -> None:
    # Harbor answers rejected credentials as anonymous: the project list would hold only
    # the public projects (here none), and an empty run must not say "nothing deleted".
    data = json.loads(EXAMPLE.read_text())
    data["projects"][0]["project"]["metadata"]["public"] = "false"
    env = {"HARBOR_USERNAME": "robot$toolforge+ci", "HARBOR_PASSWORD": "expired-secret"}
    with FakeHarbor(data, users={"robot$toolforge+ci": "s3cret-pw"}) as fake:
        target = tmp_path / "snap.json"
        code, out, err = invoke("--harbor", fake.url, "snapshot", "--all-projects",
                                "-o", str(target), env=env)
        assert code == 3 and not target.exists()
        assert "did not accept the credentials of account 'robot$toolforge+ci'" in err
        assert "expired-secret" not in out + err
        code, out, err = invoke("simulate", "--harbor", fake.url, "--all-projects",
                                "--format", "json", env=env)
        assert code == 3
        assert "did not accept the credentials" in json.loads(out)["incomplete"][0]["reason"]
        # The right secret reads the private project.
        code, out, err = invoke("--harbor", fake.url, "snapshot", "--all-projects",
                                "-o", str(target), env={**env, "HARBOR_PASSWORD": "s3cret-pw"})
        assert code == 0, err
        # Anonymous (no credentials to prove) lists no project: incomplete, not all clear.
        code, out, err = invoke("simulate", "--harbor", fake.url, "--all-projects",
                                "--format", "json")
        assert code == 3
        [missing] = json.loads(out)["incomplete"]
        assert missing["reason"].startswith("no project was read")
