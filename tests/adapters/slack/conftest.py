"""Fixtures: a fake Slack, a recording sink, and the real bolt-based platform wired to both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.slack.platform import SlackPlatform
from bot.config import parse_config
from bot.core import (
    ChannelRef,
    CommandSpec,
    CommandTable,
    CommunityDirectory,
    Event,
    ManualClock,
    MessageReceived,
    Param,
    ParamKind,
    Role,
    Secrets,
)
from bot.core.config import Config
from bot.core.events import event_channel
from bot.core.platform import Bound, apply_binding
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class RecordingSink:
    """An EventSink that stores each key once, like the dispatcher, and keeps cursors."""

    def __init__(self) -> None:
        self.deliveries: list[Event] = []
        self.stored: dict[str, Event] = {}
        self.cursors: dict[ChannelRef, str] = {}
        self.fail_with: Exception | None = None
        self.refused = 0
        self.bindings: list[Bound] = []
        self.directory: CommunityDirectory | None = None  # where bindings go, like the runtime

    def bind(self, binding: Bound) -> None:
        self.bindings.append(binding)
        if self.directory is not None:
            apply_binding(self.directory, binding)

    async def deliver(self, event: Event) -> None:
        if self.fail_with is not None:
            self.refused += 1
            raise self.fail_with
        self.deliveries.append(event)
        if event.key in self.stored:
            return
        self.stored[event.key] = event
        if isinstance(event, MessageReceived) and event.cursor:
            channel = event_channel(event)
            self.cursors[channel] = max(self.cursors.get(channel, ""), event.cursor)

    async def cursor(self, channel: ChannelRef) -> str | None:
        return self.cursors.get(channel)

    def events(self, kind: type[Any] = object) -> list[Any]:
        return [event for event in self.stored.values() if isinstance(event, kind)]


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll until `check()` holds, failing after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def commands() -> CommandTable:
    """A small command table like the services declare."""
    table = CommandTable()
    table.add(
        CommandSpec(
            name="help",
            help="What you can use",
            params=(Param(name="command", help="a command", required=False),),
        )
    )
    table.add(
        CommandSpec(
            name="goal",
            help="Your goals",
            subcommands=(
                CommandSpec(name="show", help="Show your goal"),
                CommandSpec(
                    name="set",
                    help="Set your goal",
                    params=(Param(name="text", help="the goal", rest=True),),
                ),
            ),
        )
    )
    table.add(
        CommandSpec(
            name="schedule",
            help="Schedule a gathering",
            role=Role.FACILITATOR,
            params=(
                Param(name="title", help="what it is"),
                Param(name="when", help="e.g. 2026-12-01 18:00"),
                Param(name="minutes", help="how long", kind=ParamKind.INTEGER),
                Param(
                    name="kind",
                    help="where",
                    kind=ParamKind.CHOICE,
                    choices=("online", "onsite"),
                    required=False,
                ),
            ),
        )
    )
    return table


def slack_config(fake: FakeSlack, mode: str = "socket", **slack: Any) -> Config:
    """A one-community config spanning #general and #resources."""
    section = {
        "channels": ["general", "#resources"],
        "announcements": "general",
        "facilitators": ["UCARL"],
        "facilitator_roles": ["facilitators"],
        **slack,
    }
    return parse_config(
        {
            "slack": {"mode": mode, "api_base_url": fake.api_url},
            "communities": [{"name": "demo", "timezone": "Europe/Berlin", "slack": section}],
        }
    )


def secrets() -> Secrets:
    return Secrets(
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_signing_secret=SIGNING_SECRET
    )


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


Started = tuple[SlackPlatform, RecordingSink, CommunityDirectory]
Factory = Callable[..., Awaitable[Started]]


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
        platform = SlackPlatform(
            config, secrets(), directory, commands(), ManualClock(START), **options
        )
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
