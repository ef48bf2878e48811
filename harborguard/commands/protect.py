"""protect: the one retention rule that keeps what the evidence needs, re-simulated; its
policy written for review (--policy-out) or applied to Harbor (--apply).

:func:`run_protect` reads, matches and plans (nothing is sent); the CLI then writes
--policy-out and, for --apply, asks for confirmation and calls :func:`apply_protect`, which
re-reads each policy just before replacing it, replaces it, reads it back and re-simulates.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harborguard import jsonio
from harborguard.commands.evidence import (
    foreign_only,
    needs_additions,
    nothing_named,
    read_usages,
)
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import (
    HarborUnreadable,
    Prepared,
    harbor_client,
    prepare,
    source_choice,
    unreadable_harbor,
)
from harborguard.commands.outcome import Outcome, outcome
from harborguard.errors import InputError
from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.model import Incomplete, Snapshot
from harborguard.outfile import STANDARD_OUTPUT_NAMES
from harborguard.policy import RetentionPolicy, load_policy_file, parse_policy, unknown_key_notes
from harborguard.protect.plan import ProjectPlan, plan_project, without_own
from harborguard.protect.rule import own_patterns, policy_key, rule_key
from harborguard.protect.summary import sections, unsafe
from harborguard.report.build import Source, add_previous_actions, build_report
from harborguard.report.common import not_checked
from harborguard.simulate import RunResult

if TYPE_CHECKING:
    from harborguard.gather import EvidenceOptions

COMMAND = "protect"


@dataclass
class ProtectRun:
    """What run_protect found: the report so far, the policies to send, the file to write."""

    outcome: Outcome
    pending: tuple[ProjectPlan, ...] = ()  # changed policies --apply would send
    policy_out: bytes | None = None  # --policy-out's content
    state: Any = None  # what apply_protect needs to re-simulate


@dataclass
class _State:
    inv: Invocation
    prepared: Prepared
    source: Source
    usages: list[Usage]
    hosts: list[str]
    evidence_findings: list[Finding]
    policies: dict[str, RetentionPolicy | None]
    plans: list[ProjectPlan]
    previous: RunResult
    base: RunResult
    notes: list[str] = field(default_factory=list)
    policy_out: str | None = None
    apply: bool = False


def refuse_early(inv: Invocation, *, policy_out: str | None, apply: bool) -> None:
    """What is bad input before anything is read (exit 2)."""
    path, projects, all_projects = source_choice(inv)
    if apply:
        if inv.get("policy"):
            raise InputError("--apply is refused with --policy: a --policy file is a what-if; "
                             "write it with --policy-out to review it")
        if all_projects:
            raise InputError("--apply is refused with --all-projects: name each project with "
                             "--project P")
        if path:
            raise InputError("--apply is refused on a snapshot (--snapshot): it changes the "
                             "live policy, so read it live with --harbor URL --project P")
    if policy_out is not None:
        if not policy_out.strip():
            raise InputError("--policy-out: the file name is empty")
        if policy_out in STANDARD_OUTPUT_NAMES:
            raise InputError(f"--policy-out {policy_out}: the report is what goes to "
                             "standard output; give the policy a file (a file named - is "
                             "./-)")
        if all_projects or len(set(projects)) > 1:
            raise InputError("--policy-out writes one project's policy: give one --project")


def run_protect(inv: Invocation, evidence: EvidenceOptions, aliases: Sequence[str] = (), *,
                policy_out: str | None = None, apply: bool = False,
                allow_incomplete: bool = False) -> ProtectRun:
    if not evidence.any:
        raise InputError("protect needs evidence: --kubectl, --kubectl-json FILE, "
                         "--manifests DIR --environment ENV, --helm or --helm-json FILE")
    refuse_early(inv, policy_out=policy_out, apply=apply)
    inv.password = functools.cache(inv.password)  # read once: --apply asks Harbor again
    policy_path = inv.get("policy")
    file_policy = load_policy_file(policy_path) if policy_path else None
    if file_policy is not None:
        inv.notes.extend(unknown_key_notes(policy_path, file_policy))
    try:
        prepared = prepare(inv, need_policies=file_policy is None,
                           need_additions=needs_additions(evidence))
    except HarborUnreadable as exc:
        return ProtectRun(unreadable_harbor(inv, exc, COMMAND))
    if file_policy is not None:  # --policy gives every project its policy
        prepared = dataclasses.replace(prepared, snapshot=dataclasses.replace(
            prepared.snapshot, projects=tuple(dataclasses.replace(p, retention_known=True)
                                              for p in prepared.snapshot.projects)))
    snapshot = prepared.snapshot
    if policy_out is not None and len(snapshot.projects) != 1:
        raise InputError(f"--policy-out writes one project's policy; the source has "
                         f"{len(snapshot.projects)} projects: give one --project")
    policies = {p.name: file_policy if file_policy is not None else p.retention
                for p in snapshot.projects}
    usages, hosts, evidence_findings = _gather(inv, snapshot, evidence, aliases)
    # What the evidence needs, whatever any policy decides: matched against a run that
    # keeps everything (no artifact at risk, so every build a reference names is needed).
    from harborguard.check import check

    kept = _simulate(prepared, dict.fromkeys(policies))
    checked_kept = check(kept, usages, hosts)
    needed = checked_kept.in_use
    foreign = foreign_only(checked_kept, hosts)
    if foreign is not None:
        inv.incomplete.append(foreign)  # nothing matched is not "nothing is needed"
    # Every reference to another registry: not evidence that nothing of this Harbor runs.
    nothing_named(inv, checked_kept.ignored < len(usages), checked_kept.ignored, hosts)
    incomplete = bool(inv.incomplete or snapshot.incomplete)
    # Evidence that does not cover what runs and the rollback window cannot show that a
    # tag the previous rule kept is no longer needed: the rule then only grows.
    uncovered = _uncovered(inv, prepared, [*evidence_findings, *checked_kept.findings])
    keep_previous = incomplete or bool(uncovered)
    if uncovered and not incomplete and any(
            p is not None and own_patterns(p) is not None for p in policies.values()):
        inv.notes.append("the tags harborguard's rule kept before stay in it: the evidence "
                         f"does not cover {'; '.join(uncovered)}; protect removes a tag "
                         "only on evidence that does")
    base = _simulate(prepared, {n: without_own(p) if p else None for n, p in policies.items()})
    plans = []
    for project, base_outcome in zip(snapshot.projects, base.projects, strict=True):
        mine = {(r, d): u for (p, r, d), u in needed.items() if p == project.name}
        if not project.retention_known:
            plans.append(ProjectPlan(project.name, "no-policy", None, None, None, None, notes=(
                f"project {project.name}: its retention policy is not known (the snapshot "
                "has no 'retention' field): nothing is computed",)))
            continue
        plans.append(plan_project(project, policies[project.name], base_outcome, mine,
                                  v111=prepared.behaviour.doublestar_v111,
                                  every_dialect=prepared.behaviour.unknown,
                                  keep_previous=keep_previous))
    previous = _simulate(prepared, policies)
    source = Source(harbor=snapshot.harbor, snapshot=prepared.snapshot_path,
                    policy=policy_path or "harbor")
    state = _State(inv, prepared, source, usages, hosts, evidence_findings, policies, plans,
                   previous, base,
                   policy_out=policy_out, apply=apply)
    changed = {p.project: p.changed for p in plans}
    result, report, findings = _evaluate(state, changed, {})
    blocked = _blocked(state, result, incomplete, allow_incomplete)
    content = None
    if policy_out is not None and not blocked:
        plan = plans[0]
        if plan.body is None:
            why = plan.notes[0] if plan.notes else "no policy"
            state.notes.append(f"--policy-out: nothing written: {why}")
        else:
            content = _policy_text(policy_out, plan.body)
    pending: tuple[ProjectPlan, ...] = ()
    if apply and not blocked:
        pending = tuple(p for p in plans if p.is_changed and _appliable(state, p))
        if not any(p.is_changed for p in plans):
            state.notes.append("--apply: every policy already holds the rule the evidence "
                               "needs; nothing was sent")
    report["protect"]["policy_out"] = policy_out if content is not None else None
    done = _finish(state, result, report, findings)
    return ProtectRun(done, pending, content, state)


def _uncovered(inv: Invocation, prepared: Prepared, findings: Sequence[Finding]) -> list[str]:
    """What the evidence did not cover, as the all-clear of check names it."""
    return not_checked({"evidence": inv.evidence or [], "order": _order(prepared),
                        "notes": inv.notes, "findings": [{"code": f.code} for f in findings]})


def _gather(inv: Invocation, snapshot: Snapshot, evidence: EvidenceOptions,
            aliases: Sequence[str]) -> tuple[list[Usage], list[str], list[Finding]]:
    """Every source's usages, read once (they are matched twice)."""
    gathered, hosts = read_usages(inv, snapshot, snapshot.harbor, evidence, aliases)
    return gathered.usages, hosts, list(gathered.findings)


