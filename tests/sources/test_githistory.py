"""The rollback window from a git repository built by a script from the real toolforge files.

The script replays the incident's history of components/builds-api/values/tools.yaml:
0.0.128 -> 0.0.130 -> (renamed to tools.yaml.gotmpl) -> 0.0.131, as in
toolforge-deploy_builds-api_chartVersion_history.txt (there the rename came earlier, with
0.0.78; here it is moved between 0.0.130 and 0.0.131 to test both names in one window).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harborguard.errors import InputError, SourceError
from harborguard.sources.githistory import HistoryEvidence, read_history
from tests.builders import shared_dir

TOOLFORGE = shared_dir() / "toolforge"
BE73 = TOOLFORGE / "toolforge-deploy@be73bc9" / "components"
CHART_VALUES = TOOLFORGE / "builds-api@322f874" / "deployment" / "chart" / "values.yaml"
HARBOR = "tools-harbor.wmcloud.org/toolforge"
V128 = "0.0.128-20240212150430-023b8914"
V130 = "0.0.130-20240221160838-03b2a120"
V131 = "0.0.131-20240222212602-322f874b"
OLD = "components/builds-api/values/tools.yaml"
NEW = "components/builds-api/values/tools.yaml.gotmpl"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def commit(repo: Path, message: str, date: str) -> str:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
        "--no-gpg-sign", "-m", message, date=date)
    return git(repo, "rev-parse", "--short=7", "HEAD")


def init(repo: Path) -> None:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")


def plain_tools_values(version: str) -> str:
    """tools.yaml before it became a template: the real file without its exec calls."""
    text = (BE73 / "builds-api/values/tools.yaml.gotmpl").read_text()
    lines = [
        line.split(":")[0] + ": PLACEHOLDER" if "{{ exec" in line else line
        for line in text.split("\n")
    ]
    return "\n".join(lines).replace(V131, version)


def gotmpl_tools_values(version: str) -> str:
    return (BE73 / "builds-api/values/tools.yaml.gotmpl").read_text().replace(V131, version)


@dataclass(frozen=True)
class Incident:
    repo: Path
    c128: str
    c130: str
    unrelated: str
    renamed: str
    c131: str


def build_incident(repo: Path) -> Incident:
    init(repo)
    api = repo / "components/builds-api"
    shutil.copytree(BE73 / "builds-api", api)
    (api / "values/tools.yaml.gotmpl").unlink()
    (api / "values/local.yaml.gotmpl").unlink()
    shutil.copytree(BE73 / "cert-manager", repo / "components/cert-manager")
    (repo / OLD).write_text(plain_tools_values(V128))
    c128 = commit(repo, "builds-api: bump to 0.0.128", "2024-02-12T15:12:13+00:00")
    (repo / OLD).write_text(plain_tools_values(V130))
    c130 = commit(repo, "builds-api: bump to 0.0.130", "2024-02-21T16:25:08+00:00")
    (repo / "README.md").write_text("toolforge-deploy\n")
    unrelated = commit(repo, "docs", "2024-02-21T17:00:00+00:00")
    git(repo, "mv", OLD, NEW)
    (repo / NEW).write_text(gotmpl_tools_values(V130))
    renamed = commit(repo, "builds-api: read secrets with exec", "2024-02-22T10:00:00+00:00")
    (repo / NEW).write_text(gotmpl_tools_values(V131))
    c131 = commit(repo, "builds-api: bump to 0.0.131", "2024-02-22T21:31:44+00:00")
    assert (repo / NEW).read_bytes() == (BE73 / "builds-api/values/tools.yaml.gotmpl").read_bytes()
    return Incident(repo, c128, c130, unrelated, renamed, c131)


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Incident:
    return build_incident(tmp_path_factory.mktemp("history") / "toolforge-deploy")


def versions(ev: HistoryEvidence) -> list[tuple[str, str]]:
    return [(v.version, v.where) for c in ev.components for v in c.versions]


def refs(ev: HistoryEvidence) -> set[tuple[str, str, bool]]:
    return {(u.ref, u.where, u.chart) for u in ev.usages}


# -- the incident --------------------------------------------------------------------------


def test_history_1_is_the_version_before_head_under_its_old_name(incident: Incident) -> None:
    ev = read_history(str(incident.repo), "tools", 1)
    assert ev.problems == () and ev.limits == ()
    [api] = ev.components
    assert (api.component, api.values_path, api.head_version) == ("builds-api", NEW, V131)
    # 0.0.130 was set by c130 in tools.yaml; the rename commit only carried it over.
    assert versions(ev) == [(V130, f"{incident.c130}:{OLD}:1")]
    assert api.versions[0].date == "2024-02-21T16:25:08+00:00"
    assert refs(ev) == {
        (f"{HARBOR}/builds-api:{V130}", f"{incident.c130}:{OLD}:1", True),
        # config.builder in the values file as it was then: a rollback brings it back too.
        (f"{HARBOR}/heroku-builder:22", f"{incident.c130}:{OLD}:5", False),
    }
    usage = next(u for u in ev.usages if u.chart)
    assert (usage.source, usage.kind, usage.component, usage.environment) == (
        "git-history", "rollback", "builds-api", "tools")
    assert [(u.where, u.reason) for u in ev.unresolved] == [
        (f"{incident.c130}:{OLD}:1",
         f"the images of {HARBOR}/builds-api:{V130} are unknown: no values.yaml from Harbor "
         "and no --image-tag-template")]
    assert (ev.shallow, ev.visible_commits, ev.commits_walked) == (False, 5, 5)
    assert ev.oldest_date == "2024-02-12T15:12:13+00:00"
    assert ev.summary() == (
        f"git history: read 5 of 5 first-parent commits, a full clone reaching back to "
        f"{ev.oldest_commit} (2024-02-12T15:12:13+00:00)")


def test_history_2_reaches_the_first_commit(incident: Incident) -> None:
    ev = read_history(str(incident.repo), "tools", 2, image_tag_template="{version}_image")
    assert versions(ev) == [(V130, f"{incident.c130}:{OLD}:1"), (V128, f"{incident.c128}:{OLD}:1")]
    assert refs(ev) == {
        (f"{HARBOR}/builds-api:{V130}", f"{incident.c130}:{OLD}:1", True),
        (f"{HARBOR}/builds-api:{V130}_image", f"{incident.c130}:{OLD}:1", False),
        (f"{HARBOR}/builds-api:{V128}", f"{incident.c128}:{OLD}:1", True),
        (f"{HARBOR}/builds-api:{V128}_image", f"{incident.c128}:{OLD}:1", False),
        (f"{HARBOR}/heroku-builder:22", f"{incident.c130}:{OLD}:5", False),
        (f"{HARBOR}/heroku-builder:22", f"{incident.c128}:{OLD}:5", False),
    }
    assert ev.unresolved == ()
    # With the chart's values.yaml as Harbor serves each version.
    ev = read_history(str(incident.repo), "tools", 2, chart_values=lambda r, v: (
        CHART_VALUES.read_text().replace("OVERWRITTEN_BY_CI", f"{v}_image")))
    assert (f"{HARBOR}/builds-api:{V128}_image", f"{incident.c128}:{OLD}:1", False) in refs(ev)
    assert [u.text for u in ev.unresolved if "nginx" in u.text][0].startswith(
        "nginx.image: repository: docker-registry.tools.wmflabs.org/nginx")


def test_fewer_versions_than_asked_in_a_full_clone_is_not_a_limit(incident: Incident) -> None:
    ev = read_history(str(incident.repo), "tools", 5)
    assert [v for v, _ in versions(ev)] == [V130, V128]
    assert ev.limits == ()
    assert not ev.components[0].cut_by_shallow


def test_other_environment_and_zero_depth(incident: Incident) -> None:
    ev = read_history(str(incident.repo), "toolsbeta", 2)
    [beta] = ev.components
    assert (beta.head_version, beta.versions) == (V131, ())  # never changed
    ev = read_history(str(incident.repo), "tools", 0)
    assert (ev.components, ev.usages, ev.visible_commits) == ((), (), 5)


def test_reads_the_committed_head_not_the_working_tree(
    incident: Incident, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(incident.repo), str(clone))
    (clone / NEW).write_text(gotmpl_tools_values("0.0.999-uncommitted"))
    ev = read_history(str(clone), "tools", 1)
    assert ev.components[0].head_version == V131
    assert [v for v, _ in versions(ev)] == [V130]


# -- shallow clones ------------------------------------------------------------------------


def shallow(incident: Incident, tmp_path: Path, depth: int) -> Path:
    clone = tmp_path / f"depth{depth}"
    git(tmp_path, "clone", "-q", "--depth", str(depth), f"file://{incident.repo}", str(clone))
    return clone


def test_shallow_clone_of_depth_1_says_how_far_it_could_see(
    incident: Incident, tmp_path: Path
) -> None:
    ev = read_history(str(shallow(incident, tmp_path, 1)), "tools", 1)
    assert (ev.shallow, ev.visible_commits, ev.oldest_date) == (
        True, 1, "2024-02-22T21:31:44+00:00")
    assert ev.usages == ()
    assert ev.components[0].cut_by_shallow
    # Cut by the clone, not by the history: a problem (the run is incomplete), not a note.
    assert ev.limits == ()
    assert ev.problems == (
        f"builds-api: found 0 of 1 earlier chart versions for tools: the clone is shallow and "
        f"its history starts at {ev.oldest_commit} (2024-02-22T21:31:44+00:00), so older "
        "rollback targets are unknown; fetch the whole history (git fetch --unshallow; in "
        "GitLab CI set GIT_DEPTH: 0 in .gitlab-ci.yml)",
        # cert-manager has no chartVersion, but what it declares may have changed before.
        f"cert-manager: fewer than 1 earlier versions of what it declares for tools: the "
        f"clone is shallow and its history starts at {ev.oldest_commit} "
        "(2024-02-22T21:31:44+00:00), so older rollback targets are unknown; fetch the whole "
        "history (git fetch --unshallow; in GitLab CI set GIT_DEPTH: 0 in .gitlab-ci.yml)")
    assert "a shallow clone" in ev.summary()


def test_shallow_clone_sees_the_rename_commit_only(incident: Incident, tmp_path: Path) -> None:
    clone = shallow(incident, tmp_path, 3)  # the 0.0.131 bump, the rename and the docs commit
    ev = read_history(str(clone), "tools", 1)
    # Enough for --history 1, but the commit that set 0.0.130 is beyond the clone.
    assert versions(ev) == [(V130, f"{incident.renamed}:{NEW}:1")]
    assert ev.limits == ()
    ev = read_history(str(clone), "tools", 2)
    assert [v for v, _ in versions(ev)] == [V130]
    assert ev.components[0].cut_by_shallow
    assert ev.problems[0].startswith("builds-api: found 1 of 2 earlier chart versions for tools")
    assert "git fetch --unshallow" in ev.problems[0] and "GIT_DEPTH: 0" in ev.problems[0]


# -- other histories -----------------------------------------------------------------------


def write_values(repo: Path, version: str) -> None:
    path = repo / "components/app/values/tools.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"chartVersion: {version}\nchartRepository: tools\n")


def test_revert_and_merge_on_the_first_parent_chain(tmp_path: Path) -> None:
    repo = tmp_path / "deploy"
    init(repo)
    helmfile = (BE73 / "builds-api/helmfile.yaml").read_text().replace("builds-api", "app")
    (repo / "components/app").mkdir(parents=True)
    (repo / "components/app/helmfile.yaml").write_text(helmfile)
    write_values(repo, "1.0.0")
    commit(repo, "1.0.0", "2024-01-01T00:00:00Z")
    write_values(repo, "2.0.0")
    c2 = commit(repo, "2.0.0", "2024-01-02T00:00:00Z")
    write_values(repo, "1.0.0")
    revert = commit(repo, "revert to 1.0.0", "2024-01-03T00:00:00Z")
    git(repo, "checkout", "-q", "-b", "bump")
    write_values(repo, "3.0.0")
    commit(repo, "3.0.0", "2024-01-04T00:00:00Z")
    git(repo, "checkout", "-q", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "merge", "-q",
        "--no-ff", "--no-gpg-sign", "-m", "merge bump", "bump", date="2024-01-05T00:00:00Z")
    ev = read_history(str(repo), "tools", 3)
    values = "components/app/values/tools.yaml"
    # 1.0.0 counts once, cited where it was last set; the side branch is not walked.
    assert versions(ev) == [("1.0.0", f"{revert}:{values}:1"), ("2.0.0", f"{c2}:{values}:1")]
    assert {u.ref for u in ev.usages} == {f"{HARBOR}/app:1.0.0", f"{HARBOR}/app:2.0.0"}
    assert ev.visible_commits == 4


def test_manifests_in_a_subdirectory_and_a_broken_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init(repo)
    root = repo / "deploy dir"  # a space, as cat-file answers "<name> missing"
    root.mkdir()
    write_values(root, "1.0.0")
    c1 = commit(repo, "1", "2024-01-01T00:00:00Z")
    (root / "components/app/values/tools.yaml").write_text("chartVersion: [\n")
    bad = commit(repo, "broken", "2024-01-02T00:00:00Z")
    write_values(root, "2.0.0")
    commit(repo, "2", "2024-01-03T00:00:00Z")
    ev = read_history(str(root), "tools", 1)
    values = "components/app/values/tools.yaml"
    assert versions(ev) == [("1.0.0", f"{c1}:{values}:1")]
    assert len(ev.problems) == 1 and ev.problems[0].startswith(f"{bad}")
    assert f":{values}: not valid YAML" in ev.problems[0]
    # No helmfile names the chart: the version is known, its artifact is not.
    assert ev.usages == ()
    assert [(u.where, u.reason) for u in ev.unresolved] == [
        (f"{c1}:{values}:1", "no helmfile at that commit names an OCI chart for this version")]


# -- errors --------------------------------------------------------------------------------


def test_not_a_git_checkout(tmp_path: Path) -> None:
    (tmp_path / "components").mkdir()
    with pytest.raises(SourceError, match="is not in a git checkout") as raised:
        read_history(str(tmp_path), "tools", 1)
    assert "\n" not in str(raised.value)


def test_git_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SourceError, match="git not found on PATH"):
        read_history(str(tmp_path), "tools", 1)


def test_repository_without_commits(tmp_path: Path) -> None:
    init(tmp_path / "empty")
    with pytest.raises(SourceError, match="has no commits"):
        read_history(str(tmp_path / "empty"), "tools", 1)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--history -1"):
        read_history(str(tmp_path), "tools", -1)
    with pytest.raises(InputError, match="not a directory"):
        read_history(str(tmp_path / "nope"), "tools", 1)


def test_a_file_in_history_over_the_size_cap_is_a_problem_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harborguard.sources import gitcli

    repo = tmp_path / "deploy"
    init(repo)
    write_values(repo, "1.0.0")
    path = repo / "components/app/values/tools.yaml"
    path.write_text(path.read_text() + "#" * 200 + "\n")
    big = commit(repo, "1.0.0 with a long comment", "2024-01-01T00:00:00Z")
    write_values(repo, "2.0.0")
    commit(repo, "2.0.0", "2024-01-02T00:00:00Z")
    monkeypatch.setattr(gitcli, "MAX_FILE_BYTES", 100)
    ev = read_history(str(repo), "tools", 1)
    assert versions(ev) == []
    assert [p.split(":", 1)[1] for p in ev.problems if p.startswith(big)] == [
        "components/app/values/tools.yaml: larger than 8 MiB (244 bytes); harborguard "
        "reads at most that much per file: not read"]


def test_the_counts_include_what_the_declared_sets_read(tmp_path: Path) -> None:
    # Only an image changes (no chartVersion): the declared-set walker finds the rollback
    # target, and the counts say it read that commit and reached one version back (attack
    # finding 7: "read 0 of 2 commits" beside a finding citing a commit).
    repo = tmp_path / "deploy"
    init(repo)
    values = repo / "components/svc/values/tools.yaml"
    values.parent.mkdir(parents=True)
    values.write_text(f"image: {HARBOR}/svcimg:1.0\n")
    c1 = commit(repo, "1.0", "2024-01-01T00:00:00Z")
    values.write_text(f"image: {HARBOR}/svcimg:2.0\n")
    commit(repo, "2.0", "2024-01-02T00:00:00Z")
    ev = read_history(str(repo), "tools", 1)
    assert [(u.ref, u.where.split(":", 1)[0]) for u in ev.usages] == [
        (f"{HARBOR}/svcimg:1.0", c1)]
    assert (ev.commits_walked, ev.visible_commits, ev.declared_versions) == (1, 2, 1)
    assert ev.summary().startswith("git history: read 1 of 2 first-parent commits")
