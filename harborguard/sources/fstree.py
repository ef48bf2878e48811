"""Reading the ``--manifests`` tree: regular files of bounded size, never outside the tree.

The deployment repository is written by whoever opens a merge request. A named pipe would
hang a read, a link to /dev/zero would fill the memory, and a link to /proc/self/environ
or ~/.docker/config.json would put a secret into a report that may be posted as a public
merge-request comment. So only regular files are read, at most MAX_FILE_BYTES each, and a
symbolic link is followed only when its target is inside the tree. Anything refused is an
UnreadableFile, which the scan names as a problem (the run is incomplete), never skipped.
"""

from __future__ import annotations

import glob as globmod
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from harborguard.sources.helmlayers import UnreadableFile
from harborguard.sources.imageoverrides import is_argocd_source_file

MAX_FILE_BYTES = 8 * 1024 * 1024  # per file: a values file or helmfile is a few KB

YAML_SUFFIXES = (".yaml", ".yml", ".yaml.gotmpl", ".yml.gotmpl")
# Kubernetes objects as JSON (kubectl apply -f dir/, Argo CD directory sources).
JSON_SUFFIX = ".json"
# JSON of other tools, never a Kubernetes object: not opened (a package-lock.json may pass
# MAX_FILE_BYTES, which would make the run incomplete for nothing), nor JSON under npm's
# node_modules/ (Kubernetes client libraries ship objects as test fixtures).
OTHER_JSON = frozenset({
    "package.json", "package-lock.json", "npm-shrinkwrap.json", "composer.json",
    "tsconfig.json", "jsconfig.json", "renovate.json", "values.schema.json",
})
NPM_FOLDER = "node_modules"
# werf's main chart folder (werf.io: "werf uses a .helm chart in the Git repository's root").
WERF_CHART = ".helm"


def too_large(size: int) -> UnreadableFile:
    return UnreadableFile(
        f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB ({size:,} bytes); harborguard "
        "reads at most that much per file: not read"
    )


class FsReader:
    """helmfile.TreeReader over a folder on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()

    def read(self, path: str) -> str | None:
        full = self.root / path
        real = self._inside(full)
        if real is None:
            return None
        try:
            # O_NONBLOCK: opening a named pipe must not wait for a writer.
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                return None
            if not stat.S_ISREG(info.st_mode):
                raise UnreadableFile(
                    f"not a regular file ({_kind(info.st_mode)}); only regular files are read"
                )
            if info.st_size > MAX_FILE_BYTES:
                raise too_large(info.st_size)
            try:
                raw = handle.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise too_large(len(raw))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"not UTF-8 text (byte {exc.start})") from None

    def glob(self, pattern: str) -> list[str]:
        found = globmod.glob(pattern, root_dir=self.root)
        # Anything but a folder: read() names a pipe or a link out of the tree.
        return sorted(p.replace(os.sep, "/") for p in found if not (self.root / p).is_dir())

    def _inside(self, full: Path) -> Path | None:
        """The file's real path; None when absent; UnreadableFile when it leaves the tree."""
        if not os.path.lexists(full):
            return None
        try:
            real = full.resolve(strict=True)
        except FileNotFoundError:
            raise UnreadableFile("a symbolic link to a file that does not exist") from None
        except (OSError, RuntimeError) as exc:  # a loop of links
            raise UnreadableFile(f"cannot follow the symbolic link: {exc}") from None
        if not real.is_relative_to(self.real_root):
            raise UnreadableFile(
                "a symbolic link to a file outside --manifests; not followed (what it points "
                "to could end up quoted in a report)"
            )
        return real


def read_by_name(name: str) -> bool:
    """A file name --manifests reads: YAML or JSON (but OTHER_JSON), not hidden (CI
    configuration, editor files), except Argo CD's parameter override files
    (``.argocd-source-<app>.yaml``: the images Argo CD Image Updater writes back), and not
    a chart's Chart.yaml/Chart.lock (a chart folder's files are listed by selected_files)."""
    if is_argocd_source_file(name):
        return True
    if name.startswith(".") or not name.endswith((*YAML_SUFFIXES, JSON_SUFFIX)):
        return False
    return name not in ("Chart.yaml", "Chart.lock", *OTHER_JSON)


