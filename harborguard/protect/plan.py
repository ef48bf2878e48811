"""The rule one project needs: pure (a project, its policy, the simulation of that policy
without harborguard's rule, and what the evidence needs in; the changed policy out).

Only repositories where another enabled rule already runs (a rule whose repository
selectors take the repository and that has tag selectors, so an evaluator runs there) are
listed: Harbor starts no task in a repository no rule selects, and in one whose rules all
have empty tag selectors it deletes nothing; an ``always`` rule reaching either would make
Harbor delete everything else there (docs/RETENTION.md 4.1, 4.4). A needed artifact
elsewhere is not at risk and needs nothing.

The rule is computed from the policy with harborguard's own rule removed, so it does not
depend on what the previous run wrote (it would otherwise keep itself alive, or flip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harborguard.evidence import Usage
from harborguard.findings import Finding
from harborguard.model import Project, split_repository
from harborguard.policy import MAX_RULES, RetentionPolicy, parse_policy
from harborguard.protect.patterns import (
    brace_list,
    matches_exactly,
    parse_list,
    repository_pattern,
)
from harborguard.protect.rule import (
    NO_TAG,
    is_own_raw,
    own_keeps_untagged,
    own_patterns,
    own_rule,
    put_body,
    rule_key,
)
from harborguard.retention.engine import ProjectOutcome, RepositoryOutcome

# (repository with the project, digest) -> the evidence that needs it
Needed = Mapping[tuple[str, str], Sequence[Usage]]


@dataclass(frozen=True, slots=True)
class Unprotected:
    repository: str
    digest: str
    tags: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ProjectPlan:
    project: str
    # no-policy | launch-failed | no-room | in-sync | changed
    status: str
    policy: RetentionPolicy | None  # the policy read (or --policy)
    base: RetentionPolicy | None  # without harborguard's rule
    changed: RetentionPolicy | None  # what would be stored (None: no policy)
    body: dict[str, Any] | None  # the PUT body of ``changed``
    rule: dict[str, Any] | None = None
    rule_index: int | None = None
    repositories: tuple[str, ...] = ()  # with the project
    tags: tuple[str, ...] = ()
    untagged: tuple[tuple[str, str], ...] = ()
    unprotected: tuple[Unprotected, ...] = ()
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=())

    @property
    def is_changed(self) -> bool:
        return self.status == "changed"


def without_own(policy: RetentionPolicy) -> RetentionPolicy:
    """The policy with harborguard's rules removed (stored or not, as it was)."""
    raw = dict(policy.raw or {})
    rules = [r for r in (raw.get("rules") or []) if not is_own_raw(r)]
    return parse_policy({**raw, "rules": rules}, "policy", from_harbor=policy.stored)


def evaluator_runs(base: RetentionPolicy, rules_in_scope: Sequence[int]) -> bool:
    """Another enabled rule takes the repository and has tag selectors (an evaluator runs)."""
    return any(base.rules[i].tag_selectors for i in rules_in_scope if i < len(base.rules))