def _replaced(prepared: Prepared, policies: Mapping[str, RetentionPolicy | None]
              ) -> Prepared:
    """The data with each project's policy replaced. A project whose snapshot entry has no
    ``retention`` field stays unknown (incomplete) and is simulated as keeping everything."""
    projects = tuple(dataclasses.replace(p, retention=policies.get(p.name))
                     if p.name in policies else p for p in prepared.snapshot.projects)
    return dataclasses.replace(prepared, snapshot=dataclasses.replace(
        prepared.snapshot, projects=projects))


def _simulate(prepared: Prepared, policies: Mapping[str, RetentionPolicy | None]) -> RunResult:
    """The snapshot simulated with each project's policy replaced."""
    return _replaced(prepared, policies).simulate(None, _order(prepared))


def _order(prepared: Prepared) -> str:
    return "semver" if prepared.ranker is not None else "push"


def _evaluate(state: _State, policies: Mapping[str, RetentionPolicy | None],
              applied: Mapping[str, bool]) -> tuple[RunResult, dict[str, Any], list[Finding]]:
    """The report of ``policies``: check's findings on them, previous actions, ``protect``."""
    from harborguard.check import check
    from harborguard.expiry import expiring

    result = _simulate(state.prepared, policies)
    checked = check(result, state.usages, state.hosts)
    replaced = _replaced(state.prepared, policies)
    findings: list[Finding] = [*checked.findings, *state.evidence_findings]
    findings.extend(expiring(result, checked.in_use,
                             replaced.later(None, _order(state.prepared))))
    for plan in state.plans:
        findings.extend(plan.findings)
        changed = policies.get(plan.project)
        if changed is not None and plan.is_changed:
            findings.extend(Finding(code="policy-invalid", project=plan.project,
                                    message=f"Harbor's API would refuse the changed policy: "
                                    f"{problem}") for problem in changed.problems)
    report = build_report(result, state.source, in_use=checked.in_use,
                          extra_findings=findings, command=COMMAND)
    add_previous_actions(report, state.previous)
    needed = set(checked.in_use)
    report["protect"] = {"projects": sections(state.plans, state.previous, result, needed,
                                              findings, applied),
                         "policy_out": None, "apply": state.apply}
    return result, report, findings


