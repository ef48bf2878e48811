"""verify, live (harborguard.commands.verifylive): Harbor's own dry run started, found,
waited for and compared, over real HTTP against the fake Harbor's retention executions
(tests/fakeretention.py: task logs written as job.go and tablewriter v0.0.5 write them).

Waiting is injected: a poll interval of 0, or a clock that only the sleeps advance, so no
test waits out a real deadline."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harborguard.commands.invocation import Invocation
from harborguard.commands.outcome import Outcome
from harborguard.commands.verifylive import Waiting, run_verify_live
from harborguard.errors import InputError
from tests.conftest import validate_report
from tests.fakeharbor import FakeHarbor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "toolforge-snapshot.json"
USER, PASSWORD = "robot$toolforge+verify", "s3cret-pw"
READS = {"project:read", "repository:list", "artifact:list", "artifact-addition:read",
         "immutable-tag:list", "tag-retention:read"}


class VirtualTime:
    """A clock that only ``sleep`` moves: a deadline passes without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.5)

    def clock(self) -> float:
        return self.now


def data() -> dict[str, Any]:
    return dict(json.loads(EXAMPLE.read_text()))


def run(fake: FakeHarbor, *, wait: float = 600, time: VirtualTime | None = None,
        said: list[str] | None = None, **settings: Any) -> Outcome:
    time = time or VirtualTime()
    inv = Invocation.of({"harbor": fake.url, "username": USER, "project": ["toolforge"],
                         **settings}, password=lambda: PASSWORD)
    told = said if said is not None else []
    outcome = run_verify_live(inv, wait=wait, confirm=lambda question: True,
                              tell=told.append,
                              waiting=Waiting(interval=2.0, sleep=time.sleep,
                                              clock=time.clock))
    validate_report(outcome.report)
    assert PASSWORD not in json.dumps(outcome.report) + "".join(told)
    return outcome


def codes(outcome: Outcome) -> list[str]:
    return [f["code"] for f in outcome.report["findings"] if f["code"].startswith("verify")]


def artifact_digest(repo: int = 0, number: int = 0) -> str:
    return str(data()["projects"][0]["repositories"][repo]["artifacts"][number]["digest"])


def test_a_dry_run_that_agrees() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        outcome = run(fake)
        assert fake.executions.posted == [{"dry_run": True}]
    assert not outcome.incomplete and not codes(outcome)
    report = outcome.report
    assert all(a["harbor_action"] == a["action"] for a in report["artifacts"])
    section = report["verify"]
    assert section["execution"]["id"] == 1 and section["execution"]["dry_run"] is True
    assert section["execution"]["status"] == "Success"
    assert [r["agree"] for r in section["repositories"]] == \
        [r["compared"] for r in section["repositories"]] == [96, 17, 3, 13]
    assert all(r["source"].startswith("task ") for r in section["repositories"])


def test_a_mismatch_names_both_answers() -> None:
    kept = artifact_digest()
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.marks = {kept: "DEL"}
        outcome = run(fake)
    assert outcome.failing and not outcome.incomplete
    found = [f for f in outcome.report["findings"] if f["code"] == "verify-mismatch"]
    assert [f["digest"] for f in found] == [kept]
    assert "Harbor's dry run: DEL; harborguard: retain" in found[0]["message"]
    row = next(a for a in outcome.report["artifacts"] if a["digest"] == kept)
    assert row["harbor_action"] == "delete" and row["action"] == "retain"


def test_a_slow_execution_is_polled_until_it_ends() -> None:
    time = VirtualTime()
    said: list[str] = []
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.polls_to_end = 6
        outcome = run(fake, time=time, said=said)
        polls = len([s for s in fake.requests_to(r"/executions$") if s.method == "GET"])
    assert not outcome.incomplete and not codes(outcome)
    assert len(time.sleeps) >= 3 and polls >= 6
    assert any(": Running" in line for line in said)
    assert any(": Success" in line for line in said)


def test_an_execution_that_never_ends_is_incomplete_at_the_deadline() -> None:
    time = VirtualTime()
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.polls_to_end = None
        outcome = run(fake, wait=10, time=time)
        assert not fake.requests_to(r"/tasks")  # no log read of an unfinished run
        assert not fake.executions.stopped  # a dry run goes on: it deletes nothing
    assert outcome.incomplete and not outcome.report["artifacts"]
    missing = outcome.report["incomplete"]
    assert missing[0]["what"] == "execution 1 of retention policy 7 (project toolforge)"
    assert "did not end within --wait 10 s" in missing[0]["reason"]
    assert 5 <= len(time.sleeps) <= 25  # polled on the way, and stopped at the deadline


