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
from tests.builders import art, dig, policy, rule, shared_dir, snapshot
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
    assert str(info.value).startswith(f"snap.json: {field}: ")
    assert "\n" not in str(info.value)


ART = "projects[0].repositories[0].artifacts[0]"
REPO = "projects[0].repositories[0]"


def _set(where: str, **fields: Any) -> Any:
    """A mutation that sets ``fields`` on the valid snapshot's top level, first project's
    project object, first repository entry, first artifact or that artifact's first tag."""

    def mutate(data: dict[str, Any]) -> None:
        repo = data["projects"][0]["repositories"][0]
        artifact = repo["artifacts"][0]
        target = {"top": data, "project": data["projects"][0]["project"], "repo": repo,
                  "repo_record": repo["repository"], "artifact": artifact,
                  "tag": artifact["tags"][0]}[where]
        target.update(fields)

    return mutate


def _case(name: str, field: str, mutate: Any, message: str) -> Any:
    return pytest.param(field, mutate, message, id=name)


REF = {"parent_id": 1, "child_id": 2, "child_digest": dig("child"),
       "platform": {"os": "linux", "architecture": "amd64"}, "urls": None, "annotations": None}
LABEL = {"id": 1, "name": "keep", "color": "#FF0000", "scope": "g", "project_id": 0}
WRONG = "has the wrong type"

# Every type the schema rejects in a field the reader reads: the reader rejects it too, in
# one line naming the file and the exact field.
WRONG_TYPES = [
    _case("size-str", f"{ART}.size", _set("artifact", size="big"), f"{WRONG} (str)"),
    _case("size-bool", f"{ART}.size", _set("artifact", size=True), f"{WRONG} (bool)"),
    _case("size-fraction", f"{ART}.size", _set("artifact", size=1.5), f"{WRONG} (float)"),
    _case("size-list", f"{ART}.size", _set("artifact", size=[1]), f"{WRONG} (list)"),
    _case("type-int", f"{ART}.type", _set("artifact", type=7), f"{WRONG} (int)"),
    _case("type-bool", f"{ART}.type", _set("artifact", type=False), f"{WRONG} (bool)"),
    _case("references-str", f"{ART}.references", _set("artifact", references="x"),
          f"{WRONG} (str)"),
    _case("references-empty-object", f"{ART}.references", _set("artifact", references={}),
          f"{WRONG} (dict)"),
    _case("references-zero", f"{ART}.references", _set("artifact", references=0),
          f"{WRONG} (int)"),
    _case("reference-str", f"{ART}.references[1]", _set("artifact", references=[REF, "x"]),
          "a reference must be an object"),
    _case("reference-null", f"{ART}.references[0]", _set("artifact", references=[None]),
          "a reference must be an object"),
    _case("reference-no-child-digest", f"{ART}.references[0].child_digest",
          _set("artifact", references=[{"parent_id": 1, "child_id": 2}]), "missing"),
    _case("reference-child-digest-int", f"{ART}.references[0].child_digest",
          _set("artifact", references=[{"child_digest": 5}]), f"{WRONG} (int)"),
    _case("reference-child-digest-null", f"{ART}.references[0].child_digest",
          _set("artifact", references=[{"child_digest": None}]), f"{WRONG} (null)"),
    _case("labels-str", f"{ART}.labels", _set("artifact", labels="x"), f"{WRONG} (str)"),
    _case("labels-object", f"{ART}.labels", _set("artifact", labels=LABEL), f"{WRONG} (dict)"),
    _case("labels-false", f"{ART}.labels", _set("artifact", labels=False), f"{WRONG} (bool)"),
    _case("label-str", f"{ART}.labels[1]", _set("artifact", labels=[LABEL, "keep"]),
          "a label must be an object"),
    _case("label-no-name", f"{ART}.labels[0].name", _set("artifact", labels=[{"id": 1}]),
          "missing"),
    _case("label-name-int", f"{ART}.labels[0].name", _set("artifact", labels=[{"name": 3}]),
          f"{WRONG} (int)"),
    _case("tags-object", f"{ART}.tags", _set("artifact", tags={}), f"{WRONG} (dict)"),
    _case("tags-empty-str", f"{ART}.tags", _set("artifact", tags=""), f"{WRONG} (str)"),
    _case("tags-zero", f"{ART}.tags", _set("artifact", tags=0), f"{WRONG} (int)"),
    _case("immutable-str", f"{ART}.tags[0].immutable", _set("tag", immutable="yes"),
          f"{WRONG} (str)"),
    _case("immutable-int", f"{ART}.tags[0].immutable", _set("tag", immutable=1),
          f"{WRONG} (int)"),
    _case("tag-pull-time-int", f"{ART}.tags[0].pull_time", _set("tag", pull_time=0),
          f"{WRONG} (int), expected an RFC 3339 time"),
    _case("artifact-count-str", f"{REPO}.repository.artifact_count",
          _set("repo_record", artifact_count="2"), f"{WRONG} (str)"),
    _case("repo-count-bool", "projects[0].project.repo_count",
          _set("project", repo_count=True), f"{WRONG} (bool)"),
    _case("harbor-int", "harbor", _set("top", harbor=5), f"{WRONG} (int)"),
    _case("harbor-object", "harbor", _set("top", harbor={}), f"{WRONG} (dict)"),
    _case("harbor-version-int", "harbor_version", _set("top", harbor_version=5),
          f"{WRONG} (int)"),
    _case("taken-at-null", "taken_at", _set("top", taken_at=None), f"{WRONG} (null)"),
    _case("incomplete-object", "incomplete", _set("top", incomplete={}), f"{WRONG} (dict)"),
    _case("incomplete-false", "incomplete", _set("top", incomplete=False), f"{WRONG} (bool)"),
    _case("project-id-str", "projects[0].project.project_id", _set("project", project_id="1"),
          f"{WRONG} (str)"),
    _case("project-id-null", "projects[0].project.project_id",
          _set("project", project_id=None), f"{WRONG} (null)"),
    _case("project-id-bool", "projects[0].project.project_id",
          _set("project", project_id=True), f"{WRONG} (bool)"),
    _case("additions-list", f"{REPO}.additions", _set("repo", additions=[]), f"{WRONG} (list)"),
    _case("additions-false", f"{REPO}.additions", _set("repo", additions=False),
          f"{WRONG} (bool)"),
    _case("additions-file-int", f"{REPO}.additions.{dig('a')}.values.yaml",
          _set("repo", additions={dig("a"): {"values.yaml": 5}}), f"{WRONG} (int)"),
]


