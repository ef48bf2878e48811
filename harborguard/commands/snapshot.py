"""snapshot: everything a simulation needs, fetched from a live Harbor into one file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harborguard import jsonio
from harborguard.commands.invocation import Invocation
from harborguard.commands.loading import harbor_client
from harborguard.errors import InputError, SourceError


@dataclass(frozen=True)
class Fetched:
    """The snapshot file's content, or why Harbor could not be read (exit 3 either way
    when anything is missing)."""

    content: bytes | None  # harborguard.snapshot/v1, indented; None: nothing was read
    summary: str = ""  # "2 projects, 5 repositories[; 1 items could not be read]"
    missing: tuple[dict[str, Any], ...] = ()  # the snapshot's incomplete items
    errors: tuple[str, ...] = ()  # Harbor could not be read at all

    @property
    def incomplete(self) -> bool:
        return bool(self.errors or self.missing)


def run_snapshot(inv: Invocation, projects: tuple[str, ...], all_projects: bool | None
                 ) -> Fetched:
    """``projects``/``all_projects`` from the command line; else the settings'."""
    from harborguard.sources.harbor import fetch_snapshot

    if not projects and not all_projects:
        projects = tuple(inv.get("project"))
        all_projects = inv.get("all-projects")
    if not projects and not all_projects:
        raise InputError("give --project P (repeatable) or --all-projects")
    progress, stop = inv.progress("reading Harbor")
    try:
        with harbor_client(inv) as client:
            data = fetch_snapshot(client, list(projects), all_projects=bool(all_projects),
                                  progress=progress)
            stop()
            dedup = ""
            if inv.get("dedup"):  # after the artifacts and their pull times
                from harborguard.commands.dedup import read_blobs

                dedup = "; " + read_blobs(inv, client, data)
    except SourceError as exc:
        return Fetched(None, errors=(str(exc),))
    finally:
        stop()
    missing = tuple(data.get("incomplete") or ())
    repos = sum(len(p.get("repositories", [])) for p in data.get("projects", []))
    summary = (f"{len(data.get('projects', []))} projects, {repos} repositories"
               + (f"; {len(missing)} items could not be read" if missing else "") + dedup)
    return Fetched(jsonio.dumps_indented(data), summary, missing)
