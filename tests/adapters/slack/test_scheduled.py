"""Scheduled work through the real bolt app: a prompt and the weekly digest arrive on their
local times, once, driven by the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from tests.fakes.slack_server import FakeSlack
from tests.helpers import SlackStory

pytestmark = pytest.mark.timeout(60)
BERLIN = ZoneInfo("Europe/Berlin")


async def test_a_prompt_and_the_digest_are_posted_on_schedule_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = parse_config(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"},
            "web": {"enabled": False},
            "fetch": {"previews": False},
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [
                {
                    "name": "demo",
                    "timezone": "Europe/Berlin",
                    "slack": {
                        "channels": ["general"],
                        "announcements": "general",
                        "digest": "resources",
                    },
                    "prompts": [
                        {"stage": "seek", "when": "mon 10:00", "text": "What did you find?"}
                    ],
                    "digest": {"when": "mon 09:00"},
                }
            ],
        }
    )
    async with SlackStory(fake, config) as story:

        async def at(moment: datetime) -> list[dict[str, object]]:
            before = len(fake.calls_to("chat.postMessage"))
            story.clock.set(moment)
            story.app.scheduler.poke()
            await story.app.scheduler.idle()
            await story.app.drain()
            return [call.args for call in fake.calls_to("chat.postMessage")[before:]]

        monday_nine = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN).astimezone(UTC)
        assert await at(monday_nine - timedelta(minutes=1)) == []
        [digest] = await at(monday_nine)
        assert digest["channel"] == "C0RESOURCE" and "2026-W48" in str(digest["text"])
        [prompt] = await at(monday_nine + timedelta(hours=1))
        assert prompt["channel"] == "C0GENERAL" and "What did you find?" in str(prompt["text"])
        assert await at(monday_nine + timedelta(hours=3)) == []
