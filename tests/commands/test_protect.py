"""The protect command without click: a policy changed on the server between the read and
the write is not overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harborguard.commands import Invocation
from harborguard.commands.protect import apply_protect, run_protect
from harborguard.gather import EvidenceOptions
from harborguard.protect.rule import own_rule
from tests.builders import D, T, art, policy, rule, snapshot
from tests.fakeharbor import FakeHarbor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "toolforge-snapshot.json"
CLUSTER = EXAMPLES / "cluster-kubectl.json"
NOW = "2024-02-26T10:00:00Z"
ALIAS = "tools-harbor.wmcloud.org"
USER, PASSWORD = "robot$toolforge+protect", "s3cret-pw"


def _invocation(fake: FakeHarbor) -> tuple[Invocation, EvidenceOptions]:
    inv = Invocation.of({"harbor": fake.url, "username": USER, "now": NOW,
                         "project": ["toolforge"], "registry-alias": [ALIAS]},
                        password=lambda: PASSWORD)
    return inv, EvidenceOptions(kubectl_json=(str(CLUSTER),))


def test_a_policy_changed_on_the_server_is_not_overwritten() -> None:
    with FakeHarbor(json.loads(EXAMPLE.read_text()), users={USER: PASSWORD}) as fake:
        inv, evidence = _invocation(fake)
        run = run_protect(inv, evidence, apply=True)
        assert run.pending
        # Someone edits the policy between the read and the write.
        stored: dict[str, Any] = fake.project("toolforge").retention  # type: ignore[assignment]
        stored["rules"][0]["params"]["latestPushedK"] = 20
        result = apply_protect(run)
        assert result.incomplete
        assert not fake.puts
        missing = result.report["incomplete"]
        assert any("changed on the server" in i["reason"] and "policy 7" in i["what"]
                   for i in missing)


def _web_with_own_rule(tmp_path: Path) -> str:
    """proj/web 1.10 (newer) and 1.1 (older), latestPushedK 1, and the rule an earlier
    protect run wrote because 1.1 ran then."""
    artifacts = [art("new", ["1.10"], T - D), art("old", ["1.1"], T - 2 * D)]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot({"web": artifacts}, policy(
        rule("latestPushedK", 1), own_rule("web", "1.1")))))
    return str(path)


def _manifests_naming_new(tmp_path: Path) -> str:
    component = tmp_path / "deploy" / "components" / "web"
    (component / "values").mkdir(parents=True)
    (component / "helmfile.yaml").write_text(
        "releases:\n  - name: web\n    chart: ./chart\n    namespace: web\n    values:\n"
        "      - values/{{ .Environment.Name }}.yaml\nenvironments:\n  tools: {}\n")
    (component / "values" / "tools.yaml").write_text(
        'image:\n  repository: harbor.example.org/proj/web\n  tag: "1.10"\n')
    return str(tmp_path / "deploy")


def _pods_running(tmp_path: Path, tag: str) -> str:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "web", "name": "w"},
           "spec": {"containers": [{"name": "c", "image": f"harbor.example.org/proj/web:{tag}"}]}}
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}))
    return str(path)


def test_evidence_that_does_not_cover_the_cluster_never_drops_a_protected_tag(
        tmp_path: Path) -> None:
    # Merged is not deployed: the manifests name 1.10, and 1.1 may still run. Without
    # evidence of what runs (and without history), the previous rule's 1.1 stays.
    inv = Invocation.of({"snapshot": _web_with_own_rule(tmp_path), "environment": "tools"})
    run = run_protect(inv, EvidenceOptions(manifests=_manifests_naming_new(tmp_path),
                                          environment="tools"))
    [plan] = run.state.plans
    assert plan.tags == ("1.1", "1.10")
    assert any("1.1" not in n and "what runs in the cluster" in n and "stay" in n
               for n in run.outcome.report["notes"])
    assert run.outcome.report["protect"]["projects"][0]["kept_to_deleted"] == []


def test_evidence_of_what_runs_may_drop_a_tag_nothing_needs(tmp_path: Path) -> None:
    inv = Invocation.of({"snapshot": _web_with_own_rule(tmp_path)})
    run = run_protect(inv, EvidenceOptions(kubectl_json=(_pods_running(tmp_path, "1.10"),)))
    [plan] = run.state.plans
    assert plan.tags == ("1.10",)
    [dropped] = run.outcome.report["protect"]["projects"][0]["kept_to_deleted"]
    assert dropped["tags"] == ["1.1"]


def test_evidence_naming_nothing_of_this_harbor_never_drops_a_protected_tag(
        tmp_path: Path) -> None:
    # round-1 #11 addendum: kubectl output of another kube context names only other
    # registries; that is no evidence that 1.1 no longer runs, so the previous rule stays.
    pods = _pods_running(tmp_path, "1.10")
    Path(pods).write_text(Path(pods).read_text().replace(
        "harbor.example.org/proj/web:1.10", "docker.io/library/nginx:1.25"))
    run = run_protect(Invocation.of({"snapshot": _web_with_own_rule(tmp_path)}),
                      EvidenceOptions(kubectl_json=(pods,)))
    [plan] = run.state.plans
    assert "1.1" in plan.tags
    assert run.outcome.report["protect"]["projects"][0]["kept_to_deleted"] == []
    [entry] = run.outcome.report["evidence"]
    assert entry["note"].startswith("not checked: anything of this Harbor (harbor.example.org)")
