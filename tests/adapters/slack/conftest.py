"""Fixtures: a fake Slack, a recording sink, and the real bolt-based platform wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.slack.platform import SlackPlatform
from bot.core import CommunityDirectory, ManualClock
from bot.core.config import Config
from tests.fakes.slack_server import FakeSlack
from tests.helpers import SLACK_START as START
from tests.helpers import Factory, RecordingSink, Started, commands, secrets, slack_config


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    server.add_channel("C0GENERAL", "general")
    server.add_channel("C0RESOURCE", "resources")
    server.add_user("UALICE", "alice", tz="Europe/Berlin")
    server.add_user("UFRAN", "fran", tz="America/New_York")
    server.add_user("UCARL", "carl")
    server.add_user("UOTHERBOT", "otherbot", is_bot=True)
    server.add_usergroup("S0FACILS", "facilitators", ["UFRAN"])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_platform(fake: FakeSlack) -> AsyncIterator[Factory]:
    """Start real SlackPlatforms against the fake; stopped at the end of the test."""
    running: list[SlackPlatform] = []

    async def start(
        mode: str = "socket",
        sink: RecordingSink | None = None,
        config: Config | None = None,
        **options: Any,
    ) -> Started:
        config = config or slack_config(fake, mode)
        directory = CommunityDirectory(config)
        options.setdefault("post_interval", 0.0)
        options.setdefault("ping_interval", 0.5)
        table = options.pop("commands", None) or commands()
        platform = SlackPlatform(config, secrets(), directory, table, ManualClock(START), **options)
        sink = sink or RecordingSink()
        sink.directory = directory
        await platform.start(sink)
        running.append(platform)
        if mode == "socket":
            await fake.wait_connected()
        return platform, sink, directory

    yield start
    for platform in running:
        await platform.stop()


@pytest.fixture
async def http_endpoint() -> AsyncIterator[Callable[[SlackPlatform], Awaitable[str]]]:
    """Serve a platform's HTTP routes like the app's web server; returns the events URL."""
    runners: list[web.AppRunner] = []

    async def serve(platform: SlackPlatform) -> str:
        app = web.Application()
        app.add_routes(platform.http_routes())
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"

    yield serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
