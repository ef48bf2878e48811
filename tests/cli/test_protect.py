"""protect on the command line: the incident's snapshot, --policy-out, and --apply against
the fake Harbor over real HTTP (PUT validated as Harbor's handler does)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from harborguard.cli import cli
from tests.fakeharbor import FakeHarbor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "toolforge-snapshot.json"
CLUSTER = EXAMPLES / "cluster-kubectl.json"
NOW = "2024-02-26T10:00:00Z"
ALIAS = "tools-harbor.wmcloud.org"
USER, PASSWORD = "robot$toolforge+protect", "s3cret-pw"
ENV = {"HARBOR_USERNAME": USER, "HARBOR_PASSWORD": PASSWORD}


def invoke(*args: str, env: dict[str, str] | None = None,
           stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin,
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def offline(*extra: str) -> tuple[int, str, str]:
    return invoke("protect", "--snapshot", str(EXAMPLE), "--kubectl-json", str(CLUSTER),
                  "--format", "json", *extra)


def live(fake: FakeHarbor, *extra: str, env: dict[str, str] | None = None
         ) -> tuple[int, str, str]:
    return invoke("protect", "--harbor", fake.url, "--project", "toolforge", "--now", NOW,
                  "--kubectl-json", str(CLUSTER), "--registry-alias", ALIAS,
                  "--format", "json", *extra, env=ENV if env is None else env)


def test_the_incident_is_protected_and_check_passes_on_the_written_policy(
        tmp_path: Path) -> None:
    code, _, err = invoke("check", "--snapshot", str(EXAMPLE), "--kubectl-json", str(CLUSTER))
    assert code == 1, err  # the incident: 0.0.130 running, deleted
    out = tmp_path / "policy.json"
    code, report_text, err = offline("--policy-out", str(out))
    assert code == 0, err
    report = json.loads(report_text)
    section = report["protect"]["projects"][0]
    assert section["status"] == "changed" and section["protected"]
    assert "0.0.130-20240221160838-03b2a120_image" in section["tags"]
    assert section["rule"]["template"] == "always"
    assert not any(f["code"] in ("in-use-deleted", "rollback-deleted")
                   for f in report["findings"])
    assert all("previous_action" in a for a in report["artifacts"])
    assert report["summary"]["changed"] >= 1  # 0.0.130 goes from delete to retain
    body = json.loads(out.read_text())
    assert set(body) <= {"id", "algorithm", "rules", "trigger", "scope"}
    assert body["id"] == 7 and body["scope"]["level"] == "project"
    code, _, err = invoke("check", "--snapshot", str(EXAMPLE), "--kubectl-json", str(CLUSTER),
                          "--policy", str(out))
    assert code == 0, err
    # The README shows this run's rule.
    readme = (EXAMPLES.parent / "README.md").read_text()
    assert section["rule"]["tag_selectors"][0]["pattern"] in readme
    assert section["rule"]["scope_selectors"]["repository"][0]["pattern"] in readme


def test_incomplete_evidence_writes_nothing_unless_allowed(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    out = tmp_path / "policy.json"
    args = ("protect", "--snapshot", str(EXAMPLE), "--kubectl-json", str(empty),
            "--format", "json", "--policy-out", str(out))
    code, report, err = invoke(*args)
    assert code == 3 and not out.exists()
    assert "--allow-incomplete" in err and json.loads(report)["incomplete"]
    code, report, _ = invoke(*args, "--allow-incomplete")
    assert code == 3 and out.exists()
    assert json.loads(report)["protect"]["policy_out"] == str(out)


def test_an_older_harbor_gets_patterns_of_its_dialect() -> None:
    code, report, err = offline("--harbor-version", "v2.9.0")
    assert code == 0, err
    section = json.loads(report)["protect"]["projects"][0]
    assert section["rule"]["scope_selectors"]["repository"][0]["pattern"] == \
        "{builds-api,heroku-builder}"


def test_policy_out_as_yaml_and_every_format(tmp_path: Path) -> None:
    out = tmp_path / "policy.yaml"
    code, _, err = offline("--policy-out", str(out))
    assert code == 0, err
    body = yaml.safe_load(out.read_text())
    assert isinstance(body["rules"][1]["tag_selectors"][0]["extras"], str)
    for fmt in ("table", "markdown", "junit"):
        code, text, err = invoke("protect", "--snapshot", str(EXAMPLE), "--kubectl-json",
                                 str(CLUSTER), "--format", fmt)
        assert code == 0, err
        assert "harborguard" in text and "0.0.130-20240221160838-03b2a120_image" in text


@pytest.mark.parametrize("extra, words", [
    (("--apply", "--yes"), "snapshot"),
    (("--apply", "--yes", "--policy", str(EXAMPLES / "harborguard.yaml")), "--policy"),
    (("--yes",), "--yes goes with --apply"),
])
def test_apply_is_refused_offline(extra: tuple[str, ...], words: str) -> None:
    code, out, err = offline(*extra)
    assert code == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1


def test_apply_without_a_terminal_and_without_yes_is_refused() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        code, out, err = live(fake, "--apply")
        assert code == 2 and "--yes" in err and out == ""
        assert fake.count == 0  # refused before anything was read
        code, _, err = invoke("protect", "--harbor", fake.url, "--all-projects",
                              "--kubectl-json", str(CLUSTER), "--apply", "--yes", env=ENV)
        assert code == 2 and "--all-projects" in err


def test_policy_out_with_several_projects_is_refused(tmp_path: Path) -> None:
    code, _, err = invoke("protect", "--harbor", "https://h.invalid", "--project", "a",
                          "--project", "b", "--kubectl-json", str(CLUSTER), "--policy-out",
                          str(tmp_path / "p.json"))
    assert code == 2 and "one project" in err
    assert not (tmp_path / "p.json").exists()


def test_apply_then_a_second_run_sends_nothing() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        code, out, err = live(fake, "--apply", "--yes")
        assert code == 0, err
        report = json.loads(out)
        section = report["protect"]["projects"][0]
        assert section["status"] == "applied" and section["protected"]
        assert len(fake.puts) == 1
        stored = fake.puts[0]
        assert any(r.get("template") == "always" for r in stored["rules"])
        assert "disabled" not in stored["rules"][1]  # read back as Harbor gives it
        assert [s.method for s in fake.seen].count("PUT") == 1
        # The same evidence again: in sync, nothing sent.
        code, out, err = live(fake, "--apply", "--yes")
        assert code == 0, err
        assert json.loads(out)["protect"]["projects"][0]["status"] == "in-sync"
        assert len(fake.puts) == 1 and [s.method for s in fake.seen].count("PUT") == 1
        # Without --apply nothing is ever sent.
        code, _, err = live(fake)
        assert code == 0 and len(fake.puts) == 1


def test_a_403_names_the_permission_missing() -> None:
    allowed = {"project:read", "repository:list", "artifact:list", "artifact-addition:read",
               "immutable-tag:list", "tag-retention:read"}
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD},
                    permissions={USER: allowed}) as fake:
        code, out, err = live(fake, "--apply", "--yes")
        assert code == 3
        assert "tag-retention:update" in err and USER in err
        assert PASSWORD not in out + err
        assert not fake.puts


def test_the_fake_validates_puts_as_harbor_does() -> None:
    data = json.loads(EXAMPLE.read_text())
    with FakeHarbor(data, users={USER: PASSWORD}) as fake:
        policy = data["projects"][0]["retention"]
        url = f"{fake.url}/api/v2.0/retentions/{policy['id']}"
        auth = (USER, PASSWORD)
        same = dict(policy["rules"][0])
        answer = httpx.put(url, json={**policy, "rules": [same, {**same, "id": 9}]}, auth=auth)
        assert answer.status_code == 409
        assert "rule 1 is conflict with rule 0" in answer.text
        many = [{**same, "params": {"latestPushedK": k}} for k in range(16)]
        answer = httpx.put(url, json={**policy, "rules": many}, auth=auth)
        assert answer.status_code == 400 and "15 rules" in answer.text
        answer = httpx.put(url, json={**policy, "rules": many[:15]}, auth=auth)
        assert answer.status_code == 200 and answer.content == b""
        assert len(fake.puts) == 1
        answer = httpx.put(f"{fake.url}/api/v2.0/retentions/99", json=policy, auth=auth)
        assert answer.status_code == 404
        answer = httpx.put(url, json=policy)
        assert answer.status_code == 401


def test_a_policy_not_in_the_snapshot_is_incomplete_not_nothing_to_protect(
        tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    del data["projects"][0]["retention"]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(data))
    code, report, err = invoke("protect", "--snapshot", str(path), "--kubectl-json",
                               str(CLUSTER), "--format", "json")
    assert code == 3
    assert json.loads(report)["protect"]["projects"][0]["rule"] is None
    assert "not known" in err


def test_harbor_read_through_another_name_is_incomplete_not_nothing_needed(
        tmp_path: Path) -> None:
    """The snapshot read Harbor through another name than the pods pull from, and the pods
    carry no digests: nothing matches, which is not "nothing is needed"; the run is
    incomplete (exit 3) and writes no policy, as check's is."""
    snapshot = json.loads(EXAMPLE.read_text())
    snapshot["harbor"] = "https://harbor.internal.svc"
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(snapshot))
    cluster = json.loads(CLUSTER.read_text())
    for item in cluster["items"]:
        item.get("status", {}).pop("containerStatuses", None)
    kubectl = tmp_path / "cluster.json"
    kubectl.write_text(json.dumps(cluster))
    out = tmp_path / "policy.json"
    code, stdout, stderr = invoke("protect", "--snapshot", str(snap), "--kubectl-json",
                                  str(kubectl), "--format", "json", "--policy-out", str(out))
    assert code == 3, stderr
    assert f"--registry-alias {ALIAS}" in stderr
    assert not out.exists()
    assert any(i["what"] == "evidence of use" for i in json.loads(stdout)["incomplete"])