@pytest.mark.parametrize(("field", "mutate", "message"), WRONG_TYPES)
def test_reader_rejects_every_type_the_schema_rejects(field: str, mutate: Any,
                                                      message: str) -> None:
    data = _valid()
    SNAPSHOT_VALIDATOR.validate(data)
    mutate(data)
    assert not SNAPSHOT_VALIDATOR.is_valid(data)
    with pytest.raises(InputError) as info:
        parse_snapshot(data, "snap.json")
    assert str(info.value) == f"snap.json: {field}: {message}"


# What the schema allows (null where Harbor may send it, absent where optional, JSON
# Schema's integer 5.0) the reader reads, as the value it stands for.
ACCEPTED = [
    ("tags-null", _set("artifact", tags=None), lambda a, s: a.tags == ()),
    ("tags-empty", _set("artifact", tags=[]), lambda a, s: a.tags == ()),
    ("references-null", _set("artifact", references=None), lambda a, s: a.children == ()),
    ("references-empty", _set("artifact", references=[]), lambda a, s: a.children == ()),
    ("references", _set("artifact", references=[REF]),
     lambda a, s: a.children == (dig("child"),)),
    ("labels-null", _set("artifact", labels=None), lambda a, s: a.labels == ()),
    ("labels-empty", _set("artifact", labels=[]), lambda a, s: a.labels == ()),
    ("labels", _set("artifact", labels=[LABEL]), lambda a, s: a.labels == ("keep",)),
    ("type-null", _set("artifact", type=None), lambda a, s: a.type == ""),
    ("size-null", _set("artifact", size=None), lambda a, s: a.size == 0),
    ("size-whole-float", _set("artifact", size=5.0),
     lambda a, s: a.size == 5 and type(a.size) is int),
    ("size-big", _set("artifact", size=2**70), lambda a, s: a.size == 2**70),
    ("pull-time-never", _set("artifact", pull_time="0001-01-01T00:00:00.000Z"),
     lambda a, s: a.pull_s == GO_ZERO_SECONDS),
    ("artifact-count-null", _set("repo_record", artifact_count=None),
     lambda a, s: s.incomplete == ()),
    ("artifact-count-agrees", _set("repo_record", artifact_count=1),
     lambda a, s: s.incomplete == ()),
    ("repo-count-agrees", _set("project", repo_count=1), lambda a, s: s.incomplete == ()),
    ("immutable-null", _set("tag", immutable=None), lambda a, s: a.immutable_flag is False),
    ("immutable-true", _set("tag", immutable=True), lambda a, s: a.immutable_flag is True),
    ("harbor-null", _set("top", harbor=None), lambda a, s: s.harbor is None),
    ("harbor-version-null", _set("top", harbor_version=None),
     lambda a, s: s.harbor_version is None),
    ("harbor-version", _set("top", harbor_version="v2.11.0"),
     lambda a, s: s.harbor_version == "v2.11.0"),
    ("incomplete-null", _set("top", incomplete=None), lambda a, s: s.incomplete == ()),
    ("additions-null", _set("repo", additions=None),
     lambda a, s: s.projects[0].repositories[0].additions == {}),
    ("additions", _set("repo", additions={dig("a"): {"values.yaml": "image: x"}}),
     lambda a, s: s.projects[0].repositories[0].additions[dig("a")] == {"values.yaml": "image: x"}),
    ("project-id-whole-float", _set("project", project_id=7.0),
     lambda a, s: s.projects[0].id == 7 and type(s.projects[0].id) is int),
]


