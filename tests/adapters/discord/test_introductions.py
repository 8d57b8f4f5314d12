"""Bridging introductions through the real discord.py client and a fake Discord: DMs go only
to members who talked to the bot (unsolicited DMs from bots look like spam there)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import ManualClock
from tests.fakes.discord_server import snowflake_at
from tests.helpers import DiscordStory, World, allow, make_config

pytestmark = pytest.mark.timeout(30)

BERLIN = ZoneInfo("Europe/Berlin")


async def test_a_member_who_never_talked_to_the_bot_is_not_written_to(
    world: World, db_url: str, clock: ManualClock
) -> None:
    bob = world.fake.add_member(world.guild, name="bob")
    carol = world.fake.add_member(world.guild, name="carol")
    config = make_config(
        db_url,
        discord={"api_base_url": world.fake.api_base},
        console={"enabled": False},
        fetch={"previews": False},
        communities=[
            {
                "name": "school",
                "timezone": "Europe/Berlin",
                "discord": {"guild": world.guild, "channels": ["general", "resources"]},
                "members": {"welcome": False, "literacy_questions": False},
            }
        ],
    )
    async with DiscordStory(config, clock) as story:
        for number, (who, text) in enumerate(
            (
                (world.alice, "https://example.org/spacing Spaced practice for adult learners"),
                (bob, "https://example.org/adults Spaced practice for adult learners, again"),
                (carol, "https://example.org/intervals Spaced practice: choosing intervals"),
                (world.fran, "https://school.test/calendar Term dates for the spring"),
            )
        ):
            # Sent at the story's time (the fake stamps messages with the wall clock).
            sent_at = clock.now() + timedelta(minutes=number)
            message = world.fake.message_payload(
                world.resources, who, text, message_id=str(snowflake_at(sent_at, number))
            )
            world.fake.messages[world.resources][message["id"]] = message
            await world.fake.dispatch("MESSAGE_CREATE", message)
        for who in (world.alice, carol):
            option = {"name": "introductions", "type": 5, "value": True}
            sent = await world.fake.interaction(world.general, who, "settings", [option])
            await world.fake.wait_for_request("POST", rf"/interactions/{sent['id']}/[^/]+/callback")
        deadline = asyncio.get_running_loop().time() + 5
        while len(await story.shared_urls()) < 4:  # gateway events arrive in their own time
            assert asyncio.get_running_loop().time() < deadline, "the shares were never stored"
            await asyncio.sleep(0.01)
            await story.app.drain()
        # bob opted in elsewhere (another community of this bot) but never talked to the bot
        # here: he must not get a DM out of the blue.
        await allow(story.app.database, f"discord:/{bob}", consents=("introductions",))

        clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN).astimezone(UTC))
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        assert bob not in world.fake.dm_channels
        to_alice = list(world.fake.messages[world.fake.dm_channels[world.alice]].values())
        to_carol = list(world.fake.messages[world.fake.dm_channels[carol]].values())
        assert len(to_alice) == len(to_carol) == 1
        assert to_alice[0]["content"].startswith("👋 Meet **carol**: they recently shared ")
        assert "https://example.org/intervals" in to_alice[0]["content"]
        assert to_carol[0]["content"].startswith("👋 Meet **alice**: they recently shared ")
        assert "you both follow" in to_carol[0]["content"]
