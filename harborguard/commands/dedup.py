"""--dedup: the manifests read after the artifacts (a live read), the confirmation a
pull-based policy needs (Harbor records a pull for each manifest read through it), and
what the deduplicated figures (harborguard.storage, added to a report by
harborguard.pipeline.assemble) add to the run's notes and incomplete items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harborguard.commands.invocation import Invocation
from harborguard.errors import InputError
from harborguard.policy import RetentionPolicy
from harborguard.storage import SHARED_NOTE, StorageFigures

# Retention rules that rank or filter by pull time: reading a manifest through Harbor
# moves the artifact's pull_time to now, which changes what they keep afterwards.
PULL_TEMPLATES = frozenset({"latestPulledN", "nDaysSinceLastPull", "latestActiveK"})


def pull_rules(data: dict[str, Any], what_if: Sequence[RetentionPolicy | None],
               harbor_policies: bool) -> list[str]:
    """The pull-based rules in play, in words: of the --policy files, and of each
    project's own policy when Harbor's are simulated."""
    found = [f"rule {r.index} ({r.template}) of the policy file"
             for policy in what_if if policy is not None
             for r in policy.rules if r.template in PULL_TEMPLATES and not r.disabled]
    if harbor_policies:
        for project in data.get("projects", []):
            retention = project.get("retention") or {}
            for index, rule in enumerate(retention.get("rules") or []):
                if isinstance(rule, dict) and rule.get("template") in PULL_TEMPLATES \
                        and not rule.get("disabled"):
                    found.append(f"project {project['project'].get('name')}: rule {index} "
                                 f"({rule['template']})")
    return found


def read_blobs(inv: Invocation, client: Any, data: dict[str, Any],
               what_if: Sequence[RetentionPolicy | None] = (),
               harbor_policies: bool = True) -> str:
    """Reads the manifests of every artifact of a live read ``data`` (already read, with
    its pull times) and adds each artifact's ``blobs``; what cannot be read goes into
    ``data["incomplete"]``. Returns the note saying what was read and how many pulls
    Harbor recorded."""
    from harborguard.sources.harbor import HarborClient
    from harborguard.sources.registry import (
        ManifestCache,
        ManifestReader,
        Tokens,
        default_cache_dir,
    )

    registry = inv.get("registry")
    cache_dir = inv.get("cache-dir") or default_cache_dir()
    cache = ManifestCache(cache_dir, origin=inv.resolver.origin("cache-dir"))
    transport = client if not registry else HarborClient(
        registry, ca_bundle=inv.get("ca-bundle"), timeout=inv.get("timeout"),
        concurrency=inv.get("concurrency"))
    artifacts = [(entry["repository"]["name"], artifact)
                 for project in data.get("projects", [])
                 for entry in project.get("repositories", [])
                 for artifact in entry.get("artifacts", [])
                 if isinstance(artifact.get("digest"), str)]
    wanted = [(name, artifact["digest"]) for name, artifact in artifacts]
    try:
        reader = ManifestReader(transport, Tokens(transport, client), cache)
        if not registry:
            _confirm_pulls(inv, reader.uncached(d for _, d in wanted),
                           pull_rules(data, what_if, harbor_policies))
        progress, stop = inv.progress("reading manifests")
        try:
            found = reader.read(wanted, progress)
        finally:
            stop()
    finally:
        if transport is not client:
            transport.close()
    incomplete = data.setdefault("incomplete", [])
    for name, artifact in artifacts:
        digest = artifact["digest"]
        blobs = found.blobs.get(digest)
        if blobs is None:
            reason = found.failures.get(digest, "not read")
            incomplete.append({"what": f"{name}@{digest}",
                               "reason": f"deduplicated storage: {client.redact(reason)}"})
            continue
        artifact["blobs"] = [{"digest": b.digest, "size": b.size, "media_type": b.media_type}
                             for b in blobs]
    inv.notes.extend(cache.write_errors)
    origin = f"from the registry {registry}" if registry else "through Harbor's /v2/ API"
    pulls = ("the registry behind Harbor records no pull" if registry else
             f"Harbor recorded {found.fetched} pulls (those artifacts' pull_time is now this "
             "run's time; the simulation uses the pull times read before)")
    return (f"--dedup: {found.fetched} manifests read {origin}, {found.cached} from the "
            f"cache ({cache.directory}); {pulls}")


def _confirm_pulls(inv: Invocation, requests: int, rules: list[str]) -> None:
    if not requests or not rules:
        return
    shown = ", ".join(rules[:5]) + (f" and {len(rules) - 5} more" if len(rules) > 5 else "")
    question = (
        f"--dedup reads {requests} manifests through Harbor, and Harbor records a pull for "
        f"each: those artifacts' pull_time becomes now, so the pull-based rules ({shown}) "
        "keep them longer from the next retention run on than they would have. (This run "
        "simulates the pull times read before.) --registry URL reads from the registry "
        "behind Harbor instead, which records nothing. Read through Harbor?")
    if inv.confirm is None:
        raise InputError(
            f"--dedup would record {requests} pulls in Harbor, which changes what the "
            f"pull-based rules ({shown}) keep; there is no terminal to ask: pass --yes to "
            "accept, or read with --registry URL (the registry behind Harbor records nothing)")
    if not inv.confirm(question):
        raise InputError("--dedup: not confirmed; no manifest was read")


def storage_said(inv: Invocation, figures: StorageFigures | None) -> None:
    """With --dedup (the figures are in the report: pipeline/assemble.py): artifacts
    without blobs make the run incomplete, and what freed means is said."""
    if figures is None:
        return
    inv.incomplete.extend(figures.missing)
    inv.notes.append(SHARED_NOTE)
