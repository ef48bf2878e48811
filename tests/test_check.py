"""check: usages matched to artifacts (digest, index child, tag) and the verdicts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harborguard.check import check, harbor_host
from harborguard.evidence import Usage
from tests.builders import T, art, dig, policy, rule, run, sel

S = timedelta(seconds=1)
HOST = "harbor.example.org"


def usage(ref: str, kind: str = "running", digest: str | None = None,
          source: str = "kubectl") -> Usage:
    return Usage(source=source, kind=kind, ref=ref, where="ns/Pod/p",  # type: ignore[arg-type]
                 digest=digest)


def _result():  # type: ignore[no-untyped-def]
    index = art("idx", ["2.0"], T - 5 * S)
    index["references"] = [{"parent_id": 9, "child_id": 10, "child_digest": dig("child-amd64")}]
    artifacts = [index, art("new", ["1.3"], T - 10 * S), art("mid", ["1.2"], T - 20 * S),
                 art("old", ["1.1"], T - 30 * S)]
    return run({"app": artifacts}, policy(rule("latestPushedK", 2)))


def codes(found):  # type: ignore[no-untyped-def]
    return sorted((f.code, f.tags) for f in found.findings)


def test_harbor_host() -> None:
    assert harbor_host("https://user:pw@Harbor.Example.org:8443/x") == "harbor.example.org:8443"
    assert harbor_host("https://harbor.example.org:443") == "harbor.example.org"
    assert harbor_host("harbor.example.org") == "harbor.example.org"
    assert harbor_host(None) is None


def test_running_image_that_the_policy_deletes() -> None:
    found = check(_result(), [usage(f"{HOST}/proj/app:1.2")], [HOST])
    assert codes(found) == [("in-use-deleted", ("1.2",))]
    assert found.in_use[("proj", "proj/app", dig("mid"))][0].where == "ns/Pod/p"
    assert "the policy deletes it" in found.findings[0].message


def test_rollback_target_deleted() -> None:
    found = check(_result(), [usage(f"{HOST}/proj/app:1.1", kind="rollback")], [HOST])
    assert codes(found) == [("rollback-deleted", ("1.1",))]


def test_digest_first_then_index_children_then_tag() -> None:
    by_digest = usage(f"{HOST}/proj/app@{dig('mid')}")
    found = check(_result(), [by_digest], [HOST])
    assert list(found.in_use) == [("proj", "proj/app", dig("mid"))]
    pinned = usage(f"{HOST}/proj/app:1.3@{dig('mid')}")  # tag@digest: the digest pulls
    found = check(_result(), [pinned], [HOST])
    assert list(found.in_use) == [("proj", "proj/app", dig("mid"))]
    child = usage(f"{HOST}/proj/app@{dig('child-amd64')}")
    found = check(_result(), [child], [HOST])
    assert list(found.in_use) == [("proj", "proj/app", dig("idx"))] and not found.findings


def test_missing_repository_tag_and_digest() -> None:
    refs = [usage(f"{HOST}/proj/gone:1"), usage(f"{HOST}/proj/app:9.9"),
            usage(f"{HOST}/proj/app@sha256:{'0' * 64}")]
    found = check(_result(), refs, [HOST])
    assert [f.code for f in found.findings] == ["in-use-missing"] * 3


def test_digest_moved_when_the_tag_now_names_another_build() -> None:
    moved = usage(f"{HOST}/proj/app:1.3", digest="sha256:" + "1" * 64)
    found = check(_result(), [moved], [HOST])
    assert [f.code for f in found.findings] == ["digest-moved"]


def test_credentials_in_an_invalid_reference_are_masked_in_the_finding() -> None:
    ref = "https://admin:UrlPass777@tools-harbor.example/jobs-api:0.0.1"
    found = check(_result(), [usage(ref, source="manifests")], [HOST])
    assert [(f.code, f.message) for f in found.findings] == [(
        "unmatched-reference",
        "invalid image reference 'https://***@tools-harbor.example/jobs-api:0.0.1': "
        "digest 'tools-harbor.example/jobs-api:0.0.1' is not algorithm:hex",
    )]


def test_other_registries_ignored_aliases_and_unfetched_projects() -> None:
    found = check(_result(), [usage("docker.io/library/nginx:1"),
                              usage("alias.example/proj/app:1.2"),
                              usage(f"{HOST}/other/app:1")], [HOST, "alias.example"])
    assert found.ignored == 1
    assert sorted(f.code for f in found.findings) == ["in-use-deleted", "unmatched-reference"]


def test_unparseable_reference_is_info_not_a_crash() -> None:
    found = check(_result(), [usage("UPPER/Case:1")], [HOST])
    assert [(f.code, f.severity) for f in found.findings] == [("unmatched-reference", "info")]


def test_tie_kept_artifact_in_use_is_an_error() -> None:
    same = T - 60 * S
    artifacts = [art("x", ["x"], same), art("y", ["y"], same)]
    result = run({"app": artifacts}, policy(rule("latestPushedK", 1)))
    found = check(result, [usage(f"{HOST}/proj/app:x")], [HOST])
    assert [f.code for f in found.findings] == ["in-use-deleted"]
    assert "only by the order of equal timestamps" in found.findings[0].message


def test_repo_index_lookups_agree_with_a_plain_search() -> None:
    import random

    from harborguard.check import _RepoIndex
    from harborguard.model import Artifact, Repository
    from harborguard.retention.engine import Decision, RepositoryOutcome

    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(0, 30)
        names = [f"t{i}" for i in range(40)]
        rng.shuffle(names)
        artifacts = []
        for i in range(n):
            tags = tuple(names.pop() for _ in range(rng.choice((0, 1, 1, 2, 3))) if names)
            children = (f"sha256:{rng.randrange(n + 3):064x}",) if rng.random() < 0.2 else ()
            artifacts.append(Artifact(f"sha256:{i:064x}", tags, "IMAGE", 1, 1, 1, 1, children))
        repo = Repository("p/r", tuple(artifacts))
        index = _RepoIndex(RepositoryOutcome(repo, "evaluated",
                                             tuple(Decision("retain", "") for _ in artifacts)))
        for _ in range(30):
            tag = f"t{rng.randrange(45)}"
            want = next((p for p, a in enumerate(artifacts) if tag in a.tags), None)
            assert index.tag_pos(tag) == want
            digest = f"sha256:{rng.randrange(n + 3):064x}"
            want_d = next((p for p, a in enumerate(artifacts) if a.digest == digest), None)
            assert index.digest_pos(digest) == want_d
            parents = [p for p, a in enumerate(artifacts) if digest in a.children]
            assert index.parents_of(digest) == parents


# -- issue 12 item 2: Harbor read through another name than pods pull from ---------------

OTHER = "127.0.0.1:8080"


def test_a_digest_is_the_artifact_whatever_host_names_it() -> None:
    variants = [
        usage(f"{OTHER}/proj/app@{dig('mid')}"),  # digest in the reference
        usage(f"{OTHER}/proj/app:1.2@{dig('mid')}"),  # tag@digest
        usage(f"{OTHER}/proj/app:whatever", digest=dig("mid")),  # the pod's imageID
        usage("registry.internal:5000/proj/app:1.2", digest=dig("mid"), kind="declared"),
    ]
    for one in variants:
        found = check(_result(), [one], [HOST])
        assert list(found.in_use) == [("proj", "proj/app", dig("mid"))], one
        assert codes(found) == [("in-use-deleted", ("1.2",))]
        assert found.harbor_named == 1 and not found.no_harbor_reference
    child = check(_result(), [usage(f"{OTHER}/proj/app@{dig('child-amd64')}")], [HOST])
    assert list(child.in_use) == [("proj", "proj/app", dig("idx"))]


def test_another_host_naming_a_harbor_path_is_a_foreign_registry_warning() -> None:
    refs = [usage(f"{OTHER}/proj/app:1.2"), usage(f"{OTHER}/proj/app:1.1"),
            usage(f"{OTHER}/proj/app@{dig('gone')}")]
    found = check(_result(), refs, [HOST])
    assert not found.in_use
    [warning] = found.findings  # one per host and repository
    assert (warning.code, warning.severity, warning.repository) == (
        "foreign-registry", "warning", "proj/app")
    assert f"names registry {OTHER}" in warning.message
    assert f"--registry-alias {OTHER}" in warning.message
    assert found.foreign == {OTHER: 3} and found.no_harbor_reference


def test_an_alias_or_one_harbor_reference_ends_the_doubt() -> None:
    found = check(_result(), [usage(f"{OTHER}/proj/app:1.2")], [HOST, OTHER])
    assert codes(found) == [("in-use-deleted", ("1.2",))] and not found.foreign
    mixed = check(_result(), [usage(f"{OTHER}/proj/app:1.2"), usage(f"{HOST}/proj/app:1.3")],
                  [HOST])
    assert [f.code for f in mixed.findings] == ["foreign-registry"]
    assert not mixed.no_harbor_reference  # warned, not incomplete


def test_other_registries_without_a_harbor_path_are_ignored_quietly() -> None:
    found = check(_result(), [usage("docker.io/library/nginx:1"), usage(f"{OTHER}/x/y:1")],
                  [HOST])
    assert found.ignored == 2 and not found.findings and not found.no_harbor_reference


def test_chart_findings_say_what_breaks_for_a_chart() -> None:
    chart = Usage(source="helm", kind="declared", ref=f"{HOST}/proj/app:1.2",
                  where="ns/HelmRelease/app", chart=True)
    [deleted] = check(_result(), [chart], [HOST]).findings
    assert deleted.code == "in-use-deleted"
    assert "is the Helm chart of a deployed release" in deleted.message
    assert "`helm rollback` or reinstall of that release cannot pull the chart" in deleted.message
    gone = Usage(source="helm", kind="declared", ref=f"{HOST}/proj/app:9.9",
                 where="ns/HelmRelease/app", chart=True)
    [missing] = check(_result(), [gone], [HOST]).findings
    assert missing.code == "in-use-missing"
    assert "chart deployed by ns/HelmRelease/app" in missing.message
    assert "restart" not in missing.message and "`helm rollback`" in missing.message


def test_a_pod_pulled_by_a_tag_that_is_gone_cannot_restart_elsewhere() -> None:
    # The running digest (mid) still exists, but its tag 9.9 does not: a node without the
    # image pulls the tag, which fails.
    found = check(_result(), [usage(f"{HOST}/proj/app:9.9", digest=dig("mid"))], [HOST])
    assert [f.code for f in found.findings if f.code == "in-use-missing"] == ["in-use-missing"]
    assert "tag 9.9 no longer does" in found.findings[0].message


def test_a_running_build_the_policy_deletes_is_in_use_deleted_though_its_tag_moved() -> None:
    # The pod runs old (1.1, which the policy deletes) pulled as 1.3, which now names new
    # (kept). old is still in Harbor, so it is not "gone" (digest-moved): the policy deletes
    # a running build, an error. A restart pulls new; old could not be rolled back to.
    found = check(_result(), [usage(f"{HOST}/proj/app:1.3", digest=dig("old"))], [HOST])
    assert codes(found) == [("in-use-deleted", ("1.1",))]
    [deleted] = found.findings
    assert (deleted.digest, deleted.severity) == (dig("old"), "error")
    assert "proj/app:1.1 is running (kubectl: ns/Pod/p) by tag 1.3" in deleted.message
    assert f"tag 1.3, which now names {dig('new')}" in deleted.message
    assert "a restart would pull that build" in deleted.message
    assert "could not be rolled back to" in deleted.message
    assert "the policy deletes it" in deleted.message
    # The running usage is on the running artifact's row, and on the build a restart pulls.
    assert list(found.in_use) == [("proj", "proj/app", dig("old")),
                                  ("proj", "proj/app", dig("new"))]


def test_an_untagged_running_build_the_policy_deletes_is_in_use_deleted() -> None:
    # The attack's case: `always` on ** (untagged:false) keeps stable (b) only; the pod runs
    # the untagged a, pulled as stable before the tag moved to b.
    always = rule("always", tags=[sel("**", extras='{"untagged":false}')])
    result = run({"app": [art("b", ["stable"], T - 10 * S), art("a", None, T - 20 * S)]},
                 policy(always))
    pod = usage(f"{HOST}/proj/app:stable", digest=dig("a"))
    declared = usage(f"{HOST}/proj/app:stable", kind="declared")
    found = check(result, [declared, pod], [HOST])
    assert [(f.code, f.digest) for f in found.findings] == [("in-use-deleted", dig("a"))]
    assert found.findings[0].message.startswith(
        f"proj/app@{dig('a')} is running (kubectl: ns/Pod/p) by tag stable, which now "
        f"names {dig('b')}")
    assert found.in_use[("proj", "proj/app", dig("a"))] == [pod]
    assert found.in_use[("proj", "proj/app", dig("b"))] == [declared, pod]


def test_a_running_child_of_a_deleted_index_pulled_by_a_moved_tag_is_in_use_deleted() -> None:
    index = art("idx", ["2.0"], T - 20 * S)
    index["references"] = [{"parent_id": 9, "child_id": 10, "child_digest": dig("amd64")}]
    result = run({"app": [art("new", ["3.0"], T - 10 * S), index]},
                 policy(rule("latestPushedK", 1)))
    found = check(result, [usage(f"{HOST}/proj/app:3.0", digest=dig("amd64"))], [HOST])
    assert [(f.code, f.digest) for f in found.findings] == [("in-use-deleted", dig("idx"))]
    assert f"by tag 3.0, which now names {dig('new')}" in found.findings[0].message
    assert set(found.in_use) == {("proj", "proj/app", dig("idx")),
                                 ("proj", "proj/app", dig("new"))}


def test_a_running_build_kept_only_by_a_tie_pulled_by_a_moved_tag_is_in_use_deleted() -> None:
    # p and q share a push time at latestPushedK 2's cut: which one stays rests on the order.
    same = T - 30 * S
    result = run({"app": [art("new", ["stable"], T - 10 * S), art("p", ["p"], same),
                          art("q", ["q"], same)]}, policy(rule("latestPushedK", 2)))
    found = check(result, [usage(f"{HOST}/proj/app:stable", digest=dig("p"))], [HOST])
    assert [(f.code, f.digest) for f in found.findings] == [("in-use-deleted", dig("p"))]
    assert "by tag stable, which now names" in found.findings[0].message
    assert "equal timestamps" in found.findings[0].message


def test_a_moved_tag_whose_old_build_is_kept_protects_both() -> None:
    found = check(_result(), [usage(f"{HOST}/proj/app:1.3", digest=dig("idx"))], [HOST])
    assert not found.findings
    assert set(found.in_use) == {("proj", "proj/app", dig("idx")),
                                 ("proj", "proj/app", dig("new"))}


def test_a_moved_tag_whose_new_build_is_deleted_is_an_error() -> None:
    # The pod runs new (kept), pulled as 1.2, which now names mid (deleted): a restart on a
    # node without the image pulls 1.2, which is gone then.
    found = check(_result(), [usage(f"{HOST}/proj/app:1.2", digest=dig("new"))], [HOST])
    assert codes(found) == [("in-use-deleted", ("1.2",))]
    [deleted] = found.findings
    assert (deleted.digest, deleted.severity) == (dig("mid"), "error")
    assert "proj/app:1.2 is what a restart pulls (kubectl: ns/Pod/p runs " \
        f"{dig('new')} by tag 1.2)" in deleted.message
    assert "the policy deletes it" in deleted.message
    assert set(found.in_use) == {("proj", "proj/app", dig("new")),
                                 ("proj", "proj/app", dig("mid"))}


def test_a_pod_running_the_build_is_said_before_one_whose_restart_pulls_it() -> None:
    restart = usage(f"{HOST}/proj/app:1.2", digest=dig("new"))
    runs = Usage(source="kubectl", kind="running", ref=f"{HOST}/proj/app:1.2",
                 where="ns/Pod/q", digest=dig("mid"))
    found = check(_result(), [restart, runs], [HOST])
    [deleted] = found.findings
    assert deleted.message.startswith("proj/app:1.2 is running (kubectl: ns/Pod/q; in use "
                                      "in 2 places: running 2) but")


def test_a_gone_digest_whose_tag_names_a_deleted_build_says_what_a_restart_pulls() -> None:
    # The running digest is not in Harbor (digest-moved); the tag's build goes too.
    gone = "sha256:" + "1" * 64
    found = check(_result(), [usage(f"{HOST}/proj/app:1.2", digest=gone)], [HOST])
    assert codes(found) == [("digest-moved", ("1.2",)), ("in-use-deleted", ("1.2",))]
    deleted = next(f for f in found.findings if f.code == "in-use-deleted")
    assert f"is what a restart pulls (kubectl: ns/Pod/p runs {gone} by tag 1.2)" \
        in deleted.message


def test_registry_alias_forms() -> None:
    from harborguard.check import alias_host

    assert alias_host("https://Harbor.Example.org/") == "harbor.example.org"
    assert alias_host("harbor.example.org:8443/") == "harbor.example.org:8443"
    assert alias_host("http://127.0.0.1:8080") == "127.0.0.1:8080"
    for bad in ("", "https://", "harbor.example.org/project", "harbor.example.org?x=1"):
        with pytest.raises(ValueError, match="not a registry host"):
            alias_host(bad)


def test_a_repository_that_could_not_be_read_is_not_called_missing() -> None:
    import dataclasses

    from harborguard.model import Incomplete

    result = dataclasses.replace(_result(), incomplete=(
        Incomplete(what="proj/gone", reason="HTTP 503 after 4 attempts"),))
    found = check(result, [usage(f"{HOST}/proj/gone:1")], [HOST])
    assert not found.findings  # the run is incomplete; nothing is known to be missing
    found = check(_result(), [usage(f"{HOST}/proj/gone:1")], [HOST])
    assert [f.code for f in found.findings] == ["in-use-missing"]


# -- attack #20: a platform manifest shared by a kept and a deleted multi-arch index -----

def _multiarch(k: int = 1, old_tags: list[str] | None = None):  # type: ignore[no-untyped-def]
    """proj/app: index 1.0 (new; amd64 X, arm64 v2) and an older index (amd64 X, arm64 v1)."""
    new = art("idx-new", ["1.0"], T - 5 * S)
    new["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("shared-amd64")},
                         {"parent_id": 1, "child_id": 3, "child_digest": dig("arm64-v2")}]
    old = art("idx-old", old_tags or [], T - 50 * S)
    old["references"] = [{"parent_id": 4, "child_id": 2, "child_digest": dig("shared-amd64")},
                         {"parent_id": 4, "child_id": 5, "child_digest": dig("arm64-v1")}]
    return run({"app": [new, old]}, policy(rule("latestPushedK", k)))


def test_a_child_shared_with_a_kept_index_survives_the_deleted_index() -> None:
    # Harbor deletes an index's children only when no other artifact references them
    # (RETENTION.md 4.5): X stays with the kept index 1.0, and tag 1.0 still pulls it.
    by_tag = usage(f"{HOST}/proj/app:1.0", digest=dig("shared-amd64"))
    by_digest = usage(f"{HOST}/proj/app@{dig('shared-amd64')}")
    for one in (by_tag, by_digest):
        found = check(_multiarch(), [one], [HOST])
        assert codes(found) == [], one
        assert list(found.in_use) == [("proj", "proj/app", dig("idx-new"))], one


def test_a_child_whose_every_index_is_deleted_is_in_use_deleted() -> None:
    result = _multiarch()
    only_old = usage(f"{HOST}/proj/app@{dig('arm64-v1')}")  # its only parent goes
    assert codes(check(result, [only_old], [HOST])) == [("in-use-deleted", ())]
    # latestPushedK 0 keeps nothing: both parents of X go, both are errors
    none_kept = check(_multiarch(k=0), [usage(f"{HOST}/proj/app@{dig('shared-amd64')}")],
                      [HOST])
    assert codes(none_kept) == [("in-use-deleted", ()), ("in-use-deleted", ("1.0",))]


def test_a_child_pulled_by_a_tag_of_a_deleted_index_is_an_error_though_it_survives() -> None:
    # The pod pulls tag old (the deleted index): X survives with 1.0, but the tag does not.
    found = check(_multiarch(old_tags=["old"]),
                  [usage(f"{HOST}/proj/app:old", digest=dig("shared-amd64"))], [HOST])
    assert codes(found) == [("in-use-deleted", ("old",))]


def test_a_child_kept_only_by_a_tie_is_not_counted_as_surviving() -> None:
    new = art("idx-a", ["a"], T - 5 * S)
    new["references"] = [{"parent_id": 1, "child_id": 2, "child_digest": dig("x")}]
    old = art("idx-b", ["b"], T - 5 * S)
    old["references"] = [{"parent_id": 4, "child_id": 2, "child_digest": dig("x")}]
    result = run({"app": [new, old]}, policy(rule("latestPushedK", 1)))
    found = check(result, [usage(f"{HOST}/proj/app@{dig('x')}")], [HOST])
    assert [f.code for f in found.findings] == ["in-use-deleted", "in-use-deleted"]
