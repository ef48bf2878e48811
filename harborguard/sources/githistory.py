"""The rollback window: chart versions a component had before the one at HEAD (``--history N``).

In the February 2024 incident the repository named 0.0.131 while the cluster still ran
0.0.130; only the repository's history knew that 0.0.130 was the version to roll back to.
This reads that history with the ``git`` CLI, read-only (``git log``, ``git cat-file``,
``git ls-tree``, ``git status``), along the first-parent chain of the committed HEAD,
reading each component's environment values file under whichever name it had at each
commit. When the working tree (what ``--manifests`` reads as declared) differs from HEAD,
HEAD's committed version of what it changes is a rollback target too: it is what runs
until the uncommitted change is committed and deployed.
"""

from __future__ import annotations

import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path

from harborguard.errors import InputError, SourceError
from harborguard.evidence import Usage
from harborguard.sources.fstree import FsReader, selected_files
from harborguard.sources.gitcli import Git
from harborguard.sources.gitdeclared import declared_rollbacks
from harborguard.sources.helmfile import (
    HELMFILE_NAMES,
    Component,
    chart_version_of,
    env_values_candidates,
    load_values_file,
    read_helmfile,
    values_stem,
)
from harborguard.sources.helmlayers import UnreadableFile, glob_in
from harborguard.sources.helmvalues import ImageSpec, Unresolved, scan_values
from harborguard.sources.manifests import ChartValues, component_usages


@dataclass(frozen=True, slots=True)
class RollbackVersion:
    version: str
    commit: str  # short hash of the commit that set this version
    date: str  # its committer date (ISO 8601)
    where: str  # "commit:path:line" of the chartVersion line


@dataclass(frozen=True, slots=True)
class ComponentHistory:
    component: str
    values_path: str  # the environment values file at HEAD, relative to the manifests root
    head_version: str  # declared evidence; read_manifests reports it
    versions: tuple[RollbackVersion, ...]  # newest first, at most `depth`
    # True when fewer than `depth` were found because the clone is shallow.
    cut_by_shallow: bool
    # HEAD's version when the working tree declares another one (uncommitted): a rollback
    # target besides `versions`.
    committed: RollbackVersion | None = None


@dataclass(frozen=True, slots=True)
class HistoryEvidence:
    root: str
    environment: str
    depth: int
    usages: tuple[Usage, ...]
    components: tuple[ComponentHistory, ...]
    commits_walked: int  # first-parent commits from HEAD back to the oldest one read
    visible_commits: int  # first-parent commits this clone has at all
    shallow: bool
    oldest_commit: str | None  # the oldest first-parent commit this clone has
    oldest_date: str | None
    # Sentences for the report: where fewer than `depth` versions were found, and why.
    limits: tuple[str, ...]
    problems: tuple[str, ...]
    unresolved: tuple[Unresolved, ...]
    # The most earlier declared sets (images, literals, plain manifests) found for one
    # component: versions back that the chart-version walk does not count.
    declared_versions: int = 0
    # Files --manifests reads whose working-tree state is not HEAD's (uncommitted).
    uncommitted: tuple[str, ...] = ()

    def summary(self) -> str:
        reach = (
            f"back to {self.oldest_commit} ({self.oldest_date})" if self.oldest_commit else "none"
        )
        clone = "a shallow clone" if self.shallow else "a full clone"
        changed = ""
        if self.uncommitted:
            shown = ", ".join(self.uncommitted[:3]) + (", ..." if len(self.uncommitted) > 3
                                                       else "")
            changed = (f"; the working tree differs from HEAD (uncommitted changes) in "
                       f"{len(self.uncommitted)} file(s): {shown}; what HEAD declares there "
                       "counts as a rollback target too")
        return (
            f"git history: read {self.commits_walked} of {self.visible_commits} first-parent "
            f"commits, {clone} reaching {reach}{changed}"
        )


