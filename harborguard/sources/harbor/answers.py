"""What Harbor's answers mean for a fetch: the reason an unreadable list or object becomes an
``incomplete`` entry (naming the account and the permission it lacks, never the password),
the ``SourceError`` that ends a fetch when Harbor itself or a named project cannot be read,
and the checks an artifact list passes before it may enter a snapshot."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from harborguard.errors import InputError, SourceError
from harborguard.snapshot import SNAPSHOT_SCHEMA, parse_snapshot
from harborguard.sources.harbor.client import API, Failure, HarborClient

# What each request reads, and the permission Harbor checks for it (robot account names).
_READS = {
    "project": ("read project '{0}'", "project:read"),
    "retention": ("read the retention policy of project '{0}'", "tag-retention:read"),
    "immutable": ("list the immutable tag rules of project '{0}'", "immutable-tag:list"),
    "repositories": ("list the repositories of project '{0}'", "repository:list"),
    "artifacts": ("list the artifacts of {0}", "artifact:list"),
    "addition": ("read the values.yaml of chart {0}", "artifact-addition:read"),
}


def describe_failure(client: HarborClient, failure: Failure, kind: str, subject: str) -> str:
    """The reason for an ``incomplete`` entry: for 401/403 it names the account and the
    permission needed (never the password)."""
    action_template, permission = _READS[kind]
    action = action_template.format(subject)
    if failure.status == 401 and client.account is not None:
        return (
            f"Harbor did not accept the credentials of account '{client.account}' (HTTP 401 "
            f"trying to {action}): wrong password, or the account is disabled or expired; "
            f"the account needs {permission}"
        )
    if failure.status in (401, 403) and client.account is None:
        hint = ", or use --policy" if kind == "retention" else ""
        return (
            f"anonymous access may not {action} (HTTP {failure.status}); give the credentials "
            f"(HARBOR_USERNAME, HARBOR_PASSWORD) of an account with {permission}{hint}"
        )
    if failure.status == 403:
        return (
            f"account '{client.account}' may not {action} (HTTP 403); it needs the "
            f"{permission} permission"
        )
    return failure.reason


def expected_count(payload: Mapping[str, Any], key: str) -> tuple[int, str] | None:
    """A count Harbor gives beside a list (``artifact_count``, ``repo_count``), to check the
    list against; None when it is missing or not a count."""
    count = payload.get(key)
    if isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 10 ** 18:
        return count, key
    return None


def index_of(artifacts: Iterable[Any], digest: str) -> int:
    for index, artifact in enumerate(artifacts):
        if isinstance(artifact, dict) and artifact.get("digest") == digest:
            return index
    return -1


# What Harbor stores as an artifact's digest (go-digest's algorithms, lower-case hex): a
# digest is how a running pod's reference finds its artifact, so a corrupted one must not
# pass for an artifact that nothing uses.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128}")


def artifact_list_problem(repository: Mapping[str, Any], artifacts: list[Any]) -> str | None:
    """Why an artifact list may not enter a snapshot, if it may not: the snapshot reader
    would reject it, or a digest is not one."""
    return _unreadable(repository, artifacts) or _bad_digest(artifacts)


def _bad_digest(artifacts: list[Any]) -> str | None:
    for index, artifact in enumerate(artifacts):
        digest = artifact.get("digest") if isinstance(artifact, dict) else None
        if isinstance(digest, str) and not _DIGEST.fullmatch(digest):
            return f"artifacts[{index}].digest {digest[:80]!r} is not a digest"
    return None


def _unreadable(repository: Mapping[str, Any], artifacts: list[Any]) -> str | None:
    """Why the snapshot reader would reject this repository, if it would. Checked here so
    that one odd repository becomes an incomplete entry instead of an unreadable file.
    The probe's project is the one the repository's name says (Harbor's "<project>/...")."""
    name = repository.get("name")
    probe = {
        "schema": SNAPSHOT_SCHEMA,
        "taken_at": "1970-01-01T00:00:00Z",
        "projects": [{
            "project": {"name": name.split("/", 1)[0] if isinstance(name, str) else "probe"},
            "retention": None,
            "immutable_rules": [],
            "repositories": [{"repository": repository, "artifacts": artifacts}],
        }],
    }
    try:
        parse_snapshot(probe, "probe")
    except InputError as exc:
        return str(exc).removeprefix("probe: ").removeprefix("projects[0].repositories[0].")
    return None


def harbor_version(client: HarborClient) -> str | None:
    """Harbor's version from ``/systeminfo`` (None when Harbor leaves it out, as it does for
    anonymous callers); ``SourceError`` when no Harbor answers there."""
    reply = client.get(f"{API}/systeminfo")
    if isinstance(reply, Failure):
        if reply.tls:
            raise SourceError(
                f"cannot verify the TLS certificate of {client.url}: {reply.reason}; "
                "give the private CA's certificates with --ca-bundle PATH"
            )
        if reply.status is None:
            raise SourceError(f"cannot reach Harbor at {client.url}: {reply.reason}")
        if reply.status == 404 or 200 <= reply.status < 300:
            raise SourceError(
                f"no Harbor v2.0 API at {client.url} (GET {API}/systeminfo: {reply.reason});"
                " give Harbor's base URL, e.g. https://harbor.example.org"
            )
        raise SourceError(
            f"Harbor at {client.url} failed GET {API}/systeminfo: {reply.reason}"
        )
    if not isinstance(reply.body, dict):
        raise SourceError(
            f"no Harbor v2.0 API at {client.url} (GET {API}/systeminfo did not answer "
            "with an object); give Harbor's base URL, e.g. https://harbor.example.org"
        )
    # Harbor leaves the version out for anonymous callers.
    version = reply.body.get("harbor_version")
    return version if isinstance(version, str) and version else None


def confirm_account(client: HarborClient, version: str | None) -> None:
    """Proves that Harbor accepted the account's credentials, before any list is trusted:
    Harbor answers wrong, expired or disabled credentials as if none were given (its
    basic-auth and robot security generators return no context and the request goes on
    as anonymous), so the project list would hold only the public projects, without an
    error. ``GET /users/current`` answers 401 for anonymous, 412 for a robot account
    (authenticated, not a user: Harbor's GetCurrentUserInfo) and 200 for a user; Harbor's
    older handler fails (500) for a robot, which ``version`` then settles: /systeminfo
    gives ``harbor_version`` to authenticated callers only.
    ``SourceError`` (naming the account, never the password) unless accepted."""
    if client.account is None:
        return
    reply = client.get(f"{API}/users/current")
    # 404: no such endpoint, so not a Harbor v2 that could have turned the account into
    # anonymous this way (every Harbor v2 answers 401 there to anonymous): nothing to prove.
    if not isinstance(reply, Failure) or reply.status in (404, 412):
        return
    if reply.status == 401:
        raise SourceError(
            f"Harbor at {client.url} did not accept the credentials of account "
            f"'{client.account}' (GET {API}/users/current: HTTP 401; Harbor would answer as "
            "anonymous and show only public projects): wrong password or secret, or the "
            "account is disabled or expired; set HARBOR_PASSWORD (or --password-stdin) to "
            "its current password or secret"
        )
    if version is not None:
        return
    raise SourceError(
        f"cannot tell whether Harbor at {client.url} accepted the credentials of account "
        f"'{client.account}' (GET {API}/users/current: {client.redact(reply.reason)}); "
        "nothing was read, try again"
    )


def project_error(client: HarborClient, name: str, failure: Failure) -> SourceError | None:
    """The error that ends the fetch when the project named on the command line cannot be
    read (missing, or not visible to the account); None when the failure is only an
    ``incomplete`` entry."""
    if failure.status == 404:
        return SourceError(
            f"project '{name}' not found on {client.url} (404); list projects with "
            f"GET {client.url}{API}/projects or use --all-projects"
        )
    if failure.status == 401 and client.account is not None:
        return SourceError(describe_failure(client, failure, "project", name))
    if failure.status in (401, 403):
        # Harbor checks permissions before existence, so a missing project looks
        # like a forbidden one.
        if client.account is None:
            why = (
                "it is private or does not exist; give the credentials "
                "(HARBOR_USERNAME, HARBOR_PASSWORD) of an account with project:read"
            )
            who = "anonymous access"
        else:
            why = "it does not exist, or the account lacks project:read on it"
            who = f"account '{client.account}'"
        return SourceError(
            f"project '{name}' on {client.url} is not visible to {who} "
            f"(HTTP {failure.status}): {why}; list projects with GET "
            f"{client.url}{API}/projects"
        )
    return None
