"""Discord end-to-end benchmark: a fixed offered load of member messages, each with a link,
through the local Discord-compatible server, the real discord.py client, the adapter, the
dispatcher and SQLite; latency is from MESSAGE_CREATE sent to the bookmark reaction received.

Baseline, measured in the same run at the same load: a bare discord.py client on the same
server that reacts straight from `on_message` (no translation, storage or dispatcher), so
the ratio shows what the bot adds over the library itself. A middle run ("adapter") puts
our adapter in front of a sink that reacts at once, to separate the adapter's share from
the dispatcher's and the database's.

The bot's run also types into /timezone and /rsvp ten times a second (autocomplete) and
reports those answers' p99 (target: below 500 ms while the messages pour in).

Usage: python bench/discord_e2e.py [messages_per_second] [seconds]   (default 200 30)
The server runs on the same event loop as the client, so its own work counts against the
figures: they are an upper bound for the bot's share. CPU is the process's (every thread's)
over the offered window, the server's included on both sides.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from discord.http import Route

from adapters.discord.platform import DiscordPlatform, intents
from bot.app import Application
from bot.config import parse_config
from bot.core.actions import React
from bot.core.clock import SystemClock
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.config import Secrets
from bot.core.events import Event, MessageReceived
from bot.core.platform import Bound, UnreadRange
from bot.core.refs import ChannelRef
from tests.fakes.discord_server import FakeDiscord, Request

REACTION = "/reactions/"


class Run:
    """One measured run: offered load in, latencies out."""

    def __init__(self, fake: FakeDiscord, channel: str, author: str) -> None:
        self.fake, self.channel, self.author = fake, channel, author
        self.sent: dict[str, float] = {}

    async def offer(self, rate: float, seconds: float) -> None:
        """Send `rate` messages per second for `seconds`, on a fixed schedule."""
        total = int(rate * seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(total):
            due = start + index / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            payload = self.fake.post(self.channel, self.author, f"read https://example.org/{index}")
            self.sent[payload["id"]] = time.monotonic()
            await self.fake.dispatch("MESSAGE_CREATE", payload)

    async def ask(self, rate: float, seconds: float) -> list[float]:
        """Meanwhile, type into /timezone and /rsvp at `rate` a second (autocomplete); return
        each answer's latency (ms), from the interaction sent to its callback received."""
        loop = asyncio.get_running_loop()
        start, latencies = loop.time(), []
        asked: list[tuple[str, float]] = []
        for index in range(int(rate * seconds)):
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            command, option = ("timezone", "zone") if index % 2 else ("rsvp", "id")
            typed = [{"type": 3, "name": option, "value": "ber"[: index % 4], "focused": True}]
            payload = await self.fake.interaction(
                self.channel, self.author, command, typed, autocomplete=True
            )
            asked.append((payload["id"], time.monotonic()))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answered = {
                r.path.split("/")[2]: r.at
                for r in self.fake.requests
                if r.method == "POST" and r.path.endswith("/callback")
            }
            if all(i in answered for i, _ in asked):
                break
            await asyncio.sleep(0.05)
        for interaction, sent in asked:
            if interaction in answered:
                latencies.append((answered[interaction] - sent) * 1000)
        return sorted(latencies)

    def reactions(self) -> dict[str, Request]:
        """The first reaction PUT seen for each message."""
        seen: dict[str, Request] = {}
        for request in self.fake.requests:
            if request.method == "PUT" and REACTION in request.path:
                message = request.path.split("/")[4]
                seen.setdefault(message, request)
        return seen

    async def wait_done(self, within: float) -> None:
        """Wait until every message has its reaction (bounded)."""
        deadline = time.monotonic() + within
        while len(self.reactions()) < len(self.sent) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a record with a deadline
            await asyncio.sleep(0.05)

    def figures(self) -> dict[str, float]:
        """Throughput and latency percentiles (ms)."""
        reactions = self.reactions()
        latencies = sorted(
            (reactions[m].at - sent) * 1000 for m, sent in self.sent.items() if m in reactions
        )
        if not latencies:
            return {"done": 0, "offered": len(self.sent)}
        first = min(self.sent.values())
        last = max(r.at for r in reactions.values())
        return {
            "offered": len(self.sent),
            "done": len(latencies),
            "per_second": len(latencies) / (last - first),
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "max": latencies[-1],
        }


