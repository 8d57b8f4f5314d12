"""The dispatcher: de-duplicates deliveries, runs services, and commits their writes with their
effects (outbox rows, delivered by `bot.runtime.outbox` once committed).

Events are group-committed: the worker takes whatever is queued (up to `batch_size`), and one
transaction stores the delivery keys, the services' writes, the channels' cursors and
backfill's progress through its unread ranges together. A replay stops at its key; a crash
before the commit leaves nothing half done.
A failing service is rolled back to its savepoint, retried event by event to isolate the one
that broke it, and logged; the others' work still commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.core.actions import Action, Answer, Content
from bot.core.clock import Clock
from bot.core.communities import CommunityDirectory
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
    MessageEdited,
    MessageReceived,
    event_author,
    event_channel,
)
from bot.core.i18n import Catalog
from bot.core.platform import Bound, Capability, Platform, UnreadRange, apply_binding
from bot.core.refs import ChannelRef, MemberRef
from bot.core.suggestions import MAX_SUGGESTIONS, Suggestion, SuggestionRequest, label
from bot.runtime.actions import ActionPerformer
from bot.runtime.commands import CommandCall, CommandRouter
from bot.runtime.intake import (
    BackfillCursors,
    claim_fresh,
    community_of,
    forgotten_authors,
    homes_of,
    homes_of_direct_authors,
    written_before,
)
from bot.runtime.memberships import BatchSightings, RecentWrites
from bot.runtime.outbox import DEFAULT_LEASE, Held, Outbox
from bot.runtime.service import (
    Delivered,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
)
from bot.storage import Connection
from bot.storage.database import Database
from bot.storage.deliveries import (
    advance_cursors,
    claim_deliveries,
    delete_unread_range,
    narrow_unread_range,
    open_unread_ranges,
    read_cursor,
)
from bot.storage.members import get_member

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True, slots=True)
class _Open:
    """Open unread ranges, in the queue's order: after everything delivered before it."""

    channels: tuple[ChannelRef, ...]
    unseen_from_oldest: bool
    begins: Mapping[ChannelRef, str]
    answer: asyncio.Future[list[UnreadRange]]


@dataclass(frozen=True, slots=True)
class _Narrow:
    """Backfill read a range this far; committed with the events delivered before it."""

    unread: UnreadRange
    after: str | None
    until: str | None


@dataclass(frozen=True, slots=True)
class _Close:
    """Backfill read a range through; committed with the events delivered before it."""

    unread: UnreadRange
    read_to: str | None


_Mark = _Narrow | _Close


def _ends_batch(item: object) -> bool:
    # An opening runs alone, after the batch before it committed, so the cursors it reads
    # include every event delivered before it and none delivered after.
    return item is _STOP or isinstance(item, _Open)


SUGGEST_WITHIN = 2.0  # seconds a suggester may take: the platform waits 3 s for the answer


