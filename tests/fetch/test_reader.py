"""SafeFeedReader: what FeedService gets when it follows a member's blog through bot.fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.config import FetchSettings as FetchConfig
from bot.features.feeds.reader import SafeFeedReader
from bot.features.feeds.service import FeedProblem
from bot.fetch.addresses import AddressPolicy
from bot.fetch.client import FetchLimits, SafeFetcher, StaticResolver, fetch_settings
from bot.fetch.pool import ParserPool
from tests.fakes.sites import FakeSite

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Ada's notes</title>
<link>https://ada.example/</link>
<item><title>Dated</title><link>https://ada.example/p/1?utm_source=rss</link><guid>p1</guid>
<pubDate>Sun, 22 Nov 2026 18:00:00 GMT</pubDate>
<description>&lt;p&gt;Hi&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;</description></item>
<item><title></title><link>https://ada.example/p/2</link></item>
</channel></rss>"""


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    pool = ParserPool(workers=1, timeout=10)
    yield pool
    pool.close()


@pytest.fixture
async def blog() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    await site.start()
    yield site
    await site.stop()


@pytest.fixture
async def reader(blog: FakeSite, pool: ParserPool) -> AsyncIterator[SafeFeedReader]:
    settings = FetchLimits(
        policy=AddressPolicy.allowing("127.0.0.1/32"), extra_ports=frozenset({blog.port})
    )
    resolver = StaticResolver({"ada.test": ["127.0.0.1"], "intranet.test": ["10.0.0.7"]})
    clock = ManualClock(NOW)
    async with SafeFetcher(settings, resolver=resolver, clock=clock) as fetcher:
        yield SafeFeedReader(fetcher, pool, clock)


async def test_entries_arrive_ready_to_store(blog: FakeSite, reader: SafeFeedReader) -> None:
    blog.page("/", '<head><link rel="alternate" type="application/rss+xml" href="/rss"></head>')
    blog.page("/rss", RSS, content_type="application/rss+xml")
    feed_url = await reader.discover(blog.url("/", "ada.test"))
    assert feed_url == blog.url("/rss", "ada.test")
    read = await reader.read(feed_url, None, None)
    assert read.title == "Ada's notes" and read.site_url == "https://ada.example/"
    dated, undated = read.entries
    assert dated.key == "p1"
    assert dated.canonical_link == "https://ada.example/p/1"
    assert dated.published_at == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    assert dated.summary == "<p>Hi</p>"
    assert undated.published_at == NOW  # undated posts count from when they are first seen
    assert undated.title == "https://ada.example/p/2"


async def test_unchanged_feed_is_reported_not_modified(
    blog: FakeSite, reader: SafeFeedReader
) -> None:
    async def feed(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Modified-Since") == "Sun, 22 Nov 2026 18:00:00 GMT":
            return web.Response(status=304)
        return web.Response(text=RSS, content_type="application/rss+xml")

    blog.route("/rss", feed)
    read = await reader.read(blog.url("/rss", "ada.test"), None, "Sun, 22 Nov 2026 18:00:00 GMT")
    assert read.not_modified and read.entries == ()
    assert read.last_modified == "Sun, 22 Nov 2026 18:00:00 GMT"


async def test_problems_are_explained_to_the_member(blog: FakeSite, reader: SafeFeedReader) -> None:
    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "3600"})

    blog.route("/busy", busy)
    blog.page("/page", "<html><head><title>Just a page</title></head></html>")
    with pytest.raises(FeedProblem) as slow_down:
        await reader.read(blog.url("/busy", "ada.test"), None, None)
    assert slow_down.value.retry_after == timedelta(hours=1)
    assert slow_down.value.reason.startswith("the server asked us to come back later")
    with pytest.raises(FeedProblem) as private:
        await reader.discover("http://intranet.test/feed")
    assert private.value.reason.startswith("the address leads to a private or local network")
    with pytest.raises(FeedProblem) as no_feed:
        await reader.discover(blog.url("/page", "ada.test"))
    assert no_feed.value.reason.startswith("the page does not link to a feed")


def test_settings_come_from_the_fetch_section() -> None:
    settings = fetch_settings(
        FetchConfig(allow_networks=("10.0.0.0/8",), timeout_seconds=7, max_bytes=123_456)
    )
    assert settings.policy.allows(AddressPolicy.allowing("10.0.0.0/8").allowed_networks[0][1])
    assert settings.total_timeout == 7 and settings.max_body == 123_456
