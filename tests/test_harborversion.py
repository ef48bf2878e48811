"""Which Harbor behaviours are compared when the version is unknown (attack notes 1, 1c)."""

from __future__ import annotations

from harborguard.harborversion import (
    candidates,
    resolve,
    switches,
    unknown_version_note,
)


def test_an_unknown_version_is_compared_with_every_distinct_release_behaviour() -> None:
    for version in (None, "dev", "custom-build"):
        primary = resolve(version)
        assert primary.unknown
        found = candidates(primary)
        # Each distinct once, none the primary's own (main), the newest release first.
        tuples = [switches(b) for b in found]
        assert len(set(tuples)) == len(tuples) and switches(primary) not in tuples
        assert found[0].label == "v2.15.2"
        # Every behaviour a release can have is among them or the primary's.
        releases = {switches(resolve(f"v2.{minor}.{patch}"))
                    for minor in range(16) for patch in range(8)}
        assert releases <= {*tuples, switches(primary)}
        # The switches that decide: both doublestar dialects, all three Go sorts, the
        # immutability match with and without the double strip, legacy untagged.
        assert {b.doublestar_v111 for b in found} == {True, False}
        assert {b.go_sort for b in found} == {"go1.18", "go1.19", "go1.24"}
        assert any(b.immutable_untagged_legacy for b in found)
        assert all(b.immutable_double_strip for b in found) and not primary.immutable_double_strip


def test_a_named_version_costs_nothing() -> None:
    for version in ("v2.11.0", "2.9.5", "v2.9.0-7b4b5b6e", "main"):
        assert not resolve(version).unknown
        assert candidates(resolve(version)) == ()


def test_the_note_names_the_version_and_what_depends_on_it() -> None:
    assert unknown_version_note(resolve(None), 0, 0) == (
        "Harbor version unknown; no decision here depends on it")
    assert unknown_version_note(resolve("dev"), 0, 0) == (
        "Harbor version 'dev' not understood; no decision here depends on it")
    said = unknown_version_note(resolve(None), 3, 1)
    assert said.startswith("Harbor version unknown: the actions of 3 artifacts depend on it "
                           "(shown as Harbor's main branch decides them, as for a missing "
                           "version; released Harbors decide them otherwise; 1 needed: "
                           "incomplete)")
    assert "pass --harbor-version" in said


def test_a_release_newer_than_the_known_ones_is_main_compared_with_the_newest_known() -> None:
    # DESIGN.md: newer than any known release is the newest behaviour (main); but the
    # nested-repository immutability fix is on main only, so v2.15.2's behaviour is
    # compared too (a needed artifact whose fate differs is incomplete).
    newer = resolve("v2.16.0")
    assert newer.label == "v2.16.0" and newer.version is None and newer.newer
    assert not newer.unknown
    assert [b.label for b in candidates(newer)] == ["v2.15.2"]
    note = unknown_version_note(newer, 1, 1)
    assert note.startswith("Harbor v2.16.0 is newer than the newest release harborguard "
                           "knows (v2.15.2): the actions of 1 artifact depend on it")
    assert candidates(resolve("v2.15.2")) == ()
