"""drift: versions merged to the manifests but not running (not-deployed), and the reverse.

It reads no snapshot: its report is a run of the pipeline over no repositories, with the
findings of the comparison (harborguard.drift)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import whole_seconds
from harborguard.commands.locations import locator
from harborguard.commands.outcome import Outcome
from harborguard.commands.streaming import concluded
from harborguard.errors import InputError, SourceError
from harborguard.findings import Finding
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.pipeline import CommandSpec, run
from harborguard.pipeline.reader import EMPTY
from harborguard.pipeline.step import Settings
from harborguard.timeutil import utc_now_nanos

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions
    from harborguard.sources.gitsince import Since
    from harborguard.sources.helmfile import Component


def run_drift(inv: Invocation, evidence: EvidenceOptions) -> Outcome:
    from harborguard.drift import (
        absence_judge,
        compared_components,
        helm_drift,
        image_drift,
    )
    from harborguard.gather import gather

    if not evidence.manifests:
        raise InputError("drift compares the manifests with the cluster: give --manifests DIR "
                         "--environment ENV")
    cluster = (evidence.use_helm or evidence.helm_json or evidence.use_kubectl
               or evidence.kubectl_json)
    if not cluster:
        raise InputError("drift needs the cluster's side: --helm, --helm-json FILE, "
                         "--kubectl or --kubectl-json FILE")
    gathered = gather(evidence, None, ())
    inv.incomplete.extend(gathered.incomplete)
    inv.notes.extend(gathered.notes)
    inv.evidence = [covered.as_report() for covered in gathered.evidence]
    environment = evidence.environment or ""
    findings: list[Finding] = list(gathered.findings)  # unresolved-reference: never silence
    if evidence.use_helm or evidence.helm_json:
        findings.extend(helm_drift(gathered.components, gathered.releases, environment))
    if gathered.kubectl_read:
        declared = [u for u in gathered.usages if u.source == "manifests"]
        findings.extend(image_drift(declared, gathered.usages, environment,
                                    judge_absent=absence_judge(evidence, gathered)))
    now_ns = whole_seconds(utc_now_nanos())
    findings, waiting = waited(findings, gathered.components, evidence.manifests, environment,
                               inv.notes, now=now_ns / 1e9)
    inv.fail_on_default = "warning"
    # No Harbor data: nothing is decided, so no version is compared (not "unknown").
    evaluated = Settings(now_ns, resolve_behaviour("main"), None, "push", None, None)
    spec = CommandSpec("drift", evaluated, inv.get("fail-on"),
              {"harbor": None, "snapshot": None, "policy": "harbor"}, said=findings,
              locate=locator(gathered.components, gathered.usages, evidence.manifests))
    # No snapshot: the stream has no repository to share out among --jobs parts (the
    # value is still checked: a bad one is exit 2 as for every command).
    inv.get("jobs")
    streamed = run(EMPTY, spec, 1, "rows")
    assert streamed is not None  # no repository: nothing to fail
    report = streamed.report
    report["source"]["manifests"] = evidence.manifests
    report["source"]["environment"] = environment
    report["components"] = [
        {"component": c.name, "environment": environment, "version": c.chart_version}
        for c in compared_components(
            gathered.components, gathered.usages, findings,
            helm=bool(evidence.use_helm or evidence.helm_json), kubectl=gathered.kubectl_read)]
    for finding, since in zip(report["findings"], waiting, strict=True):
        if since is not None:
            location = finding.pop("location", None)  # said last, as for every finding
            finding["since"] = since.as_report()
            if location is not None:
                finding["location"] = location
    return concluded(inv, streamed)


def waited(findings: list[Finding], components: Sequence[Component], root: str,
           environment: str, notes: list[str], *, now: float
           ) -> tuple[list[Finding], list[Since | None]]:
    """The findings, each not-deployed one saying since when its version waits, and that
    commit (None where not known) for each finding."""
    from harborguard.sources.gitsince import age_words, candidate_paths, introduced

    declared = {c.name: c for c in components if c.chart_version and c.declared_at}
    known: dict[str, Since | None] = {}
    out: list[Finding] = []
    sinces: list[Since | None] = []
    for finding in findings:
        component = declared.get(finding.component or "")
        if finding.code != "not-deployed" or component is None:
            out.append(finding)
            sinces.append(None)
            continue
        if component.name not in known:
            path = str(component.declared_at).rpartition(":")[0]
            try:
                known[component.name] = introduced(
                    root, candidate_paths(path, environment), str(component.chart_version))
            except SourceError as exc:
                known[component.name] = None
                notes.append(f"since when {component.name} {component.chart_version} waits "
                             f"is unknown: {exc}")
        since = known[component.name]
        sinces.append(since)
        if since is None:
            out.append(finding)
            continue
        age = age_words(max(0.0, now - _epoch(since.time)))
        merged = f"merged {age} ago in {since.commit}"
        message = finding.message
        for tail, state in ((": merged but not deployed", "not deployed"),
                            (": merged but never deployed", "never deployed")):
            if tail in message:
                message = message.replace(tail, f": {merged}, {state}", 1)
                break
        else:
            message = f"{message} ({merged}, not deployed)"
        out.append(finding._replace(message=message))
    return out, sinces


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
