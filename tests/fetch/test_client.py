"""SafeFetcher against real aiohttp servers on loopback, with fake host names resolved by a
table: what it fetches, and every way it refuses or gives up."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.core.clock import ManualClock
from bot.fetch.addresses import AddressPolicy
from bot.fetch.client import (
    FetchFailed,
    FetchLimits,
    FetchRefused,
    Reason,
    SafeFetcher,
    StaticResolver,
    parse_retry_after,
)
from tests.fakes.sites import FakeSite
from tests.fakes.tls import make_pki

pytestmark = pytest.mark.timeout(20)

HTML = frozenset({"text/html"})
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def site() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    await site.start()
    yield site
    await site.stop()


@pytest.fixture
async def site6() -> AsyncIterator[FakeSite]:
    """A site on ::1, so tests can open ::1 alone and see 127.0.0.1 refused."""
    site = FakeSite(host="::1")
    await site.start()
    yield site
    await site.stop()


RESOLVER = StaticResolver(
    {
        "blog.test": ["127.0.0.1"],
        "blog6.test": ["::1"],
        "metadata.test": ["169.254.169.254"],
        "split.test": ["93.184.216.34", "127.0.0.1"],
    }
)

MakeFetcher = Callable[..., SafeFetcher]


@pytest.fixture
async def make_fetcher() -> AsyncIterator[MakeFetcher]:
    made: list[SafeFetcher] = []

    def make(*opened: str, port: int, **overrides: object) -> SafeFetcher:
        settings = FetchLimits(
            policy=AddressPolicy.allowing(*opened),
            extra_ports=frozenset({port}),
            **overrides,  # type: ignore[arg-type]
        )
        fetcher = SafeFetcher(settings, resolver=RESOLVER, clock=ManualClock(NOW))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.close()


async def test_fetches_an_allowed_page_by_name(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    site.page("/hello", "<title>Hi</title>")
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        result = await fetcher.fetch(site.url("/hello", "blog.test"), accept=HTML)
    assert result.status == 200
    assert result.body == b"<title>Hi</title>"
    assert result.content_type == "text/html"
    assert result.url == site.url("/hello", "blog.test")


async def test_loopback_is_refused_unless_opened(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    site.page("/hello", "hi")
    async with make_fetcher(port=site.port) as fetcher:
        for url in (
            site.url("/hello"),
            site.url("/hello", "blog.test"),
            site.url("/hello", "0x7f.1"),
            site.url("/hello", "2130706433"),
            site.url("/hello", "127.1"),
            site.url("/hello", "[::ffff:127.0.0.1]"),
            site.url("/hello", "split.test"),
        ):
            with pytest.raises(FetchRefused) as refused:
                await fetcher.fetch(url, accept=HTML)
            assert refused.value.reason is Reason.ADDRESS, url
    assert site.hits == []


async def test_redirect_to_loopback_or_metadata_is_refused(
    site6: FakeSite, make_fetcher: MakeFetcher
) -> None:
    site6.redirect("/to-v4-loopback", f"http://127.0.0.1:{site6.port}/secret")
    site6.redirect("/to-hex-loopback", f"http://0x7f.1:{site6.port}/secret")
    site6.redirect("/to-mapped", f"http://[::ffff:7f00:1]:{site6.port}/secret")
    site6.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    site6.redirect("/to-metadata-name", "http://metadata.test/latest/meta-data/")
    async with make_fetcher("::1/128", port=site6.port) as fetcher:
        for path in (
            "/to-v4-loopback",
            "/to-hex-loopback",
            "/to-mapped",
            "/to-metadata",
            "/to-metadata-name",
        ):
            with pytest.raises(FetchRefused) as refused:
                await fetcher.fetch(site6.url(path, "blog6.test"), accept=HTML)
            assert refused.value.reason is Reason.ADDRESS, path
    assert "/secret" not in site6.hits


async def test_follows_checked_redirects_up_to_three(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    site.page("/end", "<p>end</p>")
    for hop in range(1, 5):
        site.redirect(f"/hop{hop}", "/end" if hop == 1 else f"/hop{hop - 1}")
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        result = await fetcher.fetch(site.url("/hop3", "blog.test"), accept=HTML)
        assert result.body == b"<p>end</p>"
        assert len(result.redirects) == 3
        assert result.url == site.url("/end", "blog.test")
        with pytest.raises(FetchRefused) as refused:
            await fetcher.fetch(site.url("/hop4", "blog.test"), accept=HTML)
    assert refused.value.reason is Reason.REDIRECTS
    assert "/end" not in site.hits[-4:]


async def test_redirect_to_another_scheme_or_port_is_refused(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    site.redirect("/file", "file:///etc/passwd")
    site.redirect("/port", "http://blog.test:6379/")
    site.redirect("/creds", f"http://user:pw@blog.test:{site.port}/")
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        for path, reason in (
            ("/file", Reason.SCHEME),
            ("/port", Reason.PORT),
            ("/creds", Reason.CREDENTIALS),
        ):
            with pytest.raises(FetchRefused) as refused:
                await fetcher.fetch(site.url(path, "blog.test"), accept=HTML)
            assert refused.value.reason is reason


async def test_url_rules_apply_before_any_connection(make_fetcher: MakeFetcher) -> None:
    async with make_fetcher("127.0.0.1/32", port=8080) as fetcher:
        for url, reason in (
            ("ftp://blog.test/", Reason.SCHEME),
            ("javascript:alert(1)", Reason.SCHEME),
            ("http://user:pass@blog.test/", Reason.CREDENTIALS),
            ("http://blog.test:22/", Reason.PORT),
            ("http://exa mple.test/", Reason.INVALID_URL),
            ("http:///nohost", Reason.INVALID_URL),
        ):
            with pytest.raises(FetchRefused) as refused:
                await fetcher.fetch(url, accept=HTML)
            assert refused.value.reason is reason, url
        with pytest.raises(FetchFailed) as failed:
            await fetcher.fetch("http://unknown.test/", accept=HTML)
        assert failed.value.reason is Reason.UNRESOLVABLE


async def test_never_ending_body_is_cut_off(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 16 * 1024
        while not site.release.is_set():
            await response.write(chunk)
        return response

    site.route("/endless", endless)
    async with make_fetcher("127.0.0.1/32", port=site.port, max_body=256 * 1024) as fetcher:
        with pytest.raises(FetchRefused) as refused:
            await fetcher.fetch(site.url("/endless", "blog.test"), accept=HTML)
        assert refused.value.reason is Reason.TOO_LARGE
        cut = await fetcher.fetch(site.url("/endless", "blog.test"), accept=HTML, truncate=True)
    assert cut.truncated
    assert len(cut.body) == 256 * 1024


async def test_declared_oversize_is_refused_before_reading(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    site.page("/big", b"x" * 5000)
    async with make_fetcher("127.0.0.1/32", port=site.port, max_body=1000) as fetcher:
        with pytest.raises(FetchRefused) as refused:
            await fetcher.fetch(site.url("/big", "blog.test"), accept=HTML)
    assert "declared" in refused.value.detail


async def test_slow_server_times_out(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    async def silent(request: web.Request) -> web.StreamResponse:
        await site.release.wait()
        return web.Response(text="too late")

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        while not site.release.is_set():
            await response.write(b"x")
            await asyncio.sleep(0.02)  # the server's own pace, not the test waiting
        return response

    site.route("/silent", silent)
    site.route("/trickle", trickle)
    async with make_fetcher(
        "127.0.0.1/32", port=site.port, read_timeout=0.2, total_timeout=0.5
    ) as fetcher:
        loop = asyncio.get_running_loop()
        for path in ("/silent", "/trickle"):
            started = loop.time()
            with pytest.raises(FetchFailed) as failed:
                await fetcher.fetch(site.url(path, "blog.test"), accept=HTML)
            assert failed.value.reason is Reason.TIMEOUT, path
            assert loop.time() - started < 2


async def test_other_content_types_are_refused(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    site.page("/image", b"\x89PNG....", content_type="image/png")
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        with pytest.raises(FetchRefused) as refused:
            await fetcher.fetch(site.url("/image", "blog.test"), accept=HTML)
    assert refused.value.reason is Reason.CONTENT_TYPE


async def test_conditional_get_gives_not_modified(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    async def feed(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        if request.headers.get("If-Modified-Since") == "Mon, 23 Nov 2026 08:00:00 GMT":
            return web.Response(status=304)
        return web.Response(
            text="<rss/>",
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 08:00:00 GMT"},
        )

    site.route("/feed", feed)
    rss = frozenset({"application/rss+xml"})
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        first = await fetcher.fetch(site.url("/feed", "blog.test"), accept=rss)
        by_etag = await fetcher.fetch(site.url("/feed", "blog.test"), accept=rss, etag=first.etag)
        by_date = await fetcher.fetch(
            site.url("/feed", "blog.test"), accept=rss, last_modified=first.last_modified
        )
    assert not first.not_modified and first.body == b"<rss/>"
    assert by_etag.not_modified and by_etag.body == b""
    assert by_date.not_modified


async def test_rate_limit_carries_retry_after(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "120"})

    site.route("/busy", busy)
    site.page("/gone", "nope")
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        with pytest.raises(FetchFailed) as failed:
            await fetcher.fetch(site.url("/busy", "blog.test"), accept=HTML)
        assert failed.value.reason is Reason.RATE_LIMITED
        assert failed.value.retry_after == NOW + timedelta(minutes=2)
        with pytest.raises(FetchFailed) as missing:
            await fetcher.fetch(site.url("/missing", "blog.test"), accept=HTML)
    assert missing.value.reason is Reason.STATUS and "404" in missing.value.detail


def test_retry_after_forms() -> None:
    cap = timedelta(days=1)
    assert parse_retry_after("30", NOW, cap) == NOW + timedelta(seconds=30)
    assert parse_retry_after("Mon, 23 Nov 2026 10:00:00 GMT", NOW, cap) == NOW + timedelta(hours=1)
    assert parse_retry_after("Mon, 23 Nov 2020 10:00:00 GMT", NOW, cap) == NOW
    assert parse_retry_after("99999999", NOW, cap) == NOW + cap
    assert parse_retry_after("soon", NOW, cap) is None
    assert parse_retry_after(None, NOW, cap) is None


async def test_per_host_limit_holds(site: FakeSite, make_fetcher: MakeFetcher) -> None:
    active = 0
    most = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.02)  # hold the slot long enough for requests to overlap
        active -= 1
        return web.Response(text="ok", content_type="text/html")

    site.route("/count", counted)
    async with make_fetcher("127.0.0.1/32", port=site.port, per_host=2) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(site.url(f"/count?{i}", "blog.test"), accept=HTML) for i in range(8))
        )
    assert [r.body for r in results] == [b"ok"] * 8
    assert most == 2


async def test_server_closing_mid_answer_is_a_failure(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/html", "Content-Length": "1000"}
        )
        await response.prepare(request)
        await response.write(b"partial")
        assert request.transport is not None
        request.transport.close()
        return response

    site.route("/broken", broken)
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        with pytest.raises(FetchFailed) as failed:
            await fetcher.fetch(site.url("/broken", "blog.test"), accept=HTML)
    assert failed.value.reason is Reason.CONNECTION


class RebindingResolver:
    """Answers differently on every lookup, as a DNS-rebinding attacker's server would."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def resolve(self, host: str) -> list[str]:
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [answer]


