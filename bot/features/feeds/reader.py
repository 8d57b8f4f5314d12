"""`SafeFeedReader`: the `FeedSource` that `FeedService` expects, built from
`SafeFetcher` (bytes), `ParserPool` (parsing) and `bot.fetch.feeds` (cleaning, discovery).

Every failure becomes a `FeedProblem` whose reason a member can read in a DM.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import Clock
from bot.core.urls import canonicalise
from bot.features.feeds.service import FeedProblem, PolledFeed
from bot.features.feeds.store import NewEntry
from bot.fetch.client import FetchError, Reason, SafeFetcher
from bot.fetch.feeds import MAX_ENTRIES, FeedError, FeedReader, ParsedFeed
from bot.fetch.pool import ParseFailed, ParserPool

_FETCH_PHRASES = {
    Reason.INVALID_URL: "the address is not a valid web address",
    Reason.SCHEME: "only http and https addresses can be followed",
    Reason.CREDENTIALS: "addresses with a user name or password are not followed",
    Reason.PORT: "the address uses a port that is not allowed",
    Reason.ADDRESS: "the address leads to a private or local network",
    Reason.UNRESOLVABLE: "the host name could not be found",
    Reason.REDIRECTS: "the address redirects too many times",
    Reason.CONTENT_TYPE: "the address does not serve a feed or a web page",
    Reason.TOO_LARGE: "the feed is too large",
    Reason.TIMEOUT: "the server took too long to answer",
    Reason.CONNECTION: "the server could not be reached",
    Reason.STATUS: "the server answered with an error",
    Reason.RATE_LIMITED: "the server asked us to come back later",
}
_FEED_PHRASES = {
    "entities": "the feed declares XML entities, which are refused for safety",
    "not-a-feed": "the address is not an RSS or Atom feed",
    "no-feed": "the page does not link to a feed",
    "empty": "the feed is empty",
}


class SafeFeedReader:
    """Discovers, fetches and parses feeds for `FeedService`; raises only `FeedProblem`."""

    def __init__(
        self,
        fetcher: SafeFetcher,
        pool: ParserPool,
        clock: Clock,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._reader = FeedReader(fetcher, pool, max_entries)
        self._clock = clock

    def _problem(self, error: Exception) -> FeedProblem:
        if isinstance(error, FetchError):
            retry_after = None
            if error.retry_after is not None:
                retry_after = max(error.retry_after - self._clock.now(), timedelta())
            return FeedProblem(f"{_FETCH_PHRASES[error.reason]} ({error.detail})", retry_after)
        if isinstance(error, FeedError):
            phrase = _FEED_PHRASES.get(error.reason, "the feed could not be read")
            return FeedProblem(f"{phrase} ({error.detail})")
        return FeedProblem(f"the feed could not be parsed ({error})")

    async def discover(self, url: str) -> str:
        """The feed URL for a feed, or for a page that links to one."""
        try:
            return (await self._reader.discover(url)).url
        except (FetchError, FeedError, ParseFailed) as error:
            raise self._problem(error) from None

    async def read(self, url: str, etag: str | None, last_modified: str | None) -> PolledFeed:
        """Fetch `url` conditionally and parse it into entries ready to store."""
        try:
            read = await self._reader.read(url, etag=etag, last_modified=last_modified)
        except (FetchError, FeedError, ParseFailed) as error:
            raise self._problem(error) from None
        if read.feed is None:
            return PolledFeed(not_modified=True, etag=read.etag, last_modified=read.last_modified)
        return PolledFeed(
            title=read.feed.title,
            site_url=read.feed.link,
            problem=read.feed.problem,
            entries=self._entries(read.feed),
            etag=read.etag,
            last_modified=read.last_modified,
        )

    def _entries(self, feed: ParsedFeed) -> tuple[NewEntry, ...]:
        now = self._clock.now()
        return tuple(
            NewEntry(
                key=entry.entry_id,
                link=entry.link,
                canonical_link=canonicalise(entry.link) if entry.link else None,
                title=entry.title or entry.link or feed.title,
                summary=entry.summary_html or None,
                content_hash=entry.content_hash,
                # Undated entries, and those dated ahead (a wrong clock, a scheduled post), count
                # as published when first seen: never in a future week's digest.
                published_at=min(entry.published or now, now),
            )
            for entry in feed.entries
        )
