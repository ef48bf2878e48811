"""The snapshot reader against the shipped schema and real Harbor API payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harborguard.errors import InputError
from harborguard.harborversion import resolve
from harborguard.simulate import simulate
from harborguard.snapshot import load_snapshot, parse_snapshot
from harborguard.timeutil import GO_ZERO_SECONDS, parse_nanos
from tests.builders import art, policy, rule, shared_dir, snapshot
from tests.conftest import SNAPSHOT_VALIDATOR

ROOT = Path(__file__).resolve().parent.parent
REALWORLD = shared_dir() / "realworld" / "harbor-api"
EXAMPLE = ROOT / "examples" / "toolforge-snapshot.json"


def test_example_snapshot_validates_against_schema() -> None:
    data = json.loads(EXAMPLE.read_text())
    SNAPSHOT_VALIDATOR.validate(data)
    loaded = load_snapshot(str(EXAMPLE))
    assert loaded.harbor_version == "v2.11.1-6b7ecba1"
    assert [r.short_name for r in loaded.projects[0].repositories][:2] == ["builds-api", "jobs-api"]


def _valid() -> dict[str, Any]:
    return snapshot({"app": [art("a", ["1.0"])]}, policy(rule("latestPushedK", 1)))


MUTATIONS = [
    ("projects[0].retention", lambda d: d["projects"][0].update(retention="7")),
    ("projects[0].immutable_rules", lambda d: d["projects"][0].update(immutable_rules={})),
    ("projects[0].project.name", lambda d: d["projects"][0]["project"].pop("name")),
    ("projects[0].repositories[0].repository.name",
     lambda d: d["projects"][0]["repositories"][0]["repository"].pop("name")),
    ("projects[0].repositories[0].artifacts[0].digest",
     lambda d: d["projects"][0]["repositories"][0]["artifacts"][0].update(digest=5)),
    ("projects[0].repositories[0].artifacts[0].push_time",
     lambda d: d["projects"][0]["repositories"][0]["artifacts"][0].update(push_time="yesterday")),
    ("projects[0].repositories[0].artifacts[0].tags[0].name",
     lambda d: d["projects"][0]["repositories"][0]["artifacts"][0]["tags"][0].pop("name")),
    ("taken_at", lambda d: d.update(taken_at="yesterday")),
    ("schema", lambda d: d.update(schema="harborguard.snapshot/v2")),
    ("projects[0].retention", lambda d: d["projects"][0].update(retention={"rules": "x"})),
    ("projects[0].retention", lambda d: d["projects"][0].update(retention=[])),
]


@pytest.mark.parametrize(("field", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_reader_and_schema_reject_the_same_defects(field: str, mutate: Any) -> None:
    data = _valid()
    SNAPSHOT_VALIDATOR.validate(data)
    broken = copy.deepcopy(data)
    mutate(broken)
    assert not SNAPSHOT_VALIDATOR.is_valid(broken)
    with pytest.raises(InputError) as info:
        parse_snapshot(broken, "snap.json")
    assert str(info.value).startswith("snap.json: ")
    assert field in str(info.value)


def _real(name: str) -> Any:
    return json.loads((REALWORLD / name).read_text())


def test_real_artifact_list_with_zero_tag_pull_time() -> None:
    # agoda-com/samsahai: tag pull_time is Go's zero time while the artifact was pulled.
    artifacts = _real("agoda-samsahai-checker_test-artifacts-list.json")
    data = snapshot({"app": artifacts}, policy(rule("latestPulledN", 1)))
    SNAPSHOT_VALIDATOR.validate(data)
    snap = parse_snapshot(data, "real")
    first = snap.projects[0].repositories[0].artifacts[0]
    assert first.tags == ("1.13.5-3.0.0-beta.1",)
    assert first.pull_s == parse_nanos("2021-03-10T01:37:28.277Z") // 10**9
    assert first.push_s == parse_nanos("2021-03-09T03:18:09.429Z") // 10**9  # the tag's later
    result = simulate(snap, parse_nanos("2021-04-01T00:00:00Z"), resolve("v2.11.0"))
    decisions = result.projects[0].repositories[0].decisions
    assert sum(d.action == "retain" for d in decisions) == 1


def test_real_artifact_with_accessories_and_tabs() -> None:
    # goharbor's own model test: a cosign accessory embedded in the item, TABs between keys.
    artifacts = _real("goharbor-harbor-model_test-TestUnmarshalJSONWithACC.json")
    snap = parse_snapshot(snapshot({"redis": artifacts}, None), "real")
    repo = snap.projects[0].repositories[0]
    assert len(repo.artifacts) == len(artifacts)  # accessories are not candidates
    assert all(a.pull_s in (GO_ZERO_SECONDS,) or a.pull_s > 0 for a in repo.artifacts)


def test_truncated_real_payload_is_a_clear_error(tmp_path: Path) -> None:
    # harbor issue 19498: the captured chart artifact is cut inside its digest.
    text = (REALWORLD / "harbor-issue-19498-chart-artifact.json").read_text()
    path = tmp_path / "snap.json"
    path.write_text('{"schema": "harborguard.snapshot/v1", "projects": [' + text)
    with pytest.raises(InputError) as info:
        load_snapshot(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: not valid JSON (line ") and "\n" not in message


def test_project_list_payload_is_not_a_snapshot(tmp_path: Path) -> None:
    text = (REALWORLD / "ssongman-solutions-projects-list-with_detail.json").read_text()
    path = tmp_path / "projects.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_snapshot(str(path))
    assert "not valid JSON" in str(info.value)


def test_hand_made_snapshot_may_leave_out_optional_fields() -> None:
    from harborguard.harborversion import resolve as behaviour
    from harborguard.policy import parse_policy

    data = _valid()
    del data["taken_at"]
    del data["projects"][0]["immutable_rules"]
    del data["projects"][0]["retention"]
    SNAPSHOT_VALIDATOR.validate(data)
    snap = parse_snapshot(data, "hand-made.json")
    assert snap.taken_at is None and snap.projects[0].immutable_rules == ()
    now = parse_nanos("2026-01-01T00:00:00Z")
    unknown = simulate(snap, now, behaviour(None))
    assert unknown.projects[0].repositories[0].status == "policy-unreadable"
    assert [i.what for i in unknown.incomplete] == ["proj"]
    given = simulate(snap, now, behaviour(None),
                     policy=parse_policy(policy(rule("latestPushedK", 0)), "p.json"))
    assert given.incomplete == () and given.projects[0].repositories[0].status == "evaluated"
