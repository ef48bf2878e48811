"""Adversarial: corrupted evidence never yields a confident run that protects less.

Each example takes a valid evidence file of the embedded incident (kubectl output, helm
releases), corrupts one piece of it (drops a key, changes a value's JSON type, truncates the
text, repeats or empties a list) and runs `check` on it. The promise: a run that exits 0 or 1
(a complete answer) protects at least as many artifacts, and reports at least as many
in-use errors, as the intact input; otherwise it must exit 3 (incomplete) or 2 (the file
named on the command line cannot be read at all).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harborguard.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = str(ROOT / "examples" / "toolforge-snapshot.json")
KUBECTL = ROOT / "examples" / "cluster-kubectl.json"
HELM = ROOT / "examples" / "cluster-helm.json"

Path_ = tuple[str | int, ...]
ERRORS = {"in-use-deleted", "rollback-deleted", "in-use-missing"}
OTHER_TYPES: list[Any] = [None, 7, -1, 2.5, True, "", "x", [], {}, ["x"], {"x": 1}]

# Deterministic: the same examples on every run (a flaky test is a red CI waiting to happen).
ADVERSARIAL = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                       suppress_health_check=[HealthCheck.too_slow,
                                              HealthCheck.function_scoped_fixture])


def _paths(node: Any, here: Path_ = ()) -> Iterator[Path_]:
    if here:
        yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*here, i))


def _parent(doc: Any, path: Path_) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _same_type(a: Any, b: Any) -> bool:
    return type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)
                                  and not isinstance(a, bool) and not isinstance(b, bool))


@st.composite
def corruptions(draw: st.DrawFn, doc: Any) -> tuple[str, str]:
    """(description, corrupted text) of one corruption of ``doc``."""
    paths = list(_paths(doc))
    how = draw(st.sampled_from(["drop", "retype", "truncate", "empty", "repeat"]))
    text = json.dumps(doc, indent=1)
    if how == "truncate":
        cut = draw(st.integers(min_value=0, max_value=len(text) - 1))
        return f"truncated at {cut}", text[:cut]
    bad = copy.deepcopy(doc)
    if how == "drop":
        keyed = [p for p in paths if isinstance(p[-1], str)]
        path = draw(st.sampled_from(keyed))
        del _parent(bad, path)[path[-1]]
        return f"dropped {path}", json.dumps(bad)
    if how == "retype":
        path = draw(st.sampled_from(paths))
        old = _parent(bad, path)[path[-1]]
        value = draw(st.sampled_from([v for v in OTHER_TYPES if not _same_type(v, old)]))
        _parent(bad, path)[path[-1]] = copy.deepcopy(value)
        return f"{path} = {value!r}", json.dumps(bad)
    lists: list[Path_] = [p for p in paths if isinstance(_parent(doc, p)[p[-1]], list)
                          and _parent(doc, p)[p[-1]]]
    if isinstance(doc, list):
        lists.append(())
    path = draw(st.sampled_from(lists))
    target = bad if not path else _parent(bad, path)[path[-1]]
    if how == "empty" and path not in ((), ("items",)):  # no objects at all: its own test
        target.clear()
        return f"emptied {path}", json.dumps(bad)
    target.extend(copy.deepcopy(target))
    return f"repeated {path}", json.dumps(bad)


def _check(tmp: Path, kubectl: str, helm: str | None = None) -> tuple[int, dict[str, Any] | None,
                                                                       str]:
    (tmp / "kubectl.json").write_text(kubectl)
    args = ["check", "--snapshot", SNAPSHOT, "--kubectl-json", str(tmp / "kubectl.json"),
            "--format", "json"]
    if helm is not None:
        (tmp / "helm.json").write_text(helm)
        args += ["--helm-json", str(tmp / "helm.json"), "--image-tag-template", "{version}_image"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, report, result.stderr


def _protection(report: dict[str, Any]) -> tuple[int, int]:
    protected = sum(1 for a in report["artifacts"] if a["in_use"])
    errors = sum(1 for f in report["findings"] if f["code"] in ERRORS)
    return protected, errors


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, int]]:
    tmp = tmp_path_factory.mktemp("intact")
    code, report, err = _check(tmp, KUBECTL.read_text())
    assert code == 1 and report is not None, err
    alone = _protection(report)
    code, report, err = _check(tmp, KUBECTL.read_text(), HELM.read_text())
    assert code == 1 and report is not None, err
    assert alone[0] >= 2 and alone[1] >= 2  # the running 0.0.130 and the rollback 0.0.128
    both = _protection(report)
    assert both[0] > alone[0]  # the release adds its chart artifact
    return {"kubectl": alone, "both": both}


def _assert_no_false_confidence(code: int, report: dict[str, Any] | None, err: str,
                                baseline: tuple[int, int], what: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, (what, err)
    if code in (2, 3):
        assert err.strip() or (report is not None and report["incomplete"]), what
        return
    assert code in (0, 1), (what, code, err)
    assert report is not None and not report["incomplete"], what
    got = _protection(report)
    assert got[0] >= baseline[0] and got[1] >= baseline[1], (
        f"{what}: a complete run (exit {code}) protected {got[0]} artifacts with {got[1]} "
        f"in-use errors; the intact input gave {baseline[0]} and {baseline[1]}")


@ADVERSARIAL
@given(data=st.data())
def test_corrupted_kubectl_output_never_protects_less(
    data: st.DataObject, intact: dict[str, tuple[int, int]], tmp_path: Path
) -> None:
    what, text = data.draw(corruptions(json.loads(KUBECTL.read_text())))
    code, report, err = _check(tmp_path, text)
    _assert_no_false_confidence(code, report, err, intact["kubectl"], what)


@ADVERSARIAL
@given(data=st.data())
def test_corrupted_helm_releases_never_protect_less(
    data: st.DataObject, intact: dict[str, tuple[int, int]], tmp_path: Path
) -> None:
    what, text = data.draw(corruptions(json.loads(HELM.read_text())))
    code, report, err = _check(tmp_path, KUBECTL.read_text(), text)
    _assert_no_false_confidence(code, report, err, intact["both"], what)
