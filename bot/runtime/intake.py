"""What a batch of events is before services see it: which deliveries are new, which are a
forgotten member's old events, which community each belongs to, and how far each watched
channel's backfill has come."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from bot.core.communities import CommunityDirectory
from bot.core.events import (
    ButtonPressed,
    Event,
    HomeOpened,
    MessageEdited,
    MessageReceived,
    event_author,
    event_channel,
    event_time,
)
from bot.core.refs import ChannelRef
from bot.runtime.service import Transaction
from bot.storage import Connection
from bot.storage.deliveries import advance_cursors, claim_deliveries
from bot.storage.members import forgotten_members
from bot.storage.memberships import memberships_of


async def claim_fresh(
    conn: Connection,
    batch: Sequence[Event],
    now: datetime,
    claimed: Collection[str] = frozenset(),
) -> list[Event]:
    """The events of `batch` not delivered before, their keys recorded in this transaction;
    keys in `claimed` were taken by this process already (interactions) and count as fresh."""
    fresh_keys = await claim_deliveries(
        conn, [event.key for event in batch if event.key not in claimed], now
    )
    fresh_keys.update(event.key for event in batch if event.key in claimed)
    fresh: list[Event] = []
    for event in batch:
        if event.key in fresh_keys:
            fresh_keys.discard(event.key)  # a repeat inside the batch is a replay too
            fresh.append(event)
    return fresh


async def forgotten_authors(conn: Connection, events: Sequence[Event]) -> dict[str, datetime]:
    """The events' authors who asked to be forgotten, with when."""
    authors = {str(ref) for event in events if (ref := event_author(event)) is not None}
    return await forgotten_members(conn, list(authors))


def written_before(event: Event, forgotten_at: datetime) -> bool:
    """Whether the event tells of something said before its author was forgotten."""
    if isinstance(event, MessageEdited):
        return event.sent_at <= forgotten_at
    return event_time(event) <= forgotten_at


def is_direct(event: Event) -> bool:
    """A direct message to the bot, a button (outside a bound channel: on a DM or the
    member's home page), or opening that page."""
    return bool(getattr(event, "is_direct", False)) or isinstance(event, ButtonPressed | HomeOpened)


async def homes_of_direct_authors(
    conn: Connection, directory: CommunityDirectory, events: Sequence[Event]
) -> dict[str, str]:
    """For authors of direct messages and DM buttons (no channel says which community they
    are about), the community on that platform they were most recently active in."""
    wanted: dict[str, str] = {}
    for event in events:
        if not is_direct(event):
            continue
        author, channel = event_author(event), event_channel(event)
        if author is not None and directory.community_for(channel) is None:
            wanted[str(author)] = channel.platform
    return await homes_of(conn, directory, wanted)


async def homes_of(
    conn: Connection, directory: CommunityDirectory, wanted: dict[str, str]
) -> dict[str, str]:
    """For each member ref (with the platform they wrote on), the community on that platform
    they were most recently active in."""
    if not wanted:
        return {}
    homes: dict[str, str] = {}
    latest: dict[str, datetime] = {}
    for member in await memberships_of(conn, list(wanted)):
        if member.community not in directory.names:
            continue  # a community no longer configured
        spans = directory.settings(member.community).platforms
        if wanted[member.member_ref] not in spans:
            continue
        seen = member.last_active_at or member.joined_at
        if member.member_ref not in latest or seen > latest[member.member_ref]:
            latest[member.member_ref] = seen
            homes[member.member_ref] = member.community
    return homes


def community_of(
    event: Event, directory: CommunityDirectory, homes: dict[str, str], author_key: str | None
) -> str | None:
    """The community an event belongs to: its channel's, or for a DM its author's home."""
    channel = event_channel(event)
    community = directory.community_for(channel)
    # A button on a bound channel's message belongs there; one anywhere else is on a DM
    # the bot sent (a welcome, a nudge): pressing it is talking to the bot.
    if community is None and is_direct(event):
        community = homes.get(author_key or "") or directory.default_community(channel.platform)
    return community


class BackfillCursors:
    """The furthest live message of each watched channel in a batch.

    Only live messages move a cursor: backfill may read past a stretch the gateway missed
    (a reconnect while it reads), and the next range opens from the cursor. A range read
    through moves it with `close_backfill(read_to=...)` instead."""

    def __init__(self) -> None:
        self.positions: dict[str, str] = {}

    def note(self, event: Event, channel: ChannelRef, watched: bool) -> None:
        """Take a received message's cursor if it is the channel's furthest so far."""
        if isinstance(event, MessageReceived) and event.cursor and watched and not event.backfilled:
            key = str(channel)
            if event.cursor > self.positions.get(key, ""):
                self.positions[key] = event.cursor

    async def advance(self, tx: Transaction) -> None:
        """Move the channels' stored cursors forward, in the batch's transaction."""
        await advance_cursors(tx.conn, self.positions, tx.now)
