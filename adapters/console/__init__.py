"""The console adapter: `platform` (reads lines, shows what the bot does), `translate` (the
line syntax), `render` (content as terminal text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.console.platform import ConsolePlatform
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
) -> ConsolePlatform:
    """The console on standard input and output."""
    from adapters.console.platform import create_platform as create

    return create(config, secrets, directory, commands, clock)


__all__ = ["create_platform"]
