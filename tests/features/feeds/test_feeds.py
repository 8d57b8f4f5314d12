"""Member blogs and link previews, end to end through the console, against a local site."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.features.feeds import FeedService, FeedSettings
from bot.features.links import PreviewService
from bot.storage.schema import feed_entries
from tests.fakes.sites import FakeSite
from tests.helpers import ConsoleStory

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.both_backends


def atom(*entries: tuple[str, str, str]) -> str:
    """An Atom feed of (id, title, updated) entries."""
    body = "".join(
        f"<entry><id>{entry_id}</id><title>{title}</title>"
        f'<link href="http://blog.test/{entry_id}"/><updated>{updated}</updated>'
        "<summary>Some thoughts &lt;script&gt;alert(1)&lt;/script&gt;</summary></entry>"
        for entry_id, title, updated in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Alice learns</title><id>urn:alice</id><updated>2026-11-20T00:00:00Z</updated>"
        f'<link href="http://blog.test/"/>{body}</feed>'
    )


@pytest.fixture
async def blog() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    await site.start()
    yield site
    await site.stop()


def feed_config(config_for: Callable[..., Config], site: FakeSite) -> Config:
    return config_for(
        fetch={"allow_networks": ["127.0.0.0/8"], "allow_ports": [str(site.port)]},
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
            }
        ],
    )


HOSTS = {"blog.test": ["127.0.0.1"]}


async def test_a_member_follows_her_blog_and_new_posts_reach_the_digest(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page(
        "/",
        '<html><head><link rel="alternate" type="application/atom+xml" href="/feed.xml">'
        "</head><body>Alice's blog</body></html>",
    )
    blog.page(
        "/feed.xml",
        atom(("old-1", "An old post", "2026-10-01T10:00:00Z")),
        "application/atom+xml",
    )
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        await story.say("alice: /settings named=on")  # her posts reach the digest by name
        said = await story.say(f"alice: /feed add http://blog.test:{blog.port}/")
        assert "Checking" in said
        assert f"Following Alice learns (feed 1: http://blog.test:{blog.port}/feed.xml)" in said
        said = await story.say("alice: /feed list")
        assert "1. Alice learns" in said
        blog.page(
            "/feed.xml",
            atom(
                ("old-1", "An old post", "2026-10-01T10:00:00Z"),
                ("new-1", "What presence means online", "2026-11-24T10:00:00Z"),
            ),
            "application/atom+xml",
        )
        clock.advance(timedelta(hours=2))
        report = await story.app.service(FeedService).poll_due()
        assert (report.polled, report.new_entries) == (1, 1)
        # not due yet: nothing is read twice
        again = await story.app.service(FeedService).poll_due()
        assert again.polled == 0
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "From members' blogs" in said
        assert "What presence means online" in said and "shared by alice" in said
        assert "An old post" not in said  # older than the subscription: never announced
        assert "script" not in said


async def test_a_broken_feed_backs_off_then_pauses_and_its_owner_is_told(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page("/feed.xml", atom(("p1", "Hello", "2026-11-24T10:00:00Z")), "application/atom+xml")
    config = feed_config(config_for, blog)
    blog.page("/feed.xml", atom(("p0", "Before", "2026-11-20T10:00:00Z")), "application/atom+xml")
    async with ConsoleStory(config, clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: /feed add http://blog.test:{blog.port}/feed.xml")

        async def broken(request: web.Request) -> web.StreamResponse:
            return web.Response(status=500, text="oops")

        blog.route("/feed.xml", broken)
        for attempt in range(config.section(FeedSettings).max_failures):
            clock.advance(timedelta(days=2))  # past any back-off
            report = await story.app.service(FeedService).poll_due()
            assert report.failed == 1, attempt
        await story.app.drain()
        out = story.output()
        assert "✉ to alice: I couldn't read your feed Alice learns 5 times in a row" in out
        clock.advance(timedelta(days=30))
        assert (await story.app.service(FeedService).poll_due()).polled == 0  # paused
        said = await story.say("alice: /feed list")
        assert "paused" in said


async def test_unreadable_addresses_get_a_clear_answer(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page("/page", "<html><body>No feed here</body></html>")
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        said = await story.say(f"alice: /feed add http://blog.test:{blog.port}/page")
        assert "I couldn't follow" in said and "does not link to a feed" in said
        said = await story.say("alice: /feed add http://127.0.0.2:9/")  # not allowed port
        assert "I couldn't follow" in said
        said = await story.say("alice: /feed add javascript:alert(1)")
        assert "is not an http(s) address" in said
        said = await story.say("bob: /feed remove 99")
        assert "There is no feed 99" in said


async def test_shared_links_get_their_page_title(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page(
        "/article",
        '<html><head><meta property="og:title" content="Networks of people">'
        '<meta property="og:site_name" content="Blog Test"></head><body>x</body></html>',
    )
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: read http://blog.test:{blog.port}/article about networks")
        await story.say("bob: and http://nowhere.test/x which cannot be reached")
        await story.app.service(PreviewService).settle()
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "Networks of people" in said
        assert "http://nowhere.test/x" in said  # no preview: the URL is its title


async def test_feeds_poll_command_shows_progress_and_a_summary(
    tmp_path: Path, blog: FakeSite
) -> None:
    blog.page("/feed.xml", atom(("p1", "Hello", "2026-11-24T10:00:00Z")), "application/atom+xml")
    two = atom(("c1", "Kept", "2026-11-24T10:00:00Z"), ("c2", "Cut", "2026-11-25T10:00:00Z"))
    blog.page("/cut.xml", two[: two.index("Cut")], "application/atom+xml")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{tmp_path / "f.db"}"
[web]
enabled = false
[fetch]
allow_networks = ["127.0.0.0/8"]
allow_ports = [{blog.port}]
[[communities]]
name = "demo"
feeds = ["http://127.0.0.1:{blog.port}/feed.xml", "http://127.0.0.1:{blog.port}/cut.xml"]
""",
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "feeds",
        "poll",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    summary = "polled 2 feed(s): 2 new post(s), 0 unchanged, 0 failed, 1 read with problems"
    assert summary in out.decode()
    assert "[##############################] 2/2 feeds" in err.decode()


