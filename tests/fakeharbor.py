"""A fake Harbor v2.0 API served over real HTTP on 127.0.0.1, built from a snapshot-shaped dict.

It answers the GET endpoints harborguard reads the way Harbor does (swagger.yaml, and Harbor's
handlers where the spec is silent):
- pagination by ``page``/``page_size`` (default 10, above 100 -> 422), ``X-Total-Count`` on
  every list, ``Link`` with the query decoded and links joined by " , ";
- repository names in paths decoded twice (``team%252Fapp``), as Harbor's router decodes the
  path once before matching;
- ``X-Is-Resource-Name``: without it a numeric project name is read as a project ID;
- basic auth: wrong credentials are anonymous (Harbor falls through to the next
  authenticator); anonymous callers read public projects' repositories, artifacts and
  additions but get 401 for retention policies and immutable rules; permissions are checked
  before existence, so a missing project is 401/403 like a forbidden one;
- ``GET /users/current`` as Harbor's GetCurrentUserInfo answers it: 401 for anonymous (and so
  for rejected credentials), 412 for a robot account (its security context is not a user's),
  200 with the user otherwise;
- ``Set-Cookie: sid=...`` on every answer, and a CSRF 403 for any request that sends it back;
- the artifact flags: ``with_label`` (labels null without it), ``with_immutable_status``
  (tags[].immutable false without it), ``with_tag``.

Tests add faults (status, Retry-After, bodies, headers, per-request delay, a body trickled a
byte at a time), latency, a server that ignores ``page`` (``ignore_page``, a regex of paths:
every page is page 1, and every answer links to a next page), and read what was asked
(``seen``, ``count``, ``max_in_flight``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.fakeretention import FakeExecutions

PUBLIC_READS = frozenset(
    {"project:read", "repository:list", "artifact:list", "artifact-addition:read"}
)
MAX_PAGE_SIZE = 100


@dataclass
class Fault:
    """Applied to requests whose path (decoded once) matches the regex ``pattern`` and,
    when given, whose raw query matches ``query``."""

    pattern: str
    status: int | None = 503  # None: answer normally, then apply body/headers
    times: int | None = 1  # None: forever
    retry_after: str | None = None
    body: bytes | None = None
    headers: Mapping[str, str | None] = field(default_factory=dict)  # None removes
    delay: float = 0.0
    query: str | None = None
    hits: int = 0
    # Seconds between the bytes of the body (and of the status line and headers too with
    # trickle_head): a server that is slow but never silent for a whole read timeout.
    trickle: float = 0.0
    trickle_head: bool = False


@dataclass(frozen=True)
class Seen:
    path: str  # decoded once, as Harbor's router sees it
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case, without authorization
    user: str | None  # the authenticated account; None when anonymous
    status: int
    route: str | None  # swagger.yaml path template
    body: Any = None  # the JSON answer when record_bodies (and no fault rewrote it)
    method: str = "GET"


@dataclass
class _Repo:
    payload: dict[str, Any]
    artifacts: list[dict[str, Any]]
    additions: dict[str, dict[str, str]]


@dataclass
class _Project:
    payload: dict[str, Any]
    retention: dict[str, Any] | None
    rules: list[dict[str, Any]]
    repos: dict[str, _Repo]  # by full name, in order

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    @property
    def public(self) -> bool:
        return (self.payload.get("metadata") or {}).get("public") == "true"


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                 *, text: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.text = text


def _error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, {"errors": [{"code": code, "message": message}]})


class FakeHarbor:
    def __init__(
        self,
        snapshot: Mapping[str, Any],
        *,
        users: Mapping[str, str] | None = None,
        permissions: Mapping[str, set[str]] | None = None,
        version: str | None = None,
        latency: float = 0.0,
        total_count: bool = True,
        link: bool = True,
        record_bodies: bool = False,
        ignore_page: str | None = None,
        manifests: Mapping[str, tuple[bytes, str]] | None = None,
        token_expires_in: int = 1800,
    ) -> None:
        data = copy.deepcopy(dict(snapshot))
        self.users = dict(users or {})
        # account -> the permissions it has ("artifact:list"); absent: all of them.
        self.permissions = dict(permissions or {})
        self.version = version or data.get("harbor_version") or "v2.11.1-6b7ecba1"
        self.latency = latency
        self.total_count = total_count
        self.link = link
        self.record_bodies = record_bodies
        self.ignore_page = ignore_page
        self.faults: list[Fault] = []
        self.puts: list[dict[str, Any]] = []  # every policy a PUT stored, in order
        self.seen: list[Seen] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._projects: list[_Project] = []
        self._retentions: dict[int, tuple[_Project, dict[str, Any]]] = {}
        for entry in data.get("projects", []):
            payload = entry["project"]
            project = _Project(
                payload=payload,
                retention=entry.get("retention"),
                rules=list(entry.get("immutable_rules") or []),
                repos={
                    # "blobs" is harborguard's own (snapshot --dedup), not Harbor's answer.
                    r["repository"]["name"]: _Repo(
                        r["repository"],
                        [{k: v for k, v in a.items() if k != "blobs"} for a in r["artifacts"]],
                        dict(r.get("additions") or {}))
                    for r in entry.get("repositories", [])
                },
            )
            if project.retention is not None:
                metadata = payload.setdefault("metadata", {})
                policy_id = int(metadata.get("retention_id") or project.retention["id"])
                metadata["retention_id"] = str(policy_id)
                self._retentions[policy_id] = (project, project.retention)
            self._projects.append(project)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Retention executions (dry runs): POST, list, PATCH stop, tasks, task logs.
        self.executions = FakeExecutions(self)
        # The registry API (/v2/) Harbor serves: manifests by digest, behind its token
        # service (/service/token), recording a pull for every manifest GET.
        self.manifests = dict(manifests or {})
        self.token_expires_in = token_expires_in
        self.tokens: dict[str, tuple[str | None, str]] = {}  # token -> (account, scope)

    # -- life cycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHarbor:
        fake = self

        class Handler(_Handler):
            harbor = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        # A short poll keeps stop() (which waits for the next poll) fast.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="fakeharbor")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHarbor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers -----------------------------------------------------------------------

    def fault(self, pattern: str, status: int | None = 503, **options: Any) -> Fault:
        added = Fault(pattern, status, **options)
        with self._lock:
            self.faults.append(added)
        return added

    @property
    def count(self) -> int:
        return len(self.seen)

    def requests_to(self, pattern: str) -> list[Seen]:
        return [s for s in self.seen if re.search(pattern, s.path)]

    def project(self, name: str) -> _Project:
        return next(p for p in self._projects if p.name == name)

    # -- request handling (called on server threads) ----------------------------------------

    def handle(self, raw_target: str, headers: Mapping[str, str], method: str = "GET",
               body: bytes | None = None) -> tuple[int, dict[str, str], bytes, Seen]:
        """The answer; a fault's trickle travels in the private header X-Fake-Trickle."""
        started = time.monotonic()
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            answer = self._handle(raw_target, headers, method, body)
            # The latency is the answer's response time, the fake's own work included.
            remaining = self.latency - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
            return answer
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handle(self, raw_target: str, headers: Mapping[str, str], method: str = "GET",
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes, Seen]:
        parts = urlsplit(raw_target)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        user = self._user(headers.get("authorization"))
        route = _template(path)
        fault = self._fault(path, parts.query)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        try:
            if "sid=" in headers.get("cookie", ""):
                raise _error(403, "FORBIDDEN", "CSRF token invalid")
            if fault is not None and fault.status is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                if fault.body is not None:
                    raise _Answer(fault.status, None, extra, text=fault.body.decode())
                raise _Answer(fault.status, {"errors": [{"code": "UNKNOWN",
                                                          "message": "injected fault"}]}, extra)
            if path == "/service/token" or path.startswith("/v2/"):
                answer = self._registry(path, query, headers, user)
            elif method == "PUT":
                answer = self._put(path, headers, user, body)
            else:
                answer = self._route(path, parts.path, query, headers, user, method,
                                     body or b"")
        except _Answer as raised:
            answer = raised
        answer_headers = {"Content-Type": "application/json; charset=utf-8",
                          "X-Request-Id": secrets.token_hex(8),
                          "Set-Cookie": f"sid={secrets.token_hex(16)}; Path=/; HttpOnly"}
        answer_headers.update(answer.headers)
        recorded = answer.body if self.record_bodies else None
        if answer.text is not None:
            payload = answer.text.encode()
            recorded = None
        else:
            payload = json.dumps(answer.body).encode()
        if fault is not None and fault.status is None:
            if fault.body is not None:
                payload, recorded = fault.body, None
            for name, value in fault.headers.items():
                if value is None:
                    answer_headers.pop(name, None)
                else:
                    answer_headers[name] = value
        if fault is not None and fault.trickle:
            answer_headers["X-Fake-Trickle"] = f"{fault.trickle} {int(fault.trickle_head)}"
        seen = Seen(path, parts.path, query,
                    {k: v for k, v in headers.items() if k != "authorization"},
                    user, answer.status, route, recorded, method)
        with self._lock:
            self.seen.append(seen)
        return answer.status, answer_headers, payload, seen

    def _fault(self, path: str, query: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    (fault.times is None or fault.hits < fault.times)
                    and re.search(fault.pattern, path)
                    and (fault.query is None or re.search(fault.query, query))
                ):
                    fault.hits += 1
                    return fault
        return None

    def _user(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            name, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # Harbor treats rejected credentials as no credentials.
        return name if self.users.get(name) == password else None

    def _require(self, user: str | None, project: _Project | None, permission: str) -> None:
        if user is None:
            if project is not None and project.public and permission in PUBLIC_READS:
                return
            raise _error(401, "UNAUTHORIZED", "unauthorized")
        allowed = self.permissions.get(user)
        if project is None or (allowed is not None and permission not in allowed):
            raise _error(403, "FORBIDDEN", "forbidden")

    def _project(self, key: str, by_name: bool) -> _Project | None:
        if not by_name and key.isdigit():
            return next((p for p in self._projects if p.payload.get("project_id") == int(key)),
                        None)
        return next((p for p in self._projects if p.name == key), None)

    def _route(self, path: str, raw_path: str, query: dict[str, list[str]],
               headers: Mapping[str, str], user: str | None, method: str = "GET",
               body: bytes = b"") -> _Answer:
        if not path.startswith("/api/v2.0/"):
            raise _error(404, "NOT_FOUND", "not found")
        parts = path[len("/api/v2.0/"):].split("/")
        if parts[:1] == ["retentions"] and len(parts) > 2 and parts[1].isdigit() \
                and parts[2] == "executions":
            return self.executions.route(method, parts, body, user, query, raw_path)  # type: ignore[no-any-return]
        if method != "GET":
            raise _error(405, "METHOD_NOT_ALLOWED", f"{method} {path}")
        is_name = headers.get("x-is-resource-name", "").lower() == "true"
        match parts:
            case ["systeminfo"]:
                return _Answer(200, self._system_info(user))
            case ["users", "current"]:
                return self._current_user(user)
            case ["projects"]:
                visible = [p.payload for p in self._projects if user is not None or p.public]
                return self._page(visible, query, raw_path)
            case ["projects", key]:
                project = self._project(key, is_name)
                self._require(user, project, "project:read")
                assert project is not None
                return _Answer(200, project.payload)
            case ["projects", key, "immutabletagrules"]:
                project = self._project(key, is_name)
                self._require(user, project, "immutable-tag:list")
                assert project is not None
                return self._page(project.rules, query, raw_path)
            case ["projects", key, "repositories"]:
                project = self._project(key, True)
                self._require(user, project, "repository:list")
                assert project is not None
                repos = [r.payload for r in project.repos.values()]
                return self._page(repos, query, raw_path)
            case ["projects", key, "repositories", repo, "artifacts"]:
                project = self._project(key, True)
                self._require(user, project, "artifact:list")
                assert project is not None
                found = self._repo(project, repo)
                flag = _flags(query)
                artifacts = [
                    _artifact_view(a, flag("with_tag", True), flag("with_label", False),
                                   flag("with_immutable_status", False))
                    for a in found.artifacts
                ]
                return self._page(artifacts, query, raw_path)
            case ["projects", key, "repositories", repo, "artifacts", reference,
                  "additions", addition]:
                project = self._project(key, True)
                self._require(user, project, "artifact-addition:read")
                assert project is not None
                return self._addition(self._repo(project, repo), reference, addition)
            case ["retentions", policy_id] if policy_id.isdigit():
                owner, policy = self._retentions.get(int(policy_id), (None, None))
                self._require(user, owner, "tag-retention:read")
                return _Answer(200, policy)
        raise _error(404, "NOT_FOUND", f"no route for {path}")

    def _put(self, path: str, headers: Mapping[str, str], user: str | None,
             body: bytes | None) -> _Answer:
        """PUT /retentions/{id} as Harbor's UpdateRetention handler answers it: the body
        read into the swagger model, at most 15 rules (400), no two rules alike once their
        IDs are zeroed (409), then tag-retention:update on the scope's project (401/403),
        the project's retention_id must be this ID (404); 200 with no body. The policy is
        stored as Harbor's GET gives it back (zero values left out)."""
        match path[len("/api/v2.0/"):].split("/") if path.startswith("/api/v2.0/") else []:
            case ["retentions", policy_id] if policy_id.isdigit():
                pass
            case _:
                raise _error(405, "METHOD_NOT_ALLOWED", f"no PUT for {path}")
        try:
            policy = json.loads(body or b"")
        except ValueError:
            raise _error(400, "BAD_REQUEST", "parsing policy body failed") from None
        if not isinstance(policy, dict):
            raise _error(422, "UNPROCESSABLE_ENTITY", "policy in body must be of type object")
        rules = policy.get("rules") or []
        if len(rules) > 15:
            raise _error(400, "BAD_REQUEST", "only 15 rules are allowed at most")
        seen: dict[str, int] = {}
        for n, rule in enumerate(rules):
            key = _rule_key(rule)
            if key in seen:
                raise _error(409, "CONFLICT", f"rule {n} is conflict with rule {seen[key]}")
            seen[key] = n
        scope = policy.get("scope") or {}
        project = self._project(str(scope.get("ref", "")), False) \
            if scope.get("level") == "project" else None
        if user is None:
            raise _error(401, "UNAUTHORIZED", "unauthorized")
        self._require(user, project, "tag-retention:update")
        assert project is not None
        if str(project.payload.get("metadata", {}).get("retention_id")) != policy_id:
            raise _error(404, "NOT_FOUND",
                         f"the retention policy id {policy_id} does not match")
        stored = _as_stored({**policy, "id": int(policy_id)})
        with self._lock:
            project.retention = stored
            self._retentions[int(policy_id)] = (project, stored)
            self.puts.append(stored)
        return _Answer(200, None, text="")

    def _registry(self, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
                  user: str | None) -> _Answer:
        """Harbor's token service and manifest GETs (src/server/middleware/v2auth, and
        src/server/registry/manifest.go: a pull recorded for each GET)."""
        if path == "/service/token":
            scope = query.get("scope", [""])[-1]
            token = secrets.token_hex(16)
            self.tokens[token] = (user, scope)
            return _Answer(200, {"token": token, "access_token": token,
                                 "expires_in": self.token_expires_in,
                                 "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")})
        if path in ("/v2", "/v2/"):  # the ping: 401 naming the token service, no scope
            if headers.get("authorization", "").startswith("Bearer ") and \
                    headers["authorization"][7:] in self.tokens:
                return _Answer(200, {})
            raise _Answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                            "message": "unauthorized"}]},
                          {"WWW-Authenticate": f'Bearer realm="{self.url}/service/token",'
                                               'service="harbor-registry"'})
        match = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if match is None:
            raise _error(404, "NOT_FOUND", f"no route for {path}")
        name, digest = match.groups()
        scope = f"repository:{name}:pull"
        authorization = headers.get("authorization", "")
        held = self.tokens.get(authorization[7:]) if authorization.startswith("Bearer ") \
            else None
        project = self._project(name.split("/", 1)[0], True)
        allowed = held is not None and held[1] == scope and (
            held[0] is not None or (project is not None and project.public))
        if not allowed:
            realm = self.url + "/service/token"
            raise _Answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                            "message": "unauthorized"}]},
                          {"WWW-Authenticate": f'Bearer realm="{realm}",'
                                               f'service="harbor-registry",scope="{scope}"'})
        if project is None or name not in project.repos or digest not in self.manifests:
            raise _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        content, media_type = self.manifests[digest]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        for artifact in project.repos[name].artifacts:
            if artifact.get("digest") == digest:
                artifact["pull_time"] = now
        return _Answer(200, None, {"Content-Type": media_type,
                                   "Docker-Content-Digest": digest}, text=content.decode())

    def _repo(self, project: _Project, segment: str) -> _Repo:
        # The path was decoded once already; the repository name is decoded once more.
        name = f"{project.name}/{unquote(segment)}"
        found = project.repos.get(name)
        if found is None:
            raise _error(404, "NOT_FOUND", f"repository {name} not found")
        return found

    def _addition(self, repo: _Repo, reference: str, addition: str) -> _Answer:
        artifact = next(
            (a for a in repo.artifacts
             if a.get("digest") == reference
             or any(t.get("name") == reference for t in a.get("tags") or [])),
            None,
        )
        if artifact is None:
            raise _error(404, "NOT_FOUND", f"artifact {reference} not found")
        if addition not in ("values.yaml", "readme.md", "dependencies"):
            raise _error(422, "UNPROCESSABLE_ENTITY", f"addition {addition} is not supported")
        if artifact.get("type") != "CHART":
            raise _error(400, "BAD_REQUEST",
                         f"addition {addition.upper()} isn't supported for "
                         f"{artifact.get('type')}(manifest)")
        # Harbor answers a chart without the file with an empty body.
        text = repo.additions.get(artifact["digest"], {}).get(addition, "")
        return _Answer(200, None, {"Content-Type": "text/plain; charset=utf-8"}, text=text)

    def _current_user(self, user: str | None) -> _Answer:
        if user is None:
            raise _error(401, "UNAUTHORIZED", "unauthorized")
        if user.startswith("robot$"):
            raise _error(412, "PRECONDITION",
                         "get current user not available for security context: robot")
        user_id = sorted(self.users).index(user) + 1
        return _Answer(200, {"user_id": user_id, "username": user, "email": f"{user}@fake.invalid",
                             "realname": user, "sysadmin_flag": user == "admin"})

    def _system_info(self, user: str | None) -> dict[str, Any]:
        info: dict[str, Any] = {"auth_mode": "db_auth", "primary_auth_mode": False,
                                "self_registration": False, "banner_message": "",
                                "current_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                              time.gmtime())}
        if user is not None:
            info.update({"harbor_version": self.version, "external_url": "https://fake.invalid",
                         "registry_url": "fake.invalid", "project_creation_restriction":
                         "everyone", "has_ca_root": False, "read_only": False,
                         "notification_enable": True,
                         "registry_storage_provider_name": "filesystem"})
        return info

    def _page(self, items: list[Any], query: dict[str, list[str]], raw_path: str) -> _Answer:
        try:
            page = int(query.get("page", ["1"])[-1])
            size = int(query.get("page_size", ["10"])[-1])
        except ValueError:
            raise _error(422, "UNPROCESSABLE_ENTITY", "page and page_size must be integers") \
                from None
        if size > MAX_PAGE_SIZE:
            raise _error(422, "UNPROCESSABLE_ENTITY",
                         "validation failure list:\npage_size in query should be less than "
                         f"or equal to {MAX_PAGE_SIZE}")
        if page < 1 or size < 1:
            raise _error(422, "UNPROCESSABLE_ENTITY", "page and page_size must be positive")
        total = len(items)
        headers: dict[str, str] = {}
        if self.ignore_page is not None and re.search(self.ignore_page, unquote(raw_path)):
            # A broken proxy or server: page 1 whatever was asked, always a next page.
            if self.total_count:
                headers["X-Total-Count"] = str(total)
            headers["Link"] = f'<{_page_url(raw_path, query, page + 1, size)}>; rel="next"'
            return _Answer(200, items[:size], headers)
        if self.total_count:
            headers["X-Total-Count"] = str(total)
        if self.link:
            links = []
            if page > 1 and (page - 1) * size < total:
                links.append(f'<{_page_url(raw_path, query, page - 1, size)}>; rel="prev"')
            if size * page < total:
                links.append(f'<{_page_url(raw_path, query, page + 1, size)}>; rel="next"')
            if links:
                headers["Link"] = " , ".join(links)
        return _Answer(200, items[(page - 1) * size: page * size], headers)


def _template(path: str) -> str | None:
    """The swagger.yaml path a request is for (recorded with it)."""
    if not path.startswith("/api/v2.0/"):
        return None
    match path[len("/api/v2.0/"):].split("/"):
        case ["systeminfo"]:
            return "/systeminfo"
        case ["users", "current"]:
            return "/users/current"
        case ["projects"]:
            return "/projects"
        case ["projects", _]:
            return "/projects/{project_name_or_id}"
        case ["projects", _, "immutabletagrules"]:
            return "/projects/{project_name_or_id}/immutabletagrules"
        case ["projects", _, "repositories"]:
            return "/projects/{project_name}/repositories"
        case ["projects", _, "repositories", _, "artifacts"]:
            return "/projects/{project_name}/repositories/{repository_name}/artifacts"
        case ["projects", _, "repositories", _, "artifacts", _, "additions", _]:
            return ("/projects/{project_name}/repositories/{repository_name}/artifacts/"
                    "{reference}/additions/{addition}")
        case ["retentions", _]:
            return "/retentions/{id}"
        case ["retentions", _, "executions"]:
            return "/retentions/{id}/executions"
        case ["retentions", _, "executions", _]:
            return "/retentions/{id}/executions/{eid}"
        case ["retentions", _, "executions", _, "tasks"]:
            return "/retentions/{id}/executions/{eid}/tasks"
        case ["retentions", _, "executions", _, "tasks", _]:
            return "/retentions/{id}/executions/{eid}/tasks/{tid}"
    return None


def _rule_key(rule: Any) -> str:
    """A rule as Harbor's checkRuleConflict compares it: policy.Rule marshalled with ID 0
    (every field present, so a missing key and its zero value are the same)."""
    if not isinstance(rule, dict):
        return json.dumps(rule)
    return json.dumps({
        "priority": rule.get("priority") or 0, "disabled": bool(rule.get("disabled")),
        "action": rule.get("action") or "", "template": rule.get("template") or "",
        "params": rule.get("params") or {},
        "tag_selectors": rule.get("tag_selectors") or [],
        "scope_selectors": rule.get("scope_selectors") or {},
    }, sort_keys=True)


def _as_stored(policy: dict[str, Any]) -> dict[str, Any]:
    """What GET returns after a PUT: go-swagger leaves out zero values (false, 0, "", empty
    maps and lists) of each rule and selector, and fields the model does not have."""
    def zero(value: Any) -> bool:
        return value is None or value is False or value == 0 and not isinstance(value, bool) \
            or value in ("", {}, [])

    def selector(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        return {k: v for k, v in raw.items()
                if k in ("kind", "decoration", "pattern", "extras") and not zero(v)}

    def rule(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = {k: v for k, v in raw.items()
               if k in ("id", "priority", "disabled", "action", "template", "params",
                        "tag_selectors", "scope_selectors") and not zero(v)}
        if "tag_selectors" in out:
            out["tag_selectors"] = [selector(x) for x in out["tag_selectors"]]
        if isinstance(out.get("scope_selectors"), dict):
            out["scope_selectors"] = {k: [selector(x) for x in v] if isinstance(v, list) else v
                                      for k, v in out["scope_selectors"].items()}
        return out

    stored = {k: policy[k] for k in ("id", "algorithm", "trigger", "scope") if k in policy}
    rules = [rule(r) for r in policy.get("rules") or []]
    if rules:
        stored["rules"] = rules
    return stored


def _page_url(raw_path: str, query: dict[str, list[str]], page: int, size: int) -> str:
    # As Harbor's BaseAPI.Links: keys sorted by url.Values.Encode, then the query decoded.
    values = {k: v[-1] for k, v in query.items()}
    values.update(page=str(page), page_size=str(size))
    return f"{raw_path}?{unquote(urlencode(sorted(values.items())))}"


def _flags(query: dict[str, list[str]]) -> Callable[[str, bool], bool]:
    def flag(name: str, default: bool) -> bool:
        values = query.get(name)
        return default if not values else values[-1].lower() == "true"

    return flag


def _artifact_view(artifact: dict[str, Any], with_tag: bool, with_label: bool,
                   with_immutable: bool) -> dict[str, Any]:
    if with_tag and with_label and with_immutable:
        return artifact
    view = dict(artifact)
    if not with_tag:
        view["tags"] = None
    elif not with_immutable and view.get("tags"):
        view["tags"] = [{**tag, "immutable": False} for tag in view["tags"]]
    if not with_label:
        view["labels"] = None
    return view


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout test) is not an error of the fake.
        pass


class _Handler(BaseHTTPRequestHandler):
    harbor: FakeHarbor
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server behind nginx
    # Headers and body go out in two writes; Nagle would hold the body for the client's
    # delayed ACK (40 ms on Linux) and swamp any latency a test sets.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.do_GET("POST")

    def do_PATCH(self) -> None:
        self.do_GET("PATCH")

    def do_GET(self, method: str = "GET") -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length else b""
        status, headers, payload, _ = self.harbor.handle(
            self.path, {k.lower(): v for k, v in self.headers.items()}, method, body
        )
        trickle = headers.pop("X-Fake-Trickle", None)
        try:
            if trickle is not None:
                self._trickle(status, headers, payload, trickle)
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _trickle(self, status: int, headers: dict[str, str], payload: bytes,
                 trickle: str) -> None:
        """Writes the answer a byte at a time until it is done or the client hangs up."""
        pause_text, head_text = trickle.split()
        pause, head = float(pause_text), head_text == "1"
        self.close_connection = True
        lines = [f"HTTP/1.1 {status} OK", *(f"{k}: {v}" for k, v in headers.items()),
                 f"Content-Length: {len(payload)}", "Connection: close", "", ""]
        raw_head = "\r\n".join(lines).encode()
        if head:
            payload = raw_head + payload
        else:
            self.wfile.write(raw_head)
            self.wfile.flush()
        for index in range(len(payload)):
            self.wfile.write(payload[index:index + 1])
            self.wfile.flush()
            time.sleep(pause)

    def do_PUT(self) -> None:
        self.do_GET("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def iter_payloads(fake: FakeHarbor) -> Iterator[Seen]:
    """Every recorded JSON answer (record_bodies=True), for validation against the spec."""
    return (s for s in fake.seen if s.route is not None and s.body is not None)
