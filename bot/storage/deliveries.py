"""Kernel queries for delivery keys (de-duplication) and channels' backfill cursors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    channel_cursors,
    deliveries,
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
