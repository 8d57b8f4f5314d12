"""Nudges on Discord, through the real discord.py client and the fake server: the bot never DMs
members who never talked to it (the digest carries an open invitation for them instead), while
members who ran a command or said yes at onboarding get their nudge by DM; a member whose DMs
are closed does not stop the others'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.storage.schema import nudges
from tests.helpers import DiscordStory, World, eventually_dm, make_config

pytestmark = pytest.mark.timeout(30)

DAY0 = datetime(2026, 11, 23, tzinfo=UTC)


async def speak(world: World, clock: ManualClock, author: str, text: str) -> dict[str, Any]:
    """A member posts in #general at the story's time (the fake stamps the wall clock)."""
    payload = world.fake.message_payload(world.general, author, text)
    payload["timestamp"] = clock.now().isoformat()
    world.fake.messages[world.general][payload["id"]] = payload
    await world.fake.dispatch("MESSAGE_CREATE", payload)
    return payload


async def dm_texts(world: World, user: str) -> list[str]:
    channel = world.fake.dm_channels.get(user)
    if channel is None:
        return []
    return [message["content"] for message in world.fake.messages[channel].values()]


async def test_only_members_who_talked_to_the_bot_get_a_dm_and_the_digest_invites_the_rest(
    world: World, db_url: str, clock: ManualClock
) -> None:
    fake = world.fake
    dora = fake.add_member(world.guild, name="dora")  # the first in line: her DM fails first
    bob = fake.add_member(world.guild, name="bob")
    carol = fake.add_member(world.guild, name="carol")
    fake.refuse_dms.add(dora)
    config = make_config(
        db_url,
        discord={"api_base_url": fake.api_base},
        console={"enabled": False},
        communities=[
            {
                "name": "school",
                "timezone": "Europe/Berlin",
                "discord": {
                    "guild": world.guild,
                    "channels": ["general", "resources"],
                    "announcements": "general",
                    "facilitator_roles": ["Facilitators"],
                },
            }
        ],
    )
    clock.set(DAY0 + timedelta(hours=9))
    async with DiscordStory(config, clock) as story:
        # alice only speaks in the channel: the welcome reaches her, but she never answers it.
        await speak(world, clock, world.alice, "hello everyone")
        await eventually_dm(world, world.alice, "Welcome to **school**")
        # carol says yes to nudges with the welcome's button.
        await speak(world, clock, carol, "hi all")
        welcome = await eventually_dm(world, carol, "Welcome to **school**")
        [row] = welcome["components"]
        # After the question whether digests may quote her, the offer of nudges.
        *_, button = row["components"]
        assert [b["custom_id"] for b in row["components"]][:2] == [
            "settings quotes=on",
            "settings quotes=off",
        ]
        assert button["custom_id"] == "nudges on"
        assert button["label"] == "Yes, send me an occasional nudge"
        pressed = await fake.interaction(
            fake.dm_channels[carol], carol, "", component="nudges on", message=welcome
        )
        await fake.wait_for_request("POST", rf"/interactions/{pressed['id']}/[^/]+/callback")
        # bob and dora ran a command once (dora's DMs are closed).
        for user in (bob, dora):
            asked = await fake.interaction(world.general, user, "profile")
            await fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        await story.app.drain()

        clock.set(DAY0 + timedelta(days=15, hours=10))
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        nudge = await eventually_dm(world, bob, "A small idea from **school**")
        assert "/nudges off" in nudge["content"]
        labels = [c["label"] for c in nudge["components"][0]["components"]]
        assert labels == ["Snooze 2 weeks", "No more nudges"]
        await eventually_dm(world, carol, "A small idea from **school**")
        assert not any("A small idea" in text for text in await dm_texts(world, world.alice))
        async with story.app.database.reading() as conn:
            sent = sorted((await conn.execute(select(nudges.c.member_ref))).scalars())
        assert sent == [f"discord:/{bob}", f"discord:/{carol}"]  # dora's DM failed: not sent

        week = {"type": 3, "name": "week", "value": "this"}
        this_week = [{"type": 1, "name": "preview", "options": [week]}]
        asked = await fake.interaction(world.general, world.fran, "digest", this_week)
        await fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        await story.app.drain()
    [answer] = fake.interaction_responses[asked["token"]]
    shown = str(answer["data"])
    assert "An easy way back in" in shown
    assert "ask one question in the channel" in shown
    assert "alice" not in shown  # naming nobody
