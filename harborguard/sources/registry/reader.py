"""Reads the manifests of many artifacts through the registry API (``/v2/``): each
distinct digest once (the cache first, then one GET), an index's children in turn, on a
pool of ``--concurrency`` request threads; with the Harbor client's retries, deadline and
size bound. What cannot be read is a reason per digest, never a guess (fail closed).

Before its first manifest request the reader asks ``GET /v2/`` once, as docker does: a
registry behind a token service answers 401 with its Bearer realm and service, so each
repository's token is fetched before that repository's first manifest GET. A cold run thus
sends exactly one manifest request per distinct digest (no 401 round trips, which would
also race on the first repository with many requests in flight)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

from harborguard.model import Blob
from harborguard.sources.harbor.client import Failure, HarborClient
from harborguard.sources.registry.auth import Challenge, Tokens, parse_challenge
from harborguard.sources.registry.cache import ManifestCache
from harborguard.sources.registry.manifests import (
    ACCEPT,
    DIGEST,
    NotUnderstood,
    Parsed,
    parse_manifest,
    verified,
)

# An index of indexes of ... is read this many levels deep at most.
MAX_DEPTH = 4


@dataclass
class Manifests:
    """What a read found: each asked digest's blobs (itself, its config and layers, its
    children's, each blob once) or why they are unknown."""

    blobs: dict[str, tuple[Blob, ...]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    requests: int = 0  # manifest GETs sent
    fetched: int = 0  # manifests the registry gave (each a pull Harbor records)
    cached: int = 0  # manifests the cache gave


class ManifestReader:
    """``transport``: the client of the /v2/ endpoint (Harbor's, or ``--registry``'s);
    ``tokens``: the token flow; ``cache``: None reads everything from the registry."""

    def __init__(self, transport: HarborClient, tokens: Tokens,
                 cache: ManifestCache | None) -> None:
        self._transport = transport
        self._tokens = tokens
        self._cache = cache
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()
        self._pinged = False
        self._bearer: Challenge | None = None
        self._held: dict[str, tuple[bytes, str]] = {}

    def _count(self, found: Manifests, what: str) -> None:
        with self._lock:
            setattr(found, what, getattr(found, what) + 1)

    def uncached(self, digests: Iterable[str]) -> int:
        """How many of ``digests`` the cache does not hold (each would be a request)."""
        if self._cache is None:
            return len(set(digests))
        missing = 0
        for digest in set(digests):
            held = self._cache.get(digest)
            if held is None:
                missing += 1
            else:  # kept for read(): each entry is read and verified once a run
                self._held[digest] = held
        return missing

    def _from_cache(self, digest: str) -> tuple[bytes, str] | None:
        held = self._held.pop(digest, None)
        if held is None and self._cache is not None and DIGEST.fullmatch(digest):
            held = self._cache.get(digest)
        return held

    def read(self, wanted: Iterable[tuple[str, str]],
             progress: Callable[[int, int], None] | None = None) -> Manifests:
        """The blobs of every (repository, digest) in ``wanted``; a digest is read once,
        through the first repository that names it."""
        found = Manifests()
        parsed: dict[str, Parsed] = {}
        failed: dict[str, str] = {}
        level: dict[str, str] = {}
        for repository, digest in wanted:
            level.setdefault(digest, repository)
        asked = list(level)
        known = len(level)
        done = 0
        pool = ThreadPoolExecutor(max_workers=self._transport.concurrency,
                                  thread_name_prefix="harborguard-manifests")
        try:
            for depth in range(MAX_DEPTH + 1):
                if not level:
                    break
                # Cached manifests are parsed here; only the others go to the pool.
                pending: dict[str, Parsed | str | Future[Parsed | str]] = {}
                for d, r in level.items():
                    held = self._from_cache(d)
                    pending[d] = (self._one(r, d, found, held) if held is not None
                                  else pool.submit(self._one, r, d, found, None))
                following: dict[str, str] = {}
                for digest, waiting in pending.items():
                    outcome = waiting.result() if isinstance(waiting, Future) else waiting
                    done += 1
                    if progress is not None:
                        progress(done, known)
                    if isinstance(outcome, str):
                        failed[digest] = outcome
                        continue
                    parsed[digest] = outcome
                    for child in outcome.children:
                        if child in parsed or child in failed or child in following:
                            continue
                        if depth == MAX_DEPTH:
                            failed[child] = f"indexes nested more than {MAX_DEPTH} deep"
                            continue
                        following[child] = level[digest]
                known += len(following)
                level = following
        except BaseException:
            self._cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        memo: dict[str, tuple[Blob, ...] | str] = {}
        for digest in asked:
            result = _compose(digest, parsed, failed, memo, 0)
            if isinstance(result, str):
                found.failures[digest] = result
            else:
                found.blobs[digest] = result
        return found

    def _one(self, repository: str, digest: str, found: Manifests,
             held: tuple[bytes, str] | None) -> Parsed | str:
        """One manifest, parsed: ``held`` (from the cache), else from the registry (then
        cached)."""
        if not DIGEST.fullmatch(digest):
            return "not a sha256 or sha512 digest"
        if held is not None:
            content, media_type = held
            self._count(found, "cached")
        else:
            got = self._get(repository, digest, found)
            if isinstance(got, str):
                return got
            content, media_type = got
        try:
            parsed = parse_manifest(digest, content, media_type)
        except NotUnderstood as exc:
            return f"manifest not understood: {exc}"
        if held is None and self._cache is not None:
            self._cache.put(digest, content, parsed.own.media_type)
        return parsed

    def _get(self, repository: str, digest: str, found: Manifests) -> tuple[bytes, str] | str:
        url = f"{self._transport.url}/v2/{quote(repository, safe='/')}/manifests/{digest}"
        scope = f"repository:{repository}:pull"
        headers = {"Accept": ACCEPT}
        token = self._tokens.cached(scope)
        if token is None and (challenge := self._challenge()) is not None:
            got = self._tokens.token(challenge, scope, self._cancel)
            if isinstance(got, Failure):
                return f"manifest: {got.reason}"
            token = got
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        reply = self._transport.get_raw(url, headers, cancel=self._cancel)
        self._count(found, "requests")
        if not isinstance(reply, Failure) and reply.status == 401:
            authorization = self._authorization(reply.headers, scope, url)
            if isinstance(authorization, Failure):
                return f"manifest: {authorization.reason}"
            headers["Authorization"] = authorization
            reply = self._transport.get_raw(url, headers, cancel=self._cancel)
            self._count(found, "requests")
        if isinstance(reply, Failure):
            return f"manifest: {reply.reason}"
        if reply.status != 200:
            return f"manifest: HTTP {reply.status}{_errors(reply.content)}"
        self._count(found, "fetched")
        if not verified(digest, reply.content):
            return ("manifest: the registry answered bytes whose digest is not the one asked "
                    "for")
        return reply.content, reply.headers.get("Content-Type", "")

    def _challenge(self) -> Challenge | None:
        """The registry's Bearer challenge, asked of ``GET /v2/`` once (None: the registry
        answered without one, or the ping failed; a 401 on a manifest then says more)."""
        with self._ping_lock:
            if not self._pinged:
                self._pinged = True
                reply = self._transport.get_raw(f"{self._transport.url}/v2/",
                                                {"Accept": "application/json"},
                                                cancel=self._cancel)
                if not isinstance(reply, Failure) and reply.status == 401:
                    challenge = parse_challenge(reply.headers.get("WWW-Authenticate"))
                    if challenge is not None and challenge.scheme == "bearer":
                        params = {k: v for k, v in challenge.params.items() if k != "scope"}
                        self._bearer = Challenge("bearer", params)
            return self._bearer

    def _authorization(self, headers: Mapping[str, str], scope: str,
                       url: str) -> str | Failure:
        challenge = parse_challenge(headers.get("WWW-Authenticate"))
        if challenge is not None and challenge.scheme == "bearer":
            token = self._tokens.token(challenge, scope, self._cancel)
            return token if isinstance(token, Failure) else f"Bearer {token}"
        if challenge is not None and challenge.scheme == "basic":
            basic = self._tokens.credentials_for(url)
            if basic is not None:
                return basic
            return Failure(401, "HTTP 401: the registry asks for a password, which harborguard "
                                "sends only to --harbor's own address")
        return Failure(401, "HTTP 401 without a Bearer or Basic challenge")


def _compose(digest: str, parsed: Mapping[str, Parsed], failed: Mapping[str, str],
             memo: dict[str, tuple[Blob, ...] | str], depth: int) -> tuple[Blob, ...] | str:
    """Everything ``digest`` references, each blob once, in manifest order; or why not."""
    known = memo.get(digest)
    if known is not None:
        return known
    if digest in failed:
        return failed[digest]
    if digest not in parsed or depth > MAX_DEPTH:
        return f"indexes nested more than {MAX_DEPTH} deep"
    manifest = parsed[digest]
    blobs: dict[str, Blob] = {manifest.own.digest: manifest.own}
    for blob in manifest.blobs:
        blobs.setdefault(blob.digest, blob)
    result: tuple[Blob, ...] | str
    for child in manifest.children:
        inner = _compose(child, parsed, failed, memo, depth + 1)
        if isinstance(inner, str):
            result = f"child manifest {child}: {inner}"
            break
        for blob in inner:
            blobs.setdefault(blob.digest, blob)
    else:
        result = tuple(blobs.values())
    memo[digest] = result
    return result


def _errors(content: bytes) -> str:
    """The registry's own error code, when its body has one (distribution's errors)."""
    from harborguard import jsonio

    try:
        code = jsonio.loads(content)["errors"][0]["code"]
    except (ValueError, RecursionError, LookupError, TypeError):
        return ""
    return f" ({str(code)[:60]})" if isinstance(code, str) else ""
