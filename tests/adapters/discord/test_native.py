"""Native on Discord: hidden facilitator commands, autocomplete, context menus, forms."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.cli import describe
from bot.core.config import Secrets
from tests.adapters.discord.conftest import discord_config
from tests.helpers import DiscordStory, World

pytestmark = pytest.mark.timeout(30)

Story = Callable[..., DiscordStory]
FACILITATOR_COMMANDS = {"digest", "host", "prompt", "report"}


async def test_facilitator_commands_are_registered_hidden_and_for_servers_only(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "facilitator.discord")
    async with story_for(world):
        pass
    [put] = world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")
    sent = {command["name"]: command for command in put.body}
    for name, command in sent.items():
        hidden = name in FACILITATOR_COMMANDS
        assert command["default_member_permissions"] == ("0" if hidden else None), name
        assert command["contexts"] == ([0] if hidden else [0, 1]), name
    assert set(sent) >= FACILITATOR_COMMANDS
    # What Discord stores and returns is what was sent.
    stored = world.fake.registered(world.guild, "host")
    assert stored["default_member_permissions"] == "0" and stored["contexts"] == [0]
    # Each group is for one audience: members keep /event list|calendar, facilitators /host.
    subs = {name: {o["name"] for o in sent[name]["options"]} for name in ("event", "host")}
    assert subs == {
        "event": {"list", "calendar"},
        "host": {"create", "confirm", "edit", "cancel", "suggest-times"},
    }
    told = [r.getMessage() for r in caplog.records if "are hidden from members" in r.getMessage()]
    assert told and "/digest, /host, /prompt, /report" in told[0]
    assert "Server Settings → Integrations" in told[0] and "Facilitators" in told[0]


async def test_a_second_start_finds_the_hidden_commands_registered_and_sends_nothing(
    world: World, story_for: Story
) -> None:
    async with story_for(world):
        pass
    async with story_for(world):
        pass
    assert (
        len(world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")) == 1
    )


async def test_a_member_running_a_facilitator_command_is_still_refused_by_the_bot(
    world: World, story_for: Story
) -> None:
    # Discord hides /host from members, but an admin may allow everyone: the bot decides.
    async with story_for(world, members={"welcome": False}):
        options = [
            {"type": 1, "name": "cancel", "options": [{"type": 4, "name": "id", "value": 1}]}
        ]
        asked = await world.fake.interaction(world.general, world.alice, "host", options)
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert "facilitators" in answer["data"]["content"].lower()


def test_check_tells_the_admin_to_allow_the_facilitator_role(world: World, db_url: str) -> None:
    printed = describe(discord_config(db_url, world), Secrets(discord_token="x"))
    assert "hidden from members on Discord" in printed
    assert "allows Facilitators under Server Settings → Integrations" in printed
