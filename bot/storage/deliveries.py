"""Kernel queries for delivery keys (de-duplication), channels' cursors and the ranges of
history backfill has not read yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    channel_cursors,
    deliveries,
    unread_ranges,
)
from bot.storage.sql import (
    byte_order,
    dialect_insert,
    insert_ignoring_conflicts,
)


async def claim_deliveries(conn: AsyncConnection, keys: Sequence[str], now: datetime) -> set[str]:
    """Record delivery keys; return those not seen before (a replay returns nothing)."""
    unique = list(dict.fromkeys(keys))
    rows = [{"key": key, "received_at": now} for key in unique]
    return {row.key for row in await insert_ignoring_conflicts(conn, deliveries, rows, ["key"])}


async def purge_deliveries(conn: AsyncConnection, before: datetime) -> int:
    """Forget delivery keys older than `before`."""
    result = await conn.execute(delete(deliveries).where(deliveries.c.received_at < before))
    return result.rowcount or 0


async def advance_cursors(conn: AsyncConnection, cursors: dict[str, str], now: datetime) -> None:
    """Move each channel's backfill cursor forward (never back), in one upsert."""
    if not cursors:
        return
    rows = [
        {"channel": channel, "cursor": cursor, "updated_at": now}
        for channel, cursor in sorted(cursors.items())  # one lock order for every writer
    ]
    statement = dialect_insert(conn, channel_cursors)
    newer = byte_order(conn, channel_cursors.c.cursor) < byte_order(conn, statement.excluded.cursor)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[channel_cursors.c.channel],
            set_={"cursor": statement.excluded.cursor, "updated_at": statement.excluded.updated_at},
            where=newer,
        ),
        rows,
    )


async def read_cursor(conn: AsyncConnection, channel: str) -> str | None:
    """The last committed backfill position of a channel."""
    result = await conn.execute(
        select(channel_cursors.c.cursor).where(channel_cursors.c.channel == channel)
    )
    return result.scalar_one_or_none()


async def read_cursors(conn: AsyncConnection, channels: Sequence[str]) -> dict[str, str]:
    """The last committed positions of these channels (those that have one)."""
    if not channels:
        return {}
    result = await conn.execute(
        select(channel_cursors.c.channel, channel_cursors.c.cursor).where(
            channel_cursors.c.channel.in_(list(channels))
        )
    )
    return {row.channel: row.cursor for row in result}


@dataclass(frozen=True, slots=True)
class StoredRange:
    """One row of `unread_ranges`; `resumed` when it was open before this call."""

    id: int
    channel: str
    after: str
    until: str | None
    resumed: bool


async def open_unread_ranges(
    conn: AsyncConnection,
    channels: Sequence[str],
    now: datetime,
    *,
    unseen_from_oldest: bool,
    begins: Mapping[str, str] | None = None,
) -> list[StoredRange]:
    """Open a range per channel from its cursor (see `EventSink.open_backfill`) unless an open
    one reaches back that far already; return every open range of the channels, oldest first.

    Run it in a transaction that nothing delivered later can precede: the cursors it reads are
    then never past what is unread."""
    wanted = sorted(set(channels))
    if not wanted:
        return []
    before = await _ranges_of(conn, wanted)
    cursors = await read_cursors(conn, wanted)
    floor = min(cursors.values()) if cursors and unseen_from_oldest else None
    rows = []
    starting: dict[str, str] = {}
    for channel in wanted:
        after = cursors.get(channel, floor)
        if after is None:
            # Never seen: the channel begins now, its past is not imported. Its position now
            # becomes its cursor, so a crash before its first message commits loses nothing.
            if begins and channel in begins:
                starting[channel] = begins[channel]
            continue
        covered = any(
            r.channel == channel and r.until is None and r.after <= after for r in before
        )
        if not covered:
            rows.append({"channel": channel, "after_cursor": after, "opened_at": now})
    if rows:
        await conn.execute(unread_ranges.insert(), rows)
    if starting:
        await advance_cursors(conn, starting, now)
    known = {r.id for r in before}
    return [
        StoredRange(r.id, r.channel, r.after, r.until, r.id in known)
        for r in await _ranges_of(conn, wanted)
    ]


async def _ranges_of(conn: AsyncConnection, channels: Sequence[str]) -> list[StoredRange]:
    result = await conn.execute(
        select(unread_ranges)
        .where(unread_ranges.c.channel.in_(list(channels)))
        .order_by(unread_ranges.c.id)
    )
    return [
        StoredRange(row.id, row.channel, row.after_cursor, row.until_cursor, True)
        for row in result
    ]


async def narrow_unread_range(
    conn: AsyncConnection, range_id: int, *, after: str | None, until: str | None
) -> None:
    """Move a range's lower bound up to `after` and its upper bound down to `until` (never
    the other way)."""
    column = unread_ranges.c
    if after is not None:
        await conn.execute(
            update(unread_ranges)
            .where(column.id == range_id, byte_order(conn, column.after_cursor) < after)
            .values(after_cursor=after)
        )
    if until is not None:
        await conn.execute(
            update(unread_ranges)
            .where(
                column.id == range_id,
                or_(column.until_cursor.is_(None), byte_order(conn, column.until_cursor) > until),
            )
            .values(until_cursor=until)
        )


async def delete_unread_range(conn: AsyncConnection, range_id: int) -> bool:
    """Delete a range read through; False when it was gone already."""
    result = await conn.execute(delete(unread_ranges).where(unread_ranges.c.id == range_id))
    return bool(result.rowcount)
