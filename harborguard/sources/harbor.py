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

import base64
import gc
import json
import logging
import math
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from http.cookiejar import Cookie, CookieJar
from queue import SimpleQueue
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import Request

import httpx

from harborguard import __version__, jsonio
from harborguard.errors import InputError, SourceError, Stopped
from harborguard.policy import parse_immutable_rules, parse_policy
from harborguard.redact import redact_yaml
from harborguard.snapshot import SNAPSHOT_SCHEMA, parse_snapshot

API = "/api/v2.0"
# Harbor's request validation rejects page_size above 100 (swagger: maximum 100).
PAGE_SIZE = 100
# The listing the retention job itself uses: no q, no sort (API order is part of the data).
ARTIFACT_QUERY: Mapping[str, str] = {
    "with_tag": "true",
    "with_label": "true",
    "with_immutable_status": "true",
}
# How often a listing is re-read from page 1 when it changed between its pages.
LISTING_RESTARTS = 2

_log = logging.getLogger(__name__)
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for connect errors, timeouts, 429 and 5xx; other answers are final."""

    attempts: int = 4
    base_delay: float = 0.5  # seconds before the 2nd attempt, doubling after that
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited for: the request fails at once.
    max_retry_after: float = 60.0


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # decoded JSON, or text for text endpoints
    total: int | None  # X-Total-Count
    link: str | None  # Link


@dataclass(frozen=True, slots=True)
class Failure:
    status: int | None  # the last HTTP status; None when no answer came
    reason: str  # one line, e.g. "HTTP 503 after 4 attempts"
    tls: bool = False


class _NoCookieJar(CookieJar):
    """Keeps and sends no cookie. Harbor sets a ``sid`` cookie on every answer and its CSRF
    check rejects API requests that carry one back. (Overriding the jar rather than giving
    it a refusing policy also skips parsing Set-Cookie on every answer.)"""

    def extract_cookies(self, response: Any, request: Request) -> None:
        return None

    def add_cookie_header(self, request: Request) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class HarborClient:
    """GET access to one Harbor's v2.0 API with retries, basic auth and no cookies.

    ``http``: an ``httpx.Client`` to use (tests, or a caller with its own transport); its
    cookie jar is replaced by one that stores nothing. Without it the client is built here
    with TLS verification on (``ca_bundle`` adds a private CA) and a connection pool the
    size of ``concurrency``.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        concurrency: int = 8,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        try:
            parts = urlsplit(url.strip())
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"--harbor: {_without_userinfo(url)!r} is not an http(s) URL; give Harbor's "
                "base URL, e.g. https://harbor.example.org"
            )
        if parts.username is not None and username is None:
            # curl's convention; the URL is shown without them from here on.
            username = unquote(parts.username)
            password = unquote(parts.password) if parts.password is not None else password
        if username is not None and password is None:
            raise InputError(
                f"account {username!r} has no password: set HARBOR_PASSWORD or use "
                "--password-stdin"
            )
        if concurrency < 1:
            raise InputError(f"--concurrency: must be at least 1, got {concurrency}")
        path = parts.path.rstrip("/")
        if path.endswith(API):
            path = path[: -len(API)]
        netloc = parts.netloc.rpartition("@")[2]
        self.url = urlunsplit((parts.scheme, netloc, path, "", ""))
        self.account = username
        self.concurrency = concurrency
        self._secrets = _secret_forms(username, password)
        self._timeout = httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._headers = {"Accept": "application/json", "User-Agent": f"harborguard/{__version__}"}
        if username is not None:
            # A ready header rather than httpx's auth flow: less work on every request.
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._owns_http = http is None
        if http is None:
            verify: ssl.SSLContext | bool = True
            if ca_bundle:
                try:
                    verify = ssl.create_default_context(cafile=ca_bundle)
                except (OSError, ssl.SSLError) as exc:
                    raise InputError(
                        f"--ca-bundle {ca_bundle}: cannot load CA certificates ({exc})"
                    ) from None
            http = httpx.Client(
                verify=verify,
                timeout=self._timeout,
                limits=httpx.Limits(
                    max_connections=concurrency, max_keepalive_connections=concurrency
                ),
            )
        # A jar, not an httpx.Cookies: httpx would copy a Cookies into a default jar.
        http.cookies = _NoCookieJar()
        self._http = http

    def __enter__(self) -> HarborClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __repr__(self) -> str:
        return f"HarborClient({self.url!r}, account={self.account!r})"

    def redact(self, text: str) -> str:
        """Removes the password (and its encoded forms) from text that came from elsewhere."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        by_name: bool = False,
        text: bool = False,
        cancel: threading.Event | None = None,
    ) -> Reply | Failure:
        """GET ``path`` (under the base URL) with retries. Never raises for HTTP trouble."""
        url = self.url + path
        if params:
            # Encoded here once; httpx then only parses the finished URL.
            url += "?" + urlencode(params)
        headers = dict(self._headers)
        if by_name:
            # A numeric project name would otherwise be read as a project ID.
            headers["X-Is-Resource-Name"] = "true"
        attempts = self._retry.attempts
        status: int | None = None
        last = ""
        for attempt in range(1, attempts + 1):
            if cancel is not None and cancel.is_set():
                return Failure(None, "cancelled")
            delay: float | None = None
            try:
                response = self._http.get(url, headers=headers, timeout=self._timeout)
            except httpx.TimeoutException as exc:
                status, last = None, f"timed out ({type(exc).__name__})"
            except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
                detail = self.redact(str(exc)) or type(exc).__name__
                if _tls_verification_failed(exc):
                    return Failure(None, f"TLS certificate verification failed ({detail})", True)
                status, last = None, f"connection failed ({detail})"
            except httpx.HTTPError as exc:
                return Failure(None, f"request failed ({self.redact(str(exc))})")
            else:
                status = response.status_code
                if status != 429 and status < 500:
                    return self._reply(response, text)
                last = f"HTTP {status}"
                delay = _retry_after(response.headers.get("Retry-After"))
                if delay is not None and delay > self._retry.max_retry_after:
                    return Failure(
                        status,
                        f"HTTP {status} with Retry-After {delay:.0f} s, longer than the "
                        f"{self._retry.max_retry_after:.0f} s harborguard waits",
                    )
            if attempt < attempts:
                if delay is None:
                    delay = self._backoff(attempt)
                _log.debug("GET %s: %s; retry %d of %d in %.2f s",
                           path, last, attempt, attempts - 1, delay)
                if self._sleep is not None:
                    self._sleep(delay)
                elif cancel is not None:
                    cancel.wait(delay)  # an aborted fetch does not wait out its backoffs
                else:
                    time.sleep(delay)
        return Failure(status, f"{last} after {attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2.0 ** (attempt - 1))
        # Equal jitter: spread clients that failed together, but never retry at once.
        return ceiling / 2 + ceiling / 2 * self._jitter()

    def _reply(self, response: httpx.Response, text: bool) -> Reply | Failure:
        status = response.status_code
        if not 200 <= status < 300:
            return Failure(status, f"HTTP {status}{self._harbor_message(response)}")
        total_header = response.headers.get("X-Total-Count")
        total = int(total_header) if total_header and total_header.isdigit() else None
        link = response.headers.get("Link")
        if text:
            return Reply(status, response.text, total, link)
        try:
            body = jsonio.loads(response.content)
        except ValueError as exc:
            where = (
                f" at line {exc.lineno} column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError) else ""
            )
            return Failure(status, f"malformed JSON in the HTTP {status} answer{where}")
        return Reply(status, body, total, link)

    def _harbor_message(self, response: httpx.Response) -> str:
        """Harbor's own words from an ``Errors`` body, when there are some."""
        try:
            errors = json.loads(response.content).get("errors")
            message = str(errors[0]["message"]).replace("\n", " ").strip()
        except (ValueError, AttributeError, LookupError, TypeError):
            return ""
        return f": {self.redact(message)[:200]}" if message else ""


