"""Reader for ``harborguard.snapshot/v1`` files: raw Harbor API payloads.

Validation is hand-written rather than run through a JSON Schema library: it has to name
the exact field in one line and stay fast on 100,000 artifacts. The shipped schema
(schemas/snapshot-v1.schema.json) describes the same contract and the test suite checks
that the two agree.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from harborguard import jsonio
from harborguard.errors import InputError
from harborguard.model import Artifact, Blob, Incomplete, Project, Repository, Snapshot
from harborguard.policy import load_json_or_yaml, parse_immutable_rules, parse_policy
from harborguard.redact import mask_url
from harborguard.repositorynames import outside_project
from harborguard.snapshotcounts import (
    count_problem,
    repeated_name_problem,
    repository_count_problem,
)
from harborguard.snapshotfast import _fast, _NotFast
from harborguard.timeutil import (
    GO_ZERO_SECONDS,
    SECONDS_CACHE,
    parse_seconds,
    plain_seconds,
)

SNAPSHOT_SCHEMA = "harborguard.snapshot/v1"


class _Bad(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if message else where)


def _need(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise _Bad(f"{where}.{key}" if where else key, "missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _Bad(f"{where}.{key}" if where else key, f"has the wrong type ({_type(value)})")
    return value


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _wrong(where: str, value: Any) -> NoReturn:
    raise _Bad(where, f"has the wrong type ({_type(value)})")


def _integer(value: Any, where: str) -> int:
    """JSON Schema's integer: an int that is not a bool, or a float without a fraction."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    _wrong(where, value)


def _time(value: Any, where: str) -> int:
    """Go's zero time for absent/null (json leaves time.Time untouched), else seconds."""
    if value is None:
        return GO_ZERO_SECONDS
    if not isinstance(value, str):
        raise _Bad(where, f"has the wrong type ({_type(value)}), expected an RFC 3339 time")
    try:
        return parse_seconds(value)
    except ValueError:
        raise _Bad(where, f"is not an RFC 3339 time: {value!r}") from None


def _artifact(raw: Any, where: Callable[[], str]) -> Artifact:
    """One artifact list item. The common, valid case takes the fast path (100,000 of these
    per large snapshot); ``where`` builds the field path only when there is an error."""
    if type(raw) is not dict:
        raise _Bad(where(), "an artifact must be an object")
    get = raw.get
    digest = get("digest")
    if type(digest) is not str:
        digest = _need(raw, "digest", str, where())
    cached = SECONDS_CACHE.get
    value = get("push_time")
    created = (cached(value) or plain_seconds(value)) if type(value) is str else None
    if created is None:
        created = _field_time(value, where, "push_time")
    value = get("pull_time")
    pull = (cached(value) or plain_seconds(value)) if type(value) is str else None
    if pull is None:
        pull = _field_time(value, where, "pull_time")
    push = created
    tags_raw = get("tags")
    names: tuple[str, ...] = ()
    immutable = False
    if tags_raw is not None:
        if type(tags_raw) is not list:
            _wrong(f"{where()}.tags", tags_raw)
        collected = []
        for i, tag in enumerate(tags_raw):
            if type(tag) is not dict or type(tag.get("name")) is not str:
                tw = f"{where()}.tags[{i}]"
                if not isinstance(tag, dict):
                    raise _Bad(tw, "a tag must be an object")
                _need(tag, "name", str, tw)
            collected.append(tag["name"])
            value = tag.get("push_time")
            seconds = (cached(value) or plain_seconds(value)) if type(value) is str else None
            if seconds is None:
                seconds = _field_time(value, where, f"tags[{i}].push_time")
            if seconds > push:
                push = seconds
            value = tag.get("pull_time")
            seconds = (cached(value) or plain_seconds(value)) if type(value) is str else None
            if seconds is None:
                seconds = _field_time(value, where, f"tags[{i}].pull_time")
            if seconds > pull:
                pull = seconds
            value = tag.get("immutable")
            if value is True:
                immutable = True
            elif value is not False and value is not None:
                _wrong(f"{where()}.tags[{i}].immutable", value)
        names = tuple(collected)
    size = get("size")
    if type(size) is not int or size < 0:
        size = _size(size, where)
    kind = get("type")
    if type(kind) is not str:
        if kind is not None:
            _wrong(f"{where()}.type", kind)
        kind = ""
    # Absent (Harbor omits an empty list), null or []: none. Anything else, a list or
    # not, is looked at item by item (most artifacts have neither).
    children: tuple[str, ...] = ()
    value = get("references")
    if value is not None and value != []:
        children = _keys(value, where, "references", "child_digest", "a reference")
    label_names: tuple[str, ...] = ()
    value = get("labels")
    if value is not None and value != []:
        label_names = _keys(value, where, "labels", "name", "a label")
    return Artifact(
        digest,
        names,
        kind,
        size,
        push,
        pull,
        created,
        children,
        label_names,
        immutable,
    )