@pytest.mark.parametrize(("mutate", "check"), [pytest.param(m, c, id=n) for n, m, c in ACCEPTED])
def test_reader_accepts_what_the_schema_accepts(mutate: Any, check: Any) -> None:
    data = _valid()
    mutate(data)
    SNAPSHOT_VALIDATOR.validate(data)
    snap = parse_snapshot(data, "snap.json")
    assert check(snap.projects[0].repositories[0].artifacts[0], snap)


def test_reader_accepts_absent_optional_fields() -> None:
    data = _valid()
    for key in ("harbor", "harbor_version", "taken_at", "incomplete"):
        del data[key]
    del data["projects"][0]["project"]["project_id"]
    artifact = data["projects"][0]["repositories"][0]["artifacts"][0]
    for key in ("type", "size", "tags"):
        del artifact[key]
    SNAPSHOT_VALIDATOR.validate(data)
    snap = parse_snapshot(data, "snap.json")
    assert (snap.harbor, snap.harbor_version, snap.taken_at, snap.projects[0].id) == (None,) * 4
    parsed = snap.projects[0].repositories[0].artifacts[0]
    assert (parsed.type, parsed.size, parsed.tags) == ("", 0, ())


# A time retention ranks by, missing or null, is an error naming the field (exit 2), never
# a default: a tag's push time left out ranks the artifact by an older one, a pull time
# left out reads as never pulled (attack notes 5).
TIME_FIELDS = [
    pytest.param(where, key, how, id=f"{where}-{key}-{'absent' if how else 'null'}")
    for where in ("artifact", "tag") for key in ("push_time", "pull_time")
    for how in (True, False)
]


@pytest.mark.parametrize(("where", "key", "absent"), TIME_FIELDS)
def test_a_ranking_time_missing_or_null_is_an_error(where: str, key: str,
                                                    absent: bool) -> None:
    data = _valid()
    artifact = data["projects"][0]["repositories"][0]["artifacts"][0]
    target = artifact if where == "artifact" else artifact["tags"][0]
    if absent:
        del target[key]
    else:
        target[key] = None
    assert not SNAPSHOT_VALIDATOR.is_valid(data)
    field = f"{ART}.{key}" if where == "artifact" else f"{ART}.tags[0].{key}"
    for reader in (parse_snapshot, _read_fast):
        with pytest.raises(InputError) as info:
            reader(data, "snap.json")
        message = str(info.value)
        assert message.startswith(f"snap.json: {field}: is missing or null: retention ranks")
        assert "0001-01-01T00:00:00.000Z" in message and "\n" not in message


def _read_fast(data: dict[str, Any], origin: str) -> Any:
    from harborguard.snapshot import snapshot_from_bytes

    return snapshot_from_bytes(json.dumps(data).encode(), origin)


