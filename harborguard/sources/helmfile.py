"""Helmfile components: which chart, from which repository, at which version, per environment.

Works on any tree that can read a file and list a folder (the working tree, or a commit of
the git history), so the rollback window resolves charts exactly as HEAD does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Protocol

import yaml
from yaml.nodes import Node, ScalarNode

from harborguard.sources import gotmpl
from harborguard.sources.helmvalues import ImageSpec, Unresolved, scan_values
from harborguard.sources.yamlshape import at, kind_of, release_problems, shape_problems

HELMFILE_NAMES = frozenset({"helmfile.yaml", "helmfile.yml", "helmfile.yaml.gotmpl"})
_VALUES_SUFFIXES = (".yaml.gotmpl", ".yml.gotmpl", ".yaml", ".yml")


class UnreadableFile(Exception):
    """A file exists but cannot be read as text; the message says why."""


class TreeReader(Protocol):
    def read(self, path: str) -> str | None:
        """The file's text, None when it does not exist; UnreadableFile otherwise."""

    def glob(self, pattern: str) -> list[str]:
        """Paths (relative, '/'-separated) matching a helmfile values glob, sorted."""


@dataclass(frozen=True, slots=True)
class Component:
    name: str  # components/<name>
    environment: str
    release: str | None  # the helmfile release name (drift matches on it and the namespace)
    namespace: str | None
    chart: str | None  # chart name, e.g. "builds-api"
    chart_repository: str | None  # repository URL as the helmfile gives it, without oci://
    oci: bool  # charts of an OCI repository are artifacts in a registry (Harbor)
    chart_version: str | None
    declared_at: str | None  # "path:line" of the line that names the chart version
    values_files: tuple[str, ...] = ()  # release values files (env values included)

    @property
    def chart_ref(self) -> str | None:
        """``tools-harbor.wmcloud.org/toolforge/builds-api``: the Harbor repository."""
        if self.chart_repository is None or self.chart is None:
            return None
        return f"{self.chart_repository.rstrip('/')}/{self.chart}"


@dataclass(frozen=True, slots=True)
class ValuesFile:
    path: str
    rendered: gotmpl.Rendered
    documents: tuple[Node, ...]

    @property
    def root(self) -> Node | None:
        """The first document: Helm and helmfile read values from it."""
        return self.documents[0] if self.documents else None


@dataclass(slots=True)
class HelmfileRead:
    components: list[Component] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    environments: set[str] = field(default_factory=set)  # every environment it defines
    env_values: list[ValuesFile] = field(default_factory=list)
    # Images in values written inline in a release (`values: [{image: ...}]`).
    inline_images: list[tuple[Component, tuple[ImageSpec, ...]]] = field(default_factory=list)

    def lookup(self) -> gotmpl.ValuesLookup:
        return values_lookup(self.env_values)


def values_stem(name: str) -> str | None:
    """``tools.yaml.gotmpl`` -> ``tools``; None for a file that is not YAML."""
    for suffix in _VALUES_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def env_values_candidates(directory: str, environment: str) -> list[str]:
    """The names an environment's values file has had (tools.yaml became tools.yaml.gotmpl)."""
    base = posixpath.join(directory, "values", environment)
    return [base + suffix for suffix in (".yaml", ".yml", ".yaml.gotmpl", ".yml.gotmpl")]


def load_values_file(
    reader: TreeReader,
    path: str,
    environment: str,
    lookup: gotmpl.ValuesLookup | None = None,
    *,
    values: bool = False,
) -> ValuesFile | str | None:
    """A values file rendered (for .gotmpl) and parsed; a problem line; None if absent.

    ``values``: the file is a release's (or an environment's) values, which Helm reads as
    a map; anything else, or a ``chartVersion`` that is not a plain value, is a problem.
    """
    try:
        text = reader.read(path)
    except UnreadableFile as exc:
        return f"{path}: {exc}"
    if text is None:
        return None
    rendered = (
        gotmpl.render(text, environment, lookup)
        if path.endswith(".gotmpl")
        else gotmpl.Rendered(text, tuple(text.split("\n")), {})
    )
    try:
        documents = gotmpl.compose(rendered.text)
    except yaml.YAMLError as exc:
        return f"{path}: {gotmpl.yaml_error(exc)}"
    if values and documents:
        root = documents[0]
        if not gotmpl.is_mapping(root) and kind_of(root) != "null":
            return f"{path}: expected a map of values, got {kind_of(root)}{at(root)}"
        version = gotmpl.get(root, "chartVersion")
        if version is not None and not isinstance(version, ScalarNode):
            return f"{path}: chartVersion: expected a string, got {kind_of(version)}{at(version)}"
    return ValuesFile(path, rendered, tuple(documents))