def plan_project(project: Project, policy: RetentionPolicy | None, base_outcome: ProjectOutcome,
                 needed: Needed, *, v111: bool, keep_previous: bool = False,
                 every_dialect: bool = False) -> ProjectPlan:
    """``base_outcome``: the project simulated with ``without_own(policy)``.
    ``every_dialect``: the Harbor version is unknown, so the rule's patterns must mean the
    same in both doublestar dialects (no ``/`` inside braces: v1.1.1's limit) and are
    proven in both.
    ``keep_previous``: the evidence is incomplete (--allow-incomplete): add to the rule the
    previous run wrote, never drop a tag from it."""
    name = project.name
    if policy is None:
        return ProjectPlan(name, "no-policy", None, None, None, None, notes=(
            f"project {name} has no retention policy: Harbor deletes nothing there, so "
            "nothing needs protecting",))
    base = without_own(policy)
    raw = dict(policy.raw or {})
    raw_rules = list(raw.get("rules") or [])
    own_at = [i for i, r in enumerate(raw_rules) if is_own_raw(r)]
    others = [r for r in raw_rules if not is_own_raw(r)]
    if base_outcome.launch_error is not None:
        return ProjectPlan(name, "launch-failed", policy, base, policy, None, notes=(
            f"project {name}: Harbor's retention job cannot start ({base_outcome.launch_error})"
            ", so it deletes nothing; the policy is left as it is",))
    notes: list[str] = []
    selected = {o.repository.name: o for o in base_outcome.repositories
                if evaluator_runs(base, o.rules_in_scope)}
    wanted_tags: dict[str, set[str]] = {}
    untagged: list[tuple[str, str]] = []
    for repo_name, digest in sorted(needed):
        outcome = selected.get(repo_name)
        if outcome is None:
            continue  # not at risk: no rule deletes anything there
        artifact = next((a for a in outcome.repository.artifacts if a.digest == digest), None)
        if artifact is None:
            continue
        wanted_tags.setdefault(repo_name, set()).update(artifact.tags)
        if not artifact.tags:  # kept by the rule's untagged:true (RETENTION.md 3.2)
            untagged.append((repo_name, digest))
    if keep_previous:
        _add_previous(policy, name, selected, wanted_tags)
    short = {split_repository(r)[1]: r for r in wanted_tags}
    dialects = (True, False) if every_dialect else (v111,)
    listed = repository_pattern(list(short), v111=v111 or every_dialect)
    unprotected = [
        Unprotected(short[s], digest, tags, "its repository cannot share one pattern with "
                    "the others in this Harbor's pattern dialect")
        for s in listed.left_out
        for digest, tags in _needed_in(selected[short[s]], needed)
    ]
    if listed.left_out:
        limit = ("no / inside braces before Harbor v2.10.3" if v111
                 else "no / inside braces before Harbor v2.10.3, and the Harbor version is "
                 "unknown" if every_dialect else "a name and a name below it")
        notes.append(f"project {name}: repositories {', '.join(listed.left_out)} cannot be "
                     f"listed in the same repository pattern as the others (doublestar: "
                     f"{limit}); their artifacts are not protected by the rule")
    rule: dict[str, Any] | None = None
    repos: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    if listed.pattern is not None:
        repos = tuple(sorted(short[s] for s in listed.names))
        tag_set = set().union(*(wanted_tags[r] for r in repos))
        tags = tuple(sorted(tag_set))
        tag_pattern = brace_list(tags) if tags else NO_TAG
        other_names = [s for s in (split_repository(r.name)[1] for r in project.repositories)
                       if s not in listed.names]
        other_tags = {t for r in repos for a in selected[r].repository.artifacts
                      for t in a.tags if t not in tag_set}
        if not all(matches_exactly(listed.pattern, listed.names, other_names, v111=dialect)
                   and matches_exactly(tag_pattern, tags, other_tags, v111=dialect)
                   for dialect in dialects):
            notes.append(f"project {name}: the rule's patterns do not match exactly the names "
                         "they list in this Harbor's pattern dialect; no rule is written")
            unprotected.extend(Unprotected(r, d, t, "the pattern could not be proven exact")
                               for r in repos for d, t in _needed_in(selected[r], needed))
            repos, tags = (), ()
        else:
            # --allow-incomplete: the rule only grows, untagged:true included.
            rule = own_rule(listed.pattern, tag_pattern,
                            untagged=any(r in repos for r, _ in untagged)
                            or (keep_previous and own_keeps_untagged(policy)))
    if rule is not None and any(r in repos for r, _ in untagged):
        notes.append(f"project {name}: the rule keeps untagged artifacts (untagged:true), "
                     "but garbage collection with 'delete untagged artifacts' removes them "
                     "whatever retention keeps (docs/RETENTION.md 8, item 13); give the "
                     "needed ones a tag, or run GC without that option")
    reasons = {(u.repository, u.digest): u.reason for u in unprotected}
    findings = [_untagged(name, r, d, needed[r, d], reasons.get((r, d), "no rule is written"))
                for r, d in untagged if rule is None or r not in repos]
    if rule is not None and len(others) >= MAX_RULES:
        notes.append(f"project {name}: the policy has {len(others)} rules of its own and "
                     f"Harbor allows at most {MAX_RULES}: there is no room for harborguard's "
                     "rule; remove or merge a rule, then run again")
        return ProjectPlan(name, "no-room", policy, base, policy, None, repositories=repos,
                           tags=tags, untagged=tuple(untagged),
                           unprotected=tuple(unprotected), notes=tuple(notes),
                           findings=tuple(findings))
    new_rules = list(others)
    index: int | None = None
    if rule is not None:
        index = own_at[0] if own_at and own_at[0] <= len(others) else len(others)
        new_rules.insert(index, rule)
    changed = [rule_key(r) for r in new_rules] != [rule_key(r) for r in raw_rules]
    scope = (raw.get("scope") if policy.stored and isinstance(raw.get("scope"), Mapping)
             else {"level": "project", "ref": project.id})
    body = put_body(raw, new_rules, policy_id=_policy_id(project, policy), scope=scope or {})
    changed_policy = parse_policy(body, "policy", from_harbor=policy.stored)
    return ProjectPlan(
        name, "changed" if changed else "in-sync", policy, base, changed_policy, body,
        rule=rule, rule_index=index, repositories=repos, tags=tags, untagged=tuple(untagged),
        unprotected=tuple(unprotected), notes=tuple(notes), findings=tuple(findings))


