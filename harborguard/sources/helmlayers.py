"""Helmfile's layers: documents, ``bases:`` files, chart repositories and chart names.

A helmfile is read from its ``bases`` (inside the tree, bounded) up: their repositories and
environments are the helmfile's own. A ``chart: prefix/name`` whose prefix no repository
defines, and that is no local chart folder, names a chart nobody can tell: the caller
reports it as unresolved, never as a local chart.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Protocol

import yaml
from yaml.nodes import Node

from harborguard.sources import gotmpl
from harborguard.sources.yamlshape import at, kind_of


class UnreadableFile(Exception):
    """A file exists but cannot be read as text; the message says why."""


class TreeReader(Protocol):
    def read(self, path: str) -> str | None:
        """The file's text, None when it does not exist; UnreadableFile otherwise."""

    def glob(self, pattern: str) -> list[str]:
        """Paths (relative, '/'-separated) matching a helmfile values glob, sorted."""



@dataclass(frozen=True, slots=True)
class Parsed:
    documents: list[Node]
    rendered: gotmpl.Rendered


def parse(
    text: str,
    path: str,
    environment: str,
    lookup: gotmpl.ValuesLookup | None,
    problems: list[str],
) -> Parsed | None:
    rendered = gotmpl.render(text, environment, lookup)
    try:
        return Parsed(gotmpl.compose(rendered.text), rendered)
    except yaml.YAMLError as exc:
        problems.append(f"{path}: {gotmpl.yaml_error(exc)}")
        return None


def merged(parsed: Parsed | list[Node], key: str) -> list[Node]:
    """``key`` in every document: helmfile layers documents separated by ``---``."""
    documents = parsed.documents if isinstance(parsed, Parsed) else parsed
    return [node for node in (gotmpl.get(doc, key) for doc in documents) if node is not None]


_MAX_BASES = 16  # per helmfile, bases of bases included


def bases(
    reader: TreeReader, path: str, parsed: Parsed, environment: str, problems: list[str]
) -> list[tuple[str, Parsed]]:
    """The ``bases:`` files a helmfile layers under itself (and theirs), inside the tree."""
    found: list[tuple[str, Parsed]] = []
    pending: list[tuple[str, Parsed]] = [(path, parsed)]
    seen = {path}
    while pending:
        owner, owner_parsed = pending.pop(0)
        for listed in merged(owner_parsed, "bases"):
            if kind_of(listed) != "list":
                problems.append(f"{owner}: bases: expected a list, got "
                                       f"{kind_of(listed)}{at(listed)}")
                continue
            for entry in gotmpl.sequence(listed):
                written = gotmpl.scalar(entry)
                if written is None or gotmpl.is_templated(written):
                    problems.append(
                        f"{owner}:{gotmpl.line_of(entry)}: a base helmfile that is not a plain "
                        "file name; its repositories and environments were not read")
                    continue
                base = posixpath.normpath(posixpath.join(posixpath.dirname(owner), written))
                if base in seen:
                    continue
                seen.add(base)
                if base.startswith("../") or base == ".." or len(found) >= _MAX_BASES:
                    why = ("outside --manifests" if base.startswith("..")
                           else f"more than {_MAX_BASES} bases")
                    problems.append(
                        f"{owner}:{gotmpl.line_of(entry)}: base {written!r} is {why}; not "
                        "read, so the repositories and environments it defines are unknown")
                    continue
                loaded = read_base(reader, base, environment, None, problems)
                if loaded is None:
                    continue
                found.append((base, loaded))
                pending.append((base, loaded))
    return found


def read_base(
    reader: TreeReader,
    path: str,
    environment: str,
    lookup: gotmpl.ValuesLookup | None,
    problems: list[str],
) -> Parsed | None:
    try:
        text = reader.read(path)
    except UnreadableFile as exc:
        problems.append(f"{path}: {exc}")
        return None
    if text is None:
        problems.append(f"{path}: a base helmfile that does not exist; the "
                               "repositories and environments it would define are unknown")
        return None
    if lookup is not None:  # the second pass: problems were named by the first
        return parse(text, path, environment, lookup, [])
    return parse(text, path, environment, lookup, problems)



@dataclass(frozen=True, slots=True)
class Repository:
    url: str
    oci: bool


def read_repositories(parsed: Parsed) -> dict[str, Repository]:
    found: dict[str, Repository] = {}
    for node in merged(parsed, "repositories"):
        for repo in gotmpl.sequence(node):
            name = gotmpl.scalar(gotmpl.get(repo, "name"))
            url = gotmpl.scalar(gotmpl.get(repo, "url"))
            if not name or not url or gotmpl.is_templated(url):
                continue
            oci_flag = (gotmpl.scalar(gotmpl.get(repo, "oci")) or "").lower() == "true"
            oci = oci_flag or url.startswith("oci://")
            harbor = _CHARTREPO.match(url)
            if not oci and harbor is not None:
                # Harbor's ChartMuseum API: its charts are artifacts of that Harbor project.
                found[name] = Repository(f"{harbor[1]}/{harbor[2]}", True)
                continue
            found[name] = Repository(url.removeprefix("oci://").rstrip("/"), oci)
    return found


# https://<harbor>/chartrepo/<project>: a Harbor's ChartMuseum repository.
_CHARTREPO = re.compile(r"^https?://([^/@\s]+)/chartrepo/([a-z0-9][a-z0-9._-]*)/?$")


_LOCAL_CHART = re.compile(r"^(\.{1,2}/|/)")



def names_a_repository(text: str, directory: str, reader: TreeReader) -> bool:
    """``prefix/chart`` that is no local chart folder: helmfile reads it as repo/chart."""
    text = text.strip().rstrip("/")
    if _LOCAL_CHART.match(text) or text.startswith("oci://") or text.count("/") != 1:
        return False
    local = posixpath.normpath(posixpath.join(directory, text, "Chart.yaml"))
    try:
        return not reader.glob(local)
    except UnreadableFile:
        return False


def split_chart(text: str, repositories: dict[str, Repository]) -> tuple[str, Repository | None]:
    """``tools/builds-api`` -> the ``tools`` repository; ``oci://host/path/chart`` directly."""
    text = text.strip().rstrip("/")
    if text.startswith("oci://"):
        rest = text.removeprefix("oci://")
        repo, _, chart = rest.rpartition("/")
        return chart, Repository(repo, True) if repo else None
    prefix, slash, chart = text.partition("/")
    if slash and not _LOCAL_CHART.match(text) and prefix in repositories:
        return chart, repositories[prefix]
    # A local chart directory: not an artifact in any registry.
    return posixpath.basename(text), None


def glob_in(paths: list[str], pattern: str) -> list[str]:
    """Helmfile's glob over a known list of paths (``*`` does not cross ``/``)."""
    regex = _glob_regex(pattern)
    return sorted(p for p in paths if regex.match(p))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
    return re.compile("^" + "".join(parts) + "$")
