"""Harbor v2.0 REST API source: reads what a simulation needs into a ``harborguard.snapshot/v1``
document (raw API payloads, the shape harborguard.snapshot reads).

Concurrency: a pool of ``concurrency`` worker threads performs every HTTP request, one request
per task; only the calling thread touches the fetch state. It reacts to each finished request
by queueing the requests that answer made known (further pages, the repositories of a project,
the artifacts of a repository, chart additions). Threads rather than asyncio because the
client is the synchronous, thread-safe ``httpx.Client`` the CLI configures once, and because a
single request-level pool keeps exactly N requests in flight across all projects and
repositories at once, so the wall time approaches ``requests x latency / N`` instead of
stalling on the slowest repository of a batch. (httpx's AsyncClient was measured too: it
spends about twice the CPU per request, and CPU, not the network, is what limits a fetch
at 16 requests in flight.)

Fail closed: a repository, policy or rule list that cannot be read after bounded retries
becomes an ``incomplete`` entry and the rest is still fetched. Only problems that make the
whole run meaningless raise ``SourceError``: Harbor unreachable or not a Harbor, TLS failure,
a named project that does not exist or is not visible, the project list unavailable.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from queue import SimpleQueue
from typing import Any
from urllib.parse import quote

from harborguard.errors import InputError, SourceError, Stopped
from harborguard.policy import parse_immutable_rules, parse_policy
from harborguard.redact import redact_yaml
from harborguard.snapshot import no_project_read
from harborguard.sources.harbor.answers import (
    artifact_list_problem,
    confirm_account,
    describe_failure,
    expected_count,
    harbor_version,
    index_of,
    project_error,
)
from harborguard.sources.harbor.client import API, COUNT, Failure, HarborClient, Reply
from harborguard.sources.harbor.document import (
    FetchedProject,
    FetchedRepository,
    snapshot_document,
)
from harborguard.sources.harbor.paging import Listing

# A chart's values.yaml is a few KB; a larger one is not read (it would be parsed, redacted
# and stored whole): the chart's values are then incomplete.
MAX_VALUES_CHARS = 4 * 1024 * 1024

# The listing the retention job itself uses: no q, no sort (API order is part of the data).
ARTIFACT_QUERY: Mapping[str, str] = {
    "with_tag": "true",
    "with_label": "true",
    "with_immutable_status": "true",
}


def repository_path(project: str, repository: str) -> str:
    """The artifacts URL path of ``project/repository`` (the full name Harbor lists).

    The repository part is URL-encoded twice (``team/app`` -> ``team%252Fapp``), as
    Harbor's swagger.yaml asks (tests/data/harbor/swagger.yaml): Harbor's router decodes the
    path once before matching routes.
    """
    short = repository[len(project) + 1:]
    return (
        f"{API}/projects/{quote(project, safe='')}/repositories/"
        f"{quote(quote(short, safe=''), safe='')}"
    )


_Callback = Callable[[Reply | Failure], None]


class _Fetch:
    """One fetch. Every method runs on the calling thread; workers only do ``client.get``."""

    def __init__(
        self,
        client: HarborClient,
        progress: Callable[[int, int], None] | None,
        with_policies: bool,
        with_additions: bool = True,
    ) -> None:
        self._client = client
        self._progress = progress
        self._with_policies = with_policies
        self._with_additions = with_additions
        self._pool = ThreadPoolExecutor(
            max_workers=client.concurrency, thread_name_prefix="harborguard-fetch"
        )
        self._answers: SimpleQueue[tuple[_Callback, Future[Reply | Failure]]] = SimpleQueue()
        self._cancel = threading.Event()
        # Pages of one list asked for at once (the pool runs this many requests anyway).
        self.window = client.concurrency
        self._pending = 0
        self._projects: list[FetchedProject] = []
        self._names: set[str] = set()
        self._incomplete: list[tuple[tuple[int, ...], str, str]] = []
        self._repositories_known = 0
        self._repositories_done = 0

    # -- plumbing ---------------------------------------------------------------------------

    def request(
        self,
        path: str,
        callback: _Callback,
        *,
        params: Mapping[str, str | int] | None = None,
        by_name: bool = False,
        text: bool = False,
    ) -> None:
        self._pending += 1
        future = self._pool.submit(
            self._client.get, path, params, by_name=by_name, text=text, cancel=self._cancel
        )
        future.add_done_callback(lambda done: self._answers.put((callback, done)))

    def _drain(self) -> None:
        while self._pending:
            callback, future = self._answers.get()
            self._pending -= 1
            callback(future.result())

    def _missing(self, order: tuple[int, ...], what: str, reason: str) -> None:
        self._incomplete.append((order, what, self._client.redact(reason)))

    def _report_progress(self) -> None:
        if self._progress is not None:
            self._progress(self._repositories_done, self._repositories_known)

    # -- the fetch --------------------------------------------------------------------------

    def fetch(
        self, names: Sequence[str], all_projects: bool, now: Callable[[], datetime]
    ) -> dict[str, Any]:
        try:
            version = harbor_version(self._client)
            confirm_account(self._client, version)
            taken_at = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if all_projects:
                # with_detail is Harbor's default; it is what carries metadata.retention_id.
                Listing(self, f"{API}/projects", self._on_project_list, key="name",
                         params={"with_detail": "true"}).start()
            for position, name in enumerate(names):
                self.request(
                    f"{API}/projects/{quote(name, safe='')}",
                    partial(self._on_project, position, name),
                    by_name=True,
                )
            self._drain()
        except BaseException as exc:
            self._cancel.set()
            # Requests in flight finish (within the timeout) so that their connections
            # are closed cleanly; an interrupted user does not wait for them.
            self._pool.shutdown(wait=not isinstance(exc, KeyboardInterrupt | Stopped),
                                cancel_futures=True)
            raise
        self._pool.shutdown()
        self._report_progress()
        if not self._projects:
            self._missing((), "projects", no_project_read(self._client.url))
        return snapshot_document(self._client.url, version, taken_at, self._projects,
                                 self._incomplete)

    def _on_project_list(self, result: list[Any] | Failure) -> None:
        if isinstance(result, Failure):
            raise SourceError(
                f"cannot list the projects on {self._client.url}: "
                f"{self._client.redact(result.reason)}"
            )
        for position, payload in enumerate(result):
            if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
                self._missing((position,), f"projects[{position}]",
                              "the project list holds an item without a name")
                continue
            self._start_project(position, payload)

    def _on_project(self, position: int, name: str, reply: Reply | Failure) -> None:
        if isinstance(reply, Failure):
            error = project_error(self._client, name, reply)
            if error is not None:
                raise error
            self._missing((position,), name, f"project: {reply.reason}")
            return
        payload = reply.body
        if not isinstance(payload, dict) or payload.get("name") != name:
            self._missing((position,), name, "project: unexpected answer (not this project)")
            return
        self._start_project(position, payload)

    def _start_project(self, position: int, payload: Mapping[str, Any]) -> None:
        name = payload["name"]
        if name in self._names:
            return
        self._names.add(name)
        project = FetchedProject(position, name, payload)
        self._projects.append(project)
        quoted = quote(name, safe="")
        metadata = payload.get("metadata")
        retention_id = metadata.get("retention_id") if isinstance(metadata, Mapping) else None
        if self._with_policies and retention_id not in (None, ""):
            if COUNT.fullmatch(str(retention_id)):
                self.request(
                    f"{API}/retentions/{retention_id}", partial(self._on_retention, project)
                )
            else:
                self._missing((position, -1, 0), name,
                              f"retention policy: metadata.retention_id {retention_id!r} "
                              "is not a number")
        Listing(
            self, f"{API}/projects/{quoted}/immutabletagrules",
            partial(self._on_immutable_rules, project), key="id", by_name=True,
        ).start()
        Listing(
            self, f"{API}/projects/{quoted}/repositories",
            partial(self._on_repositories, project), key="name",
            # Harbor counts the project's repositories as its list does.
            expected=expected_count(payload, "repo_count"),
        ).start()

    def _on_retention(self, project: FetchedProject, reply: Reply | Failure) -> None:
        if isinstance(reply, Failure):
            reason = describe_failure(self._client, reply, "retention", project.name)
            self._missing((project.position, -1, 0), project.name, f"retention policy: {reason}")
            return
        policy = reply.body
        if isinstance(policy, dict) and policy.get("rules") is None:
            # go-swagger leaves out an empty list: a policy whose rules were all removed
            # arrives without "rules", which the snapshot reader would refuse.
            policy = {**policy, "rules": []}
        try:
            parse_policy(policy, "policy")
        except InputError as exc:
            self._missing((project.position, -1, 0), project.name,
                          f"retention policy: unreadable ({exc})")
            return
        project.retention = policy

    def _on_immutable_rules(self, project: FetchedProject, result: list[Any] | Failure) -> None:
        if isinstance(result, Failure):
            reason = describe_failure(self._client, result, "immutable", project.name)
            self._missing((project.position, -1, 1), project.name, f"immutable tag rules: {reason}")
            return
        try:
            parse_immutable_rules(result, "immutable_rules")
        except InputError as exc:
            self._missing((project.position, -1, 1), project.name,
                          f"immutable tag rules: unreadable ({exc})")
            return
        project.immutable_rules = result

    def _on_repositories(self, project: FetchedProject, result: list[Any] | Failure) -> None:
        if isinstance(result, Failure):
            reason = describe_failure(self._client, result, "repositories", project.name)
            self._missing((project.position, -1, 2), project.name, f"repositories: {reason}")
            return
        prefix = project.name + "/"
        for position, payload in enumerate(result):
            name = payload.get("name") if isinstance(payload, dict) else None
            if not isinstance(name, str) or not name.startswith(prefix) or name == prefix:
                self._missing((project.position, position), project.name,
                              f"repositories[{position}]: no repository name under {prefix}")
                continue
            repository = FetchedRepository(position, name, payload)
            project.repositories.append(repository)
            self._repositories_known += 1
            Listing(
                self, repository_path(project.name, name) + "/artifacts",
                partial(self._on_artifacts, project, repository),
                key="digest", params=ARTIFACT_QUERY,
                # Harbor counts the artifacts its list shows (not an index's children).
                expected=expected_count(payload, "artifact_count"),
            ).start()
        self._report_progress()

    def _on_artifacts(
        self, project: FetchedProject, repository: FetchedRepository, result: list[Any] | Failure
    ) -> None:
        order = (project.position, repository.position)
        if isinstance(result, Failure):
            repository.failed = True
            self._missing(order, repository.name,
                          describe_failure(self._client, result, "artifacts", repository.name))
            self._repository_done()
            return
        problem = artifact_list_problem(repository.payload, result)
        if problem is not None:
            repository.failed = True
            self._missing(order, repository.name, f"unreadable artifact list: {problem}")
            self._repository_done()
            return
        repository.artifacts = result
        base = repository_path(project.name, repository.name)
        for artifact in result:
            digest = artifact.get("digest")
            if not self._with_additions:
                break
            if artifact.get("type") != "CHART" or not isinstance(digest, str):
                continue
            repository.waiting += 1
            self.request(
                f"{base}/artifacts/{quote(digest, safe=':')}/additions/values.yaml",
                partial(self._on_values, project, repository, digest),
                text=True,
            )
        if repository.waiting == 0:
            self._repository_done()

    def _on_values(
        self, project: FetchedProject, repository: FetchedRepository, digest: str,
        reply: Reply | Failure,
    ) -> None:
        if isinstance(reply, Reply) and len(reply.body) > MAX_VALUES_CHARS:
            reply = Failure(reply.status, f"larger than {MAX_VALUES_CHARS} characters, the "
                                          "most harborguard reads of a chart's values.yaml")
        if isinstance(reply, Failure) and reply.status == 404:
            pass  # the chart has no values.yaml: a definite answer, nothing is missing
        elif isinstance(reply, Failure):
            subject = f"{repository.name}@{digest}"
            index = index_of(repository.artifacts or [], digest)
            self._missing((project.position, repository.position, index), subject,
                          "values.yaml: " + describe_failure(self._client, reply, "addition",
                                                             subject))
        else:
            # docs/DESIGN.md: values under secret-looking keys never reach a snapshot.
            repository.additions[digest] = {"values.yaml": redact_yaml(reply.body)}
        repository.waiting -= 1
        if repository.waiting == 0:
            self._repository_done()

    def _repository_done(self) -> None:
        self._repositories_done += 1
        self._report_progress()


def fetch_snapshot(
    client: HarborClient,
    projects: Sequence[str] | None,
    *,
    all_projects: bool = False,
    progress: Callable[[int, int], None] | None = None,
    with_policies: bool = True,
    now: Callable[[], datetime] | None = None,
    with_additions: bool = True,
) -> dict[str, Any]:
    """Reads ``projects`` (or every project the account can list) into a raw
    ``harborguard.snapshot/v1`` document, in API order.

    ``progress(done, known)`` is called on the calling thread as repositories are found and
    finished; ``known`` grows while projects are listed. ``with_policies=False`` skips the
    retention policies (for ``--policy``): ``retention`` is then null. ``taken_at`` is the
    time the fetch started. What could not be read is in ``incomplete``; ``SourceError`` is
    raised only when nothing sensible can be fetched (see the module docstring).
    """
    names = list(dict.fromkeys(projects or ()))
    if all_projects == bool(names):
        raise InputError("give the projects to read (--project P ...) or --all-projects")
    clock = now or (lambda: datetime.now(UTC))
    # httpx and httpcore leave reference cycles behind every request; the CLI turns the
    # cyclic collector off for its bulk, acyclic data, which would make them pile up here.
    collecting = gc.isenabled()
    gc.enable()
    try:
        return _Fetch(client, progress, with_policies, with_additions).fetch(
            names, all_projects, clock
        )
    finally:
        if not collecting:
            gc.disable()
