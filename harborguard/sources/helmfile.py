"""Helmfile components: which chart, from which repository, at which version, per environment.

Works on any tree that can read a file and list a folder (the working tree, or a commit of
the git history), so the rollback window resolves charts exactly as HEAD does.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import yaml
from yaml.nodes import Node, ScalarNode

from harborguard.sources import gotmpl
from harborguard.sources.helmbranches import branches, unread_values_entry
from harborguard.sources.helmlayers import (
    Parsed,
    Repository,
    TreeReader,
    UnreadableFile,
    bases,
    merged,
    names_a_repository,
    parse,
    read_base,
    read_repositories,
    split_chart,
)
from harborguard.sources.helmscalar import helmfile_text
from harborguard.sources.helmset import set_images
from harborguard.sources.helmvalues import ImageSpec, Unresolved, scan_values
from harborguard.sources.yamlshape import at, kind_of, release_problems, shape_problems

HELMFILE_NAMES = frozenset({"helmfile.yaml", "helmfile.yml", "helmfile.yaml.gotmpl"})
_VALUES_SUFFIXES = (".yaml.gotmpl", ".yml.gotmpl", ".yaml", ".yml")


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
    chart_path: str | None = None  # a chart folder in the tree (`chart: ./chart`), from its root

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
    # Releases of a repository's chart that name no version: (release, "path:line").
    unversioned: list[tuple[Component, str]] = field(default_factory=list)
    # Values a release writes in the helmfile, in helm's order: inline `values:` maps, then
    # `set:`/`setString:` as {dotted name: (value, "path:line")} (a local chart's templates).
    inline_values: list[tuple[Component, ValuesFile]] = field(default_factory=list)
    set_values: list[tuple[Component, dict[str, tuple[str, str]]]] = field(
        default_factory=list)

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
    def lookup(dotted: str) -> tuple[str, str] | None | bool:
        parent, _, key = dotted.rpartition(".")
        for values in reversed(files):  # later files override earlier ones, as in helmfile
            scope = gotmpl.get_path(values.root, parent) if parent else values.root
            written = [node for name, _k, node in gotmpl.items(scope) if name == key]
            node = written[-1] if written else None
            value = gotmpl.scalar(node)
            if node is not None and value is not None:
                if len({gotmpl.scalar(other) for other in written}) > 1:
                    return False  # `{{ if }}` branches, masked: which one helmfile reads is unknown
                return helmfile_text(node), f"{values.path}:{gotmpl.line_of(node)}"
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
    first = parse(text, path, environment, None, result.problems)
    if first is None:
        return result
    layers_read = bases(reader, path, first, environment, result.problems)
    layers = [*((b, p, posixpath.dirname(p)) for p, b in layers_read), (first, path, directory)]
    result.environments = {
        key
        for parsed, _p, _d in layers
        for node in merged(parsed, "environments")
        for key, _k, _v in gotmpl.items(node)
    }
    chosen: list[tuple[Node | None, Parsed, str, str]] = [
        (env, parsed, where, folder)
        for parsed, where, folder in layers
        for node in merged(parsed, "environments")
        if (env := gotmpl.get(node, environment)) is not None
    ]
    if result.environments and not chosen:
        return result  # this component is not deployed to that environment
    if not chosen:
        chosen = [(None, first, path, directory)]
    for env_node, parsed, where, folder in chosen:
        # A base's relative paths are its own folder's; the including helmfile's as well.
        folders = list(dict.fromkeys((folder, directory)))
        _load_env_values(reader, where, folders, environment, env_node, parsed.rendered, result)
    second = parse(text, path, environment, result.lookup(), result.problems)
    if second is None:
        return result
    result.problems.extend(shape_problems(second.documents, path))
    repositories: dict[str, Repository] = {}
    for base_path, _base in layers_read:
        again = read_base(reader, base_path, environment, result.lookup(), result.problems)
        if again is not None:
            repositories.update(read_repositories(again))
    repositories.update(read_repositories(second))
    for documents_node in merged(second.documents, "releases"):
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
            found = built.component
            result.components.append(found)
            result.unresolved.extend(built.unresolved)
            result.problems.extend(built.problems)
            if built.unversioned_at is not None:
                result.unversioned.append((found, built.unversioned_at))
            result.set_values.append((found, _set_values(release, path)))
            for node in built.inline:
                result.inline_values.append((found, ValuesFile(path, second.rendered, (node,))))
                scan = scan_values(node, path, second.rendered.lines)
                result.inline_images.append((found, scan.images))
                result.unresolved.extend(
                    Unresolved(u.where, u.text, u.reason, component) for u in scan.unresolved
                )
            if built.overrides:
                result.inline_images.append((found, tuple(built.overrides)))
    return result


def _load_env_values(
    reader: TreeReader,
    path: str,
    directories: list[str],
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
        for directory in directories:
            matched = reader.glob(posixpath.normpath(posixpath.join(directory, written)))
            if matched:
                paths.extend(matched)
                break
    if not entries:
        # No environment values listed: the toolforge-deploy convention.
        paths = [
            p for c in env_values_candidates(directories[-1], environment) for p in reader.glob(c)
        ]
    for values_path in dict.fromkeys(paths):
        loaded = load_values_file(reader, values_path, environment, values=True)
        if isinstance(loaded, str):
            result.problems.append(loaded)
        elif loaded is not None:
            result.env_values.append(loaded)
    for entry in entries:
        if gotmpl.is_mapping(entry):
            result.env_values.append(ValuesFile(path, rendered, (entry,)))


def _component(
    release: Node,
    path: str,
    directory: str,
    environment: str,
    component: str,
    repositories: dict[str, Repository],
    parsed: Parsed,
    reader: TreeReader,
) -> _Built | None:
    lines = parsed.rendered.lines

    def quote(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    installed = gotmpl.scalar(gotmpl.get(release, "installed"))
    if installed is not None and installed.lower() == "false":
        return None
    name = gotmpl.scalar(gotmpl.get(release, "name"))
    namespace = gotmpl.scalar(gotmpl.get(release, "namespace"))
    unresolved: list[Unresolved] = []
    problems: list[str] = []
    chart_node = gotmpl.get(release, "chart")
    chart_text = gotmpl.scalar(chart_node)
    chart: str | None = None
    chart_path: str | None = None
    repository: Repository | None = None
    if chart_node is not None and chart_text is not None:
        if gotmpl.is_templated(chart_text):
            line = gotmpl.line_of(chart_node)
            unresolved.append(
                Unresolved(
                    f"{path}:{line}", quote(line), "the chart is set by a template", component
                )
            )
        else:
            chart, repository = split_chart(chart_text, repositories)
            as_written = chart_text.strip().rstrip("/")
            local = posixpath.normpath(posixpath.join(directory, as_written))
            if repository is None and not as_written.startswith(("/", "oci://")) and not (
                    local == ".." or local.startswith("../")):
                chart_path = local
            if repository is None and names_a_repository(chart_text, directory, reader):
                chart_path = None
                line = gotmpl.line_of(chart_node)
                known = ", ".join(sorted(repositories)) or "none"
                unresolved.append(Unresolved(
                    f"{path}:{line}", quote(line),
                    f"the chart's repository {chart_text.split('/', 1)[0]!r} is not one this "
                    f"helmfile or its bases define (known: {known}), so which chart and "
                    "registry it names is unknown", component))
    version_node = gotmpl.get(release, "version")
    version = gotmpl.scalar(version_node)
    declared_at: str | None = None
    unversioned_at: str | None = None
    if version_node is not None and version is not None:
        line = gotmpl.line_of(version_node)
        if gotmpl.is_templated(version):
            if repository is not None:
                # What the release deploys is unknown: the run is incomplete.
                problems.append(
                    f"{path}:{line}: the chart version of {repository.url}/{chart} is set "
                    f"by a template that cannot be resolved ({quote(line)}); set "
                    "chartVersion in the environment's values file, or write the version"
                )
            else:
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
        unversioned_at = f"{path}:{line}"
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
    kept = branches("\n".join(lines), environment)
    handler = gotmpl.scalar(gotmpl.get(release, "missingFileHandler")) or next(
        (h for n in merged(parsed, "missingFileHandler") if (h := gotmpl.scalar(n))), "Error")
    for entry in gotmpl.sequence(gotmpl.get(release, "values")):
        written = gotmpl.scalar(entry)
        line = gotmpl.line_of(entry)
        if line in kept.excluded:
            continue  # listed only for other environments (`{{ if eq .Environment.Name }}`)
        if line in kept.undecided:
            unresolved.append(Unresolved(
                f"{path}:{line}", quote(line),
                f"release {name or '?'} lists this values entry under a condition that "
                f"cannot be evaluated (line {kept.undecided[line]}: "
                f"{quote(kept.undecided[line])}), so whether it is read is unknown", component))
            continue
        if written is not None and not gotmpl.is_templated(written):
            matched = reader.glob(posixpath.normpath(posixpath.join(directory, written)))
            why = unread_values_entry(written, bool(matched), handler.lower() != "error")
            if why is not None and (chart_path is not None or (repository and repository.oci)):
                # A chart of the tree or of an OCI registry (this Harbor's, maybe): what
                # it deploys is unknown, so the run is incomplete.
                problems.append(
                    f"{path}:{line}: release {name or '?'}: values file {written.strip()!r} {why}")
            elif why is not None:
                unresolved.append(Unresolved(
                    f"{path}:{line}", quote(line),
                    f"release {name or '?'}: values file {written.strip()!r} {why}", component))
            values_files.extend(matched)
        elif written is not None:
            problems.append(
                f"{path}:{gotmpl.line_of(entry)}: release {name or '?'}: a values file named "
                "by a template that could not be resolved; it was not read (write its path)"
            )
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
        chart_path=chart_path,
    )
    overrides, hidden = set_images(release, path, lines, component)
    return _Built(found, unresolved + hidden, inline, overrides, problems, unversioned_at)


@dataclass(frozen=True, slots=True)
class _Built:
    component: Component
    unresolved: list[Unresolved]
    inline: list[Node]  # values maps written in the release
    overrides: list[ImageSpec]  # from `set:` / `setString:`, applied after every values file
    problems: list[str]
    unversioned_at: str | None = None  # a repository's chart with no version: helm takes the newest


def _set_values(release: Node, path: str) -> dict[str, tuple[str, str]]:
    """A release's plain ``set:``/``setString:`` entries: dotted name -> (value, where)."""
    found: dict[str, tuple[str, str]] = {}
    for key in ("set", "setString"):
        for entry in gotmpl.sequence(gotmpl.get(release, key)):
            name = gotmpl.scalar(gotmpl.get(entry, "name"))
            node = gotmpl.get(entry, "value")
            value = gotmpl.scalar(node)
            if name is not None and node is not None and value is not None:
                found[name] = (value.strip(), f"{path}:{gotmpl.line_of(node)}")
    return found