def _without_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        # Not even parseable: drop everything up to the last '@' of the authority.
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _secret_forms(username: str | None, password: str | None) -> tuple[str, ...]:
    if not password:
        return ()
    forms = {password, quote(password, safe="")}
    if username is not None:
        forms.add(base64.b64encode(f"{username}:{password}".encode()).decode("ascii"))
    # Longest first, so a form that contains another is replaced whole.
    return tuple(sorted(forms, key=len, reverse=True))


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _next_page(link: str | None, page: int, count: int) -> int | None:
    """The next page when X-Total-Count is missing: Link's rel="next", else a full page."""
    if link is not None:
        for target, rel in _LINK.findall(link):
            if rel != "next":
                continue
            # Harbor returns the query decoded; only the page number is taken from it.
            pages = parse_qs(urlsplit(target).query).get("page")
            if pages and pages[0].isdigit() and int(pages[0]) > page:
                return int(pages[0])
            return page + 1
        return None
    return page + 1 if count >= PAGE_SIZE else None


def repository_path(project: str, repository: str) -> str:
    """The artifacts URL path of ``project/repository`` (the full name Harbor lists).

    The repository part is URL-encoded twice (``team/app`` -> ``team%252Fapp``), as
    swagger.yaml asks: Harbor's router decodes the path once before matching routes.
    """
    short = repository[len(project) + 1:]
    return (
        f"{API}/projects/{quote(project, safe='')}/repositories/"
        f"{quote(quote(short, safe=''), safe='')}"
    )


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


