"""Consent, one model: nothing quotes or names a member until they say yes; `/profile` lists
every consent, `/settings` changes them, `/export` carries them, `/forget-me` removes them; the
welcome asks about quotes, and members the bot knew before are asked once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, column, insert, select, table

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.core.events import Author, ButtonPressed
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.features.members import CONSENTS
from bot.storage.database import Database, _alembic_config
from bot.storage.schema import consents
from tests.helpers import START, ConsoleStory

pytestmark = [pytest.mark.timeout(60)]

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # the 2026-W48 digest is due
ASKED_ONCE = "asked only once"


def consent_config(config_for: Callable[..., Config], **members: Any) -> Config:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general"], "digest": "digest"},
        "members": {"welcome": True, **members},
    }
    return config_for(communities=[community])


async def consent_rows(story: ConsoleStory, member: str) -> list[Any]:
    async with story.app.database.reading() as conn:
        result = await conn.execute(
            select(consents).where(consents.c.member_ref == f"console:/{member}")
        )
        return list(result.all())


def press(story: ConsoleStory, member: str, action: str, key: str) -> ButtonPressed:
    """A press of one of the buttons of the bot's DM to `member`."""
    dm = ChannelRef("console", "", f"dm-{member}")
    return ButtonPressed(
        key=key,
        action=action,
        author=Author(ref=MemberRef("console", "", member), name=member),
        message=MessageRef(dm, "welcome"),
        pressed_at=story.clock.now(),
        reply_to=InteractionRef("console", f"{member}:{key}", dm),
    )


