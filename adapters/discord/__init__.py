"""The Discord adapter: `platform` (connection, start/stop, perform), `translate` (payloads to
core events), `render` (content to message bodies), `commands` (application commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.discord.platform import DiscordPlatform
    from bot.core.clock import Clock
    from bot.core.commands import CommandTable
    from bot.core.communities import CommunityDirectory
    from bot.core.config import Config, Secrets


def create_platform(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> DiscordPlatform:
    """The Discord platform for the application (needs DISCORD_TOKEN)."""
    # Imported here so that naming the package does not load discord.py.
    from adapters.discord.platform import create_platform as create

    return create(config, secrets, directory, commands, clock)


__all__ = ["create_platform"]