def _blocked(state: _State, result: RunResult, incomplete: bool,
             allow_incomplete: bool) -> bool:
    """Whether nothing may be written or applied, with the note that says why."""
    harmful = unsafe(state.base, result)
    if harmful:
        state.inv.incomplete.append(Incomplete(
            "protect", f"the changed policy would delete {len(harmful)} artifacts the policy "
            f"without harborguard's rule keeps (first: {harmful[0][1]}@{harmful[0][2]}); "
            "nothing is written or applied (please report this)"))
        return True
    if incomplete and not allow_incomplete:
        if state.policy_out is not None or state.apply:
            state.notes.append("the evidence or Harbor's data is incomplete: protect writes "
                               "and applies no rule from incomplete evidence (give "
                               "--allow-incomplete to add to the rule anyway; it then never "
                               "drops a tag from it)")
        return True
    return False


def _appliable(state: _State, plan: ProjectPlan) -> bool:
    changed = plan.changed
    assert changed is not None and plan.policy is not None
    if changed.problems:
        state.inv.incomplete.append(Incomplete(
            f"retention policy of project {plan.project}",
            "not sent: Harbor's API would refuse the changed policy: "
            + "; ".join(changed.problems)))
        return False
    project = next(p for p in state.prepared.snapshot.projects if p.name == plan.project)
    if changed.scope_level != "project" or changed.scope_ref != project.id or changed.id is None:
        state.inv.incomplete.append(Incomplete(
            f"retention policy of project {plan.project}",
            f"not sent: its scope is {changed.scope_level!r} (ref {changed.scope_ref}), not "
            f"project {project.id}; protect only changes a project's own policy"))
        return False
    return True


