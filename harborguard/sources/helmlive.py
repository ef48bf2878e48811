"""What a live release runs and what ``helm rollback`` brings back, asked of helm itself.

``helm list`` names a release's chart, not its values: a release installed with
``--set image.tag=1.0.0`` runs that tag whatever the chart's values.yaml says. Per release,
``helm history`` names the revisions Helm keeps (``--history-max``, 10 by default: the
rollback window, as old ReplicaSets are for ``kubectl rollout undo``), and
``helm get values -a -o json`` gives each revision's computed values (the chart's defaults
with the release's values over them), which are scanned for images as any values file is.
A release whose values or history cannot be read is named (gather.py takes it from
``helm list``, as ``--helm-json`` is, and the verdict says what was not checked).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from harborguard import jsonio
from harborguard.errors import SourceError
from harborguard.evidence import Usage, UsageKind
from harborguard.model import Incomplete
from harborguard.sources.process import run_tool

if TYPE_CHECKING:
    from harborguard.sources.helm import HelmRelease, ReleaseEvidence

# helm calls at once: each waits on the cluster's API, not on this process.
WORKERS = 8
_ACCESS = "check the kube context and your access (helm get values needs to read the release"\
          " secrets), or use --helm-json FILE (helm list only)"


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    status: str
    chart: str  # "<chart name>-<chart version>", as helm list prints it
    values: str  # the computed values, as YAML text


@dataclass(frozen=True, slots=True)
class LiveRelease:
    """A release's revision that runs (the one ``helm history`` says is deployed, else the
    one ``helm list`` names) and the earlier revisions a ``helm rollback`` brings back."""

    current: Revision
    earlier: tuple[Revision, ...]
    deployed: bool  # history names a deployed revision (what runs is known)


@dataclass(frozen=True, slots=True)
class LiveChart:
    """A chart a release read live needs, as ``helm list`` and ``helm history`` print it."""

    chart: str  # "<chart name>-<chart version>"
    kind: UsageKind  # declared: it runs, or a retry of the last operation pulls it
    where: str  # "NS/HelmRelease/NAME", with " revision N" for a rollback target
    revision: int


def live_charts(release: HelmRelease, read: LiveRelease, where: str) -> list[LiveChart]:
    """The charts a live release needs from the registry: the running revision's (the one
    history says is deployed), and the one ``helm list`` names when its last operation
    failed or is pending (a retry of that upgrade pulls it). Not those of the earlier
    revisions Helm keeps: Helm stores each revision's chart in the release itself, and
    ``helm rollback`` re-applies it from there, pulling only the images (which are
    rollback evidence, ``live_images``)."""
    charts = [LiveChart(read.current.chart, "declared", where, read.current.number)]
    if release.chart != read.current.chart:
        charts.append(LiveChart(release.chart, "declared", where, release.revision))
    return charts


def values_command(release: HelmRelease, revision: int | None = None,
                   executable: str = "helm") -> list[str]:
    extra = [] if revision is None else ["--revision", str(revision)]
    return [executable, "get", "values", release.name, "-n", release.namespace, *extra,
            "-a", "-o", "json"]


def history_command(release: HelmRelease, executable: str = "helm") -> list[str]:
    return [executable, "history", release.name, "-n", release.namespace, "-o", "json"]


def read_live(releases: Sequence[HelmRelease], *, timeout: float, executable: str = "helm"
              ) -> tuple[dict[tuple[str, str], LiveRelease], list[Incomplete]]:
    """Each release's values and history; a release that cannot be read is returned as an
    Incomplete item saying why (the caller decides what it costs)."""
    found: dict[tuple[str, str], LiveRelease] = {}
    unread: list[Incomplete] = []

    def one(release: HelmRelease) -> LiveRelease | Incomplete:
        try:
            return read_release(release, timeout=timeout, executable=executable)
        except SourceError as exc:
            return Incomplete(what=f"helm release {release.namespace}/{release.name}",
                              reason=f"{exc} (its values and rollback targets were not read)")

    if not releases:
        return found, unread
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(releases))) as pool:
        for release, result in zip(releases, pool.map(one, releases), strict=True):
            if isinstance(result, Incomplete):
                unread.append(result)
            else:
                found[(release.namespace, release.name)] = result
    return found, unread


def read_release(release: HelmRelease, *, timeout: float, executable: str = "helm"
                 ) -> LiveRelease:
    """Raises SourceError (one line, naming the command) when helm fails or prints
    something that is not what helm 3 prints."""
    history = parse_history(_json(history_command(release, executable), timeout),
                            shlex.join(history_command(release, executable)))
    deployed = [entry for entry in history if entry[1] == "deployed"]
    if deployed:
        number, status, chart = max(deployed)
    else:
        number, status, chart = release.revision, release.status, release.chart
    latest = max((entry[0] for entry in history), default=release.revision)

    def values(revision: int) -> str:
        # The latest revision without --revision: `helm get values RELEASE -a -o json`.
        command = values_command(release, None if revision == latest else revision, executable)
        return parse_values(_json(command, timeout), shlex.join(command))

    current = Revision(number, status, chart, values(number))
    earlier = tuple(Revision(n, s, c, values(n)) for n, s, c in sorted(history, reverse=True)
                    if n != number and s not in ("uninstalled", "uninstalling"))
    return LiveRelease(current, earlier, bool(deployed))


def parse_history(data: Any, shown: str) -> list[tuple[int, str, str]]:
    """``(revision, status, chart)`` per entry of ``helm history -o json``."""
    if not isinstance(data, list):
        raise SourceError(f"`{shown}` printed JSON that is not the list of revisions helm "
                          "history prints")
    out = []
    for index, item in enumerate(data):
        revision = item.get("revision") if isinstance(item, dict) else None
        chart = item.get("chart") if isinstance(item, dict) else None
        if isinstance(revision, bool) or not isinstance(revision, int | str):
            revision = None
        try:
            number = int(revision) if revision is not None else None
        except ValueError:
            number = None
        if number is None or not isinstance(chart, str) or not isinstance(item, dict):
            raise SourceError(f"`{shown}` printed an entry [{index}] without a revision "
                              "number and a chart")
        out.append((number, str(item.get("status") or ""), chart))
    return out


def parse_values(data: Any, shown: str) -> str:
    """The computed values as YAML text (what the values scanner reads); helm prints
    ``null`` for a release without values."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError(f"`{shown}` printed JSON that is not a map of values")
    # One line per scalar (no folding at 80 columns): findings quote the line.
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=1 << 30)


