"""Helpers shared by test modules: harnesses that run the real application on each
platform, configuration builders, clocks and small readers of what the bot said.

Fixtures stay in the conftest.py files (which import what they need from here). Sections:
clock and configuration, the command line, the console, nudges, Discord, Slack.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.console.platform import ConsolePlatform
from adapters.discord.platform import DiscordPlatform
from adapters.slack.platform import SlackPlatform
from bot.app import Application
from bot.config import parse_config
from bot.core import (
    ChannelRef,
    CommandSpec,
    CommandTable,
    CommunityDirectory,
    Event,
    MessageReceived,
    Param,
    ParamKind,
    Role,
)
from bot.core.actions import Action
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.core.events import event_channel
from bot.core.platform import Bound, UnreadRange, apply_binding
from bot.core.refs import MessageRef
from bot.core.suggestions import Suggestion, SuggestionRequest
from bot.features import FEATURES
from bot.features.members import NAMED, QUOTES
from bot.features.members.consent_store import record_answers
from bot.fetch.client import StaticResolver
from bot.runtime.feature import Feature
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage.database import Database
from bot.storage.schema import links, outbox, shares
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    slash_command,
)

# ---- Clock and configuration -------------------------------------------------------------------


START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def make_config(db_url: str, **overrides: Any) -> Config:
    """A small valid configuration: one console community unless told otherwise."""
    data: dict[str, Any] = {
        "storage": {"url": db_url},
        "web": {"enabled": False},
        "console": {"facilitators": ["fran"]},
        "communities": [
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general", "resources"]},
            }
        ],
    }
    data.update(overrides)
    return parse_config(data, source="test.toml")


# ---- The command line: `python -m bot`, run as a real process ----------------------------------


ROOT = Path(__file__).resolve().parents[1]


def facilitator(
    *args: str, stdin: bytes = b"", cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


def config_file(tmp_path: Path, db: str = "facilitator.db") -> Path:
    text = (ROOT / "config.example.toml").read_text("utf-8")
    text = text.replace("sqlite+aiosqlite:///facilitator.db", f"sqlite+aiosqlite:///{db}")
    text = text.replace("enabled = true ", "enabled = false ")
    text = text.replace("previews = true ", "previews = false ")  # tests never reach the internet
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


# ---- The console: the whole application, typed at line by line ---------------------------------


async def _no_input() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


class ConsoleStory:
    """A running bot with a console; `say()` returns what the bot printed in answer."""

    def __init__(
        self,
        config: Config,
        clock: ManualClock,
        export_dir: Path,
        hosts: Mapping[str, Sequence[str]] | None = None,
        features: Sequence[Feature] = FEATURES,
    ) -> None:
        self.out = io.StringIO()
        # Name resolution is a table: no test ever asks real DNS.
        resolver = StaticResolver(hosts or {})
        self.app = Application(
            config, secrets=Secrets(), clock=clock, resolver=resolver, features=features
        )
        self.console = ConsolePlatform(
            config,
            self.app.directory,
            self.app.commands,
            clock,
            lines=_no_input(),
            out=self.out,
            export_dir=export_dir,
        )
        self.app._given_platforms = [self.console]
        self.clock = clock
        self._seen = 0

    async def __aenter__(self) -> ConsoleStory:
        await self.app.start()
        await self.console.wait_done()  # the empty script: only the banner
        self.output()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.app.stop()

    def output(self) -> str:
        """What was printed since the last call."""
        text = self.out.getvalue()
        new, self._seen = text[self._seen :], len(text)
        return new

    async def tick(self, when: datetime) -> str:
        """Move the clock, let the scheduler run what is due; return what was printed."""
        self.clock.set(when)
        self.app.scheduler.poke()
        await self.app.scheduler.idle()
        await self.app.drain()
        return self.output()

    async def say(self, line: str) -> str:
        """Type one line; return everything printed because of it."""
        await self.console.handle_line(line)
        await self.app.drain()
        return self.output()

    async def allow(self, *names: str, consents: Sequence[str] = (QUOTES, NAMED)) -> None:
        """Console members who said yes to `consents` (quotes and being named)."""
        await allow(self.app.database, *(f"console:/{name}" for name in names), consents=consents)


async def allow(database: Database, *refs: str, consents: Sequence[str] = (QUOTES, NAMED)) -> None:
    """Members who said yes to `consents`, as `/settings quotes=on named=on` records it, but
    without a command in the transcript (or a first contact that would welcome them)."""
    async with database.transaction() as conn:
        for ref in refs:
            await record_answers(conn, ref, dict.fromkeys(consents, True), START)


def refusing(story: ConsoleStory, refuse: Callable[[Action], Exception | None]) -> None:
    """Make the story's console answer the actions `refuse` gives an error for with that
    error, as a platform refusing them would (the rest it performs as usual)."""
    perform = story.console.perform

    async def performing(action: Action) -> MessageRef | None:
        error = refuse(action)
        if error is not None:
            raise error
        return await perform(action)

    story.console.perform = performing  # type: ignore[method-assign]


async def outbox_rows(app: Application) -> list[Any]:
    """Every outbox row, in the order they were written."""
    async with app.database.reading() as conn:
        return list((await conn.execute(select(outbox).order_by(outbox.c.id))).all())


# ---- Nudges: readers of the console's output, and a config with nudges on ----------------------


DAY0 = datetime(2026, 11, 23, tzinfo=UTC)  # the Monday of START, at midnight UTC
NUDGE = re.compile(r"^✉ to ([\w.-]+): A small idea from", re.M)


def at(day: int, hour: int = 10) -> datetime:
    """`day` days after DAY0, at `hour`:00 UTC."""
    return DAY0 + timedelta(days=day, hours=hour)


def nudged(said: str) -> list[str]:
    """Who got a nudge in this output, in order."""
    return NUDGE.findall(said)


def nudge_texts(said: str) -> dict[str, list[str]]:
    """Each member's nudge texts in this output."""
    found: dict[str, list[str]] = {}
    for block in re.split(r"^(?=✉ to )", said, flags=re.M):
        match = NUDGE.match(block)
        if match:
            found.setdefault(match.group(1), []).append(block.strip())
    return found