async def world() -> tuple[FakeDiscord, str, str, str]:
    """A fake Discord with one guild, one channel and one member."""
    fake = FakeDiscord(zlib_stream=True)
    guild = fake.add_guild("Bench")
    channel = fake.add_channel(guild, "resources")
    member = fake.add_member(guild, name="alice")
    await fake.start()
    return fake, guild, channel, member


async def measure(
    rate: float,
    seconds: float,
    setup: Callable[[FakeDiscord, str], Awaitable[Callable[[], Awaitable[None]]]],
    *,
    autocomplete_rate: float = 0.0,
) -> dict[str, float]:
    """Start a world, let `setup` connect a client, offer the load (and autocompletes at
    `autocomplete_rate` a second meanwhile), return the figures."""
    fake, guild, channel, member = await world()
    teardown = await setup(fake, guild)
    try:
        run = Run(fake, channel, member)
        asking = (
            asyncio.create_task(run.ask(autocomplete_rate, seconds)) if autocomplete_rate else None
        )
        cpu_before = time.process_time()
        await run.offer(rate, seconds)
        await run.wait_done(within=30)
        figures = run.figures()
        figures["cpu"] = time.process_time() - cpu_before
        if asking is not None:
            answered = await asking
            figures["asked"] = autocomplete_rate * seconds
            figures["answered"] = len(answered)
            if answered:
                figures["autocomplete_p99"] = answered[
                    min(len(answered) - 1, int(len(answered) * 0.99))
                ]
                figures["autocomplete_max"] = answered[-1]
        return figures
    finally:
        await teardown()
        await fake.stop()


async def bare_client(fake: FakeDiscord, guild: str) -> Callable[[], Awaitable[None]]:
    """The baseline: discord.py alone, reacting in on_message."""
    Route.BASE = fake.api_base
    client = discord.AutoShardedClient(
        intents=intents(), guild_ready_timeout=0.05, chunk_guilds_at_startup=False
    )
    ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        ready.set()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await message.add_reaction("🔖")

    await client.login(fake.token)
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(ready.wait(), 10)

    async def teardown() -> None:
        await client.close()
        await task

    return teardown


class ReactingSink:
    """An EventSink with no storage: reacts to every member message at once (adapter only)."""

    def __init__(self) -> None:
        self.platform: DiscordPlatform | None = None

    async def deliver(self, event: Event) -> None:
        """React straight away."""
        if isinstance(event, MessageReceived) and self.platform is not None:
            await self.platform.perform(React(message=event.ref, emoji="bookmark"))

    async def cursor(self, channel: ChannelRef) -> str | None:
        """No backfill."""
        return None

    async def open_backfill(
        self,
        channels: Sequence[ChannelRef],
        *,
        unseen_from_oldest: bool = False,
        begins: Mapping[ChannelRef, str] | None = None,
    ) -> list[UnreadRange]:
        """No backfill: nothing is unread."""
        return []

    async def advance_backfill(
        self, unread: UnreadRange, *, after: str | None = None, until: str | None = None
    ) -> None:
        """No backfill."""

    async def close_backfill(self, unread: UnreadRange, *, read_to: str | None = None) -> None:
        """No backfill."""

    def bind(self, binding: Bound) -> None:
        """No directory: the bench answers every channel."""


def adapter_setup(
    directory: Path,
) -> Callable[[FakeDiscord, str], Awaitable[Callable[[], Awaitable[None]]]]:
    """The adapter and discord.py, without dispatcher or storage."""

    async def setup(fake: FakeDiscord, guild: str) -> Callable[[], Awaitable[None]]:
        config = parse_config(
            {
                "storage": {"url": f"sqlite+aiosqlite:///{directory / 'unused.db'}"},
                "discord": {"api_base_url": fake.api_base},
                "communities": [
                    {"name": "bench", "discord": {"guild": guild, "channels": ["resources"]}}
                ],
            },
            source="bench.toml",
        )
        sink = ReactingSink()
        platform = DiscordPlatform(
            config,
            fake.token,
            CommunityDirectory(config),
            CommandTable(),
            SystemClock(),
            guild_ready_timeout=0.05,
        )
        sink.platform = platform
        await platform.start(sink)
        return platform.stop

    return setup