@pytest.mark.both_backends
async def test_a_member_who_never_answered_is_not_quoted_until_they_say_yes(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(consent_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.say("bob: https://example.org/spacing spacing beats cramming for adults")
        await story.say("bob: /reflect Spacing changed how I teach my evening class")
        clock.set(MONDAY)
        said = await story.say("fran: /digest preview")
        assert "spacing beats cramming" not in said and "evening class" not in said
        assert "bob" not in said
        said = await story.say("bob: /settings quotes=on")
        assert "You allow: quotes=on · named=off · introductions=off" in said
        said = await story.say("fran: /digest preview")
        assert "bob: spacing beats cramming for adults" in said
        assert "Spacing changed how I teach my evening class" in said


async def test_profile_lists_every_consent_with_its_answer_and_how_to_change_it(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(consent_config(config_for, welcome=False), clock, tmp_path) as story:
        said = await story.say("nina: /profile")
        assert "What you allow" in said
        for item in CONSENTS:
            assert f"• {item.key}: no, may I " in said, item.key
            assert f"change it with /settings {item.key}=on" in said
        assert said.count("(you have not answered yet)") == len(CONSENTS)
        await story.say("nina: /settings quotes=on introductions=off")
        said = await story.say("nina: /profile")
        quotes = next(line for line in said.splitlines() if line.startswith("• quotes:"))
        assert quotes.startswith("• quotes: yes, may I quote what you write")
        assert quotes.endswith("change it with /settings quotes=off")
        assert "not answered" not in quotes
        introductions = next(line for line in said.splitlines() if "• introductions:" in line)
        assert "• introductions: no" in introductions and "not answered" not in introductions
        assert "• named: no" in said
        assert said.count("(you have not answered yet)") == len(CONSENTS) - 2


async def test_settings_shows_and_changes_consents_with_the_typed_form(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(consent_config(config_for, welcome=False), clock, tmp_path) as story:
        said = await story.say("nina: /settings")
        assert "• quotes: no" in said and "• named: no" in said
        assert "link_reactions=on" in said
        said = await story.say("nina: /settings named=on link_reactions=off")
        assert "You allow: quotes=off · named=on · introductions=off" in said
        assert "link_reactions=off" in said
        said = await story.say("nina: /settings named=maybe")
        assert "Usage: /settings" in said and "[named=on|off]" in said
        [row] = await consent_rows(story, "nina")
        assert (row.consent, row.given, row.answered_at) == ("named", True, clock.now())


async def test_export_carries_the_consents_and_forget_me_removes_them(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(consent_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.say("nina: /settings quotes=on named=off")
        await story.say("nina: /export")
        [file] = list(tmp_path.glob("facilitator-export-nina-*.json"))
        exported = json.loads(file.read_text("utf-8"))
        assert sorted((row["consent"], row["given"]) for row in exported["data"]["consents"]) == [
            ("named", False),
            ("quotes", True),
        ]
        await story.say("nina: /forget-me confirm")
        assert await consent_rows(story, "nina") == []
        said = await story.say("nina: /profile")  # she starts afresh: nothing allowed
        assert "• quotes: no" in said


async def test_the_welcome_asks_about_quotes_and_its_buttons_are_the_settings_commands(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(consent_config(config_for), clock, tmp_path) as story:
        said = await story.say("nina: https://example.org/a what I think about spaced practice")
        welcome = said.split("✉ to nina: ")[1]
        assert "May the weekly digest quote what you write in the community's channels" in welcome
        assert "[button 1: Yes, you may quote me → /settings quotes=on]" in welcome
        assert "[button 2: No, keep my words out → /settings quotes=off]" in welcome
        [row] = await consent_rows(story, "nina")
        assert (row.consent, row.given, row.asked_at) == ("quotes", None, clock.now())
        clock.set(MONDAY)
        assert "what I think" not in await story.say("fran: /digest preview")  # asked, no yes
        await story.app.dispatcher.deliver(press(story, "nina", "settings quotes=on", "press-1"))
        await story.app.drain()
        assert "You allow: quotes=on" in story.output()
        said = await story.say("fran: /digest preview")
        assert "nina: what I think about spaced practice" in said
        await story.app.dispatcher.deliver(press(story, "nina", "settings quotes=off", "press-2"))
        await story.app.drain()
        assert "You allow: quotes=off" in story.output()
        assert "what I think" not in await story.say("fran: /digest preview")
        said = await story.say("nina: and one more message")
        assert ASKED_ONCE not in said and "✉" not in said  # welcomed and asked: never again


OLD_MEMBERS = table(
    "members",
    column("ref"),
    column("platform"),
    column("display_name"),
    column("first_seen_at"),
    column("last_seen_at"),
    column("allow_quotes"),
)

OLD_WELCOMES = table("welcomes", column("community"), column("member_ref"), column("welcomed_at"))


async def members_from_before(db_url: str, *names: str) -> None:
    """A database at 0012 (quotes on by default) holding `names`, welcomed long ago."""

    def to_0012(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "0012")

    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(to_0012)
            long_ago = START - timedelta(days=60)
            await conn.execute(
                insert(OLD_MEMBERS),
                [
                    {
                        "ref": f"console:/{name}",
                        "platform": "console",
                        "display_name": name,
                        "first_seen_at": long_ago,
                        "last_seen_at": long_ago,
                        "allow_quotes": True,
                    }
                    for name in names
                ],
            )
            await conn.execute(
                insert(OLD_WELCOMES),
                [
                    {"community": "demo", "member_ref": f"console:/{name}", "welcomed_at": long_ago}
                    for name in names
                ],
            )
    finally:
        await db.close()


@pytest.mark.both_backends
async def test_members_known_before_are_asked_once_and_asking_is_no_consent(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, db_url: str
) -> None:
    await members_from_before(db_url, "bob", "carol")
    config = consent_config(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:  # migrates to the newest
        said = await story.say("bob: https://example.org/b spaced practice works for adults")
        assert "Welcome" not in said
        question = said.split("✉ to bob: ", 1)[1]
        assert question.startswith(f"One question from demo, {ASKED_ONCE}")
        assert "May the weekly digest quote what you write" in question
        assert "→ /settings quotes=on]" in question and "→ /settings quotes=off]" in question
        said = await story.say("bob: and again")
        assert "✉" not in said
        # carol's next contact answers the question herself: she is not asked it as well.
        said = await story.say("carol: /settings quotes=off")
        assert "You allow: quotes=off" in said and ASKED_ONCE not in said
        clock.set(MONDAY)
        said = await story.say("fran: /digest preview")
        assert "spaced practice works" not in said and "bob" not in said  # asked is not yes
    async with ConsoleStory(config, clock, tmp_path) as story:  # a restart asks nobody again
        said = await story.say("bob: back after a restart")
        assert "✉" not in said
        said = await story.say("bob: /profile")
        assert ASKED_ONCE not in said and "• quotes: no" in said


async def test_with_welcomes_off_nobody_is_asked(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path, db_url: str
) -> None:
    await members_from_before(db_url, "bob")
    async with ConsoleStory(consent_config(config_for, welcome=False), clock, tmp_path) as story:
        said = await story.say("bob: hello again")
        assert "✉" not in said
        assert await consent_rows(story, "bob") == []
