"""Fixtures: a running fake Discord with one guild, and stories of the application on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.runtime.service import Service
from tests.helpers import DiscordStory, World, make_config, make_world

BOOKMARK = "🔖"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """A running fake Discord (zlib-stream frames)."""
    made = await make_world()
    yield made
    await made.fake.stop()


def discord_config(
    db_url: str, world: World, members: dict[str, Any] | None = None, **section: Any
) -> Config:
    """One community spanning the fake guild's #general and #resources."""
    discord_section: dict[str, Any] = {
        "guild": world.guild,
        "channels": ["general", "resources"],
        "announcements": "general",
        "facilitator_roles": ["Facilitators"],
        **section,
    }
    discord_section = {k: v for k, v in discord_section.items() if v is not None}
    return make_config(
        db_url,
        discord={"api_base_url": world.fake.api_base},
        console={"enabled": False},
        communities=[
            {
                "name": "school",
                "timezone": "Europe/Berlin",
                "discord": discord_section,
                **({"members": members} if members is not None else {}),
            }
        ],
    )


@pytest.fixture
def story_for(db_url: str, clock: ManualClock) -> Callable[..., DiscordStory]:
    """Build a story on this test's database and clock."""

    def build(world: World, *, services: Sequence[Service] = (), **options: Any) -> DiscordStory:
        section = options.pop("section", {})
        members = options.pop("members", None)
        own_clock = options.pop("clock", clock)
        return DiscordStory(
            discord_config(db_url, world, members, **section),
            own_clock,
            services=services,
            **options,
        )

    return build
