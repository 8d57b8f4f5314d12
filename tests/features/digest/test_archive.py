"""The digest archive on the web server: index, issue pages, JSON, Atom, in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import feedparser
import pytest
from sqlalchemy import update

from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, ConfigError, Secrets
from bot.storage.schema import links
from tests.browser import dump_dom
from tests.helpers import ConsoleStory


def archive_config(config_for: Callable[..., Config], archive: str = "public") -> Config:
    return config_for(
        web={
            "enabled": True,
            "host": "127.0.0.1",
            "port": 0,
            "archive": archive,
            "base_url": "http://digests.example.org",
        },
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
            }
        ],
    )


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def posted_story(story: ConsoleStory, clock: ManualClock) -> str:
    await story.allow("alice", "bob")
    await story.say("alice: https://example.org/connectivism a clear overview of the theory")
    await story.say("bob: https://example.org/connectivism")
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    said = await story.say("fran: /digest post")
    assert "Archive: http://digests.example.org/digests/demo/2026-W48" in said
    return f"http://127.0.0.1:{story.app.web.port}"


@pytest.mark.both_backends
async def test_index_issue_json_and_atom(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(archive_config(config_for), clock, tmp_path) as story:
        base = await posted_story(story, clock)
        status, kind, html = await fetch(f"{base}/digests/")
        assert status == 200 and kind.startswith("text/html")
        assert 'href="/digests/demo/2026-W48"' in html
        status, _, page = await fetch(f"{base}/digests/demo/2026-W48")
        assert status == 200
        assert "https://example.org/connectivism" in page and "alice, bob" in page
        assert "Mon 23 Nov – Sun 29 Nov 2026" in page  # Berlin's days, not UTC's
        status, kind, data = await fetch(f"{base}/digests/demo/2026-W48.json")
        assert status == 200 and kind.startswith("application/json")
        assert '"week": "2026-W48"' in data
        assert (await fetch(f"{base}/digests/demo/2026-W47"))[0] == 404  # never posted
        assert (await fetch(f"{base}/digests/nowhere/2026-W48"))[0] == 404
        status, kind, atom = await fetch(f"{base}/digests.atom")
        assert status == 200 and kind.startswith("application/atom+xml")
        feed = feedparser.parse(atom)
        assert not feed.bozo, feed.get("bozo_exception")
        [entry] = feed.entries
        assert entry.id == "tag:facilitator,2026:digest/demo/2026-W48"
        assert entry.link == "http://digests.example.org/digests/demo/2026-W48"
        assert "example.org/connectivism" in entry.content[0].value


async def test_issue_pages_read_like_the_chat_and_each_community_has_its_index(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(archive_config(config_for), clock, tmp_path) as story:
        base = await posted_story(story, clock)  # 2026-W48, posted on Mon 30 Nov
        await story.say("carol: https://example.org/next a second week of reading")
        clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
        await story.say("fran: /digest post")  # 2026-W49
        archive = "/digests"  # pages link within the archive; the Atom feed absolutely
        _, _, page = await fetch(f"{base}/digests/demo/2026-W48")
        assert "What the network found, made and asked, Mon 23 Nov – Sun 29 Nov 2026." in page
        assert "Facilitators removed nothing from this digest." in page
        assert f'rel="next" href="{archive}/demo/2026-W49"' in page
        assert 'rel="prev"' not in page
        _, _, later = await fetch(f"{base}/digests/demo/2026-W49")
        assert f'rel="prev" href="{archive}/demo/2026-W48"' in later
        status, kind, index = await fetch(f"{base}/digests/demo/")
        assert status == 200 and kind.startswith("text/html")
        assert f'href="{archive}/demo/2026-W49"' in index
        assert f'href="{archive}/demo.atom"' in index
        assert (await fetch(f"{base}/digests/nowhere/"))[0] == 404
        status, kind, atom = await fetch(f"{base}/digests/demo.atom")
        assert status == 200 and kind.startswith("application/atom+xml")
        feed = feedparser.parse(atom)
        assert not feed.bozo, feed.get("bozo_exception")
        assert [entry.id for entry in feed.entries] == [
            "tag:facilitator,2026:digest/demo/2026-W49",
            "tag:facilitator,2026:digest/demo/2026-W48",
        ]
        html = feed.entries[0].content[0].value
        assert 'href="http://digests.example.org/digests/demo/"' in html  # absolute links
        assert 'href="/digests' not in html and 'href="../"' not in html


async def test_issue_pages_show_site_names_descriptions_and_notes_escaped_and_capped(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(archive_config(config_for), clock, tmp_path) as story:
        await story.allow("alice")
        await story.say("alice: https://example.org/connectivism a clear overview of the theory")
        async with story.app.database.transaction() as conn:  # as a fetched preview leaves it
            await conn.execute(
                update(links).values(
                    title="Connectivism <b>explained</b>",
                    site_name="Example <Press>",
                    description="<script>alert(1)</script> " + "word " * 200,
                )
            )
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        await story.say("fran: /digest post")
        base = f"http://127.0.0.1:{story.app.web.port}"
        _, _, page = await fetch(f"{base}/digests/demo/2026-W48")
        assert "Connectivism &lt;b&gt;explained&lt;/b&gt;</a>" in page
        assert "· Example &lt;Press&gt;" in page
        description = page.split('<p class="description">', 1)[1].split("</p>", 1)[0]
        assert description.startswith("&lt;script&gt;alert(1)&lt;/script&gt; word")
        assert description.endswith("…") and len(description) < 340
        assert "alice: a clear overview of the theory" in page  # the sharer's note


@pytest.mark.both_backends
async def test_pages_follow_forget_me_and_consent_at_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(archive_config(config_for), clock, tmp_path) as story:
        base = await posted_story(story, clock)
        await story.say("bob: /settings quotes=off named=off")
        page = (await fetch(f"{base}/digests/demo/2026-W48"))[2]
        assert "bob" not in page and "alice, 1 member(s)" in page
        await story.say("alice: /forget-me confirm")
        page = (await fetch(f"{base}/digests/demo/2026-W48"))[2]
        assert "alice" not in page and "clear overview" not in page


@pytest.mark.both_backends
async def test_a_private_archive_needs_its_token(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    app = Application(
        archive_config(config_for, "private"),
        secrets=Secrets(archive_token="s3cret-token"),
        clock=clock,
        platforms=[],
    )
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.web.port}"
        assert (await fetch(f"{base}/digests/"))[0] == 404
        assert (await fetch(f"{base}/a/wrong-token/digests/"))[0] == 404
        assert (await fetch(f"{base}/a/s3cret-token/digests/"))[0] == 200
    finally:
        await app.stop()
    try:
        Application(archive_config(config_for, "private"), secrets=Secrets(), clock=clock)
    except ConfigError as error:
        assert "ARCHIVE_TOKEN" in str(error)
    else:
        raise AssertionError("a private archive without a token was accepted")


async def test_the_archive_renders_in_a_real_browser(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(archive_config(config_for), clock, tmp_path) as story:
        base = await posted_story(story, clock)
        index = await dump_dom(f"{base}/digests/")
        assert "demo · 2026-W48" in index
        page = await dump_dom(f"{base}/digests/demo/2026-W48")
        assert "<h2>Top links</h2>" in page
        assert 'href="https://example.org/connectivism"' in page
        assert "Weekly digest · demo · 2026-W48" in page