@dataclass(slots=True)
class _Repository:
    position: int
    name: str
    payload: Mapping[str, Any]
    artifacts: list[Any] | None = None
    failed: bool = False
    additions: dict[str, dict[str, str]] = field(default_factory=dict)
    waiting: int = 0


@dataclass(slots=True)
class _Project:
    position: int
    name: str
    payload: Mapping[str, Any]
    retention: Any = None
    immutable_rules: list[Any] = field(default_factory=list)
    repositories: list[_Repository] = field(default_factory=list)


_Callback = Callable[[Reply | Failure], None]


class _Listing:
    """One paged collection: page 1, then every other page at once from X-Total-Count
    (page by page along the Link header when it is missing). A list that changes between
    its pages is read again from page 1, a bounded number of times."""

    def __init__(
        self,
        run: _Run,
        path: str,
        done: Callable[[list[Any] | Failure], None],
        *,
        key: str,
        params: Mapping[str, str] | None = None,
        by_name: bool = False,
    ) -> None:
        self._run = run
        self._path = path
        self._done = done
        self._key = key
        self._params = dict(params or {})
        self._by_name = by_name
        self._restarts = LISTING_RESTARTS
        self._generation = 0
        self._pages: dict[int, list[Any]] = {}
        self._totals: set[int] = set()
        self._outstanding = 0
        self._finished = False

    def start(self) -> None:
        self._generation += 1
        self._pages = {}
        self._totals = set()
        self._outstanding = 0
        self._get(1)

    def _get(self, page: int) -> None:
        self._outstanding += 1
        self._run.request(
            self._path,
            partial(self._on_page, self._generation, page),
            params={**self._params, "page": page, "page_size": PAGE_SIZE},
            by_name=self._by_name,
        )

    def _on_page(self, generation: int, page: int, reply: Reply | Failure) -> None:
        if generation != self._generation or self._finished:
            return
        self._outstanding -= 1
        if isinstance(reply, Failure):
            self._finish(reply)
            return
        items = [] if reply.body is None else reply.body
        if not isinstance(items, list):
            self._finish(Failure(reply.status, "unexpected answer: not a JSON array"))
            return
        self._pages[page] = items
        if reply.total is not None:
            self._totals.add(reply.total)
            if page == 1:
                for later in range(2, math.ceil(reply.total / PAGE_SIZE) + 1):
                    self._get(later)
        elif items:
            following = _next_page(reply.link, page, len(items))
            if following is not None:
                self._get(following)
        if self._outstanding == 0:
            self._complete()

    def _complete(self) -> None:
        items = [item for page in sorted(self._pages) for item in self._pages[page]]
        problem = None
        if len(self._totals) > 1:
            problem = f"X-Total-Count went from {min(self._totals)} to {max(self._totals)}"
        elif self._totals and len(items) != next(iter(self._totals)):
            problem = f"{len(items)} items for X-Total-Count {next(iter(self._totals))}"
        else:
            keys = [
                repr(key) for item in items
                if isinstance(item, dict) and (key := item.get(self._key)) is not None
            ]
            if len(set(keys)) != len(keys):
                problem = "an item was listed on two pages"
        if problem is None:
            self._finish(items)
        elif self._restarts:
            self._restarts -= 1
            _log.debug("GET %s changed while it was read (%s); reading it again",
                       self._path, problem)
            self.start()
        else:
            self._finish(Failure(None, f"the list kept changing while it was read ({problem})"))

    def _finish(self, result: list[Any] | Failure) -> None:
        self._finished = True
        self._done(result)


