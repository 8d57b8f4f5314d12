"""The Slack adapter: `platform` (bolt app, Socket Mode or HTTP, perform), `translate`
(payloads to core events), `render` (content to Block Kit), `commands` (the slash command and
its modals); `manifest.yaml` creates the Slack app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.clock import Clock
    from bot.core.commands import CommandTable
    from bot.core.communities import CommunityDirectory
    from bot.core.config import Config, Secrets
    from bot.core.platform import Platform


def create_platform(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> Platform:
    """The Slack platform for `facilitator run` (called when SLACK_BOT_TOKEN is set)."""
    # Imported here so that naming the package does not load slack-bolt.
    from adapters.slack.platform import create_platform as create

    return create(config, secrets, directory, commands, clock)


__all__ = ["create_platform"]
