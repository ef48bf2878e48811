"""Harbor v2.0 REST API source: reads what a simulation needs into a ``harborguard.snapshot/v1``
document (raw API payloads, the shape ``harborguard.snapshot`` reads).

The modules, in the order a request meets them:

- ``fetch``: the fetch plan (projects, retention policies, immutable tag rules, repositories,
  artifacts, chart additions), run on a pool of ``--concurrency`` request threads.
- ``paging``: one paged list read with bounds (pages, X-Total-Count, links, caps).
- ``client``: one GET with retries, TLS, basic auth, no cookies and the size bound;
  ``deadline`` holds the whole answer to ``--timeout`` seconds.
- ``answers``: what an answer means (failure reasons naming permissions, the errors that end
  a fetch, the checks an artifact list passes); ``document``: the snapshot assembled.
"""

from harborguard.sources.harbor.answers import describe_failure
from harborguard.sources.harbor.client import (
    API,
    MAX_RESPONSE_BYTES,
    Failure,
    HarborClient,
    Reply,
    RetryPolicy,
)
from harborguard.sources.harbor.fetch import (
    ARTIFACT_QUERY,
    MAX_VALUES_CHARS,
    fetch_snapshot,
    repository_path,
)
from harborguard.sources.harbor.paging import (
    LISTING_RESTARTS,
    MAX_LIST_ITEMS,
    MAX_LIST_PAGES,
    PAGE_SIZE,
    Listing,
)

__all__ = [
    "API",
    "ARTIFACT_QUERY",
    "LISTING_RESTARTS",
    "MAX_LIST_ITEMS",
    "MAX_LIST_PAGES",
    "MAX_RESPONSE_BYTES",
    "MAX_VALUES_CHARS",
    "PAGE_SIZE",
    "Failure",
    "HarborClient",
    "Listing",
    "Reply",
    "RetryPolicy",
    "describe_failure",
    "fetch_snapshot",
    "repository_path",
]