def nudge_config(
    config_for: Callable[..., Config], *, welcome: bool = False, **nudge_section: Any
) -> Config:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general", "resources"], "digest": "general"},
        "members": {"welcome": welcome},
    }
    if nudge_section:
        community["nudges"] = nudge_section
    return config_for(communities=[community])


async def tick_days(story: ConsoleStory, days: Iterable[int]) -> dict[str, list[int]]:
    """Tick at 10:00 UTC on each of `days`; the days each member got a nudge."""
    got: dict[str, list[int]] = {}
    for day in days:
        for name in nudged(await story.tick(at(day))):
            got.setdefault(name, []).append(day)
    return got


# ---- Discord: a fake guild, and the application running discord.py on it -----------------------


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


async def eventually_dm(world: World, user: str, words: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        channel = world.fake.dm_channels.get(user)
        for message in world.fake.messages.get(channel or "", {}).values():
            if words in message["content"]:
                return message
        assert asyncio.get_running_loop().time() < deadline, f"no DM with {words!r}"
        await asyncio.sleep(0.01)


# ---- Slack: a recording sink, configs and the application on the real bolt app -----------------


# The Slack tests' clock (a Friday); their modules import it as START.
SLACK_START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class RecordingSink:
    """An EventSink that stores each key once, like the dispatcher, and keeps cursors and
    unread ranges the way it does (each delivery "commits" at once)."""

    def __init__(self) -> None:
        self.deliveries: list[Event] = []
        self.stored: dict[str, Event] = {}
        self.claimed: set[str] = set()
        self.cursors: dict[ChannelRef, str] = {}
        self.ranges: dict[int, UnreadRange] = {}
        self.closed: list[UnreadRange] = []
        self._range_ids = 0
        self.fail_with: Exception | None = None
        self.refused = 0
        self.bindings: list[Bound] = []
        self.directory: CommunityDirectory | None = None  # where bindings go, like the runtime
        self.suggestions: dict[str, list[Suggestion]] = {}  # what `suggest` answers, by kind
        self.suggested: list[SuggestionRequest] = []

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
        if isinstance(event, MessageReceived) and event.cursor and not event.backfilled:
            channel = event_channel(event)
            self.cursors[channel] = max(self.cursors.get(channel, ""), event.cursor)

    async def claim(self, event: Event) -> bool:
        if event.key in self.claimed:
            return False
        self.claimed.add(event.key)
        return True

    async def cursor(self, channel: ChannelRef) -> str | None:
        return self.cursors.get(channel)


    async def open_backfill(
        self,
        channels: Sequence[ChannelRef],
        *,
        unseen_from_oldest: bool = False,
        begins: Mapping[ChannelRef, str] | None = None,
    ) -> list[UnreadRange]:
        before = set(self.ranges)
        known = [self.cursors[c] for c in channels if c in self.cursors]
        floor = min(known) if known and unseen_from_oldest else None
        for channel in dict.fromkeys(channels):
            after = self.cursors.get(channel, floor)
            if after is None and begins and channel in begins:
                self.cursors[channel] = begins[channel]
                continue
            covered = any(
                r.channel == channel and r.until is None and r.after <= after
                for r in self.ranges.values()
                if after is not None
            )
            if after is not None and not covered:
                self._range_ids += 1
                self.ranges[self._range_ids] = UnreadRange(self._range_ids, channel, after)
        return [
            UnreadRange(r.id, r.channel, r.after, r.until, r.id in before)
            for r in self.ranges.values()
            if r.channel in channels
        ]

    async def advance_backfill(
        self, unread: UnreadRange, *, after: str | None = None, until: str | None = None
    ) -> None:
        stored = self.ranges.get(unread.id)
        if stored is None:
            return
        if after is not None and after > stored.after:
            stored = UnreadRange(stored.id, stored.channel, after, stored.until)
        if until is not None and (stored.until is None or until < stored.until):
            stored = UnreadRange(stored.id, stored.channel, stored.after, until)
        self.ranges[unread.id] = stored

    async def suggest(self, request: SuggestionRequest) -> list[Suggestion]:
        self.suggested.append(request)
        return list(self.suggestions.get(request.source, []))

    async def close_backfill(self, unread: UnreadRange, *, read_to: str | None = None) -> None:
        if self.ranges.pop(unread.id, None) is not None:
            self.closed.append(unread)
        if read_to is not None:
            self.cursors[unread.channel] = max(self.cursors.get(unread.channel, ""), read_to)

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


Started = tuple[SlackPlatform, RecordingSink, CommunityDirectory]
Factory = Callable[..., Awaitable[Started]]


class Gatherings(Service):
    """A facilitator-only command with several arguments, as later services declare."""

    name = "gatherings-test"
    spec = CommandSpec(
        name="schedule",
        help="Schedule a gathering",
        role=Role.FACILITATOR,
        params=(Param(name="title", help="what"), Param(name="when", help="when")),
    )

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        return ((self.spec, {("schedule",): self.schedule}),)

    async def schedule(self, call: Invocation, tx: Transaction) -> list[Action]:
        return [call.answer(f"Scheduled {call.arguments['title']} at {call.arguments['when']}")]


def story_config(fake: FakeSlack, tmp_path: Path, mode: str = "socket", **extra: Any) -> Config:
    data: dict[str, Any] = {
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"},
        "web": {"enabled": mode == "http", "host": "127.0.0.1", "port": 0},
        "fetch": {"previews": False},  # no outbound lookups from tests
        "console": {"enabled": False, "facilitators": ["fran"]},
        "slack": {"mode": mode, "api_base_url": fake.api_url},
        "communities": [
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "slack": {
                    "channels": ["general", "resources"],
                    "facilitator_roles": ["facilitators"],
                },
                **extra,
            }
        ],
    }
    return parse_config(data, source="story.toml")


