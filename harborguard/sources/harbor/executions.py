"""Harbor's retention executions (RETENTION.md 6.1, swagger.yaml /retentions/{id}/executions):
start a dry run, list the executions (there is no GET for one), stop one, list an
execution's tasks and read a task's log. For ``verify``.

Starting and stopping change something on the server, so each is sent once, never retried
(``HarborClient.send``); the reads have the usual retries. A failure raises
``ExecutionError`` whose message names the policy, the account and, for 401/403, the
permission the call needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harborguard.errors import SourceError
from harborguard.sources.harbor.client import API, Failure, HarborClient
from harborguard.sources.harbor.retentions import refusal

UPDATE_PERMISSION = "tag-retention:update"
READ_PERMISSION = "tag-retention:read"
# Harbor validates page_size up to 100.
PAGE_SIZE = 100
# An execution has one task per repository of its project: more pages than this is not
# an answer harborguard trusts.
MAX_TASK_PAGES = 1000
# The statuses in which an execution (or a task) has ended.
ENDED = ("Success", "Error", "Stopped")
_LOCATION = re.compile(r"/retentions/([0-9]{1,18})/executions/([0-9]{1,18})/?$")


class ExecutionError(SourceError):
    """An execution call failed; the message says which, and what the account needs."""


@dataclass(frozen=True, slots=True)
class Started:
    """A POST that Harbor accepted: its status and the execution its Location names."""

    status: int
    location: str | None
    execution_id: int | None  # None: no Location, or one that names no execution


def _base(policy_id: int) -> str:
    return f"{API}/retentions/{policy_id}/executions"


def execution_from_location(location: str | None, policy_id: int) -> int | None:
    """The execution ID a Location header names, when it names one of this policy."""
    if not location:
        return None
    found = _LOCATION.search(location.strip().split("?", 1)[0])
    if found is None or int(found.group(1)) != policy_id:
        return None
    return int(found.group(2))


def start_dry_run(client: HarborClient, policy_id: int) -> Started:
    """``POST .../executions {"dry_run": true}``, once."""
    answer = client.send("POST", _base(policy_id), {"dry_run": True})
    if isinstance(answer, Failure):
        raise ExecutionError(refusal(client, answer, f"start a dry run of retention policy "
                                     f"{policy_id}", UPDATE_PERMISSION))
    status, location = answer
    return Started(status, location, execution_from_location(location, policy_id))


def stop(client: HarborClient, policy_id: int, execution_id: int) -> str | None:
    """``PATCH .../executions/{eid} {"action": "stop"}``, once; None when Harbor took it,
    else why not."""
    answer = client.send("PATCH", f"{_base(policy_id)}/{execution_id}", {"action": "stop"})
    if isinstance(answer, Failure):
        return refusal(client, answer, f"stop execution {execution_id} of retention policy "
                       f"{policy_id}", UPDATE_PERMISSION)
    return None


def _record(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    ident = item.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool):
        return None
    return item


def list_executions(client: HarborClient, policy_id: int) -> list[dict[str, Any]]:
    """The newest executions of the policy, newest first (the first page)."""
    reply = client.get(_base(policy_id), {"page": 1, "page_size": PAGE_SIZE})
    if isinstance(reply, Failure):
        raise ExecutionError(refusal(client, reply, f"list the executions of retention policy "
                                     f"{policy_id}", READ_PERMISSION))
    if not isinstance(reply.body, list):
        raise ExecutionError(f"the executions of retention policy {policy_id}: the answer "
                             "is not a list")
    records = [_record(item) for item in reply.body]
    if any(r is None for r in records):
        raise ExecutionError(f"the executions of retention policy {policy_id}: an item "
                             "without a numeric id")
    return [r for r in records if r is not None]


def list_tasks(client: HarborClient, policy_id: int, execution_id: int
               ) -> list[dict[str, Any]]:
    """Every task of the execution (one per repository), all pages."""
    path = f"{_base(policy_id)}/{execution_id}/tasks"
    what = f"the tasks of execution {execution_id} of retention policy {policy_id}"
    tasks: list[dict[str, Any]] = []
    seen: set[int] = set()
    totals: set[int] = set()
    for page in range(1, MAX_TASK_PAGES + 1):
        reply = client.get(path, {"page": page, "page_size": PAGE_SIZE})
        if isinstance(reply, Failure):
            raise ExecutionError(refusal(client, reply, f"list {what}", READ_PERMISSION))
        if not isinstance(reply.body, list):
            raise ExecutionError(f"{what}: the answer is not a list")
        for item in reply.body:
            record = _record(item)
            if record is None or not isinstance(record.get("repository"), str):
                raise ExecutionError(f"{what}: a task without a numeric id or a repository")
            if record["id"] in seen:
                raise ExecutionError(f"{what}: task {record['id']} listed twice (the "
                                     "server ignores page?)")
            seen.add(record["id"])
            tasks.append(record)
        total = reply.total
        if total is not None:
            totals.add(total)
        if len(totals) > 1:
            raise ExecutionError(f"{what}: X-Total-Count changed between pages "
                                 f"({', '.join(map(str, sorted(totals)))})")
        if total is None and len(reply.body) < PAGE_SIZE:
            return tasks
        if total is not None and (len(tasks) >= total or not reply.body):
            if len(tasks) != total:
                raise ExecutionError(f"{what}: {len(tasks)} tasks listed, X-Total-Count "
                                     f"says {total}")
            return tasks
    raise ExecutionError(f"{what}: more than {MAX_TASK_PAGES} pages")


def task_log(client: HarborClient, policy_id: int, execution_id: int,
             task_id: int) -> bytes | str:
    """The task's log as bytes, or why it could not be read (a string)."""
    reply = client.get(f"{_base(policy_id)}/{execution_id}/tasks/{task_id}", text=True)
    if isinstance(reply, Failure):
        return refusal(client, reply, f"read the log of task {task_id}", READ_PERMISSION)
    body = reply.body if isinstance(reply.body, str) else str(reply.body)
    return body.encode("utf-8")