def _policy_id(project: Project, policy: RetentionPolicy) -> int | None:
    if policy.stored and policy.id is not None:
        return policy.id
    metadata = project.raw.get("metadata") if isinstance(project.raw, Mapping) else None
    text = metadata.get("retention_id") if isinstance(metadata, Mapping) else None
    if isinstance(text, str) and text.isdigit():
        return int(text)
    return policy.id


def _needed_in(outcome: RepositoryOutcome, needed: Needed
               ) -> list[tuple[str, tuple[str, ...]]]:
    repo = outcome.repository
    digests = {d for (r, d) in needed if r == repo.name}
    return [(a.digest, a.tags) for a in repo.artifacts if a.digest in digests]


def _add_previous(policy: RetentionPolicy, project: str,
                  selected: Mapping[str, RepositoryOutcome],
                  wanted: dict[str, set[str]]) -> None:
    """The previous rule's tags stay; its repositories stay where a rule still runs."""
    previous = own_patterns(policy)
    if previous is None:
        return
    try:
        repos, tags = parse_list(previous[0]), parse_list(previous[1])
    except ValueError:
        return
    tags = [t for t in tags if t != NO_TAG]
    for short in repos:
        full = f"{project}/{short}"
        if full in selected:
            wanted.setdefault(full, set()).update(tags)
    for full in list(wanted):
        wanted[full].update(tags)


def _untagged(project: str, repository: str, digest: str, usages: Sequence[Usage],
              reason: str) -> Finding:
    first = sorted(usages, key=lambda u: ("running", "declared", "rollback").index(u.kind))[0]
    what = {"running": "runs", "declared": "is declared", "rollback": "is a rollback target"}
    return Finding(
        code="protect-untagged", project=project, repository=repository, digest=digest,
        tags=(), component=first.component, environment=first.environment,
        message=f"{repository}@{digest} {what[first.kind]} ({first.source}: {first.where}) "
        "but has no tag: a retention rule keeps it only through untagged:true in its tag "
        "selector (with every other untagged artifact of its repository; an excluding "
        "immutable-tag rule also protects them, docs/RETENTION.md 5.2), and harborguard's "
        f"rule does not list this repository ({reason}); give it a tag (or deploy by a tag) "
        "and run protect again")