def bot_setup(
    directory: Path,
) -> Callable[[FakeDiscord, str], Awaitable[Callable[[], Awaitable[None]]]]:
    """The whole bot: adapter, dispatcher, link service, SQLite."""

    async def setup(fake: FakeDiscord, guild: str) -> Callable[[], Awaitable[None]]:
        config = parse_config(
            {
                "storage": {"url": f"sqlite+aiosqlite:///{directory / f'{guild}.db'}"},
                "web": {"enabled": False},
                "fetch": {"previews": False},  # background work; not on the reaction path
                "console": {"enabled": False},
                "discord": {"api_base_url": fake.api_base},
                "communities": [
                    {"name": "bench", "discord": {"guild": guild, "channels": ["resources"]}}
                ],
            },
            source="bench.toml",
        )
        clock = SystemClock()
        app = Application(config, secrets=Secrets(discord_token=fake.token), clock=clock)
        platform = DiscordPlatform(
            config, fake.token, app.directory, app.commands, clock, guild_ready_timeout=0.05
        )
        app._given_platforms = [platform]
        await app.start()
        gc.freeze()  # as `facilitator run` does once started

        async def teardown() -> None:
            await app.stop()
            gc.unfreeze()

        return teardown

    return setup


def show(name: str, figures: dict[str, float]) -> None:
    """Print one run's figures."""
    if not figures.get("done"):
        print(f"{name:>9}: nothing acknowledged of {figures['offered']:.0f} offered")
        return
    print(
        f"{name:>9}: {figures['done']:.0f}/{figures['offered']:.0f} acknowledged, "
        f"{figures['per_second']:.0f} msg/s, p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms, "
        f"CPU {figures['cpu']:.1f} s"
    )


async def main(rate: float, seconds: float) -> None:
    """Run the baseline, then the bot, and print both with their ratio."""
    logging.basicConfig(level=logging.ERROR)
    print(
        f"offered load: {rate:.0f} messages/s for {seconds:.0f} s, each with a link "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
    )
    baseline = await measure(rate, seconds, bare_client)
    show("baseline", baseline)
    with tempfile.TemporaryDirectory() as directory:
        adapter = await measure(rate, seconds, adapter_setup(Path(directory)))
        show("adapter", adapter)
        bot = await measure(rate, seconds, bot_setup(Path(directory)), autocomplete_rate=10.0)
    show("bot", bot)
    if "autocomplete_p99" in bot:
        met = bot["autocomplete_p99"] < 500 and bot["answered"] == bot["asked"]
        print(
            f"autocomplete under that load: {bot['answered']:.0f}/{bot['asked']:.0f} answered, "
            f"p99 {bot['autocomplete_p99']:.1f} ms, max {bot['autocomplete_max']:.1f} ms "
            f"(target p99 < 500 ms: "
            f"{'meets' if met else 'misses'})"
        )
    if baseline.get("done") and adapter.get("done"):
        print(
            f"ratio adapter/baseline: p50 {adapter['p50'] / baseline['p50']:.2f}x, "
            f"p99 {adapter['p99'] / baseline['p99']:.2f}x"
        )
    if baseline.get("done") and bot.get("done"):
        print(
            f"ratio bot/baseline: p50 {bot['p50'] / baseline['p50']:.2f}x, "
            f"p99 {bot['p99'] / baseline['p99']:.2f}x, "
            f"throughput {bot['per_second'] / baseline['per_second']:.2f}x, "
            f"CPU {bot['cpu'] / baseline['cpu']:.2f}x (the server's share counts on both sides)"
        )
        verdict = "meets" if bot["p99"] < 100 and bot["done"] == bot["offered"] else "misses"
        print(f"target p99 < 100 ms with every message acknowledged: {verdict}")


if __name__ == "__main__":
    arguments = [float(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(arguments + [200.0, 30.0][len(arguments) :])))
