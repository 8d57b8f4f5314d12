"""A fake Discord with one guild, and the real application running the real discord.py on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from adapters.discord.platform import DiscordPlatform
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.fetch.client import StaticResolver
from bot.runtime.service import Service
from bot.storage.schema import links, shares
from tests.conftest import make_config
from tests.fakes.discord_server import FakeDiscord

BOOKMARK = "🔖"
REACTION_PUT = r"/channels/\d+/messages/{message}/reactions/(%F0%9F%94%96|🔖)/@me"


@dataclass
class World:
    """The fake server and who is in its guild."""

    fake: FakeDiscord
    guild: str
    general: str
    resources: str
    facilitator_role: str
    alice: str  # a member
    fran: str  # a facilitator, by role


async def make_world(*, zlib_stream: bool = True, **fake_options: Any) -> World:
    """Start a fake Discord with a guild, two channels and two members."""
    fake = FakeDiscord(zlib_stream=zlib_stream, **fake_options)
    guild = fake.add_guild("School")
    general = fake.add_channel(guild, "general")
    resources = fake.add_channel(guild, "resources")
    role = fake.add_role(guild, "Facilitators")
    alice = fake.add_member(guild, name="alice")
    fran = fake.add_member(guild, name="fran", roles=(role,))
    await fake.start()
    return World(fake, guild, general, resources, role, alice, fran)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """A running fake Discord (zlib-stream frames)."""
    made = await make_world()
    yield made
    await made.fake.stop()


def discord_config(db_url: str, world: World, **section: Any) -> Config:
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
        communities=[{"name": "school", "timezone": "Europe/Berlin", "discord": discord_section}],
    )


class DiscordStory:
    """The whole application with the Discord platform, talking to the fake server."""

    def __init__(
        self,
        config: Config,
        clock: ManualClock,
        *,
        token: str = "test-token",
        services: Sequence[Service] = (),
        defer_after: float = 1.5,
    ) -> None:
        self.app = Application(
            config,
            secrets=Secrets(discord_token=token),
            clock=clock,
            resolver=StaticResolver({}),  # no test asks real DNS
        )
        for service in services:
            self.app.dispatcher.add_service(service)
        self.platform = DiscordPlatform(
            config,
            token,
            self.app.directory,
            self.app.commands,
            clock,
            guild_ready_timeout=0.05,
            ready_timeout=5.0,
            defer_after=defer_after,
            identify_delay=0.0,
        )
        self.app._given_platforms = [self.platform]

    async def __aenter__(self) -> DiscordStory:
        await self.app.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.app.stop()

    async def shared_urls(self) -> list[tuple[str, str]]:
        """(canonical URL, message ref) of every stored share."""
        async with self.app.database.reading() as conn:
            rows = await conn.execute(
                select(links.c.canonical_url, shares.c.message_ref)
                .join(shares, shares.c.link_id == links.c.id)
                .order_by(shares.c.id)
            )
            return [(row[0], row[1]) for row in rows]


@pytest.fixture
def story_for(db_url: str, clock: ManualClock) -> Callable[..., DiscordStory]:
    """Build a story on this test's database and clock."""

    def build(world: World, *, services: Sequence[Service] = (), **options: Any) -> DiscordStory:
        section = options.pop("section", {})
        return DiscordStory(
            discord_config(db_url, world, **section), clock, services=services, **options
        )

    return build