def test_an_execution_that_is_not_a_dry_run_is_stopped_at_once() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.real_run = True
        fake.executions.polls_to_end = None
        outcome = run(fake)
        assert fake.executions.stopped == [1]
        patches = [s for s in fake.seen if s.method == "PATCH"]
        assert [(p.path, p.status) for p in patches] == \
            [("/api/v2.0/retentions/7/executions/1", 200)]
        assert not fake.requests_to(r"/tasks")
    assert outcome.incomplete
    assert "NOT a dry run" in outcome.errors[0] and "stopped it at once" in outcome.errors[0]
    assert outcome.report["verify"]["execution"]["dry_run"] is False


def test_without_a_location_header_the_execution_is_found_in_the_list() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.location = False
        fake.executions.polls_to_end = 2
        first = run(fake)  # execution 1
        second = run(fake)  # execution 2: the one new item after the POST
    assert not first.incomplete and not second.incomplete
    assert first.report["verify"]["execution"]["id"] == 1
    assert second.report["verify"]["execution"]["id"] == 2


def _failing_policy(label_rule: bool) -> dict[str, Any]:
    """Rule 0 leaves heroku-builder out (no task there); with ``label_rule``, a rule whose
    label selector Harbor cannot run fails jobs-api's task."""
    snapshot = data()
    policy = snapshot["projects"][0]["retention"]
    policy["rules"][0]["scope_selectors"]["repository"][0] = {
        "kind": "doublestar", "decoration": "repoExcludes", "pattern": "heroku-builder"}
    if label_rule:
        rule = copy.deepcopy(policy["rules"][0])
        rule["scope_selectors"]["repository"][0] = {
            "kind": "doublestar", "decoration": "repoMatches", "pattern": "jobs-api"}
        rule["tag_selectors"].append({"kind": "label", "decoration": "withLabels",
                                      "pattern": "keep"})
        policy["rules"].append(rule)
    return snapshot


def test_a_failed_task_agrees_where_harborguard_predicts_policy_error() -> None:
    with FakeHarbor(_failing_policy(label_rule=True), users={USER: PASSWORD}) as fake:
        outcome = run(fake)
        assert [t["status"] for t in fake.executions.executions[0].tasks].count("Error") == 1
    assert not outcome.incomplete and not codes(outcome)
    states = {r["repository"]: r["state"] for r in outcome.report["verify"]["repositories"]}
    assert states["toolforge/jobs-api"] == "failed, as harborguard predicts"
    assert states["toolforge/heroku-builder"].startswith("no task")
    assert any(f["code"] == "policy-error" for f in outcome.report["findings"])


def test_a_failed_task_harborguard_did_not_predict_is_incomplete() -> None:
    with FakeHarbor(_failing_policy(label_rule=False), users={USER: PASSWORD}) as fake:
        fake.executions.failing = {"jobs-api": "failed to list candidates: HTTP 500"}
        outcome = run(fake)
    assert outcome.incomplete
    missing = {i["what"]: i["reason"] for i in outcome.report["incomplete"]}
    assert "failed to list candidates" in missing["toolforge/jobs-api"]
    assert "task 102 of execution 1" in missing["toolforge/jobs-api"]


def test_a_log_endpoint_answering_404_json_makes_that_task_incomplete() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.lost_logs = {"jobs-api"}
        outcome = run(fake)
    assert outcome.incomplete and not codes(outcome)
    missing = {i["what"]: i["reason"] for i in outcome.report["incomplete"]}
    assert "HTTP 404" in missing["toolforge/jobs-api"]
    assert "object is not found" in missing["toolforge/jobs-api"]
    rows = [a for a in outcome.report["artifacts"] if a["repository"] == "toolforge/jobs-api"]
    assert rows and all(a["harbor_action"] is None for a in rows)
    others = [r for r in outcome.report["verify"]["repositories"]
              if r["repository"] != "toolforge/jobs-api"]
    assert all(r["agree"] == r["compared"] > 0 for r in others)


def test_an_errors_body_instead_of_a_log_makes_that_task_incomplete() -> None:
    body = json.dumps({"errors": [{"code": "NOT_FOUND", "message": "log not found"}]})
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.fault(r"/tasks/102$", status=None, body=body.encode())
        outcome = run(fake)
    assert outcome.incomplete
    missing = {i["what"]: i["reason"] for i in outcome.report["incomplete"]}
    assert "log not found" in missing["toolforge/jobs-api"]


