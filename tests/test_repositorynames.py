"""Repository names against their project (Harbor: ``<project>/<name>``)."""

from __future__ import annotations

from harborguard.repositorynames import outside_project


def test_every_name_under_the_project_is_fine() -> None:
    assert outside_project("proj", ["proj/app", "proj/a/b/c", "proj/proj"]) is None
    assert outside_project("proj", []) is None


def test_the_first_name_outside_is_named_with_its_fix() -> None:
    assert outside_project("proj", ["proj/ok", "app"]) == (1, (
        "'app' is not a repository of project 'proj' (Harbor names each one proj/<name>); "
        "write it as 'proj/app', or move the entry under the project it belongs to"))
    for name, fix in (("other/app", "proj/app"), ("Proj/App", "proj/App"),
                      ("proj/", "proj/<name>"), ("projx/app", "proj/app"), ("", "proj/<name>")):
        found = outside_project("proj", [name])
        assert found is not None and found[0] == 0 and f"write it as '{fix}'" in found[1], name