def values_lookup(files: list[ValuesFile]) -> gotmpl.ValuesLookup:
    def lookup(dotted: str) -> tuple[str, str] | None:
        for values in reversed(files):  # later files override earlier ones, as in helmfile
            node = gotmpl.get_path(values.root, dotted)
            value = gotmpl.scalar(node)
            if node is not None and value is not None:
                return value, f"{values.path}:{gotmpl.line_of(node)}"
        return None

    return lookup


def chart_version_of(values: ValuesFile) -> tuple[str, int] | None:
    node = gotmpl.get(values.root, "chartVersion")
    value = gotmpl.scalar(node)
    if node is None or value is None or gotmpl.is_templated(value):
        return None
    return value, gotmpl.line_of(node)


def read_helmfile(reader: TreeReader, path: str, environment: str, component: str) -> HelmfileRead:
    """The releases a helmfile deploys in one environment, with their charts resolved."""
    result = HelmfileRead()
    directory = posixpath.dirname(path)
    try:
        text = reader.read(path)
    except UnreadableFile as exc:
        result.problems.append(f"{path}: {exc}")
        return result
    if text is None:
        return result
    # First pass: environments and repositories need only .Environment.Name.
    first = _parse(text, path, environment, None, result)
    if first is None:
        return result
    environments = _merged(first, "environments")
    result.environments = {key for node in environments for key, _k, _v in gotmpl.items(node)}
    env_node: Node | None = None
    for node in environments:
        env_node = gotmpl.get(node, environment) or env_node
    if result.environments and env_node is None:
        return result  # this component is not deployed to that environment
    _load_env_values(reader, path, directory, environment, env_node, first.rendered, result)
    second = _parse(text, path, environment, result.lookup(), result)
    if second is None:
        return result
    result.problems.extend(shape_problems(second.documents, path))
    repositories = _repositories(second)
    for documents_node in _merged(second.documents, "releases"):
        for index, release in enumerate(gotmpl.sequence(documents_node)):
            wrong = release_problems(release, f"{path}: releases[{index}]")
            if wrong:
                # Not read as helmfile would read it: named, so the run is incomplete.
                result.problems.extend(wrong)
                continue
            built = _component(
                release, path, directory, environment, component, repositories, second, reader
            )
            if built is None:
                continue
            found, unresolved, inline = built
            result.components.append(found)
            result.unresolved.extend(unresolved)
            for node in inline:
                scan = scan_values(node, path, second.rendered.lines)
                result.inline_images.append((found, scan.images))
                result.unresolved.extend(
                    Unresolved(u.where, u.text, u.reason, component) for u in scan.unresolved
                )
    return result


@dataclass(frozen=True, slots=True)
class _Parsed:
    documents: list[Node]
    rendered: gotmpl.Rendered


def _parse(
    text: str,
    path: str,
    environment: str,
    lookup: gotmpl.ValuesLookup | None,
    result: HelmfileRead,
) -> _Parsed | None:
    rendered = gotmpl.render(text, environment, lookup)
    try:
        return _Parsed(gotmpl.compose(rendered.text), rendered)
    except yaml.YAMLError as exc:
        result.problems.append(f"{path}: {gotmpl.yaml_error(exc)}")
        return None


def _merged(parsed: _Parsed | list[Node], key: str) -> list[Node]:
    """``key`` in every document: helmfile layers documents separated by ``---``."""
    documents = parsed.documents if isinstance(parsed, _Parsed) else parsed
    return [node for node in (gotmpl.get(doc, key) for doc in documents) if node is not None]


def _load_env_values(
    reader: TreeReader,
    path: str,
    directory: str,
    environment: str,
    env_node: Node | None,
    rendered: gotmpl.Rendered,
    result: HelmfileRead,
) -> None:
    if env_node is not None and kind_of(env_node) not in ("map", "null"):
        result.problems.append(
            f"{path}: environments.{environment}: expected a map, got "
            f"{kind_of(env_node)}{at(env_node)}"
        )
    listed = gotmpl.get(env_node, "values")
    if listed is not None and kind_of(listed) not in ("list", "null"):
        result.problems.append(
            f"{path}: environments.{environment}.values: expected a list, got "
            f"{kind_of(listed)}{at(listed)}"
        )
    entries = gotmpl.sequence(listed)
    paths: list[str] = []
    for entry in entries:
        written = gotmpl.scalar(entry)
        if written is None:
            continue
        if gotmpl.is_templated(written):
            line = gotmpl.line_of(entry)
            result.problems.append(
                f"{path}:{line}: environment values file {written!r} is named by a template; "
                "it was not read"
            )
            continue
        paths.extend(reader.glob(posixpath.normpath(posixpath.join(directory, written))))
    if not entries:
        # No environment values listed: the toolforge-deploy convention.
        paths = [p for c in env_values_candidates(directory, environment) for p in reader.glob(c)]
    for values_path in dict.fromkeys(paths):
        loaded = load_values_file(reader, values_path, environment, values=True)
        if isinstance(loaded, str):
            result.problems.append(loaded)
        elif loaded is not None:
            result.env_values.append(loaded)
    for entry in entries:
        if gotmpl.is_mapping(entry):
            result.env_values.append(ValuesFile(path, rendered, (entry,)))


