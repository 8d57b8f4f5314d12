"""One process, one community on Slack, Discord and the console at the same time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.discord.platform import DiscordPlatform
from adapters.slack import translate as slack_translate
from bot.app import Application
from bot.config import parse_config
from bot.core import ManualClock
from bot.storage.schema import links, shares
from tests.fakes.slack_server import FakeSlack, message_event
from tests.helpers import REACTION_PUT, SlackStory, World, answer_text, make_world

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    server.add_channel("C0GENERAL", "general")
    server.add_channel("C0DIGEST", "digest")
    server.add_user("UALICE", "alice")
    server.add_user("UFRAN", "fran")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def discord() -> AsyncIterator[World]:
    world = await make_world()
    yield world
    await world.fake.stop()


async def test_one_link_shared_on_slack_discord_and_the_console_is_one_link_with_three_sharers(
    slack: FakeSlack, discord: World, tmp_path: Path
) -> None:
    config = parse_config(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups from tests
            "console": {"enabled": True, "facilitators": ["fran"]},
            "slack": {"mode": "socket", "api_base_url": slack.api_url},
            "discord": {"api_base_url": discord.fake.api_base},
            "communities": [
                {
                    "name": "school",
                    "timezone": "Europe/Berlin",
                    "slack": {
                        "channels": ["general"],
                        "digest": "digest",
                        "facilitators": ["UFRAN"],
                    },
                    "discord": {
                        "guild": discord.guild,
                        "channels": ["general", "resources"],
                        "digest": "resources",
                        "facilitator_roles": ["Facilitators"],
                    },
                    "console": {"channels": ["general"]},
                }
            ],
        },
        source="one.toml",
    )
    discord_platform: list[DiscordPlatform] = []

    def with_discord(app: Application, clock: ManualClock) -> list[DiscordPlatform]:
        discord_platform.append(
            DiscordPlatform(
                config,
                "test-token",
                app.directory,
                app.commands,
                clock,
                guild_ready_timeout=0.05,
                ready_timeout=5.0,
                identify_delay=0.0,
            )
        )
        return discord_platform

    async with SlackStory(slack, config, console=True, also=with_discord) as story:
        posted = slack.add_message(
            "C0GENERAL", "UALICE", "<https://Example.org/x?utm_source=slack>"
        )
        await story.event(message_event("C0GENERAL", "UALICE", posted["text"], posted["ts"]), "Ex1")
        sent = await discord.fake.message(
            discord.general, discord.alice, "see https://example.org/x"
        )
        await discord.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
        await story.console.handle_line("bob: and https://EXAMPLE.org/x#top")
        await story.app.drain()
        async with story.app.database.reading() as conn:
            assert (await conn.execute(select(links.c.canonical_url))).scalars().all() == [
                "https://example.org/x"
            ]
            sharers = sorted((await conn.execute(select(shares.c.member_ref))).scalars())
        assert sharers == ["console:/bob", f"discord:/{discord.alice}", "slack:T0001/UALICE"]
        assert [c.args["timestamp"] for c in slack.calls_to("reactions.add")] == [posted["ts"]]

        # a facilitator on Slack posts the week's digest: it goes to every platform's channel
        year, week, _ = slack_translate.ts_to_datetime(posted["ts"]).isocalendar()
        answer = await story.command(f"digest post {year}-W{week:02d} confirm=yes", "UFRAN")
        assert answer_text(answer).startswith(
            f"Posting the {year}-W{week:02d} digest to 2 channel(s)"
        )
        [slack_digest] = slack.posted("C0DIGEST")
        assert "https://example.org/x" in str(slack_digest["blocks"])
        await discord.fake.wait_for_request("POST", rf"/channels/{discord.resources}/messages")
