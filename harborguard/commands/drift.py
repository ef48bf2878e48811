"""drift: versions merged to the manifests but not running (not-deployed), and the reverse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import whole_seconds
from harborguard.commands.outcome import Outcome, outcome
from harborguard.errors import InputError
from harborguard.findings import Finding
from harborguard.harborversion import resolve as resolve_behaviour
from harborguard.report.build import Source, build_report
from harborguard.simulate import RunResult
from harborguard.timeutil import utc_now_nanos

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions


def run_drift(inv: Invocation, evidence: EvidenceOptions) -> Outcome:
    from harborguard.drift import absence_judge, helm_drift, image_drift
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
    inv.fail_on_default = "warning"
    result = RunResult(
        now_ns=whole_seconds(utc_now_nanos()), order="push",
        behaviour=resolve_behaviour(None),
        projects=(), findings=tuple(findings), incomplete=(),
    )
    report = build_report(result, Source(harbor=None, snapshot=None, policy="harbor"),
                          command="drift")
    report["source"]["manifests"] = evidence.manifests
    report["source"]["environment"] = environment
    return outcome(inv, result, report)
