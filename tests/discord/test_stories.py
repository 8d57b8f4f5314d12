"""Stories: the real discord.py client, the real application, a fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

import pytest

from adapters.discord_adapter import intents
from bot.core.actions import Action, Content, Post
from bot.core.commands import CommandSpec, Param, Role
from bot.core.refs import ChannelRef
from bot.services.base import CommandHandler, Invocation, Service, Transaction
from tests.discord.conftest import REACTION_PUT, DiscordStory, World, make_world

pytestmark = pytest.mark.timeout(20)

Story = Callable[..., DiscordStory]


async def settle(story: DiscordStory, world: World, gateway_events: int = 0) -> None:
    """Wait until the dispatcher has committed everything the adapter has handed it."""
    await asyncio.sleep(0)
    await story.app.drain()


async def test_login_and_identify_with_the_intended_intents(world: World, story_for: Story) -> None:
    async with story_for(world):
        identify = await world.fake.wait_identified()
    assert identify["intents"] == intents().value
    wanted = intents()
    assert wanted.message_content and wanted.guild_messages and wanted.dm_messages
    assert not wanted.members and not wanted.presences  # no chunking, small member cache
    asked = [f"{r.method} {r.path}" for r in world.fake.requests[:3]]
    assert asked == ["GET /users/@me", "GET /oauth2/applications/@me", "GET /gateway/bot"]


@pytest.mark.parametrize("zlib_stream", [True, False], ids=["zlib-stream", "plain-json"])
async def test_a_shared_link_is_stored_and_acknowledged(
    zlib_stream: bool, story_for: Story
) -> None:
    world = await make_world(zlib_stream=zlib_stream)
    try:
        async with story_for(world) as story:
            sent = await world.fake.message(
                world.resources, world.alice, "see https://Example.org/a?utm_source=x"
            )
            await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
            await story.app.drain()
            assert await story.shared_urls() == [
                (
                    "https://example.org/a",
                    f"discord:{world.guild}/{world.resources}/{sent['id']}",
                )
            ]
    finally:
        await world.fake.stop()