async def test_one_bad_feed_never_stops_the_round(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><rss><channel><title>&lol2;</title></channel></rss>'
    )
    blog.page(
        "/good.xml", atom(("p1", "Good post", "2026-11-24T10:00:00Z")), "application/atom+xml"
    )
    blog.page("/bomb.xml", bomb, "application/rss+xml")
    blog.redirect("/sneaky.xml", "http://169.254.169.254/latest/meta-data/")
    blog.page("/notxml.xml", "this is not xml at all", "application/rss+xml")
    config = config_for(
        fetch={"allow_networks": ["127.0.0.0/8"], "allow_ports": [str(blog.port)]},
        communities=[
            {
                "name": "demo",
                "console": {"channels": ["general"]},
                "feeds": [
                    f"http://blog.test:{blog.port}/{name}.xml"
                    for name in ("bomb", "sneaky", "notxml", "good")
                ],
            }
        ],
    )
    async with ConsoleStory(config, clock, tmp_path, HOSTS) as story:
        report = await story.app.service(FeedService).poll_due()
        assert (report.polled, report.failed, report.new_entries) == (4, 3, 1)


async def test_a_post_dated_in_the_future_is_dated_when_first_seen(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page("/feed.xml", atom(("p0", "Before", "2026-11-20T10:00:00Z")), "application/atom+xml")
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: /feed add http://blog.test:{blog.port}/feed.xml")
        blog.page(
            "/feed.xml",
            atom(("p1", "From the future", "2031-01-01T00:00:00Z")),
            "application/atom+xml",
        )
        clock.advance(timedelta(hours=2))
        seen = clock.now()
        assert (await story.app.service(FeedService).poll_due()).new_entries == 1
        async with story.app.database.reading() as conn:
            [published] = (
                await conn.execute(
                    select(feed_entries.c.published_at).where(feed_entries.c.entry_key == "p1")
                )
            ).scalars()
        assert published == seen
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "From the future" in said


async def test_a_flood_of_posts_is_capped_in_the_digest_like_links(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    blog.page("/feed.xml", atom(("p0", "Before", "2026-11-20T10:00:00Z")), "application/atom+xml")
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: /feed add http://blog.test:{blog.port}/feed.xml")
        posts = [(f"f{i}", f"Flood post {i}", f"2026-11-2{4 + i % 3}T10:00:00Z") for i in range(8)]
        blog.page("/feed.xml", atom(*posts), "application/atom+xml")
        clock.advance(timedelta(hours=2))
        assert (await story.app.service(FeedService).poll_due()).new_entries == 8
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert said.count("Flood post") == 2  # per_domain, as for shared links


async def test_a_feed_site_link_is_stored_and_shown(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    config = feed_config(config_for, blog)
    blog.page("/feed.xml", atom(("p0", "Before", "2026-11-20T10:00:00Z")), "application/atom+xml")
    async with ConsoleStory(config, clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: /feed add http://blog.test:{blog.port}/feed.xml")
        blog.page(
            "/feed.xml",
            atom(("p1", "Hello", "2026-11-24T10:00:00Z")).replace(
                '<link href="http://blog.test/"/>', '<link href="http://blog.test/moved/"/>'
            ),
            "application/atom+xml",
        )
        said = await story.say("alice: /feed list")
        assert "site: http://blog.test/" in said
        clock.advance(timedelta(hours=2))
        await story.app.service(FeedService).poll_due()
        said = await story.say("alice: /feed list")
        assert "site: http://blog.test/moved/" in said


async def test_a_feed_read_with_problems_says_so_in_the_list_and_the_report(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, blog: FakeSite
) -> None:
    whole = atom(("p1", "Hello", "2026-11-24T10:00:00Z"), ("p2", "Again", "2026-11-25T10:00:00Z"))
    blog.page("/feed.xml", whole, "application/atom+xml")
    async with ConsoleStory(feed_config(config_for, blog), clock, tmp_path, HOSTS) as story:
        await story.say(f"alice: /feed add http://blog.test:{blog.port}/feed.xml")
        said = await story.say("alice: /feed list")
        assert "problems" not in said
        blog.page("/feed.xml", whole[: whole.index("Again")], "application/atom+xml")
        clock.advance(timedelta(hours=2))
        report = await story.app.service(FeedService).poll_due()
        assert (report.failed, report.problems) == (0, 1)
        said = await story.say("alice: /feed list")
        assert "read with problems" in said and "line 1" in said
        blog.page("/feed.xml", whole, "application/atom+xml")
        clock.advance(timedelta(hours=2))
        assert (await story.app.service(FeedService).poll_due()).problems == 0
        said = await story.say("alice: /feed list")
        assert "problems" not in said