def _size(value: Any, where: Callable[[], str]) -> int:
    """The artifact's size off the fast path: null (0), a whole float, or an error."""
    if value is None:
        return 0
    size = _integer(value, f"{where()}.size")
    if size < 0:
        raise _Bad(f"{where()}.size", f"is negative ({size})")
    return size


def _keys(
    items: Any, where: Callable[[], str], field: str, key: str, noun: str
) -> tuple[str, ...]:
    """The string ``key`` of every object in an artifact's list ``field``: the references'
    child digests, the labels' names."""
    if type(items) is not list:
        _wrong(f"{where()}.{field}", items)
    found = []
    for i, item in enumerate(items):
        if type(item) is not dict or type(item.get(key)) is not str:
            if not isinstance(item, dict):
                raise _Bad(f"{where()}.{field}[{i}]", f"{noun} must be an object")
            _need(item, key, str, f"{where()}.{field}[{i}]")
        found.append(item[key])
    return tuple(found)


# Harbor's API always sends an artifact's and a tag's push_time and pull_time (a time never
# pulled is Go's zero time, "0001-01-01T00:00:00.000Z"); retention ranks by them, so one
# missing is a defect of the file, never a default (a missing tag time would rank the
# artifact by an older one, a missing pull time as never pulled).
TIME_MISSING = ("is missing or null: retention ranks artifacts by it and Harbor's API always "
                "gives it; copy it from GET /api/v2.0/projects/{project}/repositories/{repo}/"
                "artifacts?with_tag=true (never pulled: \"0001-01-01T00:00:00.000Z\") or take "
                "the snapshot with `harborguard snapshot`")


def _field_time(value: Any, where: Callable[[], str], field: str) -> int:
    if value is None:
        raise _Bad(f"{where()}.{field}", TIME_MISSING)
    try:
        return _time(value, field)
    except _Bad as exc:
        raise _Bad(f"{where()}.{exc.args[0]}", "") from None


def _repository(raw: Any, where: str) -> Repository:
    if not isinstance(raw, Mapping):
        raise _Bad(where, "a repository entry must be an object")
    repo = _need(raw, "repository", Mapping, where)
    name = _need(repo, "name", str, f"{where}.repository")
    artifacts_raw = _need(raw, "artifacts", list, where)
    artifacts = tuple(
        _artifact(a, lambda i=i: f"{where}.artifacts[{i}]")  # type: ignore[misc]
        for i, a in enumerate(artifacts_raw)
    )
    additions_raw = raw.get("additions")
    if additions_raw is None:
        additions_raw = {}
    elif not isinstance(additions_raw, Mapping):
        _wrong(f"{where}.additions", additions_raw)
    additions: dict[str, dict[str, str]] = {}
    for digest, files in additions_raw.items():
        if not isinstance(files, Mapping):
            raise _Bad(f"{where}.additions.{digest}", "must map file names to text")
        for file, text in files.items():
            if not isinstance(text, str):
                _wrong(f"{where}.additions.{digest}.{file}", text)
        additions[str(digest)] = {str(k): v for k, v in files.items()}
    blobs = {
        artifact.digest: _blobs(raw_artifact["blobs"], f"{where}.artifacts[{i}].blobs")
        for i, (artifact, raw_artifact) in enumerate(zip(artifacts, artifacts_raw, strict=True))
        if raw_artifact.get("blobs") is not None
    }
    return Repository(name=name, artifacts=artifacts, additions=additions, blobs=blobs,
                      artifact_count=_count(repo, "artifact_count", f"{where}.repository"))


def _count(record: Mapping[str, Any], key: str, where: str) -> int | None:
    """A count Harbor gives beside a list (``artifact_count``, ``repo_count``); None when
    the snapshot leaves it out (or null)."""
    value = record.get(key)
    if value is None:
        return None
    count = _integer(value, f"{where}.{key}")
    if count < 0:
        raise _Bad(f"{where}.{key}", f"is negative ({count})")
    return count


def _blobs(items: Any, where: str) -> tuple[Blob, ...]:
    """An artifact's ``blobs`` (a snapshot taken with --dedup)."""
    if type(items) is not list:
        _wrong(where, items)
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _Bad(f"{where}[{i}]", "a blob must be an object")
        digest = _need(item, "digest", str, f"{where}[{i}]")
        size = item.get("size")
        if type(size) is not int or size < 0:
            _wrong(f"{where}[{i}].size", size)
        media_type = _need(item, "media_type", str, f"{where}[{i}]")
        found.append(Blob(digest, size, media_type))
    return tuple(found)


