"""Random bytes, JSON and YAML fed to every reader of a file (run by test_readers_bounded.py
in a child process with a memory limit; not collected by pytest itself).

Each reader must return, or raise harborguard's own error (one line naming the file: exit 2
for files named on the command line, incomplete for files inside --manifests); never
another exception, never a hang, never past the memory limit.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harborguard.config import load_config
from harborguard.errors import HarborguardError
from harborguard.policy import load_policy_file
from harborguard.snapshot import load_snapshot
from harborguard.sources.helm import load_helm_file
from harborguard.sources.kubectl import load_kubectl_file, parse_kubectl_json
from harborguard.sources.manifests import read_manifests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "toolforge-snapshot.json").read_bytes()
KUBECTL = (ROOT / "examples" / "cluster-kubectl.json").read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=40)

YAML_PIECES = ["a:", " b:", "- ", "&x ", "*x", "[", "]", "{", "}", ", ", ": ", "'", '"',
               "\n", "  ", "---\n", "? ", "!!str ", "!!binary ", "0x1F", "1e400", "~", "|\n",
               ">-\n", "# c\n", "chartVersion: ", "image: ", "releases:\n", "repository: ",
               "tag: ", "<<: *x\n", "2024-13-45", "\t", "\x00", "\ufeff", "%YAML 1.1\n"]

texts = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.lists(st.sampled_from(YAML_PIECES), max_size=60).map("".join),
    json_values.map(json.dumps),
)


def _bytes_of(data: Any) -> bytes:
    return data if isinstance(data, bytes) else str(data).encode("utf-8", "surrogatepass")


def _cut(blob: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(blob)).map(lambda n: blob[:n])


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, y, z, w, v, u, t, s, r]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


hostile = st.one_of(
    st.integers(100, 60_000).map(lambda n: "[" * n + "]" * n),
    st.integers(100, 60_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(100, 20_000).map(lambda n: "- " * n + "x"),
    st.integers(4_000, 20_000).map(lambda n: '{"items": [' + "9" * n + "]}"),
    st.integers(2, 12).map(_bomb),
    st.just("a: &a [*a]\n"),
)

contents = st.one_of(texts.map(_bytes_of), st.binary(max_size=400), _cut(EXAMPLE), _cut(KUBECTL),
                     hostile.map(_bytes_of))


def _own_errors_only(read: Callable[[str], object], content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.yaml"
        path.write_bytes(content)
        try:
            read(str(path))
        except HarborguardError as exc:
            message = str(exc)
            assert message and "\n" not in message.strip(), message


def _kubectl(path: str) -> None:
    parse_kubectl_json(load_kubectl_file(path), path)


def _manifests(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("components/app/values/tools.yaml", "components/app/helmfile.yaml",
                     "components/other/values/tools.yaml.gotmpl"):
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            read_manifests(tmp, "tools", image_tag_template="{version}_image")
        except HarborguardError:
            pass


SETTINGS = settings(max_examples=int(sys.argv[1]) if len(sys.argv) > 1 else 100, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(content=contents, reader=st.sampled_from([
    load_snapshot, load_policy_file, _kubectl, load_helm_file, load_config]))
def readers_take_anything(content: bytes, reader: Callable[[str], object]) -> None:
    _own_errors_only(reader, content)


@SETTINGS
@given(content=contents)
def manifests_take_anything(content: bytes) -> None:
    _manifests(content)


if __name__ == "__main__":
    readers_take_anything()
    manifests_take_anything()
    print("ok")