def read_history(
    root: str,
    environment: str,
    depth: int,
    *,
    git: str = "git",
    chart_values: ChartValues | None = None,
    image_tag_template: str | None = None,
) -> HistoryEvidence:
    """Per component, the ``depth`` distinct chart versions before the one at HEAD.

    Each becomes ``rollback`` usages: the chart artifact and, as for declared versions,
    its images (``chart_values`` / ``image_tag_template``). Raises SourceError (one line)
    when git is missing, ``root`` is not in a git checkout or the checkout has no commits.
    """
    if depth < 0:
        raise InputError(f"--history {depth}: must be 0 or more")
    base = Path(root)
    if not base.is_dir():
        raise InputError(f"--manifests {root}: not a directory")
    executable = shutil.which(git)
    if executable is None:
        raise SourceError(
            f"{git} not found on PATH; --history reads the deployment repository's git "
            "history: install git, or pass --history 0 to do without the rollback window"
        )
    with Git.open(executable, base) as repo:
        return _History(repo, root, environment, depth, chart_values, image_tag_template).run()


class _Tree:
    """The manifests tree at one commit, as helmfile.TreeReader."""

    def __init__(self, repo: Git, commit: str) -> None:
        self.repo = repo
        self.commit = commit

    def read(self, path: str) -> str | None:
        return self.repo.cat(self.commit, path)

    def glob(self, pattern: str) -> list[str]:
        fixed = pattern.split("*", 1)[0].split("?", 1)[0]
        directory = posixpath.dirname(fixed)
        return glob_in(self.repo.files(self.commit, directory), pattern)


@dataclass(frozen=True, slots=True)
class _Commit:
    full: str
    short: str
    date: str


@dataclass(frozen=True, slots=True)
class _Seen:
    """One version in the walk: the oldest commit so far of its run of commits."""

    version: str
    commit: _Commit
    path: str
    line: int