@pytest.mark.parametrize(("option", "words"), [
    ({"policy": "p.json"}, "--policy: refused on a live verify"),
    ({"now": "2026-01-01T00:00:00Z"}, "--now: refused on a live verify"),
    ({"harbor-version": "banana"}, "is not a Harbor version"),
])
def test_bad_options_are_refused_before_anything_is_sent(option: dict[str, str],
                                                        words: str) -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        with pytest.raises(InputError, match=words):
            run(fake, **option)
        assert fake.count == 0


def test_a_403_names_tag_retention_update_and_nothing_starts() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}, permissions={USER: READS}) as fake:
        outcome = run(fake)
        assert not fake.executions.executions
    assert outcome.incomplete
    reason = outcome.report["incomplete"][0]["reason"]
    assert "tag-retention:update" in reason and USER in reason and "HTTP 403" in reason
    assert "nothing was started" in reason


def test_two_new_executions_without_a_location_are_not_guessed() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        fake.executions.location = False
        # Someone else's manual run starts with harborguard's: two new executions.
        original = fake.executions._start

        def start_two(*args: Any) -> Any:
            original(*args)
            return original(*args)

        fake.executions._start = start_two  # type: ignore[method-assign]
        outcome = run(fake)
    assert outcome.incomplete
    assert "holds 2 new executions" in outcome.report["incomplete"][0]["reason"]


def test_an_artifact_deleted_between_the_dry_run_and_the_read_is_explained() -> None:
    with FakeHarbor(data(), users={USER: PASSWORD}) as fake:
        original = fake.executions._start

        def start_then_delete(*args: Any) -> Any:
            started = original(*args)
            # Someone deletes the newest builds-api artifact while the execution runs.
            repo = fake.project("toolforge").repos["toolforge/builds-api"]
            repo.artifacts.pop(0)
            repo.payload["artifact_count"] -= 1
            return started

        fake.executions._start = start_then_delete  # type: ignore[method-assign]
        outcome = run(fake)
    assert not outcome.incomplete and not outcome.failing
    changed = [f for f in outcome.report["findings"] if f["code"] == "verify-changed"]
    gone = artifact_digest()
    assert gone in {f["digest"] for f in changed}
    # The 11th newest is kept now but was DEL in Harbor's run: explained, not a mismatch.
    assert any("simulated as Harbor saw it, harborguard agrees" in f["message"]
               for f in changed)
    assert "verify-mismatch" not in codes(outcome)


def test_several_projects_each_get_their_dry_run_and_one_without_a_policy_none() -> None:
    snapshot = data()
    second = copy.deepcopy(snapshot["projects"][0])
    second["project"].update(name="toolsbeta", project_id=99,
                             metadata={"public": "true", "retention_id": "8"})
    second["retention"].update(id=8, scope={"level": "project", "ref": 99})
    for repo in second["repositories"]:
        repo["repository"]["name"] = repo["repository"]["name"].replace("toolforge/",
                                                                        "toolsbeta/")
    third = copy.deepcopy(second)
    third["project"].update(name="nopolicy", project_id=100, metadata={"public": "true"})
    third["retention"] = None
    for repo in third["repositories"]:
        repo["repository"]["name"] = repo["repository"]["name"].replace("toolsbeta/",
                                                                        "nopolicy/")
    snapshot["projects"] += [second, third]
    with FakeHarbor(snapshot, users={USER: PASSWORD}) as fake:
        fake.executions.polls_to_end = 2
        outcome = run(fake, project=["toolforge", "toolsbeta", "nopolicy"])
        assert fake.executions.posted == [{"dry_run": True}] * 2
    assert not outcome.incomplete and not codes(outcome)
    section = outcome.report["verify"]
    assert [(e["project"], e["policy_id"], e["id"]) for e in section["executions"]] == \
        [("toolforge", 7, 1), ("toolsbeta", 8, 2)]
    assert section["execution"] == section["executions"][0]
    states = {r["repository"]: r["state"] for r in section["repositories"]}
    assert states["toolsbeta/jobs-api"] == "compared"
    assert states["nopolicy/jobs-api"].startswith("no task")
    assert any("project nopolicy has no retention policy" in n
               for n in outcome.report["notes"])