def chart_folders(paths: Iterable[str]) -> set[str]:
    """Folders that are charts: one holding a Chart.yaml, and werf's ``.helm`` (its main
    chart, where Chart.yaml is optional)."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if parts[-1] == "Chart.yaml":
            found.add("/".join(parts[:-1]))
        found.update("/".join(parts[: i + 1]) for i, part in enumerate(parts[:-1])
                     if part == WERF_CHART)
    return found


def hidden_folder_read(name: str, holds_chart: bool) -> bool:
    """A hidden folder --manifests walks: werf's ``.helm``, or one holding a chart (a
    Chart.yaml in it or up to CHART_DEPTH folders down: ``.deploy/chart/Chart.yaml``);
    never .git. Others (.github, .gitlab, editor folders) are not deployment files."""
    return name != ".git" and (name == WERF_CHART or holds_chart)


CHART_DEPTH = 2  # how far below a hidden folder a Chart.yaml makes it read


def holds_chart(folder: str, charts: set[str]) -> bool:
    """A chart folder of ``charts`` is ``folder`` or at most CHART_DEPTH folders below."""
    prefix = f"{folder}/"
    return folder in charts or any(
        c.startswith(prefix) and c[len(prefix):].count("/") < CHART_DEPTH for c in charts)


def holds_chart_on_disk(folder: Path) -> bool:
    """holds_chart for a folder on disk."""
    return any(any(folder.glob("*/" * depth + "Chart.yaml"))
               for depth in range(CHART_DEPTH + 1))


def selected_files(paths: Iterable[str]) -> list[str]:
    """The files of a listing --manifests reads, sorted: the working tree (yaml_files) and
    each commit of the history (gitdeclared) select with this one rule.

    YAML and JSON files by read_by_name, outside hidden folders but those hidden_folder_read
    keeps; of a chart folder (chart_folders), also its Chart.yaml and the files under its
    templates/ (read with the chart: localchart.py, charttemplates.py).
    """
    listing = list(paths)
    charts = chart_folders(listing)
    found: list[str] = []
    for path in listing:
        parts = path.split("/")
        name = parts[-1]
        if any(part.startswith(".") and not hidden_folder_read(
                part, holds_chart("/".join(parts[: i + 1]), charts))
               for i, part in enumerate(parts[:-1])):
            continue
        if chart_file(path, charts):
            if not name.startswith("."):
                found.append(path)
        elif read_by_name(name) and not (name.endswith(JSON_SUFFIX) and NPM_FOLDER in parts):
            found.append(path)
    return sorted(found)


def chart_file(path: str, charts: set[str]) -> bool:
    """A chart folder's Chart.yaml or a file under its templates/: read with the chart."""
    parts = path.split("/")
    if parts[-1] == "Chart.yaml" and "/".join(parts[:-1]) in charts:
        return True
    return any(parts[i] == "templates" and "/".join(parts[:i]) in charts
               for i in range(len(parts) - 1))


def yaml_files(root: Path) -> tuple[list[str], list[str]]:
    """The files --manifests reads under root (selected_files), and a problem line per
    linked folder not followed.

    Hidden folders are not walked (.git, CI configuration) but those hidden_folder_read
    keeps (one holding a chart, holds_chart_on_disk). A linked folder inside the tree is
    read where it really is; one that leaves the tree is named.
    """
    found: list[str] = []
    problems: list[str] = []
    real_root = root.resolve()
    declaring: list[Path] = []  # folders holding a .gitmodules
    for directory, dirs, names in os.walk(root):
        if GITMODULES in names:
            declaring.append(Path(directory))
        relative = Path(directory).relative_to(root).as_posix()
        kept: list[str] = []
        for name in sorted(dirs):
            full = Path(directory) / name
            if name.startswith(".") and (name == ".git" or not hidden_folder_read(
                    name, holds_chart_on_disk(full))):
                continue
            if full.is_symlink():
                where = name if relative == "." else f"{relative}/{name}"
                try:
                    inside = full.resolve(strict=True).is_relative_to(real_root)
                except (OSError, RuntimeError):
                    inside = False
                if not inside:
                    problems.append(
                        f"{where}: a symbolic link to a folder outside --manifests; not "
                        "followed, so the files under it were not read"
                    )
                continue
            kept.append(name)
        dirs[:] = kept
        found.extend(name if relative == "." else f"{relative}/{name}" for name in names)
    problems.extend(submodules_not_checked_out(root, declaring))
    return selected_files(found), problems


GITMODULES = ".gitmodules"
_SUBMODULE_PATH = re.compile(r"^\s*path\s*=\s*(.+?)\s*$", re.MULTILINE)


def submodules_not_checked_out(root: Path, declaring: Iterable[Path]) -> list[str]:
    """A problem line per git submodule under root that is not checked out (its folder
    empty or missing: git clone, GitLab CI and actions/checkout leave submodules out by
    default), from the ``.gitmodules`` files in ``declaring`` (folders the walk met) and
    above root up to the checkout's top. A checked-out submodule (a ``.git`` inside) is
    read as files."""
    real_root = root.resolve()
    found: list[str] = []
    for folder in [*_gitmodules_above(real_root), *(d.resolve() for d in declaring)]:
        declared_paths, unreadable = _submodule_paths(folder / GITMODULES)
        if unreadable:
            where = Path(os.path.relpath(folder / GITMODULES, real_root)).as_posix()
            found.append(f"{where}: {unreadable}, so the submodules it may name were not "
                         "looked for")
        for declared in declared_paths:
            path = (folder / declared).resolve()
            if not path.is_relative_to(real_root):
                continue  # "." below: --manifests is the submodule's own folder
            if os.path.lexists(path / ".git"):
                continue
            where = path.relative_to(real_root).as_posix()
            found.append(
                f"{where}: a git submodule (named in {GITMODULES}) that is not checked out, "
                "so the files in it were not read; run `git submodule update --init "
                "--recursive` (GitLab CI: GIT_SUBMODULE_STRATEGY: recursive; GitHub "
                "actions/checkout: submodules: recursive) and check again")
    return sorted(set(found))


def _gitmodules_above(real_root: Path) -> list[Path]:
    """Folders above root holding a .gitmodules, up to the checkout's top (none when
    root is not inside a checkout, or is its top)."""
    if os.path.lexists(real_root / ".git"):
        return []
    folders: list[Path] = []
    for folder in real_root.parents:
        if os.path.lexists(folder / GITMODULES):
            folders.append(folder)
        if os.path.lexists(folder / ".git"):
            return folders
    return []


def _submodule_paths(path: Path) -> tuple[list[str], str]:
    """The ``path =`` values of a .gitmodules file, and why it was not read ("" if it was):
    a regular file of bounded size only."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return [], f"not a regular file ({_kind(info.st_mode)})"
        if info.st_size > MAX_FILE_BYTES:
            return [], str(too_large(info.st_size))
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [], f"cannot read: {exc.strerror or exc}"
    return [m.group(1).strip('"') for m in _SUBMODULE_PATH.finditer(text)], ""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a file"
