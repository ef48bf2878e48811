"""Issue 12: several documents in one kubectl file (or kubectl's output) are read whole
or refused, never half-read: Lists inside Lists, YAML `---`, JSON documents one after
another; a key twice in one mapping (outputs appended without `---`) is refused, exit 2 for
a file named on the command line, 3 for kubectl's output."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harborguard.errors import InputError, SourceError
from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json, run_kubectl
from tests.sources.test_kubectl_evidence_classes import (
    APP,
    BASE,
    CASES,
    EXAMPLE,
    _fake_kubectl,
    case,
    errors,
    invoke,
    obj,
    spec_with,
    uses,
)

# -- 2. several documents in one file -----------------------------------------------------


def test_two_yaml_lists_separated_are_both_read() -> None:
    ev = case("k-two-lists-sep.yaml")
    assert ev.missing == ()
    assert uses(ev) == {("running", f"{APP}:0.0.1", "app/Pod/app-1"),
                        ("declared", "docker.io/library/nginx:1.25", "web/Deployment/web")}


def test_nested_lists_are_flattened_and_their_items_named() -> None:
    pods = {"kind": "PodList", "items": [{"metadata": {"name": "p", "namespace": "ns"},
                                          "spec": spec_with("a:1")}]}
    broken = {"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "q"}}]}
    status = {"kind": "Status", "status": "Failure", "message": "forbidden"}
    ev = parse_kubectl_json({"kind": "List", "items": [pods, broken, status]}, "t")
    assert uses(ev) == {("running", "a:1", "ns/Pod/p")}
    assert ev.missing == (
        "t: items[2]: the API answered with a Status (Failure: forbidden), not objects; "
        "nothing read from it",
        "t: items[1].items[0]: Pod q has no spec; skipped",
    )


def test_lists_nested_too_deep_are_named() -> None:
    data: dict[str, Any] = {"kind": "List", "items": [obj("Pod", spec=spec_with("a:1"))]}
    for _ in range(20):
        data = {"kind": "List", "items": [data]}
    ev = parse_kubectl_json(data, "t")
    assert ev.usages == () and len(ev.missing) == 1
    assert "Lists nested more than 16 deep" in ev.missing[0]


def test_two_yaml_lists_appended_without_separator_are_refused() -> None:
    path = CASES / "k-two-lists-appended.yaml"
    with pytest.raises(InputError) as info:
        load_kubectl_file(path)
    assert str(info.value).startswith(
        f"{path}: key 'apiVersion' occurs twice in one object at line 22")
    assert "\n" not in str(info.value)


def test_cli_appended_lists_exit_2_naming_file_and_key() -> None:
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json",
                               str(CASES / "k-two-lists-appended.yaml"))
    assert code == 2 and report is None
    assert "k-two-lists-appended.yaml: key 'apiVersion' occurs twice" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_separated_lists_protect_the_pod_of_the_first() -> None:
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json",
                               str(CASES / "k-two-lists-sep.yaml"))
    assert code == 1, err
    assert ("in-use-deleted", ("0.0.1",)) in errors(report)


def test_duplicate_key_deep_in_json_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "dup.json"
    target.write_text('{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}, '
                      '"spec": {"containers": [{"image": "a:1", "image": "b:2"}]}}]}')
    with pytest.raises(InputError, match=r"dup.json: key 'image' occurs twice in one object"):
        load_kubectl_file(target)


def test_yaml_merge_keys_may_override(tmp_path: Path) -> None:
    target = tmp_path / "merge.yaml"
    target.write_text("base: &b {name: p, namespace: x}\nkind: Pod\n"
                      "metadata:\n  <<: *b\n  namespace: ns\n"
                      "spec: {containers: [{name: c, image: 'a:1'}]}\n")
    assert uses(parse_kubectl_json(load_kubectl_file(target), "t")) == {
        ("running", "a:1", "ns/Pod/p")}


def test_concatenated_json_documents_are_all_read(tmp_path: Path) -> None:
    first = {"apiVersion": "v1", "kind": "List",
             "items": [obj("Pod", "p", spec=spec_with(f"{APP}:0.0.1"))]}
    second = {"apiVersion": "v1", "kind": "List",
              "items": [obj("Deployment", "d", spec={"template": {"spec": spec_with("b:2")}})]}
    target = tmp_path / "appended.json"
    target.write_text(json.dumps(first, indent=2) + "\n" + json.dumps(second, indent=2) + "\n")
    assert uses(parse_kubectl_json(load_kubectl_file(target), "t")) == {
        ("running", f"{APP}:0.0.1", "ns/Pod/p"), ("declared", "b:2", "ns/Deployment/d")}
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json", str(target))
    assert code == 1, err
    assert ("in-use-deleted", ("0.0.1",)) in errors(report)


@pytest.mark.parametrize(("content", "words"), [
    # JSON, then YAML appended (-o json >> f; -o yaml >> f): refused, not half-read.
    ('{"kind": "List", "items": []}\nkind: List\nitems: []\n', "not valid JSON (line 2"),
    ('{"kind": "List", "items": []} [1, 2]', "not a Kubernetes object or List (document 2 of 2)"),
    ('{"kind": "List", "items": []} {"kind": ', "not valid JSON (line 1"),
    ('{"kind": "List", "items": [], "n": ' + "9" * 5001 + "}", "a number of 5001 digits"),
    ('{"kind": "List", "items": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ("kind: List\nitems: []\nn: " + "9" * 5001 + "\n", "integer too long"),
])
def test_files_that_cannot_be_read_whole_are_refused(tmp_path: Path, content: str,
                                                     words: str) -> None:
    target = tmp_path / "f.json"
    target.write_text(content)
    with pytest.raises(InputError) as info:
        load_kubectl_file(target)
    assert str(info.value).startswith(f"{target}: ") and words in str(info.value)
    assert "\n" not in str(info.value)


# -- kubectl's own output --------------------------------------------------------------

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a script")


def test_kubectl_output_with_a_duplicate_key_is_incomplete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kubectl(tmp_path, monkeypatch, "duplicate", CASES / "k-rc.json")
    with pytest.raises(SourceError, match="printed JSON that cannot be read whole: key 'items' "
                                          "occurs twice in one object"):
        run_kubectl(context=None, namespace=None, timeout=30)
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl")
    assert code == 3 and "key 'items' occurs twice" in err
    assert report is not None and report["incomplete"]


def test_kubectl_output_twice_is_read_whole(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kubectl(tmp_path, monkeypatch, "twice", EXAMPLE)
    data = run_kubectl(context=None, namespace=None, timeout=30)
    once = parse_kubectl_json(load_kubectl_file(EXAMPLE), "t")
    assert parse_kubectl_json(data, "t").usages == once.usages


def test_yaml_written_by_safe_dump_is_still_read(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    target = tmp_path / "list.yaml"
    target.write_text(yaml.safe_dump(copy.deepcopy(data)))
    assert load_kubectl_file(target) == data


# -- bounded reads ------------------------------------------------------------------------


def test_a_file_past_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harborguard.sources.kubectl as kubectl

    monkeypatch.setattr(kubectl, "MAX_FILE_BYTES", 1000)
    target = tmp_path / "big.json"
    pods = [obj("Pod", spec=spec_with("a:1"))] * 20
    target.write_text(json.dumps({"kind": "List", "items": pods}))
    with pytest.raises(InputError, match=r"big.json: larger than 0 MiB, the most harborguard"):
        load_kubectl_file(target)
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"kind": "List", "items": [obj("Pod", spec=spec_with("a:1"))]}))
    assert load_kubectl_file(small)["kind"] == "List"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_bad_input_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import harborguard.sources.kubectl as kubectl

    monkeypatch.setattr(kubectl, "MAX_FILE_BYTES", 1 << 20)
    code, report, err = invoke("check", "--snapshot", BASE, "--kubectl-json", "/dev/zero")
    assert code == 2 and report is None
    assert err.strip().splitlines() == [
        "harborguard: error: /dev/zero: larger than 1 MiB, the most harborguard reads of a "
        "kubectl file; save one namespace per file (kubectl get ... --namespace N) and pass "
        "each with --kubectl-json"]
