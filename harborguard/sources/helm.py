"""What Helm says runs: ``helm list --all-namespaces -o json``, run here or saved to a file.

A release's ``chart`` field is ``<chart name>-<chart version>``, and both parts may contain
dashes (``ingress-nginx-4.0.1``, ``builds-api-0.0.130-20240221160838-03b2a120``), so it is
split with the chart name the helmfile gives, never guessed.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harborguard import jsonio
from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage, UsageKind
from harborguard.findings import Finding
from harborguard.inputfile import read_bounded
from harborguard.model import Incomplete, Snapshot
from harborguard.sources.helmlive import LiveChart, live_charts, live_images
from harborguard.sources.helmrepos import (
    ReadHarbor,
    by_repository,
    in_harbor,
    live_by_repository,
    live_chart_repositories,
    release_images,
)
from harborguard.sources.process import run_tool

if TYPE_CHECKING:
    from collections.abc import Mapping

    from harborguard.sources.helmfile import Component
    from harborguard.sources.helmlive import LiveRelease
    from harborguard.sources.manifests import ChartValues

# `--max 0`: without it helm stops at 256 releases and says nothing. `--all`: without it
# helm hides releases whose last operation is pending (pending-install, pending-upgrade,
# pending-rollback), which still run their earlier revision.
HELM_ARGS = ("list", "--all-namespaces", "--all", "--max", "0", "-o", "json")
# What `helm list` prints at most without --max 0, silently.
HELM_LIST_DEFAULT_MAX = 256
# Statuses of a release whose chart no longer runs (uninstalled with --keep-history).
GONE = frozenset({"uninstalled", "uninstalling"})
# A saved `helm list -o json` of thousands of releases is a few MB.
MAX_FILE_BYTES = 256 << 20
# Helm requires SemVer 2 chart versions; a leading "v" is tolerated.
_CHART_VERSION = re.compile(r"^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.+-]*)?$")


@dataclass(frozen=True, slots=True)
class HelmRelease:
    name: str
    namespace: str
    revision: int
    updated: str  # as helm prints it: "2024-02-21 16:30:01.123456 +0000 UTC"
    status: str  # deployed, failed, pending-upgrade, ...
    chart: str  # "<chart name>-<chart version>"
    app_version: str | None
    origin: str  # the command or file it came from

    def version(self, chart_name: str) -> str | None:
        return split_chart(self.chart, chart_name)

    def chart_usage(
        self,
        chart_name: str,
        chart_repository: str,
        *,
        component: str | None = None,
        environment: str | None = None,
    ) -> Usage | None:
        """The chart artifact this release runs, if the chart field splits with that name."""
        return chart_usage(self.chart, chart_name, chart_repository,
                           f"{self.namespace}/HelmRelease/{self.name}", component=component,
                           environment=environment)


def chart_usage(chart_field: str, chart_name: str, chart_repository: str, where: str, *,
                kind: UsageKind = "declared", component: str | None = None,
                environment: str | None = None) -> Usage | None:
    """The chart artifact a ``chart`` field names, if it splits with that chart name."""
    version = split_chart(chart_field, chart_name)
    if version is None:
        return None
    return Usage("helm", kind, f"{chart_repository.removeprefix('oci://').rstrip('/')}/"
                 f"{chart_name}:{version.replace('+', '_')}", where, component=component,
                 environment=environment, chart=True)


def split_chart(chart_field: str, chart_name: str) -> str | None:
    """``("builds-api-0.0.130-2024...", "builds-api")`` -> ``"0.0.130-2024..."``.

    None when the field is not that chart's: a different chart, or a name that is only a
    prefix of the real one ("cert" against "cert-manager-v1.11.0").
    """
    prefix = f"{chart_name}-"
    if not chart_name or not chart_field.startswith(prefix):
        return None
    version = chart_field[len(prefix) :]
    return version if _CHART_VERSION.match(version) else None


def parse_helm_list(data: Any, origin: str) -> list[HelmRelease]:
    """Releases from ``helm list -o json`` output. Raises SourceError naming ``origin``."""
    if not isinstance(data, list):
        raise SourceError(
            f"{origin}: expected the JSON list `helm list -o json` prints, got {_type(data)}"
        )
    releases: list[HelmRelease] = []
    for index, item in enumerate(data):
        where = f"{origin}: release [{index}]"
        if not isinstance(item, dict):
            raise SourceError(f"{where}: expected an object, got {_type(item)}")
        fields: dict[str, str] = {}
        for key in ("name", "namespace", "chart"):
            value = item.get(key)
            if not isinstance(value, str) or not value:
                raise SourceError(f"{where}: `{key}` is missing or not a string")
            fields[key] = value
        revision = item.get("revision", 0)
        try:
            # helm prints the revision as a string ("14"); older versions as a number.
            number = int(revision)
        except (TypeError, ValueError):
            raise SourceError(
                f"{where} ({fields['namespace']}/{fields['name']}): revision {revision!r} "
                "is not a number"
            ) from None
        app_version = item.get("app_version")
        releases.append(
            HelmRelease(
                name=fields["name"],
                namespace=fields["namespace"],
                revision=number,
                updated=str(item.get("updated") or ""),
                status=str(item.get("status") or ""),
                chart=fields["chart"],
                app_version=app_version if isinstance(app_version, str) and app_version else None,
                origin=origin,
            )
        )
    return releases


def cut_by_default_max(releases: Sequence[HelmRelease]) -> str | None:
    """Why a saved ``helm list`` may be cut, if it may: exactly 256 releases is what it
    prints without ``--max 0`` however many there are (not asked of ``--helm``, which
    runs it with ``--max 0``)."""
    if len(releases) != HELM_LIST_DEFAULT_MAX:
        return None
    return (f"exactly {HELM_LIST_DEFAULT_MAX} releases, where `helm list` stops without "
            "--max 0 and says nothing: releases past it are unknown; save it again with "
            f"`{shlex.join(['helm', *HELM_ARGS])}` (--max 0 -a), or use --helm")


def helm_command(executable: str = "helm") -> list[str]:
    return [executable, *HELM_ARGS]


def run_helm(*, timeout: float, executable: str = "helm") -> Any:
    """Runs ``helm list --all-namespaces --max 0 -o json`` and returns the decoded JSON.

    Raises SourceError (one line: the command and the fix) if helm is missing, fails,
    times out or prints something that is not a JSON list.
    """
    command = helm_command(executable)
    shown = shlex.join(command)
    out = run_tool(
        command, timeout=timeout, tool="helm", file_option="--helm-json FILE",
        access_hint="check the kube context and your access (helm list works with the same "
        "credentials)",
    )
    try:
        data = jsonio.loads(out)
    except ValueError:
        raise SourceError(
            f"`{shown}` printed output that is not JSON; run it by hand to see what it prints"
        ) from None
    if not isinstance(data, list):
        raise SourceError(f"`{shown}` printed JSON that is not a list of releases")
    return data


def load_helm_file(path: str | Path) -> list[HelmRelease]:
    """Reads ``--helm-json FILE`` (saved ``helm list -o json`` output, or ``-o yaml``);
    InputError if unusable."""
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)  # a pipe is fine, bounded (not /dev/zero)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if raw is None:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB, the most "
                         "harborguard reads of `helm list -o json` output")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected `helm list -o json` output") from None
    try:
        if text.lstrip()[:1] in ("[", "{", ""):
            data = jsonio.loads(text)
        else:
            data = _helm_yaml(text, path)  # `helm list -o yaml`
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno})"
            + (f": {exc.msg}" if isinstance(exc, jsonio.BeyondLimits) else "")
            + "; expected the output of `helm list --all-namespaces -o json`"
        ) from None
    try:
        return parse_helm_list(data, str(path))
    except SourceError as exc:
        raise InputError(str(exc)) from None


def _helm_yaml(text: str, path: str | Path) -> Any:
    """``helm list -o yaml`` output (a YAML list of the same objects), read within the
    YAML bounds; InputError if it is not YAML."""
    from harborguard import yamlload
    from harborguard.yamlread import LOAD_ERRORS, problem

    try:
        data = yamlload.load(text)
    except LOAD_ERRORS as exc:
        raise InputError(f"{path}: not JSON, nor YAML{problem(exc)}; expected the output "
                         "of `helm list --all-namespaces -o json` (or -o yaml)") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: not JSON, nor the YAML list `helm list -o yaml` prints "
                         f"(got {_type(data)}); expected the output of `helm list "
                         "--all-namespaces -o json` (the table it prints without -o is not "
                         "read)")
    return data


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


# -- releases as evidence -----------------------------------------------------------------


@dataclass
class ReleaseEvidence:
    """What Helm's releases need from Harbor: the chart artifact each deploys, and the
    images that chart runs; with what could not be told (findings, incomplete)."""

    usages: list[Usage] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    incomplete: list[Incomplete] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    charts: int = 0  # releases whose chart was named: by a component, or found in Harbor
    # Releases whose values and history were read (`helm get values`, `helm history`).
    live: set[tuple[str, str]] = field(default_factory=set)


def release_evidence(
    releases: Sequence[HelmRelease],
    components: Sequence[Component],
    environment: str | None,
    *,
    snapshot: Snapshot | None,
    hosts: Sequence[str],
    chart_values: ChartValues | None,
    image_tag_template: str | None,
    live: Mapping[tuple[str, str], LiveRelease] | None = None,
) -> ReleaseEvidence:
    """Each release on its own, or beside the manifests.

    A release whose helmfile component is known (release name and namespace) deploys that
    component's chart. Any other is the chart artifact whose repository's last path segment
    and tag give ``<segment>-<tag>`` = the release's ``chart`` field, among the repositories
    of ``snapshot`` (every such repository counts). Without a snapshot (``drift``) only the
    components' charts are named, and no images. ``hosts``: the names of this Harbor, the
    first the one references are made with. ``live``: the values and history read of
    releases (helmlive.py); their images are read from those values, not from the chart's
    defaults, the chart that runs is the deployed revision's (the one ``helm list`` names
    after a failed or pending upgrade counts too), and their earlier revisions' charts and
    images are rollback evidence.
    """
    from harborguard.check import registry_names

    out = ReleaseEvidence()
    harbor = ReadHarbor({}, hosts[0] if hosts else None, registry_names(hosts), set())
    if snapshot is not None:
        for project in snapshot.projects:
            for repo in project.repositories:
                segment = repo.name.rstrip("/").rsplit("/", 1)[-1]
                harbor.by_segment.setdefault(segment, []).append(repo)
                harbor.held.add(repo.name)
    for release in releases:
        if release.status in GONE:
            continue
        where = f"{release.namespace}/HelmRelease/{release.name}"
        read = (live or {}).get((release.namespace, release.name))
        if read is not None:
            out.live.add((release.namespace, release.name))
        # Read live, the chart that runs is the revision history says is deployed (after a
        # failed or pending upgrade, not the one `helm list` names), and the one `helm list`
        # names is needed too (helmlive.live_charts).
        charts = ([LiveChart(release.chart, "declared", where, release.revision)]
                  if read is None else live_charts(release, read, where))
        component = _component_of(release, [c.chart for c in charts if c.kind == "declared"],
                                  components)
        if component is not None and component.chart and component.chart_repository:
            if read is not None and snapshot is not None:
                _component_live(out, release, where, read, charts, component, environment,
                                harbor, image_tag_template)
                continue
            usage = release.chart_usage(component.chart, component.chart_repository,
                                        component=component.name, environment=environment)
            if usage is not None:
                out.usages.append(usage)
                out.charts += 1
                version = release.version(component.chart) or ""
                chart_ref = usage.ref.rsplit(":", 1)[0]
                if version != component.chart_version and in_harbor(chart_ref, harbor):
                    # A version the manifests do not declare (drift, a rollback): its images
                    # are the chart's own, not the ones the manifests resolved. (A chart
                    # from another registry is that registry's, as for a release alone.)
                    values = chart_values(chart_ref, version) if chart_values else None
                    release_images(out, release, where, chart_ref, version, values,
                                   image_tag_template, component.name, environment)
                continue
        if snapshot is None:
            continue
        if read is None:
            by_repository(out, release, where, harbor, image_tag_template)
        else:
            live_by_repository(out, release, where, read, charts, harbor, image_tag_template)
    return out


def _component_of(release: HelmRelease, fields: Sequence[str],
                  components: Sequence[Component]) -> Component | None:
    """The helmfile component a release deploys: its name and namespace, and a chart field
    (``fields``: the charts it runs or last tried) of the component's chart."""
    for component in components:
        if component.chart is None or component.release != release.name:
            continue
        if component.namespace and component.namespace != release.namespace:
            continue
        if component.chart_repository is None or not component.oci:
            continue
        if all(split_chart(field_, component.chart) is None for field_ in fields):
            continue
        return component
    return None


def _component_live(out: ReleaseEvidence, release: HelmRelease, where: str,
                    read: LiveRelease, charts: Sequence[LiveChart], component: Component,
                    environment: str | None, harbor: ReadHarbor,
                    image_tag_template: str | None) -> None:
    """A component's release read live: each of its charts (a chart of another name, as
    a release alone's), and the images its revisions' values name."""
    assert component.chart is not None and component.chart_repository is not None
    others: list[LiveChart] = []
    for chart in charts:
        usage = chart_usage(chart.chart, component.chart, component.chart_repository,
                            chart.where, kind=chart.kind, component=component.name,
                            environment=environment)
        if usage is None:
            others.append(chart)
        else:
            out.usages.append(usage)
    out.charts += 1
    live_chart_repositories(out, where, read, others, harbor)
    chart_ref = (f"{component.chart_repository.removeprefix('oci://').rstrip('/')}/"
                 f"{component.chart}")
    live_images(out, release, where, read, chart_ref, component.chart, image_tag_template,
                harbor.names, component.name, environment, ours=in_harbor(chart_ref, harbor))

