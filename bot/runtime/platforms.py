"""Which platforms a configuration asks for, found by module name (bot/ never imports discord
or slack_bolt itself), and what the runtime needs of them beyond the `Platform` protocol."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web

from bot.core.clock import Clock
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.config import Config, ConfigError, Secrets, check_slack_secrets
from bot.core.platform import Platform, ServesHttp

ADAPTERS = {
    "discord": "adapters.discord.platform",
    "slack": "adapters.slack.platform",
    "console": "adapters.console.platform",
}


class PlatformFactory(Protocol):
    """What an adapter module exposes as `create_platform`."""

    def __call__(
        self,
        config: Config,
        secrets: Secrets,
        directory: CommunityDirectory,
        commands: CommandTable,
        clock: Clock,
    ) -> Platform: ...


def _factory(name: str) -> PlatformFactory:
    module = ADAPTERS[name]
    if module in sys.modules or not gc.isenabled():
        factory: PlatformFactory = importlib.import_module(module).create_platform
        return factory
    # An SDK loads some 100,000 objects that live as long as the process: load it uncollected
    # and freeze it out of later collections, as bot/__main__.py does for the command.
    gc.disable()
    try:
        factory = importlib.import_module(module).create_platform
    finally:
        gc.freeze()
        gc.enable()
    return factory


def console_wanted(config: Config, secrets: Secrets) -> bool:
    """The console runs when asked, or by default when no platform token is set."""
    if config.console.enabled == "on":
        return True
    if config.console.enabled == "off":
        return False
    return not secrets.any_platform


_TOKENS = {"discord": "DISCORD_TOKEN", "slack": "SLACK_BOT_TOKEN"}


def check_tokens(config: Config, secrets: Secrets) -> None:
    """Refuse what would start on no platform and idle, saying nothing about why (a token no
    community uses, or no platform at all), and a platform that would refuse to start."""
    given = {"discord": secrets.discord_token, "slack": secrets.slack_bot_token}
    spanned = {name for community in config.communities for name in community.platforms}
    for platform, token in given.items():
        if token and platform not in spanned:
            first = config.communities[0].name
            raise ConfigError(
                f"{config.source}: {_TOKENS[platform]} is set, but no community is on "
                f"{platform}; add a [communities.{platform}] table with its channels to a "
                f"community (e.g. under name = {first!r}, see config.example.toml), or unset "
                f"{_TOKENS[platform]}"
            )
    if secrets.slack_bot_token:
        check_slack_secrets(config, secrets)  # what `run` would refuse, `check` refuses too
    if not secrets.any_platform and not console_wanted(config, secrets):
        raise ConfigError(
            f"{config.source}: no platform would run: neither DISCORD_TOKEN nor SLACK_BOT_TOKEN "
            'is set and console.enabled is false; set a token, or set [console] enabled = "auto"'
        )


def build_platforms(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> list[Platform]:
    """The platforms this configuration and environment ask for."""
    check_tokens(config, secrets)
    on = {name for community in config.communities for name in community.platforms}
    args = (config, secrets, directory, commands, clock)
    wanted: list[Platform] = []
    if secrets.discord_token and "discord" in on:
        wanted.append(_factory("discord")(*args))
    if secrets.slack_bot_token and "slack" in on:
        wanted.append(_factory("slack")(*args))
    if console_wanted(config, secrets):
        wanted.append(_factory("console")(*args))
    return wanted


def http_routes(config: Config, platforms: Sequence[Platform]) -> list[web.AbstractRouteDef]:
    """The HTTP endpoints platforms serve (Slack's /slack/events in HTTP mode)."""
    routes: list[web.AbstractRouteDef] = []
    for platform in platforms:
        if not isinstance(platform, ServesHttp) or not (served := platform.http_routes()):
            continue
        if not config.web.enabled:
            raise ConfigError(
                f"{config.source}: web.enabled is false, but {platform.name} needs the "
                "web server for its HTTP endpoint; set [web] enabled = true"
            )
        routes.extend(served)
    return routes
