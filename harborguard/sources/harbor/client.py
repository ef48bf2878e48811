"""HTTP access to one Harbor's v2.0 API: retries, basic auth, no cookies, and bounds on
every answer (README, "Reading Harbor"): the whole answer within ``timeout`` seconds, at most
``MAX_RESPONSE_BYTES``, and header values checked before they are used."""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import Request

import httpx

from harborguard import __version__, jsonio
from harborguard.errors import InputError
from harborguard.redact import mask_url, split_userinfo, url_has_password
from harborguard.sources.harbor.deadline import (
    REQUEST_DEADLINE,
    DeadlinePassed,
    bound_by_deadline,
)

API = "/api/v2.0"

_log = logging.getLogger("harborguard.sources.harbor")
# A count, an ID or seconds in a header: ASCII digits only ("²".isdigit() is true), bounded.
COUNT = re.compile(r"[0-9]{1,18}")


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
class RawReply:
    """An answer as it came: status, headers and the body's bytes (get_raw)."""

    status: int
    headers: httpx.Headers
    content: bytes


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
    """Access to one Harbor's v2.0 API (GET; PUT for ``protect --apply``) with retries,
    basic auth and no cookies.

    ``http``: an ``httpx.Client`` to use (tests, or a caller with its own transport); its
    cookie jar is replaced by one that stores nothing, and its connections get the request
    deadline (see ``deadline.bound_by_deadline``). Without it the client is built here
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
        if url_has_password(url):
            raise InputError(
                f"--harbor: {mask_url(url)!r} holds a password (user:password@); give it in "
                "HARBOR_PASSWORD or with --password-stdin, never in a URL"
            )
        try:
            parts = urlsplit(url.strip())
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"--harbor: {mask_url(url)!r} is not an http(s) URL; give Harbor's "
                "base URL, e.g. https://harbor.example.org"
            )
        if parts.username is not None and username is None:
            # curl's convention (a user name only: a password is refused above); the URL is
            # shown without it from here on.
            username = unquote(parts.username)
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
        netloc = split_userinfo(parts.netloc)[1]
        self.url = urlunsplit((parts.scheme, netloc, path, "", ""))
        self.account = username
        self.concurrency = concurrency
        self._secrets = _secret_forms(username, password)
        self._timeout = httpx.Timeout(timeout)
        # The whole answer (connection, headers and body) within this many seconds.
        self._deadline = timeout
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
        bound_by_deadline(http)
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
        return self._call("GET", path, params, by_name=by_name, text=text, cancel=cancel)

    def put(self, path: str, body: Any) -> Reply | Failure:
        """PUT ``body`` as JSON to ``path``, with the retries of a GET (a PUT replaces the
        whole object: sending it again changes nothing). Never raises for HTTP trouble."""
        payload = jsonio.dumps(body) if not isinstance(body, bytes) else body
        return self._call("PUT", path, None, payload=payload)

    def _call(self, method: str, path: str, params: Mapping[str, str | int] | None, *,
              by_name: bool = False, text: bool = False,
              cancel: threading.Event | None = None,
              payload: bytes | None = None) -> Reply | Failure:
        url = self.url + path
        if params:
            # Encoded here once; httpx then only parses the finished URL.
            url += "?" + urlencode(params)
        headers = dict(self._headers)
        if by_name:
            # A numeric project name would otherwise be read as a project ID.
            headers["X-Is-Resource-Name"] = "true"
        answer = self._with_retries(url, path, headers, cancel, method, payload)
        if isinstance(answer, Failure):
            return answer
        response, content = answer
        if method != "GET" and 200 <= response.status_code < 300 and not content.strip():
            return Reply(response.status_code, None, None, None)  # Harbor's PUT: no body
        return self._reply(path, response, content, text)

    def get_raw(self, url: str, headers: Mapping[str, str], *,
                cancel: threading.Event | None = None) -> RawReply | Failure:
        """GET an absolute ``url`` with exactly ``headers`` (plus the User-Agent), the same
        retries, deadline and size bound as ``get``; any final status is a RawReply (the
        registry API's 401 challenge is an answer, not a failure)."""
        sent = {"User-Agent": self._headers["User-Agent"], **headers}
        answer = self._with_retries(url, urlsplit(url).path, sent, cancel)
        if isinstance(answer, Failure):
            return answer
        response, content = answer
        return RawReply(response.status_code, response.headers, content)

    @property
    def basic_authorization(self) -> str | None:
        """The Authorization header of the account (None: anonymous)."""
        return self._headers.get("Authorization")

    def _with_retries(self, url: str, path: str, headers: Mapping[str, str],
                      cancel: threading.Event | None, method: str = "GET",
                      payload: bytes | None = None) -> tuple[httpx.Response, bytes] | Failure:
        attempts = self._retry.attempts
        status: int | None = None
        last = ""
        for attempt in range(1, attempts + 1):
            if cancel is not None and cancel.is_set():
                return Failure(None, "cancelled")
            delay: float | None = None
            try:
                answer = self._attempt(url, headers, method, payload)
            except httpx.TimeoutException as exc:
                status, last = None, f"timed out ({type(exc).__name__})"
            except DeadlinePassed:
                status, last = None, (f"timed out (the whole answer did not come within "
                                      f"{self._deadline:g} s)")
            except _TooLarge:
                return Failure(None, f"the answer is larger than {MAX_RESPONSE_BYTES} bytes, "
                                     "the most harborguard reads")
            except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
                detail = self.redact(str(exc)) or type(exc).__name__
                if _tls_verification_failed(exc):
                    return Failure(None, f"TLS certificate verification failed ({detail})", True)
                status, last = None, f"connection failed ({detail})"
            except httpx.HTTPError as exc:
                return Failure(None, f"request failed ({self.redact(str(exc))})")
            else:
                response = answer[0]
                status = response.status_code
                if status != 429 and status < 500:
                    return answer
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
                _log.debug("%s %s: %s; retry %d of %d in %.2f s",
                           method, path, last, attempt, attempts - 1, delay)
                if self._sleep is not None:
                    self._sleep(delay)
                elif cancel is not None:
                    cancel.wait(delay)  # an aborted fetch does not wait out its backoffs
                else:
                    time.sleep(delay)
        return Failure(status, f"{last} after {attempts} attempts")

    def send(self, method: str, path: str, body: Any) -> tuple[int, str | None] | Failure:
        """One request that changes something (POST, PATCH) with a JSON body: never
        retried, since a retry could start a second job. Returns (status, Location)."""
        url = self.url + path
        headers = {**self._headers, "Content-Type": "application/json"}
        REQUEST_DEADLINE.at = time.monotonic() + self._deadline
        try:
            response = self._http.request(method, url, headers=headers,
                                          content=json.dumps(body).encode(),
                                          timeout=self._timeout)
        except (httpx.HTTPError, DeadlinePassed) as exc:
            detail = self.redact(str(exc)) or type(exc).__name__
            return Failure(None, f"{method} {path} failed ({detail}); not retried")
        finally:
            REQUEST_DEADLINE.at = None
        if not 200 <= response.status_code < 300:
            return Failure(response.status_code, f"HTTP {response.status_code}"
                                                 f"{self._harbor_message(response.content)}")
        return response.status_code, response.headers.get("Location")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2.0 ** (attempt - 1))
        # Equal jitter: spread clients that failed together, but never retry at once.
        return ceiling / 2 + ceiling / 2 * self._jitter()

    def _attempt(self, url: str, headers: Mapping[str, str], method: str = "GET",
                 content: bytes | None = None) -> tuple[httpx.Response, bytes]:
        """One request and its whole body, within the deadline and the size bound."""
        deadline = time.monotonic() + self._deadline
        REQUEST_DEADLINE.at = deadline
        if content is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            with self._http.stream(method, url, headers=headers, content=content,
                                   timeout=self._timeout) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise _TooLarge
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise DeadlinePassed
                return response, b"".join(chunks)
        finally:
            REQUEST_DEADLINE.at = None

    def _reply(self, path: str, response: httpx.Response, content: bytes,
               text: bool) -> Reply | Failure:
        status = response.status_code
        if not 200 <= status < 300:
            return Failure(status, f"HTTP {status}{self._harbor_message(content)}")
        total_header = response.headers.get("X-Total-Count")
        total = None
        if total_header is not None:
            if not COUNT.fullmatch(total_header.strip()):
                return Failure(status, f"GET {path}: malformed X-Total-Count header "
                                       f"{total_header[:40]!r} (not a count)")
            total = int(total_header)
        link = response.headers.get("Link")
        if text:
            encoding = response.charset_encoding or "utf-8"
            try:
                return Reply(status, content.decode(encoding, errors="replace"), total, link)
            except LookupError:
                return Failure(status, f"GET {path}: unknown charset {encoding[:40]!r}")
        try:
            body = jsonio.loads(content)
        except (ValueError, RecursionError) as exc:
            where = (
                f" at line {exc.lineno} column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError) else ""
            )
            return Failure(status, f"malformed JSON in the HTTP {status} answer{where}")
        return Reply(status, body, total, link)

    def _harbor_message(self, content: bytes) -> str:
        """Harbor's own words from an ``Errors`` body, when there are some."""
        try:
            errors = json.loads(content).get("errors")
            message = str(errors[0]["message"]).replace("\n", " ").strip()
        except (ValueError, AttributeError, LookupError, TypeError, RecursionError):
            return ""
        return f": {self.redact(message)[:200]}" if message else ""


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
    if COUNT.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        # Malformed: only a hint, so the usual backoff applies.
        _log.debug("ignoring a malformed Retry-After header %r", value[:40])
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# The most one answer may hold (after content decoding): a page of 100 artifacts is well
# under 1 MiB; a larger answer fails at once, without retries.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class _TooLarge(Exception):
    """The answer is larger than MAX_RESPONSE_BYTES."""