def _json(command: list[str], timeout: float) -> Any:
    shown = shlex.join(command)
    out = run_tool(command, timeout=timeout, tool="helm", file_option="--helm-json FILE",
                   access_hint=_ACCESS)
    try:
        return jsonio.loads(out)
    except ValueError:
        raise SourceError(
            f"`{shown}` printed output that is not JSON; run it by hand to see what it prints"
        ) from None


# -- the values read as evidence ----------------------------------------------------------


def live_images(out: ReleaseEvidence, release: HelmRelease, where: str, read: LiveRelease,
                chart_ref: str | None, chart_name: str | None, image_tag_template: str | None,
                names: set[str], component: str | None, environment: str | None, *,
                ours: bool, project: str | None = None) -> None:
    """The images the running revision's values name (declared) and those of the earlier
    revisions Helm keeps (rollback). ``chart_ref``: the chart's repository in this Harbor
    (None: a chart from elsewhere, whose unresolved images count only when they name this
    Harbor); ``ours``: the chart is this Harbor's, so an image that cannot be told makes
    the run incomplete."""
    from harborguard.findings import Finding
    from harborguard.redact import mask_userinfo, redact_yaml
    from harborguard.sources.helm import split_chart
    from harborguard.sources.helmchart import chart_images

    declared: set[str] = set()
    unknown: list[str] = []
    kinds: list[tuple[Revision, UsageKind]] = [(read.current, "declared")]
    kinds.extend((earlier, "rollback") for earlier in read.earlier)
    for revision, kind in kinds:
        version = split_chart(revision.chart, chart_name) if chart_name else None
        at = where if kind == "declared" else f"{where} revision {revision.number}"
        template = image_tag_template if version is not None and chart_ref else None
        images = chart_images(revision.values, version or "", template, repository=chart_ref,
                              declared_at=at)
        for image in images.images:
            if kind == "rollback" and image.ref in declared:
                continue  # what runs now is declared already
            if kind == "declared":
                declared.add(image.ref)
            usage = Usage("helm", kind, image.ref, at, digest=image.digest,
                          component=component, environment=environment)
            if usage not in out.usages:
                out.usages.append(usage)
        for item in images.unresolved:
            if not ours and not any(name in item.text.lower() for name in names):
                continue  # another registry's chart naming another registry's images
            finding = Finding(
                code="unresolved-reference",
                project=None if project is None else project.split("/", 1)[0],
                repository=project, component=component, environment=environment,
                message=mask_userinfo(f"{item.where}: {redact_yaml(item.text).strip()}: "
                                      f"{item.reason}"
                                      + (" (a rollback target)" if kind == "rollback" else "")))
            if finding not in out.findings:
                out.findings.append(finding)
            if kind == "declared":
                unknown.append(item.where)
    if unknown:
        incomplete = Incomplete(
            what=f"helm release {release.namespace}/{release.name}",
            reason=f"the images its values (`helm get values -a`, revision "
            f"{read.current.number}) name cannot all be told (what the release runs is not "
            "checked; see the unresolved-reference findings); give --image-tag-template, "
            "e.g. '{version}_image', or --kubectl to see what runs")
        if incomplete not in out.incomplete:
            out.incomplete.append(incomplete)
