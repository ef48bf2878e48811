"""helm get values / helm history: parsed as helm 3 prints them, run with a fake helm on PATH."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harborguard.errors import SourceError
from harborguard.sources.helm import HelmRelease
from harborguard.sources.helmlive import (
    history_command,
    parse_history,
    parse_values,
    read_live,
    read_release,
    values_command,
)
from tests.fakehelm import calls, install

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake helm is a script")


def _listed(name: str = "web", revision: int = 3, status: str = "deployed") -> dict[str, Any]:
    return {"name": name, "namespace": "ns", "revision": str(revision), "status": status,
            "updated": "2026-02-23 10:00:00.0 +0000 UTC", "chart": "mychart-2.0.0",
            "app_version": "2.0.0"}


def _release(name: str = "web", revision: int = 3, status: str = "deployed") -> HelmRelease:
    return HelmRelease(name, "ns", revision, "", status, "mychart-2.0.0", "2.0.0", "helm")


def _entry(revision: int, status: str, chart: str = "mychart-2.0.0") -> dict[str, Any]:
    return {"revision": revision, "updated": "2026-02-20T10:00:00Z", "status": status,
            "chart": chart, "app_version": "2.0.0", "description": "Upgrade complete"}


def test_commands() -> None:
    release = _release()
    assert values_command(release) == ["helm", "get", "values", "web", "-n", "ns", "-a", "-o",
                                       "json"]
    assert values_command(release, 2)[6:8] == ["--revision", "2"]
    assert history_command(release) == ["helm", "history", "web", "-n", "ns", "-o", "json"]


def test_parse_history_as_helm_3_prints_it() -> None:
    assert parse_history([_entry(1, "superseded", "mychart-1.0.0"), _entry(2, "deployed"),
                          {**_entry(3, "failed"), "revision": "3"}], "h") == [
        (1, "superseded", "mychart-1.0.0"), (2, "deployed", "mychart-2.0.0"),
        (3, "failed", "mychart-2.0.0")]


@pytest.mark.parametrize("data", [{}, [1], [{"revision": "x", "chart": "c-1"}],
                                  [{"revision": True, "chart": "c-1"}], [{"revision": 1}]])
def test_malformed_history_names_the_command(data: Any) -> None:
    with pytest.raises(SourceError, match="^`helm history web`"):
        parse_history(data, "helm history web")


def test_values_are_yaml_text_and_null_is_no_values() -> None:
    assert yaml.safe_load(parse_values({"image": {"tag": "1.0"}}, "v")) == {
        "image": {"tag": "1.0"}}
    assert yaml.safe_load(parse_values(None, "v")) == {}
    with pytest.raises(SourceError, match="not a map of values"):
        parse_values([], "helm get values web")


def test_read_release_reads_each_kept_revision(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = install(tmp_path / "bin", {
        "releases": [_listed()],
        "history": {"ns/web": [_entry(1, "superseded", "mychart-1.0.0"),
                               _entry(2, "superseded"), _entry(3, "deployed")]},
        "values": {"ns/web": {"1": {"image": "h.example.org/p/img:0.9"},
                              "3": {"image": {"tag": "1.0.0"}}}}}, monkeypatch)
    read = read_release(_release(), timeout=30)
    assert (read.current.number, read.current.status, read.deployed) == (3, "deployed", True)
    assert yaml.safe_load(read.current.values) == {"image": {"tag": "1.0.0"}}
    assert [(r.number, r.chart) for r in read.earlier] == [(2, "mychart-2.0.0"),
                                                           (1, "mychart-1.0.0")]
    assert yaml.safe_load(read.earlier[1].values) == {"image": "h.example.org/p/img:0.9"}
    assert calls(log)[0] == ["history", "web", "-n", "ns", "-o", "json"]
    assert ["get", "values", "web", "-n", "ns", "--revision", "2", "-a", "-o", "json"] in \
        calls(log)


def test_without_a_deployed_revision_the_listed_one_is_current(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "bin", {"releases": [_listed(revision=1, status="pending-install")]},
            monkeypatch)
    read = read_release(_release(revision=1, status="pending-install"), timeout=30)
    assert (read.current.number, read.deployed, read.earlier) == (1, False, ())


def test_one_release_that_cannot_be_read_is_incomplete_the_others_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "bin", {"releases": [_listed("web")]}, monkeypatch)
    found, unread = read_live([_release("web"), _release("gone")], timeout=30)
    assert list(found) == [("ns", "web")]
    assert [i.what for i in unread] == ["helm release ns/gone"]
    assert unread[0].reason.startswith("`helm history gone -n ns -o json` failed with exit "
                                       "code 1: Error: release: not found")
    assert "values and rollback targets were not read" in unread[0].reason
    assert read_live([], timeout=30) == ({}, [])
