"""Findings about the simulated outcome itself: ties at a count rule's cut, and (with
version order) policies that keep old versions while deleting newer ones. Pure."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from operator import itemgetter

from harborguard.findings import Finding, Related
from harborguard.model import Artifact
from harborguard.retention.engine import Decision, RepositoryOutcome, RuleRun
from harborguard.retention.templates import Template
from harborguard.timeutil import format_seconds
from harborguard.versions import (
    Version,
    VersionPattern,
    artifact_version,
    describe_fates,
    parse_tag,
    shortened_labels,
)


def _label(artifact: Artifact) -> str:
    return ", ".join(artifact.tags) if artifact.tags else f"untagged {artifact.digest[:19]}"


def _repository_ties(project: str, repo: RepositoryOutcome, order: str) -> list[Finding]:
    """``time-tie``: one per artifact whose fate rests on the order of equal timestamps,
    naming every count rule whose cut runs through it."""
    artifacts = repo.repository.artifacts
    # position -> the runs whose cut goes through it, and the others tied with it there
    cuts: dict[int, list[RuleRun]] = {}
    for run in repo.runs:
        if not run.tie_positions or run.tie_key is None:
            continue
        for pos in run.tie_positions:
            if repo.decisions[pos].tie:
                cuts.setdefault(pos, []).append(run)
    found: list[Finding] = []
    for pos in sorted(cuts):
        runs = cuts[pos]
        artifact = artifacts[pos]
        decision = repo.decisions[pos]
        others_at: dict[int, None] = {}
        parts = []
        for run in runs:
            template = run.evaluator.template
            key_name = "version and push time" if order == "semver" else template.key_name
            when = "never pulled" if (run.tie_key or 0) <= 0 else format_seconds(run.tie_key or 0)
            rank_of = run.rank_of
            tied = sorted(run.tie_positions, key=lambda p: rank_of.get(p, 0))
            others_at.update((p, None) for p in tied if p != pos)
            parts.append(f"rule {run.rule.index} ({run.evaluator.describe()}) cuts through "
                         f"{len(tied)} artifacts with the same {key_name} ({when})")
        others = [artifacts[p] for p in others_at]
        fate = "keeps" if decision.action != "delete" else "deletes"
        who = "Harbor" if order == "push" else "this what-if"
        how = "API order and Go's sort" if order == "push" else "API order"
        found.append(
            Finding(
                code="time-tie",
                project=project,
                repository=repo.repository.name,
                digest=artifact.digest,
                tags=artifact.tags,
                rule=runs[0].rule.index,
                related=tuple(Related(a.digest, a.tags) for a in others),
                message=(
                    f"{'; '.join(parts)}; {who} {fate} {_label(artifact)} only because of "
                    f"{how}, not anything a person chose (tied with "
                    f"{', '.join(_label(a) for a in others[:5])}"
                    f"{', ...' if len(others) > 5 else ''})"
                ),
            )
        )
    return found


def _versions(
    repo: RepositoryOutcome, pattern: VersionPattern | None
) -> list[tuple[int, Version]]:
    out = []
    for pos, artifact in enumerate(repo.repository.artifacts):
        tags = artifact.tags
        if not tags:
            continue
        version = (
            parse_tag(tags[0], pattern) if len(tags) == 1 else artifact_version(tags, pattern)
        )
        if version is not None:
            out.append((pos, version))
    return out


def repository_findings(
    project: str, repo: RepositoryOutcome, order: str = "push",
    pattern: VersionPattern | None = None,
) -> tuple[list[Finding], str | None, int]:
    """One repository's findings about its outcome (``time-tie``, then
    ``version-order-inversion`` and ``version-disorder``), its versions' fates as ranges
    (None when it has none or was not evaluated), and how many of its artifacts have a
    version (0 everywhere: the tags name none, or --version-pattern fits none). Each tag
    is read once."""
    found = _repository_ties(project, repo, order) if repo.runs else []
    versioned = _versions(repo, pattern)
    if not versioned:
        return found, None, 0
    fate = None
    if repo.status == "evaluated":
        fate = _fates(repo, versioned) or None
        if len(versioned) > 1:
            found.extend(_inversions(project, repo, versioned))
    disorder = _disorder(project, repo, versioned, order)
    if disorder is not None:
        found.append(disorder)
    return found, fate, len(versioned)


def _inversions(
    project: str, repo: RepositoryOutcome, versioned: list[tuple[int, Version]]
) -> list[Finding]:
    artifacts = repo.repository.artifacts
    decisions = repo.decisions
    kept = [(v.sort_key, pos, v) for pos, v in versioned if decisions[pos].action != "delete"]
    if not kept:
        return []
    kept.sort(key=itemgetter(0))  # stable: equal versions stay in API order
    kept_keys = [item[0] for item in kept]
    lowest = kept_keys[0]
    runs = {run.rule.index: run for run in repo.runs}
    labels: dict[str, str] | None = None
    name = repo.repository.name
    # Deleted artifacts between the same two kept versions share the kept older ones, and
    # the newest of those is kept for the same reason: built once, shared by the findings.
    # Per count of kept older artifacts: the shared related tuple, the rule, the message's
    # tail and, for a count rule, the template whose key of the deleted one ends it.
    by_count: dict[int, tuple[tuple[Related, ...], int | None, str, Template | None]] = {}
    why_of: dict[int, tuple[int | None, str, Template | None]] = {}
    found: list[Finding] = []
    append = found.append
    new = tuple.__new__  # Finding(...) without its Python-level __new__: 60,000 a run
    kept_related: list[Related] | None = None  # each kept artifact as a Related, in order
    code = "version-order-inversion"
    for pos, version in versioned:
        if decisions[pos].action != "delete":
            continue
        key = version.sort_key
        if not key > lowest:
            continue
        if labels is None:
            labels = shortened_labels(v.tag for _, v in versioned)
        # Kept artifacts with a lower version: a prefix of the sorted kept list.
        count = bisect_left(kept_keys, key)
        shared = by_count.get(count)
        if shared is None:
            if kept_related is None:
                kept_related = [Related(artifacts[p].digest, artifacts[p].tags)
                                for _, p, _ in kept]
            related = tuple(reversed(kept_related[:count]))
            _, newest_older, newest_older_version = kept[count - 1]
            older_label = labels.get(newest_older_version.tag, newest_older_version.tag)
            why = why_of.get(newest_older)
            if why is None:
                why = why_of[newest_older] = _why_kept(
                    artifacts[newest_older], decisions[newest_older], runs, older_label
                )
            rule, text, by_time = why
            more = f" (and {count - 1} more older artifacts)" if count > 1 else ""
            shared = by_count[count] = (related, rule, f" but keeps {older_label}{more}: {text}",
                                        by_time)
        related, rule, tail, by_time = shared
        deleted = artifacts[pos]
        tag = version.tag
        message = f"deletes {labels.get(tag, tag)}{tail}"
        if by_time is not None:
            message = f"{message} vs {_when(by_time.key(deleted))})"
        append(new(Finding, (code, message, project, name, deleted.digest, deleted.tags, rule,
                             related, None, None)))
    return found


def _why_kept(
    keeper: Artifact, decision: Decision, runs: dict[int, RuleRun], label: str,
) -> tuple[int | None, str, Template | None]:
    """(rule, why ``label`` is kept, and for a count rule the template whose key of the
    deleted artifact completes the text: "... (<keeper's time>" + " vs <deleted's>)")."""
    if decision.action == "immutable":
        return None, f"immutable-tag rule id {decision.immutable_rule} protects {label}", None
    for index in decision.retained_by:
        run = runs.get(index)
        if run is None:
            continue
        template = run.evaluator.template
        described = f"rule {index} ({run.evaluator.describe()})"
        if template.kind == "count":
            verb = {"push time": "pushed", "pull time": "pulled"}.get(template.key_name, "active")
            return index, (
                f"{described} orders by {template.key_name} and {label} was {verb} later "
                f"({_when(template.key(keeper))}"
            ), template
        if template.kind == "days":
            return index, (
                f"{described} keeps by {template.key_name} (cut-off {run.cutoff}), not by version"
            ), None
        return index, f"{described} keeps what its tag selectors match, whatever the version", None
    return None, f"{label} is kept", None


def _when(seconds: int) -> str:
    return "never" if seconds <= 0 else format_seconds(seconds)


DISORDER_SHARE = 0.10


def _disorder(
    project: str, repo: RepositoryOutcome, versioned: list[tuple[int, Version]],
    order: str = "push",
) -> Finding | None:
    """Share of version pairs whose push order contradicts their version order.

    Pairs with equal versions (a chart and its image) or equal push times say nothing
    either way and are left out. Counted in O(n log n) (a Fenwick tree) for large
    repositories; below that, a sorted list with bisect does the same in C.
    """
    artifacts = repo.repository.artifacts
    pushed = sorted([(artifacts[p].push_s, v.sort_key) for p, v in versioned])
    in_push_order = [key for _, key in pushed]
    if in_push_order == sorted(in_push_order):
        return None  # versions rise with push time (the usual case): no pair disagrees
    keys = sorted(set(in_push_order))
    rank = {k: i + 1 for i, k in enumerate(keys)}
    items = [(push, rank[key]) for push, key in pushed]
    if len(items) <= _BISECT_LIMIT:
        discordant, comparable = _pairs_bisect(items)
    else:
        discordant, comparable = _pairs_fenwick(items, len(keys))
    if comparable == 0 or discordant / comparable <= DISORDER_SHARE:
        return None
    share = discordant / comparable
    return Finding(
        code="version-disorder",
        project=project,
        repository=repo.repository.name,
        message=(
            f"push order and version order disagree for {share:.0%} of version pairs "
            f"({discordant} of {comparable}): push times here do not follow releases (a "
            "migration, replication or re-tagging?), so rules that rank by push time keep an "
            "arbitrary set of versions; "
            + ("compare with --order semver" if order == "push" else
               "this --order semver what-if ranks by version, but Harbor ranks by time")
        ),
    )


_BISECT_LIMIT = 4096  # insort moves memory: quadratic, but in C; faster up to here


def _groups(items: list[tuple[int, int]]) -> list[list[int]]:
    """Version ranks grouped by equal push time, oldest push first."""
    groups: list[list[int]] = []
    last = None
    for push, r in items:
        if push != last:
            groups.append([r])
            last = push
        else:
            groups[-1].append(r)
    return groups


def _pairs_bisect(items: list[tuple[int, int]]) -> tuple[int, int]:
    seen: list[int] = []  # version ranks pushed earlier, sorted
    same_version: dict[int, int] = {}
    discordant = comparable = 0
    for group in _groups(items):
        inserted = len(seen)
        for r in group:  # earlier pushes vs this push time
            discordant += inserted - bisect_right(seen, r)  # pushed earlier, yet higher
            comparable += inserted - same_version.get(r, 0)
        for r in group:
            insort(seen, r)
            same_version[r] = same_version.get(r, 0) + 1
    return discordant, comparable


def _pairs_fenwick(items: list[tuple[int, int]], size: int) -> tuple[int, int]:
    tree = [0] * (size + 1)
    same_version: dict[int, int] = {}
    discordant = comparable = inserted = 0
    for group in _groups(items):
        for r in group:
            total = 0
            i = r
            while i > 0:
                total += tree[i]
                i -= i & -i
            discordant += inserted - total
            comparable += inserted - same_version.get(r, 0)
        for r in group:
            i = r
            while i <= size:
                tree[i] += 1
                i += i & -i
            inserted += 1
            same_version[r] = same_version.get(r, 0) + 1
    return discordant, comparable


def _fates(repo: RepositoryOutcome, versioned: list[tuple[int, Version]]) -> str:
    """``keeps ...; deletes ...``. Build metadata does not change a version (a chart and
    its image are one release), so runs are labelled without it; where a version's chart
    and image fare differently (the chart kept, its image deleted), charts and images are
    told apart. Artifacts without a version are counted, so none is deleted unsaid."""
    decisions = repo.decisions
    artifacts = repo.repository.artifacts
    items = [
        (version, _without_build(version) if version.build else version.tag,
         decisions[pos].action != "delete", artifacts[pos].type)
        for pos, version in versioned
    ]
    fates: dict[str, set[bool]] = {}
    for _, label, kept, _kind in items:
        fates.setdefault(label, set()).add(kept)
    if any(len(both) > 1 for both in fates.values()):
        kinds = sorted({kind for *_, kind in items})
        text = ", ".join(
            f"{kind.lower()}s ("
            + describe_fates([(v, label, kept) for v, label, kept, k in items if k == kind])
            + ")" for kind in kinds)
    else:
        text = describe_fates([(v, label, kept) for v, label, kept, _ in items])
    has_version = {pos for pos, _ in versioned}
    others = [decisions[pos].action != "delete" for pos in range(len(artifacts))
              if pos not in has_version]
    if others and not all(others):
        text += (f"; without a version: keeps {sum(others)}, "
                 f"deletes {len(others) - sum(others)}")
    return text


def _without_build(version: Version) -> str:
    tag, build = version.tag, version.build
    if build and len(tag) > len(build) and tag[-len(build) - 1] in "+_":
        return tag[: -len(build) - 1]
    return tag
