"""The dispatcher: de-duplicates deliveries, runs services, commits, then performs actions.

Events are group-committed: the worker takes whatever is queued (up to `batch_size`), and one
transaction stores the delivery keys, the services' writes and the channels' backfill cursors
together. A replay stops at its key; a crash before the commit leaves nothing half done.
A failing service is rolled back to its savepoint, retried event by event to isolate the one
that broke it, and logged; the others' work still commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.actions import Action, Answer, Content, Post, action_platform
from bot.core.clock import Clock
from bot.core.commands import (
    CommandSpec,
    CommandTable,
    Role,
    UsageError,
    parse_arguments,
    usage,
    with_prefix,
)
from bot.core.communities import CommunityDirectory
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    event_author,
    event_channel,
    event_time,
)
from bot.core.i18n import Catalog
from bot.core.platform import Bound, Capability, Platform, PlatformError, apply_binding
from bot.core.refs import ChannelRef, MessageRef
from bot.features.engagement.store import Sighting, memberships_of, touch_memberships
from bot.runtime.service import CommandHandler, Delivered, Invocation, Service, Transaction
from bot.storage.database import Database
from bot.storage.repositories import (
    advance_cursors,
    claim_deliveries,
    forgotten_members,
    read_cursor,
    touch_members,
    zones_from_profiles,
)

log = logging.getLogger(__name__)

_STOP = object()


FRESH_FOR = timedelta(minutes=1)  # a member written this recently is not rewritten
BURST_SPAN = timedelta(hours=1)  # ... while their events are this close (backfill bursts)


class _RecentWrites:
    """What this process last wrote about members and memberships.

    A busy member sends many events a minute; rewriting their row for each batch costs a
    statement per batch and tells nothing new. A membership written less than a minute ago
    (this process's clock) is not rewritten for an event less than an hour after the one
    written: live, `last_active_at` lags by under a minute; in a backfill burst (old events
    arriving fast) by under an hour. Drift is judged in days. Entries are remembered only after
    a commit.
    """

    def __init__(self) -> None:
        self.members: dict[str, tuple[str, datetime]] = {}
        # (community, member) -> (facilitator, event time written, when it was written)
        self.memberships: dict[tuple[str, str], tuple[bool, datetime, datetime]] = {}

    def member_is_fresh(self, ref: str, name: str, now: datetime) -> bool:
        known = self.members.get(ref)
        return known is not None and known[0] == name and timedelta(0) <= now - known[1] < FRESH_FOR

    def sighting_is_fresh(self, seen: Sighting, now: datetime) -> bool:
        known = self.memberships.get((seen.community, seen.member_ref))
        return (
            known is not None
            and seen.active
            and not seen.contacted
            and known[0] == seen.facilitator
            and timedelta(0) <= seen.at - known[1] < BURST_SPAN
            and timedelta(0) <= now - known[2] < FRESH_FOR
        )

    async def remember(
        self, members: dict[str, tuple[str, str]], sightings: list[Sighting], now: datetime
    ) -> None:
        if len(self.members) > 100_000 or len(self.memberships) > 100_000:
            self.members.clear()
            self.memberships.clear()
        for ref, (_platform, name) in members.items():
            self.members[ref] = (name, now)
        for seen in sightings:
            key = (seen.community, seen.member_ref)
            if seen.active and (key not in self.memberships or seen.at > self.memberships[key][1]):
                self.memberships[key] = (seen.facilitator, seen.at, now)


class _IsolationNeeded(Exception):
    """A service failed on the fast path: roll back and run the batch again, isolated."""


@dataclass(frozen=True, slots=True)
class _Command:
    spec: CommandSpec
    group: CommandSpec | None
    handler: CommandHandler


class Dispatcher:
    """Turns platform events into stored facts and actions; implements `EventSink`."""

    def __init__(
        self,
        *,
        database: Database,
        directory: CommunityDirectory,
        clock: Clock,
        services: Sequence[Service] = (),
        batch_size: int = 500,
        queue_size: int = 10_000,
    ) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock
        self._services: list[Service] = []
        self._listeners: list[Service] = []
        self._handlers: dict[tuple[str, ...], _Command] = {}
        self.commands = CommandTable()
        self._platforms: dict[str, Platform] = {}
        self._queue: asyncio.Queue[Event | object] = asyncio.Queue(queue_size)
        self._batch_size = batch_size
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._catalogs: dict[str, Catalog] = {}
        self._written = _RecentWrites()
        for service in services:
            self.add_service(service)

    # --- set-up -------------------------------------------------------------------------

    def add_service(self, service: Service) -> None:
        """Register a service and its commands."""
        self._services.append(service)
        if type(service).on_events is not Service.on_events:
            # Only services that listen get a savepoint per batch: each is a database round trip.
            self._listeners.append(service)
        for spec, handlers in service.commands():
            self.commands.add(spec)
            if spec.is_group:
                for sub in spec.subcommands:
                    path = (spec.name, sub.name)
                    if path not in handlers:
                        raise ValueError(f"{service.name}: no handler for /{' '.join(path)}")
                    self._handlers[path] = _Command(sub, spec, handlers[path])
            else:
                if (spec.name,) not in handlers:
                    raise ValueError(f"{service.name}: no handler for /{spec.name}")
                self._handlers[(spec.name,)] = _Command(spec, None, handlers[(spec.name,)])

    def attach(self, platform: Platform) -> None:
        """Let the dispatcher perform actions on `platform`."""
        self._platforms[platform.name] = platform

    def capabilities(self, platform: str) -> frozenset[Capability]:
        """What a connected platform can do (nothing when it is not connected)."""
        connected = self._platforms.get(platform)
        return frozenset(connected.capabilities) if connected is not None else frozenset()

    def texts(self, language: str) -> Catalog:
        """The message catalog for a language (cached)."""
        if language not in self._catalogs:
            self._catalogs[language] = Catalog(language)
        return self._catalogs[language]

    async def start(self) -> None:
        """Start the worker that processes delivered events."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="dispatcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._worker is not None:
            await self._queue.put(_STOP)
            await self._worker
            self._worker = None
        await self._settle_background()

    # --- EventSink ----------------------------------------------------------------------

    def bind(self, binding: Bound) -> None:
        """Record a channel or space a platform bound (before it delivers their events)."""
        apply_binding(self._directory, binding)

    async def deliver(self, event: Event) -> None:
        """Queue an event for processing (waits when the queue is full: back-pressure)."""
        await self._queue.put(event)

    async def cursor(self, channel: ChannelRef) -> str | None:
        """The backfill position of the last committed message in `channel`."""
        async with self._database.reading() as conn:
            return await read_cursor(conn, str(channel))

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        await self._queue.join()
        await self._settle_background()

    def track(self, task: asyncio.Task[None]) -> None:
        """Count work started elsewhere (scheduler wake-ups) in `drain()`."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _settle_background(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # --- processing ---------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            first = await self._queue.get()
            batch: list[Event] = []
            stop = first is _STOP
            if not stop:
                batch.append(first)  # type: ignore[arg-type]
            while not stop and len(batch) < self._batch_size and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
            try:
                if batch:
                    await self.process(batch)
            except Exception:
                log.exception("a batch of %d events could not be processed", len(batch))
            finally:
                for _ in range(len(batch) + (1 if stop else 0)):
                    self._queue.task_done()
            if stop:
                return

    async def process(self, batch: Sequence[Event]) -> None:
        """Process events in one transaction, then perform their actions in order.

        The first attempt runs services without savepoints (each is a database round trip);
        only when a service or command fails is the batch rolled back and run again with a
        savepoint around each, so the failure is isolated and the rest commits.
        """
        try:
            actions, after = await self._attempt(batch, isolate=False)
        except _IsolationNeeded:
            actions, after = await self._attempt(batch, isolate=True)
        if actions or after:
            task = asyncio.create_task(self._perform_all(actions, after))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _attempt(
        self, batch: Sequence[Event], *, isolate: bool
    ) -> tuple[list[Action], list[Callable[[], Awaitable[None]]]]:
        now = self._clock.now()
        actions: list[Action] = []
        async with self._database.transaction() as conn:
            tx = Transaction(conn=conn, now=now, isolate=isolate)
            fresh_keys = await claim_deliveries(conn, [event.key for event in batch], now)
            fresh: list[Event] = []
            for event in batch:
                if event.key in fresh_keys:
                    fresh_keys.discard(event.key)  # a repeat inside the batch is a replay too
                    fresh.append(event)
            if fresh:
                actions = await self._handle(fresh, tx)
        return actions, tx.take_after_commit()

    async def _handle(self, events: list[Event], tx: Transaction) -> list[Action]:
        conn = tx.conn
        authors = {str(ref) for event in events if (ref := event_author(event)) is not None}
        forgotten = await forgotten_members(conn, list(authors))
        homes = await self._homes_of_direct_authors(conn, events)
        passive: list[Delivered] = []
        commands: list[tuple[Event, Delivered]] = []
        seen: dict[str, tuple[str, str]] = {}
        profile_zones: dict[str, str] = {}
        cursors: dict[str, str] = {}
        sightings: list[Sighting] = []
        for event in events:
            author = event_author(event)
            author_key = str(author) if author else None
            is_command = isinstance(event, CommandInvoked | ButtonPressed)
            if (
                author_key in forgotten
                and not is_command
                and self._written_before(event, forgotten[author_key])
            ):
                continue  # a forgotten member's old message: never re-create their data
            channel = event_channel(event)
            community_name = self._directory.community_for(channel)
            # A button on a bound channel's message belongs there; one anywhere else is on a DM
            # the bot sent (a welcome, a nudge): pressing it is talking to the bot.
            if community_name is None and _is_direct(event):
                community_name = homes.get(author_key or "") or (
                    self._directory.default_community(channel.platform)
                )
            if community_name is None:
                if is_command:
                    commands.append((event, self._unbound(event)))
                continue
            settings = self._directory.settings(community_name)
            human = getattr(event, "author", None)
            is_bot = isinstance(human, Author) and human.is_bot
            if isinstance(human, Author) and not is_bot:
                seen[str(human.ref)] = (human.ref.platform, human.name)
                if human.timezone:
                    profile_zones[str(human.ref)] = human.timezone
            is_facilitator = isinstance(human, Author) and self._directory.is_facilitator(
                community_name, human
            )
            if isinstance(human, Author) and not is_bot:
                sightings.append(
                    Sighting(
                        community=community_name,
                        member_ref=str(human.ref),
                        at=event_time(event),
                        active=True,
                        contacted=is_command or getattr(event, "is_direct", False),
                        facilitator=is_facilitator,
                    )
                )
            elif isinstance(event, MemberJoined) and not event.member.is_bot:
                sightings.append(
                    Sighting(
                        community=community_name,
                        member_ref=str(event.member.ref),
                        at=event.joined_at,
                        active=False,
                        contacted=False,
                        facilitator=False,
                    )
                )
            delivered = Delivered(
                event=event,
                community=settings,
                texts=self.texts(settings.language),
                is_facilitator=is_facilitator,
                is_watched=self._directory.is_watched(channel),
            )
            if isinstance(event, MessageReceived) and event.cursor and delivered.is_watched:
                key = str(channel)
                if event.cursor > cursors.get(key, ""):
                    cursors[key] = event.cursor
            if is_command:
                commands.append((event, delivered))
            elif not is_bot:
                passive.append(delivered)
        written = self._written
        seen = {
            ref: about
            for ref, about in seen.items()
            if ref in forgotten or not written.member_is_fresh(ref, about[1], tx.now)
        }
        sightings = [
            sighting
            for sighting in sightings
            if sighting.member_ref in forgotten or not written.sighting_is_fresh(sighting, tx.now)
        ]
        await touch_members(conn, seen, tx.now)
        # A profile's zone is taken when the member's row is written (at most once a minute).
        profile_zones = {ref: zone for ref, zone in profile_zones.items() if ref in seen}
        if profile_zones:
            await zones_from_profiles(conn, profile_zones)
        await advance_cursors(conn, cursors, tx.now)
        await touch_memberships(conn, sightings)
        if seen or sightings:
            tx.after_commit(partial(written.remember, seen, sightings, tx.now))
        actions: list[Action] = []
        if passive:
            for service in self._listeners:
                actions.extend(await self._run_service(service, passive, tx))
        for event, delivered in commands:
            actions.extend(await self._run_command(event, delivered, tx))
        return actions

    async def _homes_of_direct_authors(
        self, conn: AsyncConnection, events: Sequence[Event]
    ) -> dict[str, str]:
        """For authors of direct messages and DM buttons (no channel says which community they
        are about), the community on that platform they were most recently active in."""
        wanted: dict[str, str] = {}
        for event in events:
            if not _is_direct(event):
                continue
            author, channel = event_author(event), event_channel(event)
            if author is not None and self._directory.community_for(channel) is None:
                wanted[str(author)] = channel.platform
        if not wanted:
            return {}
        homes: dict[str, str] = {}
        latest: dict[str, datetime] = {}
        for member in await memberships_of(conn, list(wanted)):
            if member.community not in self._directory.names:
                continue  # a community no longer configured
            spans = self._directory.settings(member.community).platforms
            if wanted[member.member_ref] not in spans:
                continue
            seen = member.last_active_at or member.joined_at
            if member.member_ref not in latest or seen > latest[member.member_ref]:
                latest[member.member_ref] = seen
                homes[member.member_ref] = member.community
        return homes

    @staticmethod
    def _written_before(event: Event, forgotten_at: datetime) -> bool:
        if isinstance(event, MessageEdited):
            return event.sent_at <= forgotten_at
        return event_time(event) <= forgotten_at

    def _unbound(self, event: Event) -> Delivered:
        fallback = self._directory.communities[0]
        return Delivered(
            event=event,
            community=fallback,
            texts=self.texts(fallback.language),
            is_facilitator=False,
            is_watched=False,
        )

    async def _run_service(
        self, service: Service, batch: list[Delivered], tx: Transaction
    ) -> list[Action]:
        if not tx.isolate:
            try:
                return await service.on_events(batch, tx)
            except Exception as error:
                raise _IsolationNeeded from error
        try:
            async with tx.conn.begin_nested():
                return await service.on_events(batch, tx)
        except Exception:
            if len(batch) == 1:
                log.exception(
                    "service %s failed on event %s; skipped it", service.name, batch[0].event.key
                )
                return []
        # Find the event that breaks the service; keep the others' work.
        actions: list[Action] = []
        for delivered in batch:
            actions.extend(await self._run_service(service, [delivered], tx))
        return actions

    async def _run_command(
        self, event: Event, delivered: Delivered, tx: Transaction
    ) -> list[Action]:
        assert isinstance(event, CommandInvoked | ButtonPressed)
        texts = delivered.texts
        prefix = self._directory.command_prefix(event.author.ref.platform)
        if isinstance(event, ButtonPressed):
            path, text = self.commands.split_line(event.action)
            options = None
        else:
            path, text, options = event.path, event.text, event.options
        shown = prefix + " ".join(path)
        try:
            resolved = self.commands.resolve(path)
        except UsageError as problem:
            message = texts(
                "common.unknown_command", problem=str(problem).rstrip("."), prefix=prefix
            )
            return [Answer(to=event.reply_to, content=Content(text=message))]
        command = self._handlers[resolved.path]
        shown = prefix + " ".join(resolved.path)
        if resolved.role is Role.FACILITATOR and not delivered.is_facilitator:
            message = texts("common.facilitators_only", command=shown)
            return [Answer(to=event.reply_to, content=Content(text=message))]
        try:
            arguments = parse_arguments(command.spec, text, options)
        except UsageError as problem:
            line = usage(resolved.path, command.spec, prefix)
            if command.spec.example:
                message = texts(
                    "common.usage_error",
                    problem=str(problem).rstrip(".").capitalize(),
                    usage=line,
                    example=with_prefix(command.spec.example, prefix),
                )
            else:
                message = texts(
                    "common.usage_error_no_example",
                    problem=str(problem).rstrip(".").capitalize(),
                    usage=line,
                )
            return [Answer(to=event.reply_to, content=Content(text=message))]
        invocation = Invocation(
            event=event,
            path=resolved.path,
            spec=command.spec,
            arguments=arguments,
            community=delivered.community,
            texts=texts,
            is_facilitator=delivered.is_facilitator,
            prefix=prefix,
        )
        if not tx.isolate:
            try:
                return await command.handler(invocation, tx)
            except Exception as error:
                raise _IsolationNeeded from error
        try:
            async with tx.conn.begin_nested():
                return await command.handler(invocation, tx)
        except Exception:
            log.exception("command %s failed (event %s)", shown, event.key)
            message = texts("common.failed", command=shown)
            return [Answer(to=event.reply_to, content=Content(text=message))]

    # --- actions ------------------------------------------------------------------------

    async def perform(self, actions: Sequence[Action]) -> None:
        """Perform actions in order; a failing one is logged and the rest go on."""
        for action in actions:
            platform = self._platforms.get(action_platform(action))
            if platform is None:
                log.warning(
                    "no %s platform to perform %s", action_platform(action), type(action).__name__
                )
                continue
            try:
                await platform.perform(action)
            except Exception:
                log.exception("%s could not perform %s", platform.name, type(action).__name__)

    async def perform_one(self, action: Action) -> MessageRef | None:
        """Perform one action for scheduled work and return what it posted; errors propagate."""
        # Raising lets the scheduled run fail and be retried; a platform without threads gets
        # the message plain rather than an error.
        platform = self._platforms.get(action_platform(action))
        if platform is None:
            raise PlatformError(f"no {action_platform(action)} platform is connected")
        if (
            isinstance(action, Post)
            and action.start_thread
            and Capability.THREADS not in platform.capabilities
        ):
            action = replace(action, start_thread=None)
        return await platform.perform(action)

    async def _perform_all(
        self, actions: Sequence[Action], after: Sequence[Callable[[], Awaitable[None]]]
    ) -> None:
        await self.perform(actions)
        for work in after:
            try:
                await work()
            except Exception:
                log.exception("background work after commit failed")

    async def run_in_transaction(
        self, work: Callable[[Transaction], Awaitable[list[Action]]]
    ) -> list[Action]:
        """Run scheduled or background work in a transaction, then perform its actions."""
        async with self._database.transaction() as conn:
            tx = Transaction(conn=conn, now=self._clock.now())
            actions = await work(tx)
        await self._perform_all(actions, tx.take_after_commit())
        return actions


def _is_direct(event: Event) -> bool:
    """A direct message to the bot, or a button (outside a bound channel: on a DM)."""
    return bool(getattr(event, "is_direct", False)) or isinstance(event, ButtonPressed)


def channel_key(channel: ChannelRef) -> str:
    """How a channel is stored."""
    return str(channel)
