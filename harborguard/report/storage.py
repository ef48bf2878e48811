"""The deduplicated storage figures (``--dedup``) in words, beside Harbor's naive sum, for
the table and Markdown formats."""

from __future__ import annotations

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
