"""A project's retention policy read just before it is replaced, and the replacement
(``PUT /api/v2.0/retentions/{id}``), for ``protect --apply``. Each failure is one line naming
the project, the account and, for 401/403, the permission it needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from harborguard.sources.harbor.client import API, COUNT, Failure, HarborClient

UPDATE_PERMISSION = "tag-retention:update"
READ_PERMISSION = "tag-retention:read"


class RetentionWriteError(Exception):
    """A policy could not be read back or replaced; the message names what and why."""


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    id: int | None  # the project's metadata.retention_id; None: the project has none
    raw: dict[str, Any] | None


def refusal(client: HarborClient, failure: Failure, action: str, permission: str) -> str:
    """Why Harbor refused ``action`` on a retention policy, naming the permission."""
    who = f"account '{client.account}'" if client.account else "anonymous access"
    if failure.status == 401:
        return (f"Harbor did not accept the credentials of {who} (HTTP 401 trying to "
                f"{action}); the account needs {permission}")
    if failure.status == 403:
        return f"{who} may not {action} (HTTP 403); it needs the {permission} permission"
    return f"cannot {action}: {failure.reason}"


def read_policy(client: HarborClient, project: str) -> StoredPolicy:
    """The project's policy as Harbor holds it now."""
    reply = client.get(f"{API}/projects/{quote(project, safe='')}", by_name=True)
    if isinstance(reply, Failure):
        raise RetentionWriteError(refusal(client, reply, f"read project '{project}'",
                                          "project:read"))
    metadata = reply.body.get("metadata") if isinstance(reply.body, Mapping) else None
    text = metadata.get("retention_id") if isinstance(metadata, Mapping) else None
    if text in (None, ""):
        return StoredPolicy(None, None)
    if not COUNT.fullmatch(str(text)):
        raise RetentionWriteError(f"project '{project}': metadata.retention_id {text!r} is "
                                  "not a number")
    policy_id = int(str(text))
    reply = client.get(f"{API}/retentions/{policy_id}")
    if isinstance(reply, Failure):
        raise RetentionWriteError(refusal(client, reply, f"read the retention policy of project "
                                          f"'{project}'", READ_PERMISSION))
    if not isinstance(reply.body, dict):
        raise RetentionWriteError(f"retention policy {policy_id} of project '{project}': "
                                  "the answer is not a policy object")
    raw = dict(reply.body)
    if raw.get("rules") is None:
        raw["rules"] = []  # go-swagger leaves out an empty list
    return StoredPolicy(policy_id, raw)


def put_policy(client: HarborClient, project: str, policy_id: int,
               body: Mapping[str, Any]) -> None:
    reply = client.put(f"{API}/retentions/{policy_id}", dict(body))
    if isinstance(reply, Failure):
        raise RetentionWriteError(refusal(client, reply, f"update the retention policy of "
                                          f"project '{project}'", UPDATE_PERMISSION))