async def test_connects_to_the_address_it_checked(site: FakeSite) -> None:
    site.page("/hello", "hi")
    settings = FetchLimits(
        policy=AddressPolicy.allowing("127.0.0.1/32"), extra_ports=frozenset({site.port})
    )
    friendly_first = RebindingResolver("127.0.0.1", "169.254.169.254")
    async with SafeFetcher(settings, resolver=friendly_first) as fetcher:
        result = await fetcher.fetch(site.url("/hello", "rebind.test"), accept=HTML)
    assert result.body == b"hi"
    assert friendly_first.lookups == 1  # aiohttp did not look the name up again

    hostile_first = RebindingResolver("169.254.169.254", "127.0.0.1")
    async with SafeFetcher(settings, resolver=hostile_first) as fetcher:
        with pytest.raises(FetchRefused):
            await fetcher.fetch(site.url("/hello", "rebind.test"), accept=HTML)
    assert site.hits == ["/hello"]


async def test_waiting_for_a_busy_host_does_not_count_as_slowness(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    async def steady(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.1)  # each answer takes a while; six in a row exceed the budget
        return web.Response(text="ok", content_type="text/html")

    site.route("/steady", steady)
    async with make_fetcher(
        "127.0.0.1/32", port=site.port, per_host=1, total_timeout=0.45
    ) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(site.url(f"/steady?{i}", "blog.test"), accept=HTML) for i in range(6))
        )
    assert all(result.body == b"ok" for result in results)


