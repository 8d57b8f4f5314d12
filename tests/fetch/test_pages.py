"""Link previews: what a page says about itself, read off the event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fetch.addresses import AddressPolicy
from bot.fetch.client import FetchLimits, FetchRefused, Reason, SafeFetcher, StaticResolver
from bot.fetch.pages import LinkPreview, decode_html, fetch_preview, parse_preview
from bot.fetch.pool import ParserPool
from tests.fakes.sites import FakeSite

pytestmark = pytest.mark.timeout(30)

URL = "https://blog.example/posts/1"

OPEN_GRAPH = """<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="  Learning   in public &amp; why ">
<meta property="og:description" content="A post about &quot;learning&quot;.">
<meta property="og:site_name" content="Ada's notes">
<link rel="canonical" href="/posts/1?ref=canonical">
</head><body><meta property="og:title" content="ignored: in the body"></body></html>"""


def test_open_graph_fields_are_read() -> None:
    preview = parse_preview(OPEN_GRAPH.encode(), URL, "utf-8")
    assert preview == LinkPreview(
        url=URL,
        canonical_url="https://blog.example/posts/1?ref=canonical",
        title="Learning in public & why",
        description='A post about "learning".',
        site_name="Ada's notes",
    )


def test_plain_html_falls_back_to_title_and_meta_description() -> None:
    page = b"<html><head><title>\n  Plain page </title><meta name=description content='Short.'>"
    preview = parse_preview(page, URL)
    assert preview.title == "Plain page"
    assert preview.description == "Short."
    assert preview.site_name is None
    assert preview.canonical_url == URL


def test_a_page_without_a_title_is_titled_by_its_url() -> None:
    assert parse_preview(b"<p>no head at all", URL).title == URL


def test_a_foreign_or_odd_canonical_is_ignored() -> None:
    for claimed in ("https://other.example/", "javascript:alert(1)", "ftp://blog.example/x"):
        page = f'<head><link rel="canonical" href="{claimed}"><title>t</title></head>'
        assert parse_preview(page.encode(), URL).canonical_url == URL
    page = b'<head><meta property="og:url" content="https://www.blog.example/p#top"></head>'
    assert parse_preview(page, URL).canonical_url == "https://www.blog.example/p"


def test_charset_comes_from_header_then_meta() -> None:
    body = "<head><meta charset='windows-1252'><title>Café</title>".encode("cp1252")
    assert parse_preview(body, URL).title == "Café"
    assert decode_html("é".encode("latin-1"), "latin-1") == "é"
    assert decode_html(b"\xef\xbb\xbfok", "latin-1") == "ok"
    assert decode_html(b"ok", "no-such-charset") == "ok"
    for odd in ("undefined", "punycode", "idna", "base64"):
        assert decode_html(b"<meta charset=" + odd.encode() + b">\xff", None).endswith("\ufffd")


def test_long_fields_are_shortened() -> None:
    page = f"<head><title>{'word ' * 200}</title><meta name=description content='{'x' * 5000}'>"
    preview = parse_preview(page.encode(), URL)
    assert len(preview.title) <= 300 and preview.title.endswith("…")
    assert preview.description is not None and len(preview.description) <= 1000


ODD_CHARSETS = [None, "utf-8", "latin-1", "bogus", "undefined", "punycode", "idna", "base64"]


@given(st.binary(max_size=2000), st.sampled_from(ODD_CHARSETS))
def test_any_bytes_give_a_preview(body: bytes, charset: str | None) -> None:
    preview = parse_preview(body, URL, charset)
    assert preview.title
    assert preview.url == URL
    assert urlsplit(preview.canonical_url).hostname in ("blog.example", "www.blog.example")


@given(st.text(max_size=300))
def test_any_html_text_gives_a_clean_single_line_title(text: str) -> None:
    preview = parse_preview(f"<title>{text}</title>".encode(), URL)
    assert "\n" not in preview.title and preview.title == preview.title.strip()


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    pool = ParserPool(workers=1, timeout=10)
    yield pool
    pool.close()


@pytest.fixture
async def site() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    await site.start()
    yield site
    await site.stop()


def fetcher_for(site: FakeSite) -> SafeFetcher:
    return SafeFetcher(
        FetchLimits(
            policy=AddressPolicy.allowing("127.0.0.1/32"), extra_ports=frozenset({site.port})
        ),
        resolver=StaticResolver({"blog.test": ["127.0.0.1"]}),
    )


async def test_preview_of_a_shared_link_end_to_end(site: FakeSite, pool: ParserPool) -> None:
    site.page("/post", OPEN_GRAPH + "<p>" + "body text " * 100_000 + "</p>")
    site.redirect("/short", "/post")
    async with fetcher_for(site) as fetcher:
        preview = await fetch_preview(site.url("/short", "blog.test"), fetcher=fetcher, pool=pool)
    assert preview.title == "Learning in public & why"
    assert preview.url == site.url("/post", "blog.test")
    assert preview.canonical_url == site.url("/posts/1?ref=canonical", "blog.test")


async def test_a_failed_preview_leaves_the_url_as_title(site: FakeSite, pool: ParserPool) -> None:
    site.page("/pdf", b"%PDF-1.7", content_type="application/pdf")
    url = site.url("/pdf", "blog.test")
    async with fetcher_for(site) as fetcher:
        with pytest.raises(FetchRefused) as refused:
            await fetch_preview(url, fetcher=fetcher, pool=pool)
    assert refused.value.reason is Reason.CONTENT_TYPE
    assert LinkPreview.bare(url).title == url
