"""The dispatcher: de-duplication, isolation of failing services, crash safety, communities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.core.actions import Action, Answer, Post, React
from bot.core.clock import ManualClock
from bot.core.commands import CommandSpec, Role
from bot.core.communities import Purpose
from bot.core.config import Config, Secrets
from bot.core.events import Author, CommandInvoked, MessageReceived
from bot.core.platform import Capability, EventSink
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.runtime.service import CommandHandler, Delivered, Invocation, Service, Transaction
from bot.storage.schema import links, messages, shares

pytestmark = pytest.mark.both_backends


class RecordingPlatform:
    """A platform that is only a record of what the bot did (the wire is in-process)."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.capabilities = frozenset({Capability.REACTIONS})
        self.performed: list[Action] = []

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def perform(self, action: Action) -> MessageRef | None:
        self.performed.append(action)
        return None

    async def stop(self) -> None:
        return None


def member(name: str, platform: str = "test") -> Author:
    return Author(ref=MemberRef(platform, "", name), name=name)


def message(
    key: str, text: str, *, who: str = "alice", channel: str = "general", clock: ManualClock
) -> MessageReceived:
    ref = MessageRef(ChannelRef("test", "space", channel), key)
    return MessageReceived(key=key, ref=ref, author=member(who), text=text, sent_at=clock.now())


async def started(
    config: Config, clock: ManualClock, *services: Service
) -> tuple[Application, RecordingPlatform]:
    platform = RecordingPlatform()
    app = Application(config, secrets=Secrets(), clock=clock, platforms=[platform])
    for service in services:
        app.dispatcher.add_service(service)
    await app.start()
    for community in config.communities:
        for name in ("general", "resources"):
            channel = ChannelRef(
                "test", "space" if community.name == "demo" else community.name, name
            )
            app.directory.bind_channel(channel, community.name, {Purpose.WATCHED})
    return app, platform


async def count(app: Application, table: object) -> int:
    async with app.database.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_a_replayed_delivery_stores_and_posts_nothing_twice(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app, platform = await started(config_for(), clock)
    event = message("m1", "look https://example.org/a", clock=clock)
    for _ in range(3):
        await app.dispatcher.deliver(event)
    await app.drain()
    await app.dispatcher.deliver(event)  # a later replay, in another batch
    await app.drain()
    assert await count(app, shares) == 1
    assert await count(app, messages) == 1
    # One reaction, one critical-literacy question (a bare link) and one welcome: none twice.
    assert sorted(type(a).__name__ for a in platform.performed) == [
        "React",
        "SendDirect",
        "SendDirect",
    ]
    await app.stop()


class Exploding(Service):
    name = "exploding"

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        for delivered in batch:
            assert isinstance(delivered.event, MessageReceived)
            if "boom" in delivered.event.text:
                raise RuntimeError("this service breaks on boom")
        return []


async def test_a_failing_service_is_isolated_and_logged(
    config_for: Callable[..., Config], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    app, platform = await started(config_for(), clock, Exploding())
    for key, text in (("a", "https://a.org"), ("b", "boom https://b.org"), ("c", "https://c.org")):
        await app.dispatcher.deliver(message(key, text, clock=clock))
    await app.drain()
    assert await count(app, links) == 3  # the link service still saw every message
    assert "service exploding failed on event b" in caplog.text
    assert len([a for a in platform.performed if isinstance(a, React)]) == 3
    await app.stop()


class Stalling(Service):
    """Blocks inside the transaction until cancelled: a crash before the commit."""

    name = "stalling"

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        self.entered.set()
        await asyncio.Event().wait()
        return []


async def test_a_crash_between_receipt_and_commit_loses_and_doubles_nothing(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for()
    stalling = Stalling()
    app, _ = await started(config, clock, stalling)
    event = message("m1", "https://example.org/a", clock=clock)
    await app.dispatcher.deliver(event)
    await asyncio.wait_for(stalling.entered.wait(), timeout=10)
    assert app.dispatcher._worker is not None
    app.dispatcher._worker.cancel()  # the process dies mid-transaction
    with pytest.raises(asyncio.CancelledError):
        await app.dispatcher._worker
    app.dispatcher._worker = None
    await app.database.close()
    assert await count(app, shares) == 0

    restarted, platform = await started(config, clock)  # the platform redelivers
    await restarted.dispatcher.deliver(event)
    await restarted.dispatcher.deliver(event)
    await restarted.drain()
    assert await count(restarted, shares) == 1
    assert len([a for a in platform.performed if isinstance(a, React)]) == 1
    await restarted.stop()


ADMIN = CommandSpec(name="announce", help="Post to the channel", role=Role.FACILITATOR)


class Announcer(Service):
    name = "announcer"

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        return ((ADMIN, {("announce",): self.announce}),)

    async def announce(self, call: Invocation, tx: Transaction) -> list[Action]:
        assert isinstance(call.event, CommandInvoked)
        return [Post(channel=call.event.channel, content=call.answer("hello all").content)]


def command(key: str, who: Author, channel: ChannelRef, clock: ManualClock) -> CommandInvoked:
    return CommandInvoked(
        key=key,
        path=("announce",),
        author=who,
        channel=channel,
        invoked_at=clock.now(),
        reply_to=InteractionRef("test", key, channel),
    )


async def test_facilitator_only_commands_are_refused_to_members(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app, platform = await started(config_for(), clock, Announcer())
    channel = ChannelRef("test", "space", "general")
    await app.dispatcher.deliver(command("c1", member("alice"), channel, clock))
    await app.drain()
    # alice's first contact is this command: she is welcomed too (by DM), then answered.
    [answer] = [action for action in platform.performed if isinstance(action, Answer)]
    assert "Only facilitators can use `/announce`" in answer.content.text
    await app.stop()


async def test_two_communities_never_mix(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for(
        communities=[
            {"name": "demo", "timezone": "Europe/Berlin"},
            {"name": "other", "timezone": "America/New_York"},
        ]
    )
    app, _ = await started(config, clock)
    await app.dispatcher.deliver(message("m1", "https://example.org/a", clock=clock))
    other = MessageReceived(
        key="m2",
        ref=MessageRef(ChannelRef("test", "other", "general"), "m2"),
        author=member("bob"),
        text="https://example.org/a",
        sent_at=clock.now(),
    )
    await app.dispatcher.deliver(other)
    clock.advance(timedelta(minutes=1))
    await app.drain()
    async with app.database.reading() as conn:
        rows = (await conn.execute(select(links.c.community, links.c.canonical_url))).all()
    assert sorted(rows) == [("demo", "https://example.org/a"), ("other", "https://example.org/a")]
    await app.stop()


async def test_messages_outside_bound_channels_and_from_bots_are_ignored(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app, platform = await started(config_for(), clock)
    await app.dispatcher.deliver(message("m1", "https://a.org", channel="random", clock=clock))
    robot = Author(ref=MemberRef("test", "", "robot"), name="robot", is_bot=True)
    bot_message = MessageReceived(
        key="m2",
        ref=MessageRef(ChannelRef("test", "space", "general"), "m2"),
        author=robot,
        text="https://b.org",
        sent_at=clock.now(),
    )
    await app.dispatcher.deliver(bot_message)
    await app.drain()
    assert await count(app, links) == 0
    assert platform.performed == []
    await app.stop()
