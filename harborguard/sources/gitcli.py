"""The ``git`` CLI, read-only, for the rollback window (githistory.py) and gather's probe.

Contents read from history are bounded like files on disk (fstree.MAX_FILE_BYTES): a
commit may hold a file of any size, and a merge request can add one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harborguard.errors import SourceError
from harborguard.sources.fstree import MAX_FILE_BYTES, too_large
from harborguard.sources.helmlayers import UnreadableFile

_GIT_TIMEOUT = 120.0
# Never take locks or touch the index: CI may run this next to other git processes.
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
# A user's configuration must not change the output parsed here.
_GIT_CONFIG = ("-c", "log.showSignature=false", "-c", "color.ui=false")


class Git:
    """git commands in one repository, and one ``cat-file --batch`` for file contents."""

    def __init__(self, executable: str, top: str, prefix: str) -> None:
        self.executable = executable
        self.top = top
        self.prefix = prefix  # the manifests root inside the repository: "" or "deploy/"
        self._batch: subprocess.Popen[bytes] | None = None
        self._listings: dict[tuple[str, str], list[str]] = {}
        self._objects: dict[str, dict[str, str]] = {}
        self._trees: dict[str, list[tuple[str, str, str]]] = {}
        # Submodules met in the trees listed (path relative to the manifests root -> the
        # first commit listed that holds it): their files are in another repository.
        self.submodules: dict[str, str] = {}

    @classmethod
    @contextmanager
    def open(cls, executable: str, root: Path) -> Iterator[Git]:
        probe = cls(executable, str(root), "")
        top = probe.run("rev-parse", "--show-toplevel", what="not_repo", cwd=str(root))
        prefix = probe.run("rev-parse", "--show-prefix", what="not_repo", cwd=str(root))
        repo = cls(executable, top.strip(), prefix.strip())
        try:
            yield repo
        finally:
            repo.close()

    def run(self, *args: str, what: str = "", cwd: str | None = None) -> str:
        command = [self.executable, "-C", cwd or self.top, *_GIT_CONFIG, *args]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_GIT_TIMEOUT,
                env={**os.environ, **_GIT_ENV},
                check=False,
            )
        except FileNotFoundError:
            raise SourceError(
                f"{self.executable} not found; install git, or pass --history 0"
            ) from None
        except subprocess.TimeoutExpired:
            raise SourceError(
                f"`git {' '.join(args)}` did not finish within {_GIT_TIMEOUT:g}s in {self.top}"
            ) from None
        if done.returncode != 0:
            reason = _first_line(done.stderr)
            if what == "no_commits":
                raise SourceError(
                    f"the git checkout at {self.top} has no commits; --history reads the "
                    "committed history: commit first, clone the repository, or pass --history 0"
                )
            if what == "not_repo":
                if "dubious ownership" in reason or "safe.directory" in reason:
                    raise SourceError(dubious_ownership(cwd or self.top, reason))
                raise SourceError(
                    f"{cwd or self.top} is not in a git checkout ({reason}); --history reads "
                    "the repository's history: point --manifests at a git clone, or pass "
                    "--history 0"
                )
            raise SourceError(f"`git {' '.join(args)}` failed in {self.top}: {reason}")
        return done.stdout.decode("utf-8", errors="replace")

    def cat(self, commit: str, path: str) -> str | None:
        """A file's text at a commit; None if it does not exist there (or is a folder)."""
        batch = self._batch_process()
        assert batch.stdin is not None and batch.stdout is not None
        batch.stdin.write(f"{commit}:{self.prefix}{path}\n".encode())
        batch.stdin.flush()
        header = batch.stdout.readline().decode("utf-8", errors="replace").split()
        # "<oid> <type> <size>", or "<commit>:<path> missing" (the path may hold spaces).
        if len(header) != 3 or not header[2].isdigit() or header[2] == "missing":
            return None
        size = int(header[2])
        if size > MAX_FILE_BYTES:
            remaining = size + 1  # the content and its newline: drain, keep nothing
            while remaining > 0:
                chunk = batch.stdout.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            if header[1] != "blob":
                return None
            raise too_large(size)
        data = batch.stdout.read(size + 1)[:size]
        if header[1] != "blob":
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"not UTF-8 text (byte {exc.start})") from None

    def exists(self, commit: str, path: str) -> bool:
        try:
            return self.cat(commit, path) is not None
        except UnreadableFile:
            return True

    def objects(self, commit: str) -> dict[str, str]:
        """Path (relative to the manifests root) -> object id of every file and folder.

        Read as tree objects through the ``cat-file --batch`` process, each tree once: a
        folder unchanged between commits keeps its object id, so walking many commits
        reads only what changed. It also answers files(commit, "").
        """
        if commit not in self._objects:
            spec = f"{commit}:{self.prefix.rstrip('/')}" if self.prefix else f"{commit}^{{tree}}"
            found: dict[str, str] = {}
            blobs: list[str] = []
            root = self._raw(spec)
            if root is None or root[1] != "tree":
                # Never an empty listing read as "nothing declared": name the failure.
                raise SourceError(f"git cannot list the tree of {spec} in {self.top}")
            self._trees.setdefault(root[0], _entries(root[2], len(root[0]) // 2))
            self._flatten(root[0], "", found, blobs, commit)
            self._objects[commit] = found
            self._listings[(commit, "")] = sorted(blobs)
        return self._objects[commit]

    def _flatten(self, oid: str, base: str, found: dict[str, str], blobs: list[str],
                 commit: str) -> None:
        for name, child, kind in self._tree(oid):
            path = f"{base}{name}"
            if kind == "commit":  # a submodule (gitlink): named, its files are not here
                self.submodules.setdefault(path, commit)
                continue
            found[path] = child
            if kind == "tree":
                self._flatten(child, f"{path}/", found, blobs, commit)
            else:
                blobs.append(path)

    def _tree(self, oid: str) -> list[tuple[str, str, str]]:
        """(name, object id, "tree", "blob" or "commit": a submodule) of a tree object's
        entries."""
        if oid not in self._trees:
            raw = self._raw(oid)
            if raw is None or raw[1] != "tree":
                raise SourceError(f"git cannot read the tree object {oid} in {self.top}")
            self._trees[oid] = _entries(raw[2], len(oid) // 2)
        return self._trees[oid]

    def _raw(self, spec: str) -> tuple[str, str, bytes] | None:
        """An object's id, type and content (only trees are asked for: small)."""
        batch = self._batch_process()
        assert batch.stdin is not None and batch.stdout is not None
        batch.stdin.write(f"{spec}\n".encode())
        batch.stdin.flush()
        header = batch.stdout.readline().decode("utf-8", errors="replace").split()
        if len(header) != 3 or not header[2].isdigit():
            return None
        size = int(header[2])
        if size > MAX_FILE_BYTES:  # a folder of ~100,000 entries: bounded like a file
            remaining = size + 1
            while remaining > 0:
                chunk = batch.stdout.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            raise SourceError(f"git object {spec} in {self.top} is {size:,} bytes, more than "
                              f"harborguard reads ({MAX_FILE_BYTES:,}); not read")
        data = batch.stdout.read(size + 1)[:size]
        return header[0], header[1], data

    def files(self, commit: str, directory: str) -> list[str]:
        """Every file under ``directory`` (relative to the manifests root) at a commit."""
        key = (commit, directory)
        if key not in self._listings:
            target = f"{self.prefix}{directory}".rstrip("/")
            args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit]
            out = self.run(*args, "--", target) if target else self.run(*args)
            names = [n for n in out.split("\0") if n]
            self._listings[key] = [
                n[len(self.prefix) :] for n in names if n.startswith(self.prefix)
            ]
        return self._listings[key]

    def uncommitted(self) -> list[str]:
        """Paths under the manifests root (relative to it) whose working-tree state is not
        HEAD's: modified, deleted or staged, untracked, and ignored files (--manifests
        reads those too). ``git status`` takes no lock here (GIT_OPTIONAL_LOCKS=0)."""
        target = self.prefix.rstrip("/") or "."
        out = self.run("status", "--porcelain=v1", "-z", "--no-renames",
                       "--untracked-files=all", "--ignored=traditional",
                       "--ignore-submodules=all", "--", target)
        # "XY <path>" each, paths relative to the top of the repository.
        return [entry[3 + len(self.prefix):] for entry in out.split("\0")
                if len(entry) > 3 and entry[2] == " " and entry[3:].startswith(self.prefix)]

    def _batch_process(self) -> subprocess.Popen[bytes]:
        if self._batch is None:
            try:
                self._batch = subprocess.Popen(
                    [self.executable, "-C", self.top, "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, **_GIT_ENV},
                )
            except OSError as exc:
                raise SourceError(f"cannot run {self.executable} cat-file: {exc}") from None
        return self._batch

    def close(self) -> None:
        if self._batch is not None:
            assert self._batch.stdin is not None
            self._batch.stdin.close()
            try:
                self._batch.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._batch.kill()
                self._batch.wait()
            if self._batch.stdout is not None:
                self._batch.stdout.close()
            self._batch = None


def _entries(data: bytes, width: int) -> list[tuple[str, str, str]]:
    """A tree object's entries: ``<mode> <name>\\0<id bytes>`` each, as (name, id, kind)."""
    entries: list[tuple[str, str, str]] = []
    index = 0
    while index < len(data):
        space = data.index(b" ", index)
        nul = data.index(b"\0", space)
        mode = data[index:space]
        name = data[space + 1 : nul].decode("utf-8", errors="replace")
        child = data[nul + 1 : nul + 1 + width].hex()
        index = nul + 1 + width
        # 160000: a submodule's commit (a gitlink), in another repository.
        kind = "commit" if mode == b"160000" else "tree" if mode == b"40000" else "blob"
        entries.append((name, child, kind))
    return entries


def dubious_ownership(directory: str, reason: str) -> str:
    """git refuses a checkout another user owns (the usual CI container): say how to allow it."""
    return (
        f"git refuses to read {directory}: {reason}; the checkout belongs to another user. "
        f"Allow it with `git config --global --add safe.directory {directory}` (or "
        "'*'), then run again; or pass --history 0 to check without the rollback window"
    )


def probe_checkout(path: str) -> str | None:
    """None when ``path`` is in a git work tree; else why not, or "" when no .git is there.

    A folder with .git (a folder, or a file as in worktrees and submodules) here or above
    that git cannot read is a failure to name, never "not a checkout".
    """
    try:
        done = subprocess.run(
            ["git", "-C", path, "rev-parse", "--is-inside-work-tree"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=_GIT_TIMEOUT, check=False,
            env={**os.environ, **_GIT_ENV},
        )
    except FileNotFoundError:
        reason = "git is not installed"
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = f"git did not answer: {exc}"
    else:
        if done.returncode == 0 and done.stdout.strip() == b"true":
            return None
        reason = _first_line(done.stderr)
        if done.returncode == 0:
            reason = "not inside the work tree (a .git folder or a bare repository?)"
    top = _dot_git_above(Path(path))
    if top is None:
        return ""
    if "dubious ownership" in reason or "safe.directory" in reason:
        return dubious_ownership(str(top), reason)
    return (
        f"git cannot read the checkout at {top} ({reason}), so the rollback window was not "
        "checked; repair the checkout, or pass --history 0 to check without it"
    )


def _dot_git_above(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git``, as git looks for it."""
    current = path.resolve()
    for folder in (current, *current.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def _first_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line or "(nothing on stderr)"