def test_a_running_untagged_build_whose_tag_moved_is_kept_by_untagged_true(
        tmp_path: Path) -> None:
    # check's in-use-deleted for a pod running the untagged a, pulled as stable, which now
    # names b; `always` on ** (untagged:false) deletes a. protect reads the same evidence:
    # its rule keeps a (untagged:true) and b, and check then finds nothing.
    from tests.builders import D, T, art, dig, policy, rule, sel, snapshot

    always = rule("always", tags=[sel("**", extras='{"untagged":false}')])
    artifacts = [art("b", ["stable"], T - D), art("a", None, T - 2 * D)]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(snapshot({"app": artifacts}, policy(always))))
    image = "harbor.example.org/proj/app:stable"
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"kind": "List", "items": [
        {"kind": "Deployment", "apiVersion": "apps/v1",
         "metadata": {"name": "app", "namespace": "ns"},
         "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}},
        {"kind": "Pod", "metadata": {"name": "app-1", "namespace": "ns"},
         "spec": {"containers": [{"name": "c", "image": image}]},
         "status": {"phase": "Running", "containerStatuses": [{
             "name": "c", "image": image,
             "imageID": f"harbor.example.org/proj/app@{dig('a')}"}]}}]}))
    code, out, err = invoke("check", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--format", "json")
    assert code == 1, err
    assert [(f["code"], f["digest"]) for f in json.loads(out)["findings"]] == [
        ("in-use-deleted", dig("a"))]
    written = tmp_path / "policy.json"
    code, out, err = invoke("protect", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--policy-out", str(written), "--format", "json")
    assert code == 0, err
    section = json.loads(out)["protect"]["projects"][0]
    assert section["status"] == "changed"
    assert json.loads(section["rule"]["tag_selectors"][0]["extras"])["untagged"] is True
    code, out, err = invoke("check", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--policy", str(written), "--format", "json")
    assert code == 0, err
    assert not json.loads(out)["findings"]


def test_a_needed_untagged_artifact_is_kept_by_the_rules_untagged_true(tmp_path: Path) -> None:
    # A pod pinned by digest to a build whose tag has moved (attack finding 10).
    from tests.builders import D, T, art, dig, policy, rule, snapshot

    artifacts = [art("new", ["latest"], T), art("mid", None, T - D), art("old", None, T - 2 * D)]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(snapshot({"app": artifacts}, policy(rule("latestPushedK", 1)))))
    image = f"harbor.example.org/proj/app@{dig('old')}"
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"kind": "List", "items": [{
        "kind": "Pod", "metadata": {"name": "app", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": image}]},
        "status": {"phase": "Running"}}]}))
    code, out, err = invoke("check", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--format", "table")
    assert code == 1, err
    assert f"proj/app@{dig('old')}" in " ".join(out.split()) and ":sha256:" not in out
    written = tmp_path / "policy.json"
    code, out, err = invoke("protect", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--policy-out", str(written), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert not [f for f in report["findings"] if f["code"] == "protect-untagged"]
    section = report["protect"]["projects"][0]
    assert section["status"] == "changed" and section["protected"]
    assert json.loads(section["rule"]["tag_selectors"][0]["extras"])["untagged"] is True
    assert [r["digest"] for r in section["beyond_evidence"]] == [dig("mid")]
    code, out, err = invoke("check", "--snapshot", str(snap), "--kubectl-json", str(pods),
                            "--policy", str(written), "--format", "table")
    assert code == 0, err
    code, out, _ = invoke("protect", "--snapshot", str(snap), "--kubectl-json", str(pods),
                          "--format", "table")
    text = " ".join(out.split())
    assert "tags none; and every untagged artifact there (untagged:true)" in text
    assert f"proj/app@{dig('mid')}" in text
    assert "1 needed artifacts have no tag: the rule keeps them (untagged:true)" in text


@pytest.mark.parametrize("name", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_a_policy_out_to_standard_output_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    name: str) -> None:
    """The report is what goes to standard output: --policy-out - is not a file named -
    (that is ./-), nor a policy mixed into the report."""
    monkeypatch.chdir(tmp_path)
    code, out, err = offline("--policy-out", name)
    assert code == 2 and out == ""
    assert err.startswith("harborguard: error: --policy-out") and "standard output" in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
