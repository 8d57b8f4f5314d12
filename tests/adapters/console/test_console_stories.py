"""Stories through the console adapter: the same dispatcher, services and storage as the
real platforms."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console.platform import ConsolePlatform
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.storage.schema import links, members, messages, shares, tombstones
from tests.helpers import ConsoleStory

pytestmark = pytest.mark.both_backends


async def rows(story: ConsoleStory, table: object) -> int:
    async with story.app.database.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_a_shared_link_is_collected_once_and_acknowledged(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("alice: see https://Example.org/a?utm_source=x")
        assert "[1] #general alice: see https://Example.org/a?utm_source=x" in said
        assert "[1] Facilitator reacted :bookmark:" in said
        said = await story.say("bob@resources: me too https://example.org/a!")
        assert "[2] Facilitator reacted :bookmark:" in said
        async with story.app.database.reading() as conn:
            found = (await conn.execute(select(links.c.canonical_url, links.c.url))).all()
        assert found == [("https://example.org/a", "https://Example.org/a?utm_source=x")]
        assert await rows(story, shares) == 2


async def test_edits_add_shares_and_deletions_remove_them(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: nothing yet")
        said = await story.say("alice~1: now with https://example.org/b")
        assert "Facilitator reacted :bookmark:" in said
        assert await rows(story, shares) == 1
        said = await story.say("bob~1: hijack")
        assert "bob can only edit their own posts" in said
        await story.say("alice-1")
        assert await rows(story, shares) == 0
        assert await rows(story, links) == 0
        assert await rows(story, messages) == 0


async def test_profile_settings_and_no_reaction_when_switched_off(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: first https://a.org")
        said = await story.say("alice: /profile")
        assert "(only alice sees this)" in said
        assert "links shared: 1" in said and "link_reactions=on" in said
        said = await story.say("alice: /settings link_reactions=off quotes=off")
        assert "You allow: quotes=off" in said and "settings: link_reactions=off" in said
        said = await story.say("alice: again https://b.org")
        assert "reacted" not in said
        assert await rows(story, shares) == 2
        said = await story.say("alice: /settings quotes=maybe")
        assert "Quotes must be on or off, not 'maybe'" in said
        assert "Usage: /settings [quotes=on|off] [named=on|off] [introductions=on|off]" in said


async def test_help_lists_commands_and_explains_one(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("alice: /help")
        for name in ("/profile", "/settings", "/export", "/forget-me", "/help"):
            assert name in said
        said = await story.say("alice: /help settings")
        assert "Usage: /settings [quotes=on|off] [named=on|off] [introductions=on|off]" in said
        assert "[introductions=on|off] [link_reactions=on|off] [digest_dm=on|off]" in said
        assert "Example: /settings quotes=on named=off" in said
        said = await story.say("alice: /frobnicate now")
        assert "there is no command called 'frobnicate'" in said and "/help" in said


async def test_export_writes_the_members_data_as_json(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: reading https://example.org/x")
        await story.say("bob: unrelated https://other.org")
        said = await story.say("alice: /export")
        assert "✉ to alice:" in said
        [file] = list(tmp_path.glob("facilitator-export-alice-*.json"))
        document = json.loads(file.read_text("utf-8"))
        assert document["member"] == "console:/alice"
        assert [row["url"] for row in document["data"]["shares"]] == ["https://example.org/x"]
        assert [row["text"] for row in document["data"]["messages"]] == [
            "reading https://example.org/x"
        ]
        assert "bob" not in file.read_text("utf-8")


async def test_forget_me_asks_first_then_deletes_and_leaves_a_tombstone(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: https://example.org/x")
        await story.say("bob: https://example.org/x")
        said = await story.say("alice: /forget-me")
        assert "cannot be undone" in said and "/forget-me confirm" in said
        assert await rows(story, shares) == 2
        clock.advance(timedelta(minutes=1))
        said = await story.say("alice: /forget-me confirm")
        assert "deleted" in said
        assert await rows(story, shares) == 1
        assert await rows(story, tombstones) == 1
        async with story.app.database.reading() as conn:
            names = list((await conn.execute(select(members.c.ref))).scalars())
        assert names == ["console:/bob"]
        # An edit of something alice wrote before forgetting never re-creates her data.
        await story.say("alice~1: https://example.org/y")
        assert await rows(story, shares) == 1


async def test_bad_input_gets_clear_messages_and_loses_nothing(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        assert "there is no channel #nowhere" in await story.say("alice@nowhere: hi")
        assert "there is no post 99" in await story.say("alice~99: x")
        assert "not understood" in await story.say("just words without a speaker")
        assert "unknown instruction" in await story.say("!dance")
        big = "x" * 100_000 + " https://big.example.org/"
        assert "reacted" in await story.say("alice: " + big)
        said = await story.say("alice: ")
        assert "[2]" in said
        said = await story.say("alice: javascript:alert(1) and http://127.0.0.1/ and http://[::1]/")
        assert await rows(story, links) == 3


async def test_the_console_clock_moves_on_command(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("!clock +1d")
        assert "Tue 24 Nov 2026 10:00 CET" in said
        assert clock.now().day == 24


async def test_piped_input_with_invalid_utf8_is_skipped_and_the_run_ends(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async def script() -> AsyncIterator[bytes]:
        for line in (b"alice: ok https://a.org\n", b"bob: caf\xe9 \xff\n", b"bob: \x07fine\r\n"):
            yield line

    config = config_for()
    out = io.StringIO()
    app = Application(config, secrets=Secrets(), clock=clock)
    console = ConsolePlatform(
        config, app.directory, app.commands, clock, lines=script(), out=out, export_dir=tmp_path
    )
    app._given_platforms = [console]
    await app.start()
    await app.wait_done()
    await app.drain()
    await app.stop()
    text = out.getvalue()
    assert "! line 2: not valid UTF-8; skipped" in text
    assert "bob: fine" in text
    assert "reacted :bookmark:" in text


async def test_help_marks_facilitator_commands_once_and_shows_each_subcommands_usage(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("fran: /help")
        assert "(facilitators)" in said
        assert "(facilitators) (facilitators)" not in said
        assert "(facilitators)_ _(facilitators)" not in said
        said = await story.say("fran: /help host")
        assert "/host create <title> <when>" in said
        assert "/host edit <id>" in said
        said = await story.say("alice: /help event")
        assert "/event list" in said and "/host create" not in said
async def test_a_posted_digest_is_printed_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
            }
        ]
    )
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice: https://example.org/a is a fine read about connectivism")
        clock.set(clock.now() + timedelta(days=8))
        said = await story.say("fran: /digest post")
        assert said.count("https://example.org/a") == 1, said
        assert said.count("Top links") == 1, said
