"""Since when a version waits: the first-parent commit that put it into the manifests.

``drift`` says how long a merged version has not been deployed ("merged 9 days ago in
3f2a1c0, not deployed") and exports it as ``harborguard_undeployed_seconds``. That commit is
the oldest of the unbroken run of first-parent commits, from HEAD back, whose file names
the version: a later edit of the same file (a comment, another key) does not reset the
clock, and a version reverted and merged again counts from its second merge.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harborguard.errors import SourceError
from harborguard.sources.gitcli import Git
from harborguard.sources.helmfile import env_values_candidates
from harborguard.sources.helmlayers import UnreadableFile


@dataclass(frozen=True, slots=True)
class Since:
    commit: str  # short hash
    time: str  # committer time, RFC 3339 UTC ("2024-02-22T22:41:00Z")

    def as_report(self) -> dict[str, str]:
        return {"commit": self.commit, "time": self.time}


def candidate_paths(declared: str, environment: str) -> list[str]:
    """The names the file that declares a version has had: an environment values file
    (``components/x/values/tools.yaml``, later ``tools.yaml.gotmpl``), else itself."""
    directory = posixpath.dirname(declared)
    if posixpath.basename(directory) == "values":
        names = env_values_candidates(posixpath.dirname(directory), environment)
        if declared in names:
            return names
    return [declared]


def _names(text: str, version: str) -> bool:
    return re.search(rf"(?<![\w.+-]){re.escape(version)}(?![\w.+-])", text) is not None


def _text(repo: Git, commit: str, path: str) -> str:
    try:
        return repo.cat(commit, path) or ""
    except UnreadableFile:
        return ""


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def introduced(root: str, paths: Sequence[str], version: str, *, git: str = "git"
               ) -> Since | None:
    """The commit that put ``version`` into ``paths`` (relative to ``root``) for good;
    None when HEAD does not name it (not committed yet). Raises SourceError when git
    cannot read ``root``'s history."""
    executable = shutil.which(git)
    if executable is None:
        raise SourceError(f"{git} not found on PATH")
    with Git.open(executable, Path(root)) as repo:
        log = repo.run("log", "--first-parent", "--format=%H%x09%h%x09%cI", "HEAD", "--",
                       *(f"{repo.prefix}{path}" for path in paths))
        found: Since | None = None
        for line in log.splitlines():
            if line.count("\t") != 2:
                continue
            full, short, when = line.split("\t")
            if not any(_names(_text(repo, full, path), version) for path in paths):
                break
            found = Since(short, _utc(when))
        return found


def age_words(seconds: float) -> str:
    """``9 days``, ``5 hours``, ``12 minutes``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return "less than a minute"