RepositoryReader = Callable[[Any, str], Repository]


def _project(raw: Any, where: str, read: RepositoryReader = _repository,
             missing: list[Incomplete] | None = None,
             listed: Sequence[str] | None = None) -> Project:
    """``read``: how each repository entry is read (the fast reader's, or by hand);
    ``missing``: where what the snapshot shows is missing goes; ``listed``: the names of
    the repositories the entry lists, when its ``repositories`` are not read here (a
    stream reads each later, and checks its artifact count then)."""
    missing = [] if missing is None else missing
    if not isinstance(raw, Mapping):
        raise _Bad(where, "a project entry must be an object")
    project = _need(raw, "project", Mapping, where)
    name = _need(project, "name", str, f"{where}.project")
    pid = None  # absent: no ID; never null from Harbor (go-swagger's int32 is no pointer)
    if "project_id" in project:
        pid = _integer(project["project_id"], f"{where}.project.project_id")
    # A hand-made snapshot may leave out "retention": unlike null ("no policy"), that says
    # nothing, so the project is not evaluated unless --policy supplies one.
    retention_known = "retention" in raw
    retention_raw = raw.get("retention")
    try:
        retention = (
            None
            if retention_raw is None
            else parse_policy(retention_raw, f"{where}.retention", from_harbor=True)
        )
    except InputError as exc:
        raise _Bad(f"{where}.retention", str(exc).split(": ", 1)[-1]) from None
    gap = None
    metadata = project.get("metadata")
    retention_id = metadata.get("retention_id") if isinstance(metadata, Mapping) else None
    if retention_known and retention_raw is None and retention_id not in (None, "") and not any(
            item.what == name and item.reason.startswith("retention policy")
            for item in missing):
        # null means "none" only when the project names no policy: Harbor keeps a
        # project's policy id in its metadata (a policy is never deleted, only replaced).
        # Not known, then (the run is incomplete unless --policy gives one); a policy the
        # snapshot already records as unreadable is said there.
        retention_known = False
        gap = (f"policy {retention_id} not in the snapshot (its project.metadata.retention_id "
               f"names it, its 'retention' is null: GET /api/v2.0/retentions/{retention_id})")
    # Left out of a hand-made snapshot: no immutable-tag rules.
    rules_raw = _need(raw, "immutable_rules", list, where) if "immutable_rules" in raw else []
    try:
        immutable = parse_immutable_rules(rules_raw, f"{where}.immutable_rules")
    except InputError as exc:
        raise _Bad(f"{where}.immutable_rules", str(exc).split(": ", 1)[-1]) from None
    repos_raw = _need(raw, "repositories", list, where)
    repositories = tuple(
        read(entry, f"{where}.repositories[{i}]") for i, entry in enumerate(repos_raw)
    )
    outside = outside_project(name, [r.name for r in repositories] if listed is None else listed)
    if outside is not None:
        raise _Bad(f"{where}.repositories[{outside[0]}].repository.name", outside[1])
    found = count_problem(name, "repositories", len(repos_raw) if listed is None else len(listed),
                          "repo_count", _count(project, "repo_count", f"{where}.project"))
    # A repository the snapshot records as not read is left out of its list (a live read,
    # `harborguard snapshot`): the gap is named already.
    if found is not None and not any(
            item.what.startswith(f"{name}/")
            or (item.what == name and item.reason.startswith("repositories"))
            for item in missing):
        missing.append(found)
    found = repeated_name_problem("repositories", [r.name for r in repositories]
                                  if listed is None else listed, f"project {name}")
    if found is not None:
        missing.append(found)
    for repository in repositories:
        found = repository_count_problem(repository)
        if found is not None:
            missing.append(found)
    return Project(
        name=name,
        id=pid,
        retention=retention,
        immutable_rules=immutable,
        repositories=repositories,
        raw=project,
        retention_known=retention_known,
        retention_gap=gap,
    )


def no_project_read(where: str) -> str:
    """The ``incomplete`` reason of a snapshot without a single project: nothing was
    simulated, which is never an all-clear."""
    return (
        f"no project was read from {where}: nothing was simulated; an account that sees no "
        "project (anonymous, or a robot without access to any) lists none; read with an "
        "account that sees the projects, or name them with --project"
    )


def parse_snapshot(data: Any, origin: str) -> Snapshot:
    """Builds a Snapshot, raising InputError naming the file and field on any defect."""
    return _parse(data, origin)