def _counted(artifact_count: int | None, repo_count: int | None) -> dict[str, Any]:
    """Two artifacts in proj/app (the only repository), with the counts given."""
    data = snapshot({"app": [art("a", ["1.0"]), art("b", ["2.0"])]},
                    policy(rule("latestPushedK", 1)))
    if artifact_count is not None:
        data["projects"][0]["repositories"][0]["repository"]["artifact_count"] = artifact_count
    if repo_count is not None:
        data["projects"][0]["project"]["repo_count"] = repo_count
    return data


@pytest.mark.parametrize("read", [parse_snapshot, _read_fast], ids=["by-hand", "fast"])
def test_a_partial_list_against_its_count_is_incomplete(read: Any) -> None:
    # attack notes 4: artifact_count 2 with one artifact listed (a curl without paging).
    data = _counted(3, None)
    SNAPSHOT_VALIDATOR.validate(data)
    snap = read(data, "snap.json")
    assert [(i.what, i.reason.split(":")[0:2]) for i in snap.incomplete] == [
        ("proj/app", ["artifacts", " 2 items for artifact_count 3"])]
    assert "partial" in snap.incomplete[0].reason
    snap = read(_counted(None, 2), "snap.json")
    assert [(i.what, i.reason.split(":")[0:2]) for i in snap.incomplete] == [
        ("proj", ["repositories", " 1 items for repo_count 2"])]
    for whole in (_counted(2, 1), _counted(None, None)):
        assert read(whole, "snap.json").incomplete == ()
    # A repository the snapshot itself records as not read (what `harborguard snapshot`
    # writes when one failed) is named once, by that record.
    data = _counted(None, 2)
    data["incomplete"] = [{"what": "proj/gone", "reason": "HTTP 503 after 4 attempts"}]
    assert [i.what for i in read(data, "snap.json").incomplete] == ["proj/gone"]


@pytest.mark.parametrize("read", [parse_snapshot, _read_fast], ids=["by-hand", "fast"])
@pytest.mark.parametrize("count", [4, None])
def test_a_digest_listed_twice_in_a_repository_is_incomplete(read: Any,
                                                             count: int | None) -> None:
    # attack2 N1: a curl-paged list where a push shifted the pages repeats one digest and
    # misses the newest; its length still equals artifact_count. Harbor never lists a digest
    # twice in one repository.
    data = snapshot({"app": [art("a", ["1.0"]), art("b", ["2.0"]), art("c", ["3.0"])]},
                    policy(rule("latestPushedK", 1)))
    repo = data["projects"][0]["repositories"][0]
    repo["artifacts"].append(dict(repo["artifacts"][2]))
    if count is not None:
        repo["repository"]["artifact_count"] = count
    snap = read(data, "snap.json")
    assert [i.what for i in snap.incomplete] == ["proj/app"]
    reason = snap.incomplete[0].reason
    assert dig("c") in reason and "read while it changed" in reason
    assert "take the snapshot again" in reason



@pytest.mark.parametrize("read", [parse_snapshot, _read_fast], ids=["by-hand", "fast"])
def test_a_repository_or_project_listed_twice_is_incomplete(read: Any) -> None:
    # attack3 R4: Harbor lists a repository once per project and a project once; a repeat
    # (even with repo_count agreeing) is a list read while it changed: one may be missed.
    data = snapshot({"app": [art("a", ["1.0"])], "web": [art("b", ["2.0"])]},
                    policy(rule("latestPushedK", 1)))
    repos = data["projects"][0]["repositories"]
    repos[1] = json.loads(json.dumps(repos[0]))
    data["projects"][0]["project"]["repo_count"] = 2
    snap = read(data, "snap.json")
    assert [i.what for i in snap.incomplete] == ["proj/app"]
    assert snap.incomplete[0].reason.startswith("repositories: project proj lists proj/app twice")
    data = snapshot({"app": [art("a", ["1.0"])]}, policy(rule("latestPushedK", 1)))
    data["projects"].append(json.loads(json.dumps(data["projects"][0])))
    snap = read(data, "snap.json")
    assert [i.what for i in snap.incomplete] == ["proj"]
    assert "read while it changed" in snap.incomplete[0].reason


