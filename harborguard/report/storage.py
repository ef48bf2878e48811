"""The deduplicated storage figures (``--dedup``) in words, beside Harbor's naive sum, for
the table and Markdown formats: the run's (with a diff's previous policy) and each
repository's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harborguard.report.common import human_bytes


def storage_text(report: dict[str, Any]) -> str | None:
    """One sentence, or None when the run did not measure storage (no --dedup)."""
    s = report["summary"]
    if "bytes_stored_dedup" not in s:
        return None
    if s["bytes_stored_dedup"] is None:
        return ("Storage, each blob counted once: unknown, some manifests were not read "
                "(see incomplete)")
    text = (f"Storage, each blob counted once: {human_bytes(s['bytes_stored_dedup'])} "
            f"stored, {human_bytes(s['bytes_kept_dedup'])} kept; frees "
            f"{human_bytes(s['bytes_freed_dedup'])} (Harbor's sizes summed: up to "
            f"{human_bytes(s['bytes_deleted'])}); what is kept grows by "
            f"{human_bytes(s['growth_bytes_per_30d'])} a month (the last 90 days' pace)")
    previous = s.get("previous")
    if previous is not None:
        change = s["bytes_kept_dedup"] - previous["bytes_kept_dedup"]
        more = "more" if change >= 0 else "less"
        text += (f". Against the previous policy: keeps {human_bytes(abs(change))} {more} "
                 f"than today (deduplicated), growing by "
                 f"{human_bytes(s['growth_bytes_per_30d'])} a month instead of "
                 f"{human_bytes(previous['growth_bytes_per_30d'])}")
    return text


def repository_storage_lines(repo: dict[str, Any],
                             artifacts: Iterable[dict[str, Any]]) -> list[str]:
    """One repository's figures (its ``repositories`` row) beside Harbor's sizes of its
    deleted ``artifacts`` summed: one line, none without --dedup."""
    if "bytes_stored_dedup" not in repo:
        return []
    naive = human_bytes(sum(a["size"] for a in artifacts if a["action"] == "delete"))
    if repo["bytes_stored_dedup"] is None:
        return [f"Storage, each blob counted once: unknown, some manifests were not read "
                f"(Harbor's sizes summed: up to {naive} deleted)"]
    freed = repo["bytes_freed_dedup"]
    return [f"Storage, each blob counted once: {human_bytes(repo['bytes_stored_dedup'])} "
             f"stored, {human_bytes(repo['bytes_kept_dedup'])} kept, frees "
             f"{'unknown' if freed is None else human_bytes(freed)} (Harbor's sizes summed: "
             f"up to {naive}); kept grows by {human_bytes(repo['growth_bytes_per_30d'])} a "
             "month"]
