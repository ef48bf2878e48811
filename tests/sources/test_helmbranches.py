"""helmbranches: which helmfile lines an environment keeps by `{{ if }}` on its name."""

from __future__ import annotations

from harborguard.sources.helmbranches import branches, unread_values_entry

TEXT = (
    "values:\n"                                      # 1
    '{{- if eq .Environment.Name "tools" "beta" }}\n'  # 2
    "  - a.yaml\n"                                   # 3
    '{{- else if ne .Environment.Name "local" }}\n'  # 4
    "  - b.yaml\n"                                   # 5
    "{{- else }}\n"                                  # 6
    "  - c.yaml\n"                                   # 7
    "{{- end }}\n"                                   # 8
    "{{- if .Values.extra }}\n"                      # 9
    "  - d.yaml\n"                                   # 10
    "{{- end }}\n"                                   # 11
    "  - e.yaml\n"                                   # 12
)


def test_the_taken_branch_is_kept_and_the_others_excluded() -> None:
    tools = branches(TEXT, "tools")
    assert {3, 5, 7} - tools.excluded == {3}
    other = branches(TEXT, "prod")
    assert {3, 5, 7} - other.excluded == {5}
    local = branches(TEXT, "local")
    assert {3, 5, 7} - local.excluded == {7}
    assert 12 not in tools.excluded and 12 not in tools.undecided


def test_a_condition_not_understood_is_undecided_naming_its_line() -> None:
    found = branches(TEXT, "tools")
    assert found.undecided.get(10) == 9
    assert 10 not in found.excluded


def test_an_else_after_an_unknown_condition_is_undecided() -> None:
    text = "{{ if .Values.x }}\na\n{{ else }}\nb\n{{ end }}\nc\n"
    found = branches(text, "tools")
    assert (found.undecided.get(2), found.undecided.get(4)) == (1, 3)
    assert found.excluded == frozenset() and 6 not in found.undecided


def test_values_entries_that_give_nothing_to_read() -> None:
    assert unread_values_entry("git::https://h/r.git@v.yaml", False, False) is not None
    assert unread_values_entry("https://h/v.yaml", False, False) is not None
    assert unread_values_entry("/etc/v.yaml", True, False) is not None
    assert "does not exist" in (unread_values_entry("v/missing.yaml", False, False) or "")
    assert unread_values_entry("v/missing.yaml", False, True) is None
    assert unread_values_entry("v/tools.yaml*", False, False) is None
    assert unread_values_entry("v/common.yaml", True, False) is None