class _IsolationNeeded(Exception):
    """A service failed on the fast path: roll back and run the batch again, isolated."""


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
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock
        self._services: list[Service] = []
        self._listeners: list[Service] = []
        self._router = CommandRouter()
        self.commands = self._router.table
        self._sources: dict[str, SuggestionSource] = {}
        self._actions = ActionPerformer()
        self.outbox = Outbox(database, clock, self._actions, lease=lease)
        self._queue: asyncio.Queue[Event | _Mark | _Open | object] = asyncio.Queue(queue_size)
        self._batch_size = batch_size
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._catalogs: dict[str, Catalog] = {}
        self._written = RecentWrites()
        self._claimed: set[str] = set()  # interactions this process took ahead of their batch
        # Channels with events in a batch that failed as a whole: their ranges are not marked
        # read any more in this run (what was lost must be read again at the next start).
        self._failed_channels: set[str] = set()
        for service in services:
            self.add_service(service)

    # --- set-up -------------------------------------------------------------------------

    def add_service(self, service: Service) -> None:
        """Register a service and its commands."""
        self._services.append(service)
        if type(service).on_events is not Service.on_events:
            # Only services that listen get a savepoint per batch: each is a database round trip.
            self._listeners.append(service)
        self._router.add(service)
        for source, provider in service.suggestions().items():
            if source in self._sources:
                raise ValueError(f"{service.name}: the suggestion source {source!r} exists")
            self._sources[source] = provider

    def check_suggestions(self) -> None:
        """Refuse a declared argument that suggests from a source no service provides."""
        for spec in self.commands:
            for sub in spec.subcommands or (spec,):
                for param in sub.params:
                    if param.suggests and param.suggests not in self._sources:
                        raise ValueError(
                            f"/{spec.name}: {param.name} suggests from {param.suggests!r}, "
                            "which no service provides"
                        )

    def attach(self, platform: Platform) -> None:
        """Let the outbox deliver actions to `platform`."""
        self._actions.attach(platform)

    def capabilities(self, platform: str) -> frozenset[Capability]:
        """What a connected platform can do (nothing when it is not connected)."""
        return self._actions.capabilities(platform)

    def texts(self, language: str) -> Catalog:
        """The message catalog for a language (cached)."""
        if language not in self._catalogs:
            self._catalogs[language] = Catalog(language)
        return self._catalogs[language]

    async def start(self) -> None:
        """Start the worker that processes delivered events."""
        self.check_suggestions()
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

    async def claim(self, event: Event) -> bool:
        """Take an interaction's delivery key now, in a transaction of its own, so that only
        this process acknowledges and answers it (its batch then treats it as fresh)."""
        async with self._database.transaction() as conn:
            fresh = await claim_deliveries(conn, [event.key], self._clock.now())
        if fresh:
            self._claimed.add(event.key)
        return bool(fresh)

    async def suggest(self, request: SuggestionRequest) -> list[Suggestion]:
        """Suggestions for a member typing an argument (see `EventSink.suggest`): one read,
        beside the batches (never queued behind them, never a delivery key)."""
        provider = self._sources.get(request.source)
        if provider is None:
            return []
        member = str(request.author.ref)
        try:
            async with asyncio.timeout(SUGGEST_WITHIN), self._database.glancing() as conn:
                community = self._directory.community_for(request.channel)
                if community is None and request.is_direct:
                    homes = await homes_of(
                        conn, self._directory, {member: request.channel.platform}
                    )
                    community = homes.get(member) or self._directory.default_community(
                        request.channel.platform
                    )
                if community is None:
                    return []
                settings = self._directory.settings(community)
                query = SuggestionQuery(
                    typed=request.typed.strip()[:100],
                    member=member,
                    community=settings,
                    is_facilitator=self._directory.is_facilitator(community, request.author),
                    now=self._clock.now(),
                    texts=self.texts(settings.language),
                )
                found = await provider(query, conn)
        except TimeoutError:
            log.warning("suggestions from %s took too long; none offered", request.source)
            return []
        except Exception:
            log.exception("suggestions from %s failed", request.source)
            return []
        return [Suggestion(s.value, label(s.label)) for s in found[:MAX_SUGGESTIONS]]

    async def cursor(self, channel: ChannelRef) -> str | None:
        """The position of the last committed live message in `channel`."""
        async with self._database.reading() as conn:
            return await read_cursor(conn, str(channel))

    async def reader_zone(self, member: MemberRef) -> str | None:
        """The zone `member` set (or their profile gave), read from `members`."""
        async with self._database.reading() as conn:
            record = await get_member(conn, str(member))
        return record.timezone if record is not None else None

    async def settle(self) -> None:
        """Wait until everything delivered so far is committed (not necessarily performed)."""
        await self._queue.join()
        await self._settle_background()

    async def open_backfill(
        self,
        channels: Sequence[ChannelRef],
        *,
        unseen_from_oldest: bool = False,
        begins: Mapping[ChannelRef, str] | None = None,
    ) -> list[UnreadRange]:
        """Record what each channel has not read (see `EventSink.open_backfill`), after
        everything delivered so far is committed; return every open range of the channels."""
        loop = asyncio.get_running_loop()
        request = _Open(tuple(channels), unseen_from_oldest, begins or {}, loop.create_future())
        if self._worker is None:
            await self._open(request)
        else:
            await self._queue.put(request)
        return await request.answer

    async def advance_backfill(
        self, unread: UnreadRange, *, after: str | None = None, until: str | None = None
    ) -> None:
        """Narrow a range, committed with the events delivered before this call."""
        await self._queue.put(_Narrow(unread, after, until))

    async def close_backfill(self, unread: UnreadRange, *, read_to: str | None = None) -> None:
        """Delete a range read through, committed with the events delivered before this call."""
        await self._queue.put(_Close(unread, read_to))

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        await self._queue.join()
        await self._settle_background()
        await self.outbox.drain()
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
            items = [await self._queue.get()]
            while (
                not _ends_batch(items[-1])
                and len(items) < self._batch_size
                and not self._queue.empty()
            ):
                items.append(self._queue.get_nowait())
            last = items[-1]
            body = items[:-1] if _ends_batch(last) else items
            marks = [item for item in body if isinstance(item, _Narrow | _Close)]
            batch: list[Event] = [
                item  # type: ignore[misc]
                for item in body
                if not isinstance(item, _Narrow | _Close)
            ]
            try:
                if body:
                    await self.process(batch, marks)
            except Exception:
                self._failed_channels.update(
                    str(event_channel(event))
                    for event in batch
                    if isinstance(event, MessageReceived | MessageEdited)
                )
                log.exception("a batch of %d events could not be processed", len(batch))
            try:
                if isinstance(last, _Open):
                    await self._open(last)
            finally:
                for _ in items:
                    self._queue.task_done()
            if last is _STOP:
                return

    async def _open(self, request: _Open) -> None:
        try:
            async with self._database.transaction() as conn:
                stored = await open_unread_ranges(
                    conn,
                    [str(channel) for channel in request.channels],
                    self._clock.now(),
                    unseen_from_oldest=request.unseen_from_oldest,
                    begins={str(c): position for c, position in request.begins.items()},
                )
        except Exception as error:
            if not request.answer.done():
                request.answer.set_exception(error)
            return
        ranges = [
            UnreadRange(r.id, ChannelRef.parse(r.channel), r.after, r.until, r.resumed)
            for r in stored
        ]
        if not request.answer.done():  # the adapter may have stopped waiting
            request.answer.set_result(ranges)

    async def _mark(self, conn: Connection, marks: Sequence[_Mark]) -> None:
        for mark in marks:
            channel = str(mark.unread.channel)
            if channel in self._failed_channels:
                log.warning(
                    "backfill: %s had events that could not be stored; its unread range stays "
                    "open for the next start",
                    channel,
                )
                continue
            if isinstance(mark, _Narrow):
                await narrow_unread_range(conn, mark.unread.id, after=mark.after, until=mark.until)
                continue
            await delete_unread_range(conn, mark.unread.id)
            if mark.read_to is not None:
                await advance_cursors(conn, {channel: mark.read_to}, self._clock.now())

    async def process(self, batch: Sequence[Event], marks: Sequence[_Mark] = ()) -> None:
        """Process events (and backfill's marks after them) in one transaction that also writes
        their effects, then hand those to the outbox (delivered in order per lane).

        The first attempt runs services without savepoints (each is a database round trip);
        only when a service or command fails is the batch rolled back and run again with a
        savepoint around each, so the failure is isolated and the rest commits.
        """
        try:
            held, after = await self._attempt(batch, marks, isolate=False)
        except _IsolationNeeded:
            held, after = await self._attempt(batch, marks, isolate=True)
        self._claimed.difference_update(event.key for event in batch)
        self._after_commit(held, after)

    def _after_commit(self, held: list[Held], after: list[Callable[[], Awaitable[None]]]) -> None:
        self.outbox.hand_over(held)
        if not after:
            return
        task = asyncio.create_task(self._actions.run_after_commit(after))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _attempt(
        self, batch: Sequence[Event], marks: Sequence[_Mark], *, isolate: bool
    ) -> tuple[list[Held], list[Callable[[], Awaitable[None]]]]:
        now = self._clock.now()
        held: list[Held] = []
        async with self._database.transaction() as conn:
            tx = Transaction(conn=conn, now=now, isolate=isolate)
            fresh = await claim_fresh(conn, batch, now, self._claimed)
            if fresh:
                actions = await self._handle(fresh, tx)
                held = await self.outbox.write(conn, tx.outgoing(actions), now)
            # After the events: a range is marked read only with what was read from it.
            await self._mark(conn, marks)
        return held, tx.take_after_commit()

    async def _handle(self, events: list[Event], tx: Transaction) -> list[Action]:
        forgotten = await forgotten_authors(tx.conn, events)
        homes = await homes_of_direct_authors(tx.conn, self._directory, events)
        passive: list[Delivered] = []
        contacts: list[Delivered] = []  # commands of a known community, for `sees_commands`
        commands: list[tuple[CommandInvoked | ButtonPressed, Delivered]] = []
        seen = BatchSightings()
        cursors = BackfillCursors()
        for event in events:
            author = event_author(event)
            author_key = str(author) if author else None
            is_command = isinstance(event, CommandInvoked | ButtonPressed)
            if (
                author_key in forgotten
                and not is_command
                and written_before(event, forgotten[author_key])
            ):
                continue  # a forgotten member's old message: never re-create their data
            channel = event_channel(event)
            community_name = community_of(event, self._directory, homes, author_key)
            if community_name is None:
                if isinstance(event, CommandInvoked | ButtonPressed):
                    commands.append((event, self._unbound(event)))
                continue
            settings = self._directory.settings(community_name)
            human = getattr(event, "author", None)
            is_bot = isinstance(human, Author) and human.is_bot
            is_facilitator = isinstance(human, Author) and self._directory.is_facilitator(
                community_name, human
            )
            seen.note(
                event,
                community_name,
                facilitator=is_facilitator,
                contacted=is_command or getattr(event, "is_direct", False),
            )
            delivered = Delivered(
                event=event,
                community=settings,
                texts=self.texts(settings.language),
                is_facilitator=is_facilitator,
                is_watched=self._directory.is_watched(channel),
            )
            cursors.note(event, channel, delivered.is_watched)
            if isinstance(event, CommandInvoked | ButtonPressed):
                commands.append((event, delivered))
                contacts.append(delivered)
            elif not is_bot:
                passive.append(delivered)
        seen.drop_fresh(self._written, forgotten, tx.now)
        await seen.write_members(tx)
        await cursors.advance(tx)
        await seen.write_memberships(tx, self._written)
        actions: list[Action] = []
        if passive or contacts:
            for service in self._listeners:
                batch = passive + contacts if service.sees_commands else passive
                if batch:
                    actions.extend(await self._run_service(service, batch, tx))
        for command, delivered in commands:
            actions.extend(await self._run_command(command, delivered, tx))
        return actions

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
            async with tx.isolated():
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
        self, event: CommandInvoked | ButtonPressed, delivered: Delivered, tx: Transaction
    ) -> list[Action]:
        prefix = self._directory.command_prefix(event.author.ref.platform)
        call = self._router.prepare(event, delivered, prefix)
        if isinstance(call, Answer):
            return [call]
        return await self._run_call(call, event, delivered, tx)

    async def _run_call(
        self,
        call: CommandCall,
        event: CommandInvoked | ButtonPressed,
        delivered: Delivered,
        tx: Transaction,
    ) -> list[Action]:
        if not tx.isolate:
            try:
                return await call.handler(call.invocation, tx)
            except Exception as error:
                raise _IsolationNeeded from error
        try:
            async with tx.isolated():
                return await call.handler(call.invocation, tx)
        except Exception:
            log.exception("command %s failed (event %s)", call.shown, event.key)
            message = delivered.texts("common.failed", command=call.shown)
            return [Answer(to=event.reply_to, content=Content(text=message))]

    # --- background work ----------------------------------------------------------------

    async def run_in_transaction(
        self, work: Callable[[Transaction], Awaitable[list[Action]]]
    ) -> list[Action]:
        """Run scheduled or background work in a transaction that also writes its effects;
        they are delivered once it commits."""
        async with self._database.transaction() as conn:
            tx = Transaction(conn=conn, now=self._clock.now())
            actions = await work(tx)
            held = await self.outbox.write(conn, tx.outgoing(actions), tx.now)
        self._after_commit(held, tx.take_after_commit())
        return actions
