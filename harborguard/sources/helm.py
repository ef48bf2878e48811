"""What Helm says runs: ``helm list --all-namespaces -o json``, run here or saved to a file.

A release's ``chart`` field is ``<chart name>-<chart version>``, and both parts may contain
dashes (``ingress-nginx-4.0.1``, ``builds-api-0.0.130-20240221160838-03b2a120``), so it is
split with the chart name the helmfile gives, never guessed.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harborguard import jsonio
from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage
from harborguard.sources.process import run_tool

# `--max 0`: without it helm stops at 256 releases and says nothing.
HELM_ARGS = ("list", "--all-namespaces", "--max", "0", "-o", "json")
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
        version = self.version(chart_name)
        if version is None:
            return None
        return Usage(
            "helm",
            "declared",
            f"{chart_repository.removeprefix('oci://').rstrip('/')}/{chart_name}:{version}",
            f"{self.namespace}/HelmRelease/{self.name}",
            component=component,
            environment=environment,
            chart=True,
        )


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
    """Reads ``--helm-json FILE`` (saved ``helm list -o json`` output); InputError if unusable."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = jsonio.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected `helm list -o json` output") from None
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


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
