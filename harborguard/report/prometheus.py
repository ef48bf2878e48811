"""``--format prometheus``: the report as metrics for node_exporter's textfile collector.

What the collector asks of a file (prometheus/node_exporter, collector/textfile.go): no
sample timestamps (a file with one is dropped whole), the same HELP text for a family in
every file of the directory, the same label names for every series of a family (in every
file: client_golang rejects inconsistent label dimensions) and no series twice. So every
family here has fixed HELP and labels whatever the command; ``environment`` is "" for a
command without one, which Prometheus reads as no label. The file is written atomically by
``-o`` (harborguard.outfile: a temporary file renamed into place).

Counts are exported as 0 rather than left out, except where the run could not know them:
on an incomplete run (``harborguard_incomplete`` 1) a zero is never written for what was
counted (findings, artifacts at risk, time undeployed): the data behind it was not all read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from harborguard.findings import SEVERITY

# Codes each command can find, exported as 0 when it found none (other codes are exported
# as they occur). Evidence codes only where evidence of use was given.
POLICY_CODES = ("policy-error", "policy-invalid", "version-order-inversion", "time-tie",
                "version-disorder")
EVIDENCE_CODES = ("in-use-deleted", "rollback-deleted", "in-use-missing", "in-use-expiring",
                  "digest-moved", "unresolved-reference", "foreign-registry",
                  "unmatched-reference")
DRIFT_CODES = ("not-deployed", "not-in-manifests", "unresolved-reference",
               "unmatched-reference")
AT_RISK_KINDS = ("running", "declared", "rollback", "missing")
_AT_RISK_CODES = ("in-use-deleted", "rollback-deleted")

Labels = tuple[tuple[str, str], ...]


class _Family:
    def __init__(self, name: str, kind: str, help_text: str, label_names: tuple[str, ...]):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.label_names = label_names
        self.samples: dict[Labels, float] = {}

    def set(self, value: float, **labels: str) -> None:
        key = tuple((name, labels[name]) for name in self.label_names)
        self.samples[key] = value

    def add(self, value: float, **labels: str) -> None:
        key = tuple((name, labels[name]) for name in self.label_names)
        self.samples[key] = self.samples.get(key, 0) + value

    def lines(self) -> Iterable[str]:
        if not self.samples:
            return
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels in sorted(self.samples):
            inner = ",".join(f'{name}="{escape_label(value)}"' for name, value in labels)
            yield f"{self.name}{{{inner}}} {_number(self.samples[labels])}"


def escape_label(value: str) -> str:
    """A label value in the text format: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def incomplete_source(what: str, report: dict[str, Any]) -> str:
    """Which source an incomplete item belongs to: kubectl, helm, git-history, manifests,
    evidence (no reference named this Harbor) or harbor (projects, repositories, the
    snapshot)."""
    if what.startswith("kubectl"):
        return "kubectl"
    if what.startswith("helm"):
        return "helm"
    if what.startswith("git history"):
        return "git-history"
    if what == "evidence of use":
        return "evidence"
    roots = [str(e["what"]) for e in report.get("evidence", []) if e["source"] == "manifests"]
    if report["source"].get("manifests"):
        roots.append(str(report["source"]["manifests"]))
    if any(what == root or what.startswith((root.rstrip("/") + "/", root + " "))
           for root in roots):
        return "manifests"
    return "harbor"


def _codes(report: dict[str, Any], command: str) -> tuple[str, ...]:
    if command == "drift":
        return DRIFT_CODES
    if command in ("check", "diff") and report.get("evidence"):
        return POLICY_CODES + EVIDENCE_CODES
    return POLICY_CODES