def _finish(state: _State, result: RunResult, report: dict[str, Any],
            findings: list[Finding]) -> Outcome:
    notes = [n for plan in state.plans for n in plan.notes]
    report["notes"] = [*report.get("notes", []), *notes, *state.notes]
    return outcome(state.inv, result, report, extra=findings)


def _policy_text(path: str, body: Mapping[str, Any]) -> bytes:
    """The PUT body: YAML for a .yaml/.yml file, else JSON."""
    if path.lower().endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(json.loads(jsonio.dumps(body)), sort_keys=False,
                              allow_unicode=True).encode("utf-8")
    return jsonio.dumps_indented(body)


def confirmation(run: ProtectRun) -> str:
    """What --apply shows before it asks: each policy to change and its new rule."""
    lines = []
    for plan in run.pending:
        assert plan.changed is not None
        lines.append(f"project {plan.project}: retention policy {plan.changed.id} gets "
                     f"harborguard's rule (rule {plan.rule_index}):" if plan.rule is not None
                     else f"project {plan.project}: retention policy {plan.changed.id} loses "
                     "harborguard's rule (nothing needs it)")
        if plan.rule is not None:
            lines.append(json.dumps(plan.rule, indent=2))
    return "\n".join(lines)


def apply_protect(run: ProtectRun) -> Outcome:
    """Sends each pending policy: re-read just before, not sent if it changed on the server
    since it was read (incomplete, exit 3), replaced, read back and re-simulated."""
    from harborguard.sources.harbor.retentions import (
        RetentionWriteError,
        put_policy,
        read_policy,
    )

    state: _State = run.state
    inv = state.inv
    final: dict[str, RetentionPolicy | None] = {p.project: p.changed for p in state.plans}
    applied: dict[str, bool] = {}
    errors: list[str] = []
    with harbor_client(inv) as client:
        for plan in run.pending:
            assert plan.policy is not None and plan.changed is not None
            assert plan.body is not None and plan.changed.id is not None
            what = f"retention policy {plan.changed.id} of project {plan.project}"
            final[plan.project] = plan.policy
            try:
                now = read_policy(client, plan.project)
                if now.id != plan.changed.id or policy_key(now.raw) != policy_key(plan.policy.raw):
                    inv.incomplete.append(Incomplete(what, "changed on the server since it was "
                                                     "read: not overwritten, nothing sent; run "
                                                     "protect again"))
                    continue
                put_policy(client, plan.project, plan.changed.id, plan.body)
                back = read_policy(client, plan.project)
            except RetentionWriteError as exc:
                errors.append(str(exc))
                inv.incomplete.append(Incomplete(what, str(exc)))
                continue
            stored = parse_policy(back.raw, what, from_harbor=True) if back.raw else None
            final[plan.project] = stored
            sent = [rule_key(r) for r in plan.body["rules"]]
            if back.raw is None or [rule_key(r) for r in back.raw.get("rules") or []] != sent:
                inv.incomplete.append(Incomplete(what, "read back after the update, Harbor "
                                                 "holds other rules than were sent"))
                continue
            applied[plan.project] = True
    result, report, findings = _evaluate(state, final, applied)
    report["protect"]["policy_out"] = state.policy_out if run.policy_out is not None else None
    done = _finish(state, result, report, findings)
    return dataclasses.replace(done, errors=(*done.errors, *errors))
