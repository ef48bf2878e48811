"""The fast snapshot reader: msgspec decodes a snapshot into typed structures in C.

Split from snapshot.py (the hand-written reader, which this one must equal or decline to
read); tests/test_snapshot_fast.py holds the two equal.
"""

from __future__ import annotations

import json
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any

import msgspec

from harborguard import jsonio
from harborguard.errors import InputError
from harborguard.model import Artifact, Blob, Repository, Snapshot
from harborguard.timeutil import (
    SECONDS_CACHE,
    cache_seconds_of,
    parse_seconds,
)

# The fast reader: msgspec decodes the snapshot into these typed structures in C, checking
# every type the hand-written reader checks and skipping every field harborguard does not
# read (most of a Harbor artifact's). A file it cannot take (a wrong type anywhere, a
# whole float for a size, a time in another spelling, ...) is read by the hand-written
# path, which accepts or names the field exactly as it always has; so the fast reader
# either gives the same Snapshot or none.


# A push or pull time missing ("", which no time reads as) or null (a decode error): the
# hand-written reader says which field it is (exit 2), never a default.
class _Tag(msgspec.Struct):
    name: str
    push_time: str = ""
    pull_time: str = ""
    immutable: bool | None = None


class _Named(msgspec.Struct):
    name: str


class _Reference(msgspec.Struct):
    child_digest: str


class _Blob(msgspec.Struct):
    digest: str
    size: Annotated[int, msgspec.Meta(ge=0)]
    media_type: str


class _Artifact(msgspec.Struct):
    digest: str
    push_time: str = ""
    pull_time: str = ""
    tags: list[_Tag] | None = None
    size: Annotated[int, msgspec.Meta(ge=0)] | None = None
    type: str | None = None
    references: list[_Reference] | None = None
    labels: list[_Named] | None = None
    blobs: list[_Blob] | None = None


class _RepositoryRecord(msgspec.Struct):
    name: str
    artifact_count: Annotated[int, msgspec.Meta(ge=0)] | None = None


class _Repository(msgspec.Struct):
    repository: _RepositoryRecord
    artifacts: list[_Artifact]
    additions: dict[str, dict[str, str]] | None = None


class _RepositoryName(msgspec.Struct):
    repository: _Named


_ABSENT = msgspec.Raw()


class _Project(msgspec.Struct):
    """A project entry; its own fields are read by the hand-written code, its repositories
    (the bulk of the file) are kept undecoded until a part reads its own."""

    repositories: list[msgspec.Raw]
    project: msgspec.Raw = _ABSENT
    retention: msgspec.Raw = _ABSENT
    immutable_rules: msgspec.Raw = _ABSENT


class _Top(msgspec.Struct):
    projects: list[_Project]
    schema: msgspec.Raw = _ABSENT
    harbor: msgspec.Raw = _ABSENT
    harbor_version: msgspec.Raw = _ABSENT
    taken_at: msgspec.Raw = _ABSENT
    incomplete: msgspec.Raw = _ABSENT


_TOP = msgspec.json.Decoder(_Top)
_REPOSITORY = msgspec.json.Decoder(_Repository)
_REPOSITORY_NAME = msgspec.json.Decoder(_RepositoryName)
_HEADER = ("schema", "harbor", "harbor_version", "taken_at", "incomplete")
_OWN = ("project", "retention", "immutable_rules")
_PUSH = attrgetter("push_time")
_PULL = attrgetter("pull_time")
_TAGS = attrgetter("tags")
_NAME = attrgetter("name")
# RecursionError: nested past msgspec's limit; the hand-written reader then says where.
_DECODE_ERRORS = (*jsonio.DecodeErrors, json.JSONDecodeError, RecursionError)


class _NotFast(Exception):
    """The fast reader does not take this file: read it by hand."""


def _fast(data: bytes, origin: str) -> Snapshot:
    try:
        top = _TOP.decode(data)
        header: dict[str, Any] = {
            key: jsonio.loads(getattr(top, key)) for key in _HEADER if getattr(top, key)
        }
        projects = []
        for entry in top.projects:
            project: dict[str, Any] = {
                key: jsonio.loads(getattr(entry, key)) for key in _OWN if getattr(entry, key)
            }
            project["repositories"] = entry.repositories
            projects.append(project)
    except _DECODE_ERRORS:
        raise _NotFast from None
    header["projects"] = projects
    # Every repository decoded first, so that their times are converted in one batch
    # (timeutil.cache_seconds_of).
    entries: dict[int, _Repository] = {}
    try:
        for p in top.projects:
            for raw in p.repositories:
                entries[id(raw)] = _REPOSITORY.decode(raw)
    except _DECODE_ERRORS:
        raise _NotFast from None
    found = list(chain.from_iterable(e.artifacts for e in entries.values()))
    tags = list(chain.from_iterable(filter(None, map(_TAGS, found))))
    cache_seconds_of(filter(None, chain(map(_PUSH, found), map(_PULL, found),
                                         map(_PUSH, tags), map(_PULL, tags))))

    def read(raw: Any, where: str) -> Repository:
        return _fast_repository(entries[id(raw)])

    from harborguard.snapshot import _parse  # the hand-written reader, which imports this

    try:
        return _parse(header, origin, read)
    except InputError:
        raise _NotFast from None


def _fast_repository(entry: _Repository) -> Repository:
    cached = SECONDS_CACHE.get
    artifacts: list[Artifact] = []
    append = artifacts.append
    new = tuple.__new__
    for a in entry.artifacts:
        text = a.push_time
        created = cached(text) or _seconds(text)
        text = a.pull_time
        pull = cached(text) or _seconds(text)
        push = created
        names: tuple[str, ...] = ()
        immutable = False
        tags = a.tags
        if tags:
            names = (tags[0].name,) if len(tags) == 1 else tuple(map(_NAME, tags))
            for tag in tags:
                text = tag.push_time
                seconds = cached(text) or _seconds(text)
                if seconds > push:
                    push = seconds
                text = tag.pull_time
                seconds = cached(text) or _seconds(text)
                if seconds > pull:
                    pull = seconds
                if tag.immutable:
                    immutable = True
        append(new(Artifact, (  # Artifact(...) without its Python-level __new__
            a.digest,
            names,
            a.type or "",
            a.size or 0,
            push,
            pull,
            created,
            tuple(r.child_digest for r in a.references) if a.references else (),
            tuple(label.name for label in a.labels) if a.labels else (),
            immutable,
        )))
    additions = {} if entry.additions is None else entry.additions
    blobs = {
        a.digest: tuple(Blob(b.digest, b.size, b.media_type) for b in a.blobs)
        for a in entry.artifacts if a.blobs is not None
    }
    return Repository(name=entry.repository.name, artifacts=tuple(artifacts),
                      additions=additions, blobs=blobs,
                      artifact_count=entry.repository.artifact_count)


def _seconds(text: str) -> int:
    """A time the bulk conversion did not take (or 0, which the cache cannot tell from a
    miss): parse_seconds's answer, or the hand-written reader says what is wrong (a time
    missing too)."""
    try:
        return parse_seconds(text)
    except ValueError:
        raise _NotFast from None