class SlackStory:
    """The application with a Slack platform (pacing off) against the fake."""

    def __init__(
        self,
        fake: FakeSlack,
        config: Config,
        *,
        console: bool = False,
        also: Callable[[Application, ManualClock], list[Any]] | None = None,
        home_interval: float = 0.0,
    ) -> None:
        self.fake = fake
        self.clock = ManualClock(SLACK_START)
        self.app = Application(
            config, secrets=secrets(), clock=self.clock, resolver=StaticResolver({})
        )
        self.app.dispatcher.add_service(Gatherings())
        self.slack = SlackPlatform(
            config,
            secrets(),
            self.app.directory,
            self.app.commands,
            self.clock,
            post_interval=0.0,
            ping_interval=0.5,
            home_interval=home_interval,
        )
        platforms: list[Any] = [self.slack]
        self.console_out = io.StringIO()
        if console:
            self.console = ConsolePlatform(
                config,
                self.app.directory,
                self.app.commands,
                self.clock,
                lines=_no_input(),
                out=self.console_out,
                export_dir=Path(config.storage.url.split("///", 1)[1]).parent,
            )
            platforms.append(self.console)
        if also is not None:  # more platforms on the same application (Discord)
            platforms.extend(also(self.app, self.clock))
        self.app._given_platforms = platforms

    async def __aenter__(self) -> SlackStory:
        await self.app.start()
        await self.slack.wait_backfilled()
        await self.app.drain()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.app.stop()

    async def event(self, event: dict[str, Any], event_id: str, retry: int = 0) -> None:
        """Push an Events API envelope over Socket Mode; wait for its ack and its effects."""
        body = event_callback(event, event_id=event_id)
        await self.fake.wait_ack(
            await self.fake.push_envelope("events_api", body, retry_attempt=retry)
        )
        await self.app.drain()

    async def command(
        self, text: str, user: str, channel: str = "C0GENERAL"
    ) -> list[dict[str, Any]]:
        """Run `/facilitator <text>`; return what was posted to its response_url."""
        url = self.fake.new_response_url()
        form = slash_command("/facilitator", text, user=user, channel=channel, response_url=url)
        await self.fake.wait_ack(await self.fake.push_envelope("slash_commands", form))
        await self.app.drain()
        return self.fake.responses[url.rsplit("/", 1)[1]]

    async def count(self, table: Any) -> int:
        async with self.app.database.reading() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def answer_text(posts: list[dict[str, Any]]) -> str:
    return "\n".join(
        b["text"]["text"] for post in posts for b in post["blocks"] if b["type"] == "section"
    )
