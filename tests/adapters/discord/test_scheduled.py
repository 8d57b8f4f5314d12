"""Scheduled work through the real discord.py client: a prompt and the weekly digest arrive
on their local times, once, driven by the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import ManualClock
from tests.helpers import DiscordStory, World, make_config

BERLIN = ZoneInfo("Europe/Berlin")


async def test_a_prompt_and_the_digest_are_posted_on_schedule_once(
    world: World, db_url: str, clock: ManualClock
) -> None:
    digest = world.fake.add_channel(world.guild, "digest")
    config = make_config(
        db_url,
        discord={"api_base_url": world.fake.api_base},
        console={"enabled": False},
        communities=[
            {
                "name": "school",
                "timezone": "Europe/Berlin",
                "discord": {
                    "guild": world.guild,
                    "channels": ["general", "resources"],
                    "announcements": "general",
                    "digest": "digest",
                },
                "prompts": [{"stage": "sense", "when": "mon 10:00", "text": "What changed?"}],
                "digest": {"when": "mon 09:00"},
            }
        ],
    )
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=BERLIN))  # a Sunday
    async with DiscordStory(config, clock) as story:
        monday_nine = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN).astimezone(UTC)
        await story.app.scheduler.idle()
        before = len(world.fake.requests)
        clock.set(monday_nine)
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        [posted] = await world.fake.wait_for_request("POST", rf"/channels/{digest}/messages")
        assert "2026-W48" in posted.body["embeds"][0]["title"]
        clock.set(monday_nine + timedelta(hours=1))
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        [prompt] = await world.fake.wait_for_request("POST", rf"/channels/{world.general}/messages")
        assert "What changed?" in str(prompt.body)
        clock.set(monday_nine + timedelta(hours=3))  # later the same day: nothing again
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        posts = [
            request
            for request in world.fake.requests[before:]
            if request.method == "POST" and request.path.endswith("/messages")
        ]
        assert len(posts) == 2