def _parse(data: Any, origin: str, read: RepositoryReader = _repository,
           listed: Sequence[Sequence[str]] | None = None) -> Snapshot:
    """``listed``: per project, the names of the repositories it lists, when its entries'
    ``repositories`` are left empty (a stream reads them later)."""
    try:
        if not isinstance(data, Mapping):
            raise _Bad("(top level)", f"is {_type(data)}, not a snapshot object; write one with "
                       "`harborguard snapshot --harbor URL --project P -o FILE`")
        schema = data.get("schema")
        if schema != SNAPSHOT_SCHEMA:
            raise _Bad("schema", f"is {schema!r}, expected {SNAPSHOT_SCHEMA!r} (a file written by "
                       "`harborguard snapshot`)")
        harbor = data.get("harbor")
        if harbor is not None and not isinstance(harbor, str):
            _wrong("harbor", harbor)
        version = data.get("harbor_version")  # absent or null for anonymous users
        if version is not None and not isinstance(version, str):
            _wrong("harbor_version", version)
        taken_at = None
        if "taken_at" in data:  # may be left out of a hand-made snapshot: then --now or now
            taken_at = _need(data, "taken_at", str, "")
            _time(taken_at, "taken_at")
        incomplete_raw = data.get("incomplete")
        if incomplete_raw is None:
            incomplete_raw = []
        elif not isinstance(incomplete_raw, list):
            _wrong("incomplete", incomplete_raw)
        incomplete = []
        for i, item in enumerate(incomplete_raw):
            if not isinstance(item, Mapping):
                raise _Bad(f"incomplete[{i}]", "must be an object with 'what' and 'reason'")
            incomplete.append(
                Incomplete(
                    what=_need(item, "what", str, f"incomplete[{i}]"),
                    reason=_need(item, "reason", str, f"incomplete[{i}]"),
                )
            )
        projects_raw = _need(data, "projects", list, "")
        projects = tuple(
            _project(p, f"projects[{i}]", read, incomplete,
                     None if listed is None else listed[i])
            for i, p in enumerate(projects_raw)
        )
        found = repeated_name_problem("projects", [p.name for p in projects], "the snapshot")
        if found is not None:
            incomplete.append(found)
    except _Bad as exc:
        raise InputError(f"{origin}: {exc}") from None
    if not projects and not any(item.what == "projects" for item in incomplete):
        incomplete.append(Incomplete("projects", no_project_read(origin)))
    return Snapshot(
        # A hand-made snapshot may hold user:password@: never shown (docs/DESIGN.md, Secrets).
        harbor=mask_url(harbor) if harbor else harbor,
        harbor_version=version,
        taken_at=taken_at,
        projects=projects,
        incomplete=tuple(incomplete),
    )


# A snapshot read from a pipe or device (its size unknown until read) stops here: a
# million artifacts is 366 MB. A regular file is read whole, whatever its size.
MAX_STREAM_BYTES = 2 << 30
STDIN = "-"


def _read_snapshot_bytes(path: str) -> bytes:
    # "-": standard input (a pipe: `harborguard snapshot ... -o - | ...`, `< FILE`).
    with (open(0, "rb", closefd=False) if path == STDIN else open(path, "rb")) as handle:
        if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return handle.read()
        first = handle.read(1 << 16)
        if b"\0" in first:  # /dev/zero, a binary: no JSON or YAML text holds NUL
            raise InputError(f"{path}: not a snapshot (binary data, not JSON or YAML text)")
        raw = first + handle.read(MAX_STREAM_BYTES + 1 - len(first))
    if len(raw) > MAX_STREAM_BYTES:
        raise InputError(f"{path}: more than {MAX_STREAM_BYTES >> 30} GiB from a pipe or "
                         "device; write the snapshot to a file first")
    return raw


def load_snapshot(path: str) -> Snapshot:
    return snapshot_from_bytes(read_snapshot_file(path), path)


def read_snapshot_file(path: str) -> bytes:
    """The snapshot file's bytes (a pipe's too, up to MAX_STREAM_BYTES)."""
    try:
        return _read_snapshot_bytes(path)
    except FileNotFoundError:
        raise InputError(f"{path}: snapshot file not found; write one with `harborguard "
                         "snapshot --harbor URL --project P -o FILE`") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read snapshot: {exc}") from None


def snapshot_from_bytes(raw: bytes, path: str) -> Snapshot:
    """The snapshot file ``path`` read whole from its bytes; InputError says what is wrong."""
    try:
        if raw.lstrip().startswith(b"{") and (raw.isascii() or raw.decode("utf-8")):
            return _fast(raw, path)
    except (_NotFast, UnicodeDecodeError):
        pass  # said below, as the hand-written reader says it
    try:
        # As a text file reads: UTF-8, and any line ending read as "\n".
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read snapshot: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            data = jsonio.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
    else:
        data = load_json_or_yaml(text, path)
    return parse_snapshot(data, path)