def _null_policy(retention_id: Any) -> dict[str, Any]:
    data = snapshot({"app": [art("a", ["1.0"])]}, None)
    data["projects"][0]["project"]["metadata"] = (
        {"public": "false"} if retention_id is None else {"retention_id": retention_id})
    return data


@pytest.mark.parametrize("read", [parse_snapshot, _read_fast], ids=["by-hand", "fast"])
def test_null_retention_while_metadata_names_a_policy_is_incomplete(read: Any) -> None:
    # attack notes 8: null means "no policy" only when the project names none.
    from harborguard.policy import parse_policy

    now = parse_nanos("2026-01-01T00:00:00Z")
    result = simulate(read(_null_policy("7"), "snap.json"), now, resolve("v2.11.0"))
    assert [i.what for i in result.incomplete] == ["proj"]
    assert result.incomplete[0].reason.startswith(
        "retention policy: policy 7 not in the snapshot")
    assert result.projects[0].repositories[0].status == "policy-unreadable"
    given = simulate(read(_null_policy("7"), "snap.json"), now, resolve("v2.11.0"),
                     policy=parse_policy(policy(rule("latestPushedK", 0)), "p.json"))
    assert given.incomplete == ()  # --policy: the project's own is not needed
    for none in (None, ""):
        result = simulate(read(_null_policy(none), "snap.json"), now, resolve("v2.11.0"))
        assert result.incomplete == ()
        assert result.projects[0].repositories[0].status == "no-policy"
    # A snapshot that records the policy as unreadable says so once.
    data = _null_policy("7")
    data["incomplete"] = [{"what": "proj", "reason": "retention policy: HTTP 403"}]
    result = simulate(read(data, "snap.json"), now, resolve("v2.11.0"))
    assert [i.reason for i in result.incomplete] == ["retention policy: HTTP 403"]


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


def test_a_snapshot_from_a_device_or_pipe_is_bounded() -> None:
    import pytest as _pytest

    from harborguard.errors import InputError
    from harborguard.snapshot import load_snapshot

    with _pytest.raises(InputError, match="not a snapshot \\(binary data"):
        load_snapshot("/dev/zero")


def test_a_snapshot_without_a_project_is_incomplete() -> None:
    # What `snapshot --all-projects` wrote for an account that sees no project: nothing
    # was simulated, which is never "nothing in use would be deleted".
    data = {**_valid(), "projects": []}
    loaded = parse_snapshot(data, "snap-empty.json")
    assert [(i.what, i.reason[:40]) for i in loaded.incomplete] == [
        ("projects", "no project was read from snap-empty.json")]
    said = {"what": "projects", "reason": "no project was read from https://h: ..."}
    again = parse_snapshot({**data, "incomplete": [said]}, "snap-empty.json")
    assert [i.reason for i in again.incomplete] == [said["reason"]]  # said once
    assert simulate(loaded, 0, resolve(None)).incomplete == loaded.incomplete


def _renamed(name: str) -> dict[str, Any]:
    data = snapshot({"app": [art("a", ["1.0"])]}, policy(rule("latestPushedK", 1)))
    data["projects"][0]["repositories"][0]["repository"]["name"] = name
    return data


@pytest.mark.parametrize("read", [parse_snapshot, _read_fast], ids=["by-hand", "fast"])
@pytest.mark.parametrize("name", ["app", "otherproj/app", "Proj/App", "proj/", "projx/app"])
def test_a_repository_name_outside_its_project_is_an_error(read: Any, name: str) -> None:
    # attack notes (#25): Harbor names every repository of project P "P/<name>".
    with pytest.raises(InputError) as caught:
        read(_renamed(name), "snap.json")
    message = str(caught.value)
    assert message.startswith(
        f"snap.json: projects[0].repositories[0].repository.name: {name!r} is not a "
        "repository of project 'proj'")
    assert "proj/" in message.split("project 'proj'", 1)[1]  # the fix names the prefix
    assert "\n" not in message


def test_a_stream_leaves_a_repository_outside_its_project_to_the_whole_reader() -> None:
    from harborguard.pipeline.reader import open_stream

    assert open_stream(json.dumps(_renamed("otherproj/app")).encode(), "snap.json") is None
    assert open_stream(json.dumps(_renamed("proj/app")).encode(), "snap.json") is not None
