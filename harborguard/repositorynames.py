"""Repository names against their project: Harbor names every repository of project P
``P/<name>`` (the project's name, a slash, then one or more path components)."""

from __future__ import annotations

from collections.abc import Sequence


def outside_project(project: str, names: Sequence[str]) -> tuple[int, str] | None:
    """The position of the first name that is not one of ``project``'s repositories, and
    what is wrong with it and how to fix it; None when every name is. A snapshot entry
    named otherwise was put under the wrong project, or renamed: the project's policy and
    the evidence for that path would be matched to another repository than Harbor's."""
    prefix = f"{project}/"
    for i, name in enumerate(names):
        if not name.startswith(prefix) or len(name) == len(prefix):
            rest = name.split("/", 1)[-1] or "<name>"
            return i, (f"{name!r} is not a repository of project {project!r} (Harbor names "
                       f"each one {prefix}<name>); write it as '{prefix}{rest}', or move the "
                       "entry under the project it belongs to")
    return None