@dataclass(frozen=True, slots=True)
class _Repository:
    url: str
    oci: bool


def _repositories(parsed: _Parsed) -> dict[str, _Repository]:
    found: dict[str, _Repository] = {}
    for node in _merged(parsed, "repositories"):
        for repo in gotmpl.sequence(node):
            name = gotmpl.scalar(gotmpl.get(repo, "name"))
            url = gotmpl.scalar(gotmpl.get(repo, "url"))
            if not name or not url or gotmpl.is_templated(url):
                continue
            oci_flag = (gotmpl.scalar(gotmpl.get(repo, "oci")) or "").lower() == "true"
            oci = oci_flag or url.startswith("oci://")
            found[name] = _Repository(url.removeprefix("oci://").rstrip("/"), oci)
    return found


_LOCAL_CHART = re.compile(r"^(\.{1,2}/|/)")


def _component(
    release: Node,
    path: str,
    directory: str,
    environment: str,
    component: str,
    repositories: dict[str, _Repository],
    parsed: _Parsed,
    reader: TreeReader,
) -> tuple[Component, list[Unresolved], list[Node]] | None:
    lines = parsed.rendered.lines

    def quote(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    installed = gotmpl.scalar(gotmpl.get(release, "installed"))
    if installed is not None and installed.lower() == "false":
        return None
    name = gotmpl.scalar(gotmpl.get(release, "name"))
    namespace = gotmpl.scalar(gotmpl.get(release, "namespace"))
    unresolved: list[Unresolved] = []
    chart_node = gotmpl.get(release, "chart")
    chart_text = gotmpl.scalar(chart_node)
    chart: str | None = None
    repository: _Repository | None = None
    if chart_node is not None and chart_text is not None:
        if gotmpl.is_templated(chart_text):
            line = gotmpl.line_of(chart_node)
            unresolved.append(
                Unresolved(
                    f"{path}:{line}", quote(line), "the chart is set by a template", component
                )
            )
        else:
            chart, repository = _split_chart(chart_text, repositories)
    version_node = gotmpl.get(release, "version")
    version = gotmpl.scalar(version_node)
    declared_at: str | None = None
    if version_node is not None and version is not None:
        line = gotmpl.line_of(version_node)
        if gotmpl.is_templated(version):
            unresolved.append(
                Unresolved(
                    f"{path}:{line}",
                    quote(line),
                    "the chart version is set by a template that cannot be resolved",
                    component,
                )
            )
            version = None
        else:
            declared_at = parsed.rendered.origins.get(line, f"{path}:{line}")
    elif chart is not None and repository is not None:
        line = gotmpl.line_of(release)
        unresolved.append(
            Unresolved(
                f"{path}:{line}",
                quote(line),
                f"release {name or '?'} names no chart version (helm would take the newest)",
                component,
            )
        )
    values_files: list[str] = []
    inline: list[Node] = []
    for entry in gotmpl.sequence(gotmpl.get(release, "values")):
        written = gotmpl.scalar(entry)
        if written is not None and not gotmpl.is_templated(written):
            values_files.extend(reader.glob(posixpath.normpath(posixpath.join(directory, written))))
        elif gotmpl.is_mapping(entry):
            inline.append(entry)
    found = Component(
        name=component,
        environment=environment,
        release=name,
        namespace=namespace,
        chart=chart,
        chart_repository=repository.url if repository else None,
        oci=bool(repository and repository.oci),
        chart_version=version,
        declared_at=declared_at,
        values_files=tuple(dict.fromkeys(values_files)),
    )
    return found, unresolved, inline


def _split_chart(text: str, repositories: dict[str, _Repository]) -> tuple[str, _Repository | None]:
    """``tools/builds-api`` -> the ``tools`` repository; ``oci://host/path/chart`` directly."""
    text = text.strip().rstrip("/")
    if text.startswith("oci://"):
        rest = text.removeprefix("oci://")
        repo, _, chart = rest.rpartition("/")
        return chart, _Repository(repo, True) if repo else None
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