class _History:
    def __init__(
        self,
        repo: Git,
        root: str,
        environment: str,
        depth: int,
        chart_values: ChartValues | None,
        image_tag_template: str | None,
    ) -> None:
        self.repo = repo
        self.root = root
        self.environment = environment
        self.depth = depth
        self.chart_values = chart_values
        self.image_tag_template = image_tag_template
        self.usages: list[Usage] = []
        self.unresolved: list[Unresolved] = []
        self.problems: list[str] = []
        self.limits: list[str] = []
        self.worktree: FsReader | None = None  # the working tree, when it is not HEAD's

    def run(self) -> HistoryEvidence:
        repo = self.repo
        repo.run("rev-parse", "--verify", "-q", "HEAD^{commit}", what="no_commits")
        shallow = repo.run("rev-parse", "--is-shallow-repository").strip() == "true"
        chain = repo.run("rev-list", "--first-parent", "HEAD").split()
        position = {commit: index for index, commit in enumerate(chain)}
        oldest = chain[-1] if chain else None
        oldest_date = (
            repo.run("log", "-1", "--format=%cI", oldest).strip() if oldest is not None else None
        )
        histories: list[ComponentHistory] = []
        deepest = declared_versions = 0
        changed: list[str] = []
        if self.depth > 0:
            changed = selected_files(repo.uncommitted())
            self.worktree = FsReader(Path(self.root)) if changed else None
            for directory, values_path in self._components():
                walked = self._component(
                    directory, values_path, shallow, oldest, position, oldest_date
                )
                if walked is not None:
                    history, reached = walked
                    histories.append(history)
                    deepest = max(deepest, reached)
            # Everything else the tree declares (helmfile literals, image bumps, plain
            # manifests, renamed components): the same reader as HEAD, at each commit.
            known = {u.ref for u in self.usages}
            declared, hidden, cut, read, declared_versions = declared_rollbacks(
                repo, self.environment, self.depth,
                posixpath.basename(self.root.rstrip("/")), shallow=shallow, oldest=oldest,
                chart_values=self.chart_values, image_tag_template=self.image_tag_template,
                worktree=self.root if changed else None)
            # The counts are of everything read, both walks (the findings cite both).
            deepest = max(deepest, read)
            self.usages.extend(u for u in declared if u.ref not in known)
            cited = {u.where for u in self.unresolved}
            self.unresolved.extend(u for u in hidden if u.where not in cited)
            self.problems.extend(
                f"{path}: a git submodule (in {commit[:12]}): the history of its files is not "
                "read (harborguard reads this repository's commits; a submodule's earlier "
                "versions are gitlink bumps into another one), so its rollback targets are "
                "not read; check the submodule's own checkout too, or pass --history 0 to "
                "check without the rollback window" for path, commit in repo.submodules.items())
            named = {h.component for h in histories if h.cut_by_shallow}
            when = f" ({oldest_date})" if oldest_date else ""
            self.problems.extend(
                f"{key}: fewer than {self.depth} earlier versions of what it declares for "
                f"{self.environment}: the clone is shallow and its history starts at "
                f"{(oldest or '')[:12]}{when}, so older rollback targets are unknown; fetch "
                "the whole history (git fetch --unshallow; in GitLab CI set GIT_DEPTH: 0 in "
                ".gitlab-ci.yml)"
                for key in cut if key not in named)
        return HistoryEvidence(
            root=self.root,
            environment=self.environment,
            depth=self.depth,
            usages=tuple(dict.fromkeys(self.usages)),
            components=tuple(histories),
            commits_walked=deepest,
            declared_versions=declared_versions,
            visible_commits=len(chain),
            shallow=shallow,
            oldest_commit=oldest[:12] if oldest else None,
            oldest_date=oldest_date,
            limits=tuple(self.limits),
            problems=tuple(self.problems),
            unresolved=tuple(dict.fromkeys(self.unresolved)),
            uncommitted=tuple(changed),
        )

    def _components(self) -> list[tuple[str, str]]:
        """(component folder, its environment values file) at HEAD."""
        found: dict[str, str] = {}
        for path in self.repo.files("HEAD", ""):
            parts = path.split("/")
            if len(parts) >= 2 and parts[-2] == "values":
                if values_stem(parts[-1]) == self.environment:
                    directory = posixpath.dirname(posixpath.dirname(path))
                    # With both names present helmfile's `<env>.yaml*` reads both and the
                    # .gotmpl one last, so its chartVersion wins.
                    if directory not in found or path.endswith(".gotmpl"):
                        found[directory] = path
        return sorted(found.items())

    def _component(
        self,
        directory: str,
        values_path: str,
        shallow: bool,
        oldest: str | None,
        position: dict[str, int],
        oldest_date: str | None = None,
    ) -> tuple[ComponentHistory, int] | None:
        name = _component_name(directory) or posixpath.basename(self.root.rstrip("/"))
        head_version = self._version_at("HEAD", directory)
        if head_version is None:
            return None  # no chartVersion: nothing versioned to roll back to
        candidates = env_values_candidates(directory, self.environment)
        log = self.repo.run(
            "log",
            "--first-parent",
            "--format=%H%x09%h%x09%cI",
            "HEAD",
            "--",
            *(f"{self.repo.prefix}{path}" for path in candidates),
        )
        seen: set[str] = {head_version.version}
        committed: RollbackVersion | None = None
        now = self._version_in(self.worktree, directory) if self.worktree else None
        if self.worktree is not None and (now is None or now.version != head_version.version):
            # Uncommitted: HEAD's version runs until the working tree's is deployed.
            top = self.repo.run("log", "-1", "--format=%H%x09%h%x09%cI", "HEAD").split()
            mark = _Seen(head_version.version, _Commit(*top[:3]), head_version.path,
                         head_version.line)
            committed = RollbackVersion(mark.version, mark.commit.short, mark.commit.date,
                                        f"{mark.commit.short}:{mark.path}:{mark.line}")
            self._usages(name, directory, mark)
            seen.update([now.version] if now else [])
        found: list[_Seen] = []
        previous: str | None = head_version.version
        reached = 0
        for line in log.splitlines():
            if line.count("\t") != 2:
                continue
            full, short, date = line.split("\t")
            commit = _Commit(full, short, date)
            reached = max(reached, position.get(full, 0) + 1)
            at = self._version_at(full, directory, commit)
            if at is None:
                previous = None
                continue
            if found and at.version == previous == found[-1].version:
                # Still the same version: cite the commit that set it, not a later edit. A
                # shallow clone's oldest commit looks like it added every file; it did not.
                if not (shallow and full == oldest):
                    found[-1] = _Seen(at.version, commit, at.path, at.line)
                continue
            previous = at.version
            if len(found) == self.depth:
                break  # the run of the last version wanted has ended
            if at.version in seen:
                continue  # a revert to a version already counted
            seen.add(at.version)
            found.append(_Seen(at.version, commit, at.path, at.line))
        versions: list[RollbackVersion] = []
        for item in found:
            where = f"{item.commit.short}:{item.path}:{item.line}"
            versions.append(
                RollbackVersion(item.version, item.commit.short, item.commit.date, where)
            )
            self._usages(name, directory, item)
        cut = False
        if len(found) < self.depth and shallow and oldest is not None:
            # Cut by the clone only if the file already existed at its oldest commit. (In
            # a full clone, fewer versions than asked means there are no older ones.)
            if any(self.repo.exists(oldest, path) for path in candidates):
                cut = True
                when = f" ({oldest_date})" if oldest_date else ""
                self.problems.append(
                    f"{name}: found {len(found)} of {self.depth} earlier chart versions for "
                    f"{self.environment}: the clone is shallow and its history starts at "
                    f"{oldest[:12]}{when}, so older rollback targets are unknown; fetch the "
                    "whole history (git fetch --unshallow; in GitLab CI set GIT_DEPTH: 0 in "
                    ".gitlab-ci.yml)"
                )
        history = ComponentHistory(name, values_path, head_version.version, tuple(versions), cut,
                                   committed)
        return history, reached

    def _version_at(self, commit: str, directory: str, info: _Commit | None = None) -> _Seen | None:
        return self._version_in(_Tree(self.repo, commit), directory, info)

    def _version_in(self, tree: _Tree | FsReader, directory: str,
                    info: _Commit | None = None) -> _Seen | None:
        """The chartVersion in a tree: a commit's, or the working tree's (whose problems
        read_manifests names)."""
        commit = tree.commit if isinstance(tree, _Tree) else ""
        chosen: _Seen | None = None
        for path in env_values_candidates(directory, self.environment):
            loaded = load_values_file(tree, path, self.environment, values=True)
            if loaded is None:
                continue
            if isinstance(loaded, str):
                self.problems.extend([f"{commit[:12]}:{loaded}"] if commit else [])
                continue
            version = chart_version_of(loaded)
            if version is not None:
                when = info or _Commit(commit, commit[:12], "")
                chosen = _Seen(version[0], when, path, version[1])
        return chosen

    def _usages(self, name: str, directory: str, item: _Seen) -> None:
        """The rollback usages of one version: chart artifact and images, as at that commit."""
        tree = _Tree(self.repo, item.commit.full)
        component: Component | None = None
        overrides: list[ImageSpec] = []
        for helmfile_name in sorted(HELMFILE_NAMES):
            path = posixpath.join(directory, helmfile_name) if directory else helmfile_name
            try:
                if tree.read(path) is None:
                    continue
            except UnreadableFile as exc:
                self.problems.append(f"{item.commit.short}:{path}: {exc}")
                continue
            read = read_helmfile(tree, path, self.environment, name)
            self.problems.extend(f"{item.commit.short}:{p}" for p in read.problems)
            for candidate in read.components:
                if candidate.chart_version == item.version and candidate.oci:
                    component = candidate
                    overrides.extend(self._release_images(tree, candidate))
                    for _owner, images in read.inline_images:
                        if _owner is candidate:
                            overrides.extend(images)
                    break
            if component is not None:
                break
        prefix = item.commit.short
        if component is None or component.chart_ref is None:
            self.unresolved.append(
                Unresolved(
                    f"{prefix}:{item.path}:{item.line}",
                    f"chartVersion: {item.version}",
                    "no helmfile at that commit names an OCI chart for this version",
                    name,
                )
            )
            return
        # The line that names the version is the values file's, whatever the helmfile says.
        component = Component(
            name=name,
            environment=self.environment,
            release=component.release,
            namespace=component.namespace,
            chart=component.chart,
            chart_repository=component.chart_repository,
            oci=component.oci,
            chart_version=item.version,
            declared_at=f"{item.path}:{item.line}",
            values_files=component.values_files,
        )
        usages, hidden = component_usages(
            component,
            overrides,
            chart_values=self.chart_values,
            image_tag_template=self.image_tag_template,
            source="git-history",
            kind="rollback",
            where=lambda text: f"{prefix}:{text}",
        )
        self.usages.extend(usages)
        self.unresolved.extend(hidden)

    def _release_images(self, tree: _Tree, component: Component) -> list[ImageSpec]:
        images: list[ImageSpec] = []
        for path in component.values_files:
            loaded = load_values_file(tree, path, self.environment, values=True)
            if isinstance(loaded, str):
                self.problems.append(f"{tree.commit[:12]}:{loaded}")
            elif loaded is not None and loaded.root is not None:
                images.extend(scan_values(loaded.root, path, loaded.rendered.lines).images)
        return images


def _component_name(directory: str) -> str | None:
    parts = [p for p in directory.split("/") if p]
    if "components" in parts[:-1]:
        return parts[parts.index("components") + 1]
    return parts[-1] if parts else None
