"""The registry API's token flow (distribution's token authentication specification, as
Harbor serves it): a 401 names a ``Bearer`` realm, service and scope; a token is asked of
the realm, with the account's credentials only when the realm has the same origin as
``--harbor``, kept in memory only and reused for its scope until it expires."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from harborguard import jsonio
from harborguard.sources.harbor.client import Failure, HarborClient

_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
# A token is used until this many seconds before it expires (the request takes time).
MARGIN = 5.0
# The token specification's default lifetime when the answer gives none.
DEFAULT_EXPIRES_IN = 60


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "bearer" or "basic", lower case
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` header."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None when not http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


class Tokens:
    """Bearer tokens by scope, in memory only. ``harbor``: the Harbor client whose account
    may be sent to a realm of its own origin; requests go through ``transport`` (the
    client of the /v2/ endpoint: Harbor's, or --registry's)."""

    def __init__(self, transport: HarborClient, harbor: HarborClient | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._transport = transport
        self._harbor = harbor
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.requested = 0  # token requests made (tests and the benchmark count them)

    def cached(self, scope: str) -> str | None:
        with self._lock:
            held = self._tokens.get(scope)
        if held is not None and self._clock() < held[1]:
            return held[0]
        return None

    def credentials_for(self, url: str) -> str | None:
        """The account's Basic header when ``url`` has --harbor's origin, else None."""
        if self._harbor is None or self._harbor.basic_authorization is None:
            return None
        same = origin(url) is not None and origin(url) == origin(self._harbor.url)
        return self._harbor.basic_authorization if same else None

    def token(self, challenge: Challenge, scope: str,
              cancel: threading.Event | None = None) -> str | Failure:
        """A token for ``scope`` (one request per scope while it lasts)."""
        with self._lock:
            lock = self._locks.setdefault(scope, threading.Lock())
        with lock:
            held = self.cached(scope)
            if held is not None:
                return held
            return self._fetch(challenge, scope, cancel)

    def _fetch(self, challenge: Challenge, scope: str,
               cancel: threading.Event | None) -> str | Failure:
        realm = challenge.params.get("realm")
        if not realm or origin(realm) is None:
            return Failure(401, "the registry asks for a token without an http(s) realm")
        query = {"scope": challenge.params.get("scope") or scope}
        if challenge.params.get("service"):
            query["service"] = challenge.params["service"]
        headers = {"Accept": "application/json"}
        basic = self.credentials_for(realm)
        if basic is not None:
            headers["Authorization"] = basic
        started = self._clock()
        self.requested += 1
        separator = "&" if urlsplit(realm).query else "?"
        reply = self._transport.get_raw(realm + separator + urlencode(sorted(query.items())),
                                        headers, cancel=cancel)
        if isinstance(reply, Failure):
            return Failure(reply.status, f"token realm: {reply.reason}")
        if reply.status != 200:
            return Failure(reply.status, f"token realm: HTTP {reply.status}")
        try:
            body = jsonio.loads(reply.content)
        except (ValueError, RecursionError):
            return Failure(reply.status, "token realm: the answer is not JSON")
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return Failure(reply.status, "token realm: the answer holds no token")
        expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
        if type(expires_in) is not int or expires_in <= 0:
            expires_in = DEFAULT_EXPIRES_IN
        with self._lock:
            self._tokens[scope] = (token, started + expires_in - MARGIN)
        return token
