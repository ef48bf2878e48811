"""Whether helmfile YAML has the shape helmfile reads: a field of another type is named.

A release that cannot be read as one (``releases: [1, 2]``, ``chart: 7``, a version that is
a list) would otherwise just not become a component: its versions would go unprotected
without a word. Each problem line is ``<file>: <field path>: expected ..., got ...``.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harborguard.sources import gotmpl

_STRING_FIELDS = ("name", "namespace", "chart", "version", "installed")


def release_problems(release: Node, where: str) -> list[str]:
    """What keeps a release from being read: ``releases[0].chart: expected a string, got int``."""
    if not gotmpl.is_mapping(release):
        return [f"{where}: expected a map (name, chart, version...), got {kind_of(release)}"
                f"{at(release)}"]
    installed = gotmpl.scalar(gotmpl.get(release, "installed"))
    if installed is not None and installed.lower() == "false":
        return []  # not deployed: nothing of it is evidence
    problems: list[str] = []
    for key in _STRING_FIELDS:
        node = gotmpl.get(release, key)
        if node is None or gotmpl.scalar(node) is None and kind_of(node) == "null":
            if key == "chart":
                problems.append(f"{where}.chart: missing; helmfile needs the chart{at(release)}")
            continue
        # Helmfile reads these as text: `version: 0.10`, `name: off` are strings to it.
        # A chart is a reference; a number there (`chart: 7`) is a mistake, not a chart.
        plain = key != "chart" and isinstance(node, ScalarNode)
        if not plain and kind_of(node) != "string":
            problems.append(f"{where}.{key}: expected a string, got {kind_of(node)}{at(node)}")
    values = gotmpl.get(release, "values")
    if values is not None and kind_of(values) not in ("list", "null"):
        problems.append(f"{where}.values: expected a list, got {kind_of(values)}{at(values)}")
    for index, entry in enumerate(gotmpl.sequence(values)):
        if kind_of(entry) not in ("string", "map"):
            problems.append(
                f"{where}.values[{index}]: expected a file name or a map, got "
                f"{kind_of(entry)}{at(entry)}"
            )
    return problems


def shape_problems(documents: list[Node], path: str) -> list[str]:
    """Top-level keys of the wrong shape: their content would be dropped unread."""
    expected = {"releases": "list", "repositories": "list", "environments": "map"}
    problems: list[str] = []
    for document in documents:
        if not gotmpl.is_mapping(document):
            problems.append(f"{path}: expected a map (releases, repositories...), got "
                            f"{kind_of(document)}{at(document)}")
            continue
        for key, shape in expected.items():
            node = gotmpl.get(document, key)
            if node is not None and kind_of(node) not in (shape, "null"):
                problems.append(f"{path}: {key}: expected a {shape}, got {kind_of(node)}"
                                f"{at(node)}")
        for index, repo in enumerate(gotmpl.sequence(gotmpl.get(document, "repositories"))):
            if not gotmpl.is_mapping(repo):
                problems.append(f"{path}: repositories[{index}]: expected a map (name, url), "
                                f"got {kind_of(repo)}{at(repo)}")
                continue
            for key in ("name", "url"):
                node = gotmpl.get(repo, key)
                if node is not None and kind_of(node) != "string":
                    problems.append(f"{path}: repositories[{index}].{key}: expected a string, "
                                    f"got {kind_of(node)}{at(node)}")
    return problems


_KINDS = {
    "tag:yaml.org,2002:str": "string",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}


def kind_of(node: Node | None) -> str:
    """The YAML type of a node, as a message names it: string, int, list, map..."""
    if node is None:
        return "null"
    if isinstance(node, MappingNode):
        return "map"
    if isinstance(node, SequenceNode):
        return "list"
    return _KINDS.get(str(node.tag), str(node.tag).rsplit(":", 1)[-1] or "scalar")


def at(node: Node) -> str:
    return f" (line {gotmpl.line_of(node)})"