class _Run:
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
        self._pending = 0
        self._projects: list[_Project] = []
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
            version = self._system_info()
            taken_at = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if all_projects:
                # with_detail is Harbor's default; it is what carries metadata.retention_id.
                _Listing(self, f"{API}/projects", self._on_project_list, key="name",
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
        return self._document(version, taken_at)

    def _system_info(self) -> str | None:
        client = self._client
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
        client = self._client
        if isinstance(reply, Failure):
            if reply.status == 404:
                raise SourceError(
                    f"project '{name}' not found on {client.url} (404); list projects with "
                    f"GET {client.url}{API}/projects or use --all-projects"
                )
            if reply.status == 401 and client.account is not None:
                raise SourceError(describe_failure(client, reply, "project", name))
            if reply.status in (401, 403):
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
                raise SourceError(
                    f"project '{name}' on {client.url} is not visible to {who} "
                    f"(HTTP {reply.status}): {why}; list projects with GET "
                    f"{client.url}{API}/projects"
                )
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
        project = _Project(position, name, payload)
        self._projects.append(project)
        quoted = quote(name, safe="")
        metadata = payload.get("metadata")
        retention_id = metadata.get("retention_id") if isinstance(metadata, Mapping) else None
        if self._with_policies and retention_id not in (None, ""):
            if str(retention_id).isdigit():
                self.request(
                    f"{API}/retentions/{retention_id}", partial(self._on_retention, project)
                )
            else:
                self._missing((position, -1, 0), name,
                              f"retention policy: metadata.retention_id {retention_id!r} "
                              "is not a number")
        _Listing(
            self, f"{API}/projects/{quoted}/immutabletagrules",
            partial(self._on_immutable_rules, project), key="id", by_name=True,
        ).start()
        _Listing(
            self, f"{API}/projects/{quoted}/repositories",
            partial(self._on_repositories, project), key="name",
        ).start()

    def _on_retention(self, project: _Project, reply: Reply | Failure) -> None:
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

    def _on_immutable_rules(self, project: _Project, result: list[Any] | Failure) -> None:
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

    def _on_repositories(self, project: _Project, result: list[Any] | Failure) -> None:
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
            repository = _Repository(position, name, payload)
            project.repositories.append(repository)
            self._repositories_known += 1
            _Listing(
                self, repository_path(project.name, name) + "/artifacts",
                partial(self._on_artifacts, project, repository),
                key="digest", params=ARTIFACT_QUERY,
            ).start()
        self._report_progress()

    def _on_artifacts(
        self, project: _Project, repository: _Repository, result: list[Any] | Failure
    ) -> None:
        order = (project.position, repository.position)
        if isinstance(result, Failure):
            repository.failed = True
            self._missing(order, repository.name,
                          describe_failure(self._client, result, "artifacts", repository.name))
            self._repository_done()
            return
        problem = _unreadable(repository.payload, result)
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
        self, project: _Project, repository: _Repository, digest: str, reply: Reply | Failure
    ) -> None:
        if isinstance(reply, Failure) and reply.status == 404:
            pass  # the chart has no values.yaml: a definite answer, nothing is missing
        elif isinstance(reply, Failure):
            subject = f"{repository.name}@{digest}"
            index = _index_of(repository.artifacts or [], digest)
            self._missing((project.position, repository.position, index), subject,
                          "values.yaml: " + describe_failure(self._client, reply, "addition",
                                                             subject))
        else:
            # DESIGN.md: values under secret-looking keys never reach a snapshot.
            repository.additions[digest] = {"values.yaml": redact_yaml(reply.body)}
        repository.waiting -= 1
        if repository.waiting == 0:
            self._repository_done()

    def _repository_done(self) -> None:
        self._repositories_done += 1
        self._report_progress()

    # -- the document -----------------------------------------------------------------------

    def _document(self, version: str | None, taken_at: str) -> dict[str, Any]:
        projects = []
        for project in sorted(self._projects, key=lambda p: p.position):
            repositories = []
            for repository in sorted(project.repositories, key=lambda r: r.position):
                if repository.failed or repository.artifacts is None:
                    continue
                entry: dict[str, Any] = {
                    "repository": repository.payload,
                    "artifacts": repository.artifacts,
                }
                if repository.additions:
                    # In artifact order, whatever order the answers came in.
                    entry["additions"] = {
                        a["digest"]: repository.additions[a["digest"]]
                        for a in repository.artifacts
                        if a.get("digest") in repository.additions
                    }
                repositories.append(entry)
            projects.append({
                "project": project.payload,
                "retention": project.retention,
                "immutable_rules": project.immutable_rules,
                "repositories": repositories,
            })
        incomplete = [
            {"what": what, "reason": reason}
            for _, what, reason in sorted(self._incomplete, key=lambda item: item[0])
        ]
        return {
            "schema": SNAPSHOT_SCHEMA,
            "harbor": self._client.url,
            "harbor_version": version,
            "taken_at": taken_at,
            "incomplete": incomplete,
            "projects": projects,
        }


def _index_of(artifacts: Iterable[Any], digest: str) -> int:
    for index, artifact in enumerate(artifacts):
        if isinstance(artifact, dict) and artifact.get("digest") == digest:
            return index
    return -1


def _unreadable(repository: Mapping[str, Any], artifacts: list[Any]) -> str | None:
    """Why the snapshot reader would reject this repository, if it would. Checked here so
    that one odd repository becomes an incomplete entry instead of an unreadable file."""
    probe = {
        "schema": SNAPSHOT_SCHEMA,
        "taken_at": "1970-01-01T00:00:00Z",
        "projects": [{
            "project": {"name": "probe"},
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
        return _Run(client, progress, with_policies, with_additions).fetch(
            names, all_projects, clock
        )
    finally:
        if not collecting:
            gc.disable()
