"""gitsince: the first-parent commit that put a version into the manifests, from real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harborguard.errors import SourceError
from harborguard.sources.gitsince import age_words, candidate_paths, introduced

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
NEW = "0.0.131-20240222212602-322f874b"
OLD = "0.0.130-20240221160838-03b2a120"
VALUES = "components/builds-api/values/tools.yaml.gotmpl"


def git(repo: Path, *args: str, date: str = "2024-03-01T12:00:00+00:00") -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "PATH": "/usr/bin:/bin",
           "HOME": str(repo)}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "toolforge-deploy"
    subprocess.run(["sh", str(EXAMPLES / "build-deploy-repo.sh"), str(dest)], check=True,
                   capture_output=True)
    return dest


def paths() -> list[str]:
    return candidate_paths(VALUES, "tools")


def test_the_bump_commit_and_its_committer_time(repo: Path) -> None:
    since = introduced(str(repo), paths(), NEW)
    head = git(repo, "rev-parse", "--short", "HEAD").strip()
    assert since is not None and since.commit == head
    assert since.time == "2024-02-22T22:41:00Z"  # 23:41 +01:00, in UTC


def test_a_later_edit_does_not_reset_the_clock(repo: Path) -> None:
    before = introduced(str(repo), paths(), NEW)
    values = repo / VALUES
    values.write_text(values.read_text() + "# a comment\n")
    git(repo, "commit", "-qam", "comment")
    # renamed back to plain YAML, same version: still the same merge
    git(repo, "mv", VALUES, VALUES.removesuffix(".gotmpl"))
    git(repo, "commit", "-qm", "rename")
    assert introduced(str(repo), paths(), NEW) == before
    # 0.0.130 is not what HEAD names: no clock runs for it
    assert introduced(str(repo), paths(), OLD) is None


def test_a_version_merged_again_counts_from_its_second_merge(repo: Path) -> None:
    values = repo / VALUES
    text = values.read_text()
    values.write_text(text.replace(NEW, OLD))
    git(repo, "commit", "-qam", "revert", date="2024-03-01T00:00:00+00:00")
    values.write_text(text)
    git(repo, "commit", "-qam", "again", date="2024-03-05T00:00:00+00:00")
    since = introduced(str(repo), paths(), NEW)
    assert since is not None and since.time == "2024-03-05T00:00:00Z"


def test_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        introduced(str(tmp_path), ["a.yaml"], "1.0.0")


def test_a_version_is_a_whole_word() -> None:
    from harborguard.sources.gitsince import _names

    assert _names("chartVersion: 1.2.3\n", "1.2.3")
    assert _names("image: host/x:1.2.3_image", "1.2.3_image")
    assert not _names("chartVersion: 1.2.30\n", "1.2.3")
    assert not _names("chartVersion: 11.2.3\n", "1.2.3")


def test_age_words() -> None:
    assert age_words(9 * 86400 + 5) == "9 days"
    assert age_words(86400) == "1 day"
    assert age_words(7200) == "2 hours"
    assert age_words(30) == "less than a minute"
