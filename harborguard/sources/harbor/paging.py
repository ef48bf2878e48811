"""Reading one paged Harbor list with bounds (README, "Reading Harbor"): the page plan is
lazy and capped, and a list whose pages, X-Total-Count, links and expected count disagree
is a ``Failure``, never a partial list taken for a whole one."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from harborguard.sources.harbor.client import Failure, Reply

# Harbor's request validation rejects page_size above 100 (swagger: maximum 100).
PAGE_SIZE = 100
# How often a listing is re-read from page 1 when it changed between its pages.
LISTING_RESTARTS = 2
# The most one paged list (the projects, a project's repositories or immutable rules, a
# repository's artifacts) may hold: pages beyond it are never asked for, and a longer list is
# incomplete. Pages are asked for at most --concurrency at a time.
MAX_LIST_ITEMS = 200_000
MAX_LIST_PAGES = MAX_LIST_ITEMS // PAGE_SIZE

_log = logging.getLogger("harborguard.sources.harbor")
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')


class Requester(Protocol):
    """What a list needs of the fetch: a request queue and how many pages to ask at once."""

    window: int

    def request(self, path: str, callback: Callable[[Reply | Failure], None], *,
                params: Mapping[str, str | int] | None = None, by_name: bool = False,
                text: bool = False) -> None: ...


def _has_next(link: str | None) -> bool:
    return link is not None and any(rel == "next" for _, rel in _LINK.findall(link))


def _next_page(link: str | None, page: int, count: int) -> int | None:
    """The next page when X-Total-Count is missing: the one after ``page`` when Link has a
    rel="next" (its page number is not trusted), else after a full page."""
    if link is not None:
        return page + 1 if _has_next(link) else None
    return page + 1 if count >= PAGE_SIZE else None


class Listing:
    """One paged collection, read with bounds (README, "Reading Harbor").

    Page 1 first. With X-Total-Count the other pages are planned from it and asked for
    lazily, at most ``window`` at a time; without it the Link header's rel="next" (or a full
    page) is followed page by page. Paging always ends: at a page that repeats items of
    earlier pages (a server that ignores ``page``), at the last page X-Total-Count gives, at
    more items than ``expected`` (a repository's ``artifact_count``), and at
    ``MAX_LIST_PAGES``. A list whose pages, X-Total-Count, links and ``expected`` disagree is
    read again from page 1, a bounded number of times, then it is a ``Failure``: never a
    partial list taken for a whole one."""

    def __init__(
        self,
        requester: Requester,
        path: str,
        done: Callable[[list[Any] | Failure], None],
        *,
        key: str,
        params: Mapping[str, str] | None = None,
        by_name: bool = False,
        expected: tuple[int, str] | None = None,
    ) -> None:
        self._requester = requester
        self._path = path
        self._done = done
        self._key = key
        self._params = dict(params or {})
        self._by_name = by_name
        self._expected = expected
        self._restarts = LISTING_RESTARTS
        self._generation = 0
        self._pages: dict[int, list[Any]] = {}
        self._keys: set[str] = set()
        self._count = 0
        self._totals: set[int] = set()
        self._last: int | None = None  # the last page X-Total-Count gives
        self._planned = 1  # the highest page asked for
        self._problem: str | None = None  # read again (or fail) when the pages are in
        self._fatal: str | None = None  # fail without reading again
        self._outstanding = 0
        self._finished = False

    def start(self) -> None:
        self._generation += 1
        self._pages = {}
        self._keys = set()
        self._count = 0
        self._totals = set()
        self._last = None
        self._planned = 1
        self._problem = None
        self._outstanding = 0
        self._get(1)

    def _get(self, page: int) -> None:
        self._outstanding += 1
        self._planned = max(self._planned, page)
        self._requester.request(
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
        self._count += len(items)
        self._check_repeats(page, items)
        if len(items) > PAGE_SIZE:
            self._problem = self._problem or (
                f"page {page} holds {len(items)} items, more than the {PAGE_SIZE} asked for")
        if reply.total is not None:
            self._totals.add(reply.total)
        if page == 1 and reply.total is not None:
            self._plan(reply.total)
        if self._last is not None:
            if page < self._last and len(items) < PAGE_SIZE:
                # Short before the end: the list shrank, or the count is wrong; no more pages.
                self._problem = self._problem or (
                    f"page {page} of the {self._last} X-Total-Count {min(self._totals)} gives "
                    f"holds {len(items)} items")
            elif page == self._last and _has_next(reply.link):
                self._problem = self._problem or (
                    f"X-Total-Count {min(self._totals)} ends at page {page}, but that page "
                    "links to a next one")
        elif not items:
            if _has_next(reply.link):
                self._problem = self._problem or f"page {page} is empty but links to a next one"
        elif self._healthy():
            following = _next_page(reply.link, page, len(items))
            if following is not None:
                # Past the count (without any paging header, one empty page confirms it).
                if self._expected is not None and (
                        self._count > self._expected[0]
                        or (self._count == self._expected[0] and reply.link is not None)):
                    self._problem = (f"more pages after the {self._count} items "
                                     f"{self._expected[1]} {self._expected[0]} gives")
                elif following > MAX_LIST_PAGES:
                    self._fatal = (f"more than {MAX_LIST_PAGES} pages of {PAGE_SIZE}, the "
                                   "most harborguard reads from one list")
                else:
                    self._get(following)
        self._fill()
        if self._outstanding == 0:
            self._complete()

    def _healthy(self) -> bool:
        return self._problem is None and self._fatal is None

    def _check_repeats(self, page: int, items: list[Any]) -> None:
        """A page holding an item an earlier page held: the server repeats pages (or the
        list moved under the reader); no further page is asked for."""
        for item in items:
            key = item.get(self._key) if isinstance(item, dict) else None
            if key is None:
                continue
            text = repr(key)
            if text in self._keys:
                self._problem = self._problem or (
                    f"page {page} repeats items of earlier pages (the server may ignore "
                    "`page`)")
                return
            self._keys.add(text)

    def _plan(self, total: int) -> None:
        pages = max(1, -(-total // PAGE_SIZE))
        if self._expected is not None and total != self._expected[0]:
            self._problem = (f"X-Total-Count {total} but {self._expected[1]} "
                             f"{self._expected[0]}")
        elif pages > MAX_LIST_PAGES:
            self._fatal = (f"X-Total-Count {total} is more than the {MAX_LIST_ITEMS} items "
                           "harborguard reads from one list")
        else:
            self._last = pages

    def _fill(self) -> None:
        """Asks for the planned pages lazily: at most ``window`` in flight."""
        if self._last is None:
            return
        window = self._requester.window
        while self._healthy() and self._planned < self._last and self._outstanding < window:
            self._get(self._planned + 1)

    def _complete(self) -> None:
        if self._fatal is not None:
            self._finish(Failure(None, self._fatal))
            return
        items = [item for page in sorted(self._pages) for item in self._pages[page]]
        problem = self._problem
        if problem is not None:
            pass
        elif len(self._totals) > 1:
            problem = f"X-Total-Count went from {min(self._totals)} to {max(self._totals)}"
        elif self._totals and len(items) != next(iter(self._totals)):
            problem = f"{len(items)} items for X-Total-Count {next(iter(self._totals))}"
        elif self._expected is not None and len(items) != self._expected[0]:
            problem = f"{len(items)} items for {self._expected[1]} {self._expected[0]}"
        if problem is None:
            self._finish(items)
        elif self._restarts:
            self._restarts -= 1
            _log.debug("GET %s did not read consistently (%s); reading it again",
                       self._path, problem)
            self.start()
        else:
            self._finish(Failure(None, "the list kept changing or is inconsistent while it "
                                       f"was read ({problem}; read {LISTING_RESTARTS + 1} "
                                       "times)"))

    def _finish(self, result: list[Any] | Failure) -> None:
        self._finished = True
        self._done(result)