async def test_a_compression_bomb_is_cut_at_the_cap(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(16)) + packer.flush()

    async def inflating(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    site.route("/bomb", inflating)
    async with make_fetcher("127.0.0.1/32", port=site.port, max_body=256 * 1024) as fetcher:
        with pytest.raises(FetchRefused) as refused:
            await fetcher.fetch(site.url("/bomb", "blog.test"), accept=HTML)
    assert len(bomb) < 64 * 1024 and refused.value.reason is Reason.TOO_LARGE


async def test_https_to_a_pinned_address_still_checks_the_certificate_name(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path, "blog.test")
    site = FakeSite(ssl_context=pki.server_context())
    site.page("/hello", "secure hi")
    await site.start()
    try:
        settings = FetchLimits(
            policy=AddressPolicy.allowing("127.0.0.1/32"),
            extra_ports=frozenset({site.port}),
            ssl_context=pki.client_context(),
        )
        resolver = StaticResolver({"blog.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        async with SafeFetcher(settings, resolver=resolver) as fetcher:
            result = await fetcher.fetch(site.url("/hello", "blog.test"), accept=HTML)
            assert result.body == b"secure hi"
            with pytest.raises(FetchFailed) as failed:
                await fetcher.fetch(site.url("/hello", "other.test"), accept=HTML)
        assert failed.value.reason is Reason.CONNECTION
        assert "certificate" in failed.value.detail.lower()
    finally:
        await site.stop()


@given(
    st.sampled_from(["http://", "https://", "ftp://", "HTTP://", "//", "", "http:"]),
    st.text(max_size=40),
)
def test_any_url_text_is_checked_or_refused(prefix: str, rest: str) -> None:
    fetcher = SafeFetcher(FetchLimits(), resolver=RESOLVER)
    try:
        url = fetcher.check_url(prefix + rest)
    except FetchRefused:
        return
    assert url.scheme in ("http", "https")
    assert url.user is None and url.password is None
    assert url.port in (80, 443)


async def test_cookies_are_not_kept_between_fetches(
    site: FakeSite, make_fetcher: MakeFetcher
) -> None:
    async def tracking(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="hi", content_type="text/html")
        response.set_cookie("visitor", "42")
        return response

    site.route("/tracked", tracking)
    async with make_fetcher("127.0.0.1/32", port=site.port) as fetcher:
        await fetcher.fetch(site.url("/tracked", "blog.test"), accept=HTML)
        await fetcher.fetch(site.url("/tracked", "blog.test"), accept=HTML)
    assert [dict(request.cookies) for request in site.requests] == [{}, {}]
