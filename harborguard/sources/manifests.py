"""Evidence from a deployment repository's working tree (``--manifests DIR --environment ENV``).

Understands the toolforge-deploy layout (``components/<name>/helmfile.yaml`` with
``values/<env>.yaml[.gotmpl]``), Helm values anywhere, and plain Kubernetes YAML. Templates
are never executed (see gotmpl.py). One file that cannot be read is named in ``problems``
and the others are still read: a bad file must not hide the usages in the rest.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from harborguard.errors import InputError
from harborguard.evidence import Usage
from harborguard.sources import gotmpl
from harborguard.sources.charttemplates import template_images
from harborguard.sources.chartusages import (
    ChartValues,
    UnknownChart,
    component_usages,
    unknown_chart,
)
from harborguard.sources.fstree import (
    JSON_SUFFIX,
    WERF_CHART,
    FsReader,
    chart_file,
    chart_folders,
    yaml_files,
)
from harborguard.sources.gitops import kustomize_helm_charts, scan_gitops
from harborguard.sources.helmchart import ChartImages, chart_images, merge_values
from harborguard.sources.helmfile import (
    Component,
    HelmfileRead,
    ValuesFile,
    load_values_file,
    read_helmfile,
    values_lookup,
)
from harborguard.sources.helmlayers import TreeReader
from harborguard.sources.helmvalues import (
    GLOBAL_REGISTRY,
    ImageSpec,
    Unresolved,
    resolve_image,
    scan_values,
    with_global_registry,
)
from harborguard.sources.imageoverrides import (
    argocd_source_file,
    is_argocd_source_file,
    rename_only,
)
from harborguard.sources.jsonmanifests import read_json_objects
from harborguard.sources.kubeyaml import is_kubernetes_object, scan_kubernetes
from harborguard.sources.localchart import read_local_chart, release_images, templated_images
from harborguard.sources.manifestfiles import (
    ENV_VALUES,
    KUSTOMIZATIONS,
    beside_values,
    component_name,
    for_environment,
    governing_helmfile,
    is_env_values,
    is_helmfile,
    values_only_component,
)

__all__ = [
    "ChartImages",
    "ChartValues",
    "Component",
    "ManifestEvidence",
    "UnknownChart",
    "Unresolved",
    "chart_images",
    "component_usages",
    "read_manifests",
]


@dataclass(frozen=True, slots=True)
class ManifestEvidence:
    root: str
    environment: str
    usages: tuple[Usage, ...]
    components: tuple[Component, ...]
    # One line per file that could not be read or parsed: "<path>: <why>".
    problems: tuple[str, ...]
    # Values naming a version or an image that only running the templates would tell.
    unresolved: tuple[Unresolved, ...]
    files_read: int
    # Every environment the helmfiles name (empty without helmfiles).
    environments: tuple[str, ...] = ()
    unknown_charts: tuple[UnknownChart, ...] = ()


def read_manifests(
    root: str,
    environment: str,
    *,
    chart_values: ChartValues | None = None,
    image_tag_template: str | None = None,
) -> ManifestEvidence:
    """Usages the manifests under ``root`` declare for ``environment``.

    ``chart_values`` looks up a chart version's values.yaml (from a snapshot's additions or
    live from Harbor); ``image_tag_template`` (``{version}_image``) names the image tag a
    chart version deploys. Without either, a chart's images are ``unresolved``, never
    silently absent. Raises InputError when ``root`` is not a directory.
    """
    base = Path(root)
    if not base.is_dir():
        what = "does not exist" if not base.exists() else "is not a directory"
        raise InputError(
            f"--manifests {root}: {what}; pass the deployment repository's checkout "
            "(the folder holding components/)"
        )
    if not environment:
        raise InputError("--environment is empty; name the environment, e.g. tools")
    files, unfollowed = yaml_files(base)
    return read_tree(
        FsReader(base),
        files,
        str(root),
        environment,
        base.name,
        chart_values=chart_values,
        image_tag_template=image_tag_template,
        problems=unfollowed,
    )


def read_tree(
    reader: TreeReader,
    files: list[str],
    root: str,
    environment: str,
    fallback_name: str,
    *,
    chart_values: ChartValues | None = None,
    image_tag_template: str | None = None,
    problems: list[str] | None = None,
) -> ManifestEvidence:
    """read_manifests over any tree: the working tree, or a commit of the history."""
    scan = _Scan(reader, environment, fallback_name)
    scan.problems.extend(problems or ())
    scan.run(files)
    scan.resolve_pending()
    unknown: list[UnknownChart] = []
    for read in scan.helmfiles.values():
        for component, where in read.unversioned:
            unknown.append(UnknownChart(
                component.chart_ref or "?", where, component.name,
                f"release {component.release or '?'} of {component.chart_ref} names no chart "
                "version, so helm deploys whatever is newest when it runs: what it deploys "
                "is unknown; write the chart version (or chartVersion in the environment's "
                "values file)"))
    for component in scan.components:
        if component.chart_path is not None:
            scan.local_chart(component)
            continue
        if not _charted(component):
            # A chart not in a registry: what its release's values files, inline `values:`
            # maps and `set:` entries set, merged in helm's order (`set:` wins), is evidence.
            merged = merge_values([], scan.release_images(component))
            scan._standalone(tuple(merged), component.name, component)
            continue
        found, hidden = component_usages(
            component,
            scan.release_images(component),
            chart_values=chart_values,
            image_tag_template=image_tag_template,
            source="manifests",
            kind="declared",
        )
        scan.usages.extend(found)
        scan.unresolved.extend(hidden)
        found_unknown = unknown_chart(component, hidden)
        if found_unknown is not None:
            unknown.append(found_unknown)
    for directory in scan.unnamed_charts:
        # Deployed by what names its folder (an Argo CD Application, CI's helm upgrade,
        # werf): read as a release of it with its own values only.
        scan.chart_folder(directory, None, component_name(posixpath.join(directory, "values.yaml")))
    return ManifestEvidence(
        root=root,
        environment=environment,
        usages=tuple(dict.fromkeys(scan.usages)),
        components=tuple(scan.components),
        problems=tuple(dict.fromkeys(scan.problems)),
        unresolved=tuple(dict.fromkeys(scan.unresolved)),
        files_read=scan.files_read,
        environments=tuple(sorted(set().union(
            *(h.environments for h in scan.helmfiles.values()),
            (m[1] for f in scan.files if (m := ENV_VALUES.search(f)) is not None)))),
        unknown_charts=tuple(unknown),
    )


class _Scan:
    """One pass over the tree: helmfiles first (they say which values each release uses)."""

    def __init__(self, reader: TreeReader, environment: str, fallback_name: str) -> None:
        self.reader = reader
        self.environment = environment
        self.fallback_name = fallback_name
        self.usages: list[Usage] = []
        self.unresolved: list[Unresolved] = []
        self.problems: list[str] = []
        self.components: list[Component] = []
        self.files_read = 0
        self.files: list[str] = []
        self.helmfiles: dict[str, HelmfileRead] = {}  # folder -> what its helmfile says
        self.claims: dict[str, list[Component]] = {}  # values file -> releases using it
        self.file_images: dict[str, list[ImageSpec]] = {}  # release values file -> images
        # Images of values files of local charts, resolved once every file is read (a
        # release's `global.imageRegistry` may sit in another of its values files).
        self.pending: list[tuple[str, tuple[ImageSpec, ...], str | None]] = []
        # A local chart's values.yaml -> its images (under its releases' values).
        self.chart_values: dict[str, list[ImageSpec]] = {}
        self.local_values: set[str] = set()
        self.loaded: dict[str, ValuesFile] = {}  # every values file read, by path
        # Chart folders of the tree no helmfile release names (read once, as charts).
        self.unnamed_charts: list[str] = []
        self.charts: set[str] = set()  # every chart folder of the tree

    def run(self, files: list[str]) -> None:
        self.files = files
        self.charts = charts = chart_folders(files)
        files = [path for path in files if not chart_file(path, charts)]  # read as charts
        for path in files:
            if is_helmfile(path):
                self._helmfile(path)
        named = {posixpath.normpath(c.chart_path) for c in self.components if c.chart_path}
        self.unnamed_charts = sorted(c for c in charts if posixpath.normpath(c) not in named)
        self.local_values.update(posixpath.join(c, "values.yaml") for c in self.unnamed_charts)
        others = set().union(*(h.environments for h in self.helmfiles.values()))
        others.discard(self.environment)
        for path in files:
            if path.endswith(JSON_SUFFIX) and path not in self.claims:
                self._json(path)
            # A file a release lists is read for it whatever its name (values/common.yaml).
            elif not is_helmfile(path) and (
                path in self.claims or for_environment(path, self.environment, others)
            ):
                self._file(path)

    def local_chart(self, component: Component) -> None:
        """A release of a chart folder in the tree: its values, appVersion and templates."""
        self.chart_folder(component.chart_path or "", component, component.name)

    def chart_folder(self, directory: str, component: Component | None,
                     name: str | None) -> None:
        """A chart folder, as ``component`` (a helmfile release of it) or alone."""
        werf = posixpath.basename(directory) == WERF_CHART  # Chart.yaml optional
        chart = read_local_chart(self.reader, directory, chart_yaml_optional=werf)
        if component is not None:
            variants = [component.values_files]
        else:  # which values files its deployer passes is not in the tree: each one alone
            variants = [(), *((p,) for p in beside_values(directory, self.loaded, self.charts))]
        if chart is None:
            # No Chart.yaml there: what the release's values set is evidence as written.
            self._standalone(tuple(self.release_images(component)) if component else (),
                             name, component)
            return
        self.files_read += chart.files_read
        self.problems.extend(chart.problems)
        chart_specs = self.chart_values.get(posixpath.join(directory, "values.yaml"), [])
        for values_files in variants:
            release = ([s for p in values_files for s in self.file_images.get(p, ())]
                       + (self.inline_images(component) if component is not None else []))
            lookup = self._values_of(directory, component, values_files)
            templated, hidden = templated_images(chart, lookup, name)
            self.unresolved.extend(hidden)
            specs = release_images(chart, chart_specs, release)
            objects, hidden = template_images(chart, lookup, name, specs)
            self.unresolved.extend(hidden)
            self.usages.extend(Usage("manifests", "declared", image.ref, f"{path}:{image.line}",
                                     digest=image.digest, component=name,
                                     environment=self.environment)
                               for path, image in objects)
            self._standalone(tuple(specs + templated), name, component)

    def _values_of(self, directory: str, component: Component | None,
                   values_files: tuple[str, ...]) -> gotmpl.ValuesLookup:
        """``.Values.x`` of a local chart's release: its values.yaml under the release's
        values files and inline maps, under its ``set:`` entries, as helm merges them."""
        own = posixpath.join(directory, "values.yaml")
        files = [self.loaded[p] for p in (own, *values_files) if p in self.loaded]
        files += [v for read in self.helmfiles.values()
                  for owner, v in read.inline_values if owner is component]
        sets = {name: found for read in self.helmfiles.values()
                for owner, entries in read.set_values if owner is component
                for name, found in entries.items()}
        merged = values_lookup(files)

        def lookup(dotted: str) -> tuple[str, str] | None | bool:
            return sets[dotted] if dotted in sets else merged(dotted)

        return lookup

    def release_images(self, component: Component) -> list[ImageSpec]:
        """The images a release's values set, in the order Helm merges them."""
        images: list[ImageSpec] = []
        for path in component.values_files:
            images.extend(self.file_images.get(path, ()))
        return images + self.inline_images(component)

    def inline_images(self, component: Component) -> list[ImageSpec]:
        """Images set in the helmfile itself: inline values, then ``set:`` entries."""
        return [
            spec
            for read in self.helmfiles.values()
            for owner, inline in read.inline_images
            if owner is component
            for spec in inline
        ]

    def _helmfile(self, path: str) -> None:
        name = component_name(path) or self.fallback_name
        read = read_helmfile(self.reader, path, self.environment, name)
        self.files_read += 1
        self.helmfiles[posixpath.dirname(path)] = read
        self.problems.extend(read.problems)
        self.unresolved.extend(read.unresolved)
        self.components.extend(read.components)
        for component in read.components:
            for values_path in component.values_files:
                self.claims.setdefault(values_path, []).append(component)
            if component.chart_path is not None:
                self.local_values.add(posixpath.join(component.chart_path, "values.yaml"))

    def _json(self, path: str) -> None:
        """Kubernetes objects written as JSON; other JSON (package.json) is not read."""
        loaded = read_json_objects(self.reader, path)
        if loaded is not None:
            self.files_read += 1
        if isinstance(loaded, str):
            self.problems.append(loaded)
        elif loaded is not None:
            for document in loaded.documents:
                self._kubernetes(document, loaded, component_name(path))

    def _file(self, path: str) -> None:
        owner = governing_helmfile(path, self.helmfiles)
        lookup = owner.lookup() if owner is not None else None
        values = path in self.claims or is_env_values(path, self.environment)
        loaded = load_values_file(self.reader, path, self.environment, lookup, values=values)
        if loaded is None:
            return
        self.files_read += 1
        if isinstance(loaded, str):
            self.problems.append(loaded)
            return
        self.loaded[path] = loaded
        charted = any(_charted(c) or c.chart_path is not None
                      for c in self.claims.get(path, ()))
        local_values = path in self.local_values
        claimed = self.claims.get(path)
        name = claimed[0].name if claimed else component_name(path)
        lines = loaded.rendered.lines
        for document in loaded.documents:
            if posixpath.basename(path) in KUSTOMIZATIONS:
                folder = posixpath.basename(posixpath.dirname(path)) or self.fallback_name
                charts, hidden = kustomize_helm_charts(
                    document, path, lines, self.environment, name or folder)
                self.components.extend(charts)
                self.unresolved.extend(hidden)
            if is_argocd_source_file(path):
                # Argo CD applies it over the Application of this path: what runs.
                found = argocd_source_file(document, path, lines)
                self.unresolved.extend(_owned(found.unresolved, name))
                self._standalone(tuple(found.images), name)
                continue
            if gotmpl.is_mapping(document) and is_kubernetes_object(document):
                self._kubernetes(document, loaded, name)
                continue
            scan = scan_values(document, path, lines)
            self.unresolved.extend(_owned(scan.unresolved, name))
            if posixpath.basename(path) in KUSTOMIZATIONS:
                # Tagged `images:` overrides are read above; a rename keeps an unknown tag.
                hidden = rename_only(gotmpl.get(document, "images"), path, lines)
                self.unresolved.extend(_owned(hidden, name))
            if local_values:
                # A local chart's own values.yaml: resolved with its releases' values.
                self.chart_values.setdefault(path, []).extend(scan.images)
            else:
                # Helm merges these over the chart's own values: resolved with the chart.
                self.file_images.setdefault(path, []).extend(scan.images)
                if not charted:
                    self.pending.append((path, scan.images, name))
        if owner is None and is_env_values(path, self.environment):
            orphan = values_only_component(loaded, path, self.environment, self.fallback_name)
            if orphan is not None:
                self.components.append(orphan[0])
                self.unresolved.append(orphan[1])

    def resolve_pending(self) -> None:
        for path, images, name in self.pending:
            if path in self.claims:
                continue  # read with the values of the releases that list it
            self._standalone(images, name)

    def _kubernetes(self, document: Node, loaded: ValuesFile, name: str | None) -> None:
        gitops = scan_gitops(document, loaded.path, loaded.rendered.lines)
        if gitops is not None:  # a Flux HelmRelease, an Argo CD Application
            self.unresolved.extend(_owned(gitops.unresolved, name))
            self._standalone(tuple(gitops.images), name)
            return
        containers, hidden = scan_kubernetes(document, loaded.path, loaded.rendered.lines)
        self.usages.extend(
            Usage(
                "manifests",
                "declared",
                image.ref,
                f"{loaded.path}:{image.line}",
                digest=image.digest,
                component=name,
                environment=self.environment,
            )
            for image in containers
        )
        self.unresolved.extend(_owned(hidden, name))

    def _standalone(
        self, images: tuple[ImageSpec, ...], name: str | None, release: Component | None = None
    ) -> None:
        """Images resolved as written (no chart values to merge), with the release's
        ``global.imageRegistry`` from whichever of its values files sets it last."""
        registry = None
        for spec in self.release_images(release) if release is not None else ():
            if spec.path == GLOBAL_REGISTRY:
                registry = spec.fields["registry"]
        if registry is not None:
            images = tuple(with_global_registry(list(images), registry))
        for spec in images:
            if spec.path == GLOBAL_REGISTRY:
                continue  # applied to the images of its values file by scan_values
            result = resolve_image(spec)
            if isinstance(result, str):
                named = spec.naming_field
                where = f"{named.file}:{named.line}"
                self.unresolved.append(Unresolved(where, named.text, result, name))
                continue
            self.usages.append(
                Usage(
                    "manifests",
                    "declared",
                    result.ref,
                    f"{result.pin.file}:{result.pin.line}",
                    digest=result.digest,
                    component=name,
                    environment=self.environment,
                )
            )


def _charted(component: Component) -> bool:
    """A chart version that is an artifact in a registry: worth protecting."""
    return bool(
        component.oci and component.chart_ref and component.chart_version and component.declared_at
    )


def _owned(found: tuple[Unresolved, ...] | list[Unresolved], name: str | None) -> list[Unresolved]:
    return [Unresolved(u.where, u.text, u.reason, u.component or name) for u in found]
