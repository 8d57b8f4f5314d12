"""A member's data, everywhere it lives: export and deletion walk every column marked
`info={"member": True}` in the schema, so new tables are covered without edits here."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.outbox import purge_member as purge_outbox_member
from bot.storage.schema import metadata, tombstones
from bot.storage.sql import insert_ignoring_conflicts

# The kernel's own tables with member data (the dispatcher writes both).
KERNEL_MEMBER_TABLES = frozenset({"members", "memberships"})


def member_columns(tables: Collection[str] | None = None) -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) that identifies a member, in dependency order; only in `tables`
    when given."""
    found: list[tuple[Table, Column[Any]]] = []
    for table in metadata.sorted_tables:
        if tables is not None and table.name not in tables:
            continue
        for column in table.columns:
            if column.info.get("member"):
                found.append((table, column))
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def export_member(
    conn: AsyncConnection, member_ref: str, tables: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every row about `member_ref` in `tables`, by table, as JSON-ready dicts."""
    data: dict[str, list[dict[str, Any]]] = {}
    for table, column in member_columns(tables):
        result = await conn.execute(select(table).where(column == member_ref))
        # A private member column names someone else to this member: it stays out.
        private = {c.name for c in table.columns if c.info.get("private") and c is not column}
        rows = [
            {
                key: None if key in private and value != member_ref else _plain(value)
                for key, value in row._mapping.items()
            }
            for row in result
        ]
        if rows:
            data.setdefault(table.name, []).extend(rows)
    return data


async def erase_member(
    conn: AsyncConnection, member_ref: str, now: datetime, tables: Collection[str]
) -> int:
    """Delete every row about `member_ref` in `tables` and leave a tombstone; return rows
    deleted."""
    await _unname(conn, member_ref)
    removed = 0
    for table, column in reversed(member_columns(tables)):
        if column.info.get("forget") == "nullify":
            # Shared rows (a gathering others RSVPed to) lose the member's name, not the row.
            statement: Any = update(table).where(column == member_ref).values({column.name: None})
        else:
            statement = delete(table).where(column == member_ref)
        result = await conn.execute(statement)
        removed += result.rowcount or 0
    # Effects that carry the member's words (their DMs, answers) go too, pending or kept.
    removed += await purge_outbox_member(conn, member_ref)
    await insert_ignoring_conflicts(
        conn, tombstones, [{"member_ref": member_ref, "forgotten_at": now}]
    )
    return removed


async def _unname(conn: AsyncConnection, member_ref: str) -> int:
    """Take the member's name out of texts kept for others (a nudge that offered their
    link); return how many rows changed (they stay: they are someone else's)."""
    changed = 0
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not column.info.get("names_member"):
                continue
            text, shown = table.c[column.info["text"]], table.c[column.info["shown"]]
            result = await conn.execute(
                update(table)
                .where(column == member_ref)
                .values(
                    {
                        text.name: func.replace(text, shown, column.info["instead"]),
                        shown.name: None,
                        column.name: None,
                    }
                )
            )
            changed += result.rowcount or 0
    return changed


async def lift_tombstone(conn: AsyncConnection, member_ref: str) -> None:
    """Let a forgotten member start afresh (they spoke to the bot again after forgetting)."""
    await conn.execute(delete(tombstones).where(tombstones.c.member_ref == member_ref))