def render(report: dict[str, Any], colour: bool = False, width: int = 0,
           **options: Any) -> str:
    """``options``: ``run_at`` (seconds since the epoch: when the run happened; default
    the report's ``now``, which for a snapshot is the time it was taken)."""
    command = str(report.get("command") or "simulate")
    environment = str(report["source"].get("environment") or "")
    incomplete = bool(report["incomplete"])
    base = {"command": command, "environment": environment}
    families = []

    build = _Family("harborguard_build_info", "gauge",
                    "harborguard's version, always 1.", ("command", "environment", "version"))
    build.set(1, version=str(report["tool"]).removeprefix("harborguard "), **base)
    families.append(build)

    last = _Family("harborguard_last_run_timestamp_seconds", "gauge",
                   "When the run that wrote these metrics happened, in seconds since the "
                   "epoch (alert when it is too old: a run that fails leaves the old file).",
                   ("command", "environment"))
    run_at = options.get("run_at")
    last.set(int(run_at) if run_at is not None else int(_epoch(report["now"])), **base)
    families.append(last)

    flag = _Family("harborguard_incomplete", "gauge",
                   "1 when something could not be fetched or parsed (exit 3): the counts are "
                   "then lower bounds and zeros are left out.", ("command", "environment"))
    flag.set(1 if incomplete else 0, **base)
    families.append(flag)

    sources = _Family("harborguard_incomplete_sources", "gauge",
                      "Items that could not be read, per source (harbor, kubectl, helm, "
                      "manifests, git-history, evidence).", ("command", "environment", "source"))
    if command != "drift":
        sources.set(0, source="harbor", **base)
    for entry in report.get("evidence", []):
        sources.set(0, source=str(entry["source"]), **base)
    for item in report["incomplete"]:
        sources.add(1, source=incomplete_source(str(item["what"]), report), **base)
    families.append(sources)

    families.append(_findings(report, command, base, incomplete))
    if command == "drift":
        families.append(_undeployed(report, environment, incomplete))
    if command == "check":
        families.append(_at_risk(report, environment, incomplete))
    return "".join(line + "\n" for family in families for line in family.lines())


def _findings(report: dict[str, Any], command: str, base: dict[str, str],
              incomplete: bool) -> _Family:
    family = _Family("harborguard_findings", "gauge",
                     "Findings of each code (docs: the report's findings).",
                     ("command", "environment", "severity", "code", "project"))
    counts: Counter[tuple[str, str, str]] = Counter(
        (str(f["severity"]), str(f["code"]), str(f["project"] or ""))
        for f in report["findings"])
    if not incomplete:
        projects = [str(p["project"]) for p in report.get("projects", [])] or [""]
        for code in _codes(report, command):
            for project in projects:
                counts.setdefault((SEVERITY[code], code, project), 0)
    for (severity, code, project), n in counts.items():
        family.set(n, severity=severity, code=code, project=project, **base)
    return family


def _undeployed(report: dict[str, Any], environment: str, incomplete: bool) -> _Family:
    """Seconds since the commit that put an undeployed version into the manifests; 0 for
    a component whose declared version runs. Left out when that commit is unknown."""
    family = _Family("harborguard_undeployed_seconds", "gauge",
                     "Seconds since the first-parent commit that put a version not deployed "
                     "into the manifests; 0 when the declared version runs.",
                     ("component", "environment"))
    now = _epoch(report["now"])
    waiting: dict[str, float | None] = {}
    for finding in report["findings"]:
        if finding["code"] != "not-deployed" or not finding.get("component"):
            continue
        since = finding.get("since")
        age = max(0.0, now - _epoch(since["time"])) if since else None
        name = str(finding["component"])
        if name in waiting:
            known = waiting[name]
            age = None if known is None or age is None else max(known, age)
        waiting[name] = age
    if not incomplete:
        for component in report.get("components", []):
            name = str(component["component"])
            if name not in waiting:
                family.set(0, component=name, environment=environment)
    for name, age in waiting.items():
        if age is not None:
            family.set(int(age), component=name, environment=environment)
    return family


def _at_risk(report: dict[str, Any], environment: str, incomplete: bool) -> _Family:
    """Artifacts in use that the policy would delete, per repository and kind of use
    (``missing``: references to what is already gone); every repository the evidence named
    is exported, 0 included."""
    family = _Family("harborguard_at_risk_artifacts", "gauge",
                     "Artifacts in use (running, declared, rollback) that the policy would "
                     "delete, and references to artifacts already missing, per repository.",
                     ("environment", "project", "repository", "kind"))
    at_risk = {(f["project"], f["repository"], f["digest"]) for f in report["findings"]
               if f["code"] in _AT_RISK_CODES}
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for artifact in report["artifacts"]:
        if not artifact["in_use"]:
            continue
        key = (str(artifact["project"]), str(artifact["repository"]))
        tally = counts[key]
        if (artifact["project"], artifact["repository"], artifact["digest"]) in at_risk:
            for kind in {str(use["kind"]) for use in artifact["in_use"]}:
                tally[kind] += 1
    for finding in report["findings"]:
        if finding["code"] == "in-use-missing" and finding["repository"]:
            counts[(str(finding["project"] or ""), str(finding["repository"]))]["missing"] += 1
    for (project, repository), tally in sorted(counts.items()):
        for kind in AT_RISK_KINDS:
            if tally[kind] or not incomplete:
                family.set(tally[kind], environment=environment, project=project,
                           repository=repository, kind=kind)
    return family
