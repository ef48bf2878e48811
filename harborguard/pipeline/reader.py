"""The snapshot as a stream of repositories.

``open_stream`` decodes the whole file's structure in one msgspec call: the document must
be valid JSON and a snapshot (its header and every project's own fields are read and
checked here, before anything is evaluated or written), while each repository stays
``msgspec.Raw``, bytes of the file, decoded only when its turn comes (``repository``). A
file this reader does not take (YAML, a field only the hand-written reader accepts or
names: see snapshot.py) gives None; the caller then reads it whole, which accepts it or
says what is wrong exactly as it always has.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

import msgspec

from harborguard import jsonio
from harborguard.errors import InputError
from harborguard.model import Incomplete, Project, Repository, Snapshot
from harborguard.snapshot import _Bad, _parse, _repository
from harborguard.snapshotcounts import repository_count_problem
from harborguard.snapshotfast import (
    _DECODE_ERRORS,
    _HEADER,
    _OWN,
    _PULL,
    _PUSH,
    _REPOSITORY,
    _REPOSITORY_NAME,
    _TAGS,
    _TOP,
    _fast_repository,
    _NotFast,
)
from harborguard.timeutil import SECONDS_CACHE, cache_seconds_of, forget_times


class ProjectEntry(NamedTuple):
    """A project's own fields (``project.repositories`` is empty), its repositories'
    names, and each repository's undecoded bytes (or, read whole, the repository)."""

    project: Project
    names: tuple[str, ...]
    raws: Sequence[msgspec.Raw | Repository]


class Stream(NamedTuple):
    harbor: str | None
    harbor_version: str | None
    taken_at: str | None
    incomplete: tuple[Incomplete, ...]
    projects: tuple[ProjectEntry, ...]


class Unreadable(Exception):
    """A repository this reader does not take: the run is done by the whole reader."""


def open_stream(data: bytes, origin: str) -> Stream | None:
    """The snapshot file ``data`` as a stream, or None (read it whole)."""
    try:
        if not data.isascii():
            data.decode("utf-8")
        top = _TOP.decode(data)
        header: dict[str, Any] = {
            key: jsonio.loads(getattr(top, key)) for key in _HEADER if getattr(top, key)
        }
        projects = []
        names = []
        for entry in top.projects:
            project: dict[str, Any] = {
                key: jsonio.loads(getattr(entry, key)) for key in _OWN if getattr(entry, key)
            }
            project["repositories"] = []
            projects.append(project)
            names.append(tuple(map(_name, entry.repositories)))
        header["projects"] = projects
        snapshot = _parse(header, origin, listed=names)
    except (*_DECODE_ERRORS, UnicodeDecodeError, _NotFast, InputError):
        return None
    return Stream(
        snapshot.harbor, snapshot.harbor_version, snapshot.taken_at, snapshot.incomplete,
        tuple(ProjectEntry(project, found, entry.repositories)
              for project, found, entry in zip(snapshot.projects, names, top.projects,
                                               strict=True)),
    )


def stream_of(snapshot: Snapshot) -> Stream:
    """A snapshot already read whole (a live read, a YAML file) as a stream."""
    return Stream(snapshot.harbor, snapshot.harbor_version, snapshot.taken_at,
                  snapshot.incomplete,
                  tuple(ProjectEntry(dataclasses.replace(project, repositories=()),
                                     tuple(repo.name for repo in project.repositories),
                                     project.repositories)
                        for project in snapshot.projects))


EMPTY = Stream(None, None, None, (), ())


# What `json.dumps` and `harborguard snapshot` write first in a repository entry: its name
# is read from there without decoding the rest; anything else is decoded.
_NAME_FIRST = re.compile(rb'\{\s*"repository"\s*:\s*\{\s*"name"\s*:\s*"([^"\\]*)"\s*[,}]')


def _name(raw: msgspec.Raw) -> str:
    found = _NAME_FIRST.match(memoryview(raw))
    if found is not None:
        try:
            return str(found[1].decode("utf-8"))
        except UnicodeDecodeError:
            pass
    try:
        return str(_REPOSITORY_NAME.decode(raw).repository.name)
    except _DECODE_ERRORS:
        raise _NotFast from None


# Past this many cached time texts the caches are emptied: a stream's memory must not
# grow with the snapshot. 0: they hold one repository's times, emptied before the next is
# read; dictionaries that stay small stay in the processor's cache (a repository's times
# are few of another's), and 1,000,000 artifacts' times convert in 1.2 s instead of 2.0 s
# with a cap of 200,000.
_CACHE_CAP = 0


def repository(raw: msgspec.Raw | Repository, where: str) -> Repository:
    """One repository entry decoded (one read whole is as it is); ``where`` names it for
    the hand-written reader, which takes what msgspec does not (a whole float for a
    size, ...). Unreadable: the entry is wrong, and the whole reader is to say how."""
    if isinstance(raw, Repository):
        return raw
    if len(SECONDS_CACHE) > _CACHE_CAP:
        forget_times()
    try:
        entry = _REPOSITORY.decode(raw)
        found = entry.artifacts
        tags = list(chain.from_iterable(filter(None, map(_TAGS, found))))
        cache_seconds_of(filter(None, chain(map(_PUSH, found), map(_PULL, found),
                                             map(_PUSH, tags), map(_PULL, tags))))
        decoded = _fast_repository(entry)
    except (*_DECODE_ERRORS, _NotFast):
        try:
            decoded = _repository(jsonio.loads(raw), where)
        except (_Bad, ValueError, RecursionError):
            raise Unreadable(where) from None
    if repository_count_problem(decoded) is not None:
        raise Unreadable(where)  # read whole, which names the partial list (incomplete)
    return decoded
