"""Kernel queries for the outbox: write rows claimed by their writer, claim stale ones with
fencing (the claim number), and close them (done, parked, dropped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import outbox
from bot.storage.sql import chunks, insert_ignoring_conflicts

PENDING = "pending"
DONE = "done"
PARKED = "parked"
DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One unconfirmed effect as stored."""

    key: str
    lane: str
    platform: str
    action: str
    claim: int
    attempts: int
    expires_at: datetime | None
    then_hook: str | None
    then_args: str | None
    on_park: str | None


def _row(found: Any) -> OutboxRow:
    return OutboxRow(
        key=found.key,
        lane=found.lane,
        platform=found.platform,
        action=found.action,
        claim=found.claim,
        attempts=found.attempts,
        expires_at=found.expires_at,
        then_hook=found.then_hook,
        then_args=found.then_args,
        on_park=found.on_park,
    )


async def insert_effects(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert rows (a key written before is left alone); return the keys inserted now."""
    inserted = await insert_ignoring_conflicts(conn, outbox, rows, ["key"])
    return {row.key for row in inserted}


async def insert_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows with fresh keys (no conflict possible: one statement, no RETURNING)."""
    await conn.execute(outbox.insert(), list(rows))


async def claimable(conn: AsyncConnection, now: datetime, limit: int) -> list[OutboxRow]:
    """Pending rows nobody holds (their lease ran out) that are due, oldest first."""
    result = await conn.execute(
        select(outbox)
        .where(
            outbox.c.status == PENDING,
            outbox.c.lease_until <= now,
            outbox.c.next_attempt_at <= now,
        )
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [_row(found) for found in result]


async def take(
    conn: AsyncConnection, row: OutboxRow, owner: str, lease_until: datetime, now: datetime
) -> bool:
    """Claim a stale row for `owner`, only if nobody claimed it since it was read."""
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.key == row.key,
            outbox.c.claim == row.claim,
            outbox.c.status == PENDING,
            outbox.c.lease_until <= now,
        )
        .values(claimed_by=owner, claim=row.claim + 1, lease_until=lease_until)
    )
    return (result.rowcount or 0) == 1


async def renew(conn: AsyncConnection, owner: str, lease_until: datetime) -> int:
    """Extend every pending row `owner` holds; return how many."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.claimed_by == owner, outbox.c.status == PENDING)
        .values(lease_until=lease_until)
    )
    return result.rowcount or 0


async def still_held(conn: AsyncConnection, key: str, owner: str, claim: int) -> bool:
    """Whether `owner` still holds the row with claim number `claim`."""
    result = await conn.execute(
        select(outbox.c.key).where(
            outbox.c.key == key,
            outbox.c.claimed_by == owner,
            outbox.c.claim == claim,
            outbox.c.status == PENDING,
        )
    )
    return result.first() is not None


def _held(key: str, owner: str, claim: int) -> Any:
    return and_(
        outbox.c.key == key,
        outbox.c.claimed_by == owner,
        outbox.c.claim == claim,
        outbox.c.status == PENDING,
    )


async def close(
    conn: AsyncConnection,
    key: str,
    owner: str,
    claim: int,
    *,
    status: str,
    now: datetime,
    result_ref: str | None = None,
    error: str | None = None,
    keep_action: bool = True,
) -> bool:
    """Close a row we hold (done, parked or dropped); False when it is no longer ours."""
    values: dict[str, Any] = {
        "status": status,
        "done_at": now,
        "result_ref": result_ref,
        "error": error,
    }
    if not keep_action:
        values["action"] = None
    result = await conn.execute(update(outbox).where(_held(key, owner, claim)).values(values))
    return (result.rowcount or 0) == 1


async def close_many(
    conn: AsyncConnection,
    owner: str,
    done: Sequence[tuple[str, int, str | None]],
    now: datetime,
    *,
    keep_action: bool,
) -> None:
    """Mark many held rows done in one statement: (key, claim, result ref) each."""
    if not done:
        return
    values: dict[str, Any] = {
        "status": DONE,
        "done_at": now,
        "result_ref": bindparam("b_ref"),
        "error": None,
    }
    if not keep_action:
        values["action"] = None
    statement = (
        update(outbox)
        .where(
            outbox.c.key == bindparam("b_key"),
            outbox.c.claim == bindparam("b_claim"),
            outbox.c.claimed_by == owner,
            outbox.c.status == PENDING,
        )
        .values(values)
    )
    await conn.execute(
        statement,
        [{"b_key": key, "b_claim": claim, "b_ref": ref} for key, claim, ref in done],
    )


async def retry_later(
    conn: AsyncConnection,
    key: str,
    owner: str,
    claim: int,
    *,
    attempts: int,
    next_attempt_at: datetime,
    error: str,
) -> None:
    """Count a failed attempt on a row we keep holding."""
    await conn.execute(
        update(outbox)
        .where(_held(key, owner, claim))
        .values(attempts=attempts, next_attempt_at=next_attempt_at, error=error)
    )


async def release(conn: AsyncConnection, owner: str, now: datetime) -> int:
    """Let go of every pending row `owner` holds, so the next process takes them at once."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.claimed_by == owner, outbox.c.status == PENDING)
        .values(lease_until=now, next_attempt_at=now)
    )
    return result.rowcount or 0


async def attempts(conn: AsyncConnection, base: str) -> list[tuple[str, str, str | None]]:
    """Rows keyed `base` or `base:<suffix>`: (key, status, what the platform answered)."""
    result = await conn.execute(
        select(outbox.c.key, outbox.c.status, outbox.c.result_ref).where(
            or_(outbox.c.key == base, outbox.c.key.startswith(base + ":", autoescape=True))
        )
    )
    return [(row.key, row.status, row.result_ref) for row in result]


@dataclass(frozen=True, slots=True)
class Written:
    """A row as a feature looks it up: which effect, in which lane, and how it ended."""

    key: str
    lane: str
    status: str
    created_at: datetime
    done_at: datetime | None


async def with_hook(
    conn: AsyncConnection,
    hook: str,
    *,
    status: str,
    lanes: Sequence[str] | None = None,
    key_prefix: str | None = None,
    since: datetime | None = None,
) -> list[Written]:
    """Rows written with confirmation hook `hook` and in `status`, optionally narrowed to
    `lanes`, to keys starting `key_prefix` and to rows written at `since` or later."""
    conditions = [outbox.c.then_hook == hook, outbox.c.status == status]
    if key_prefix is not None:
        conditions.append(outbox.c.key.startswith(key_prefix, autoescape=True))
    if since is not None:
        conditions.append(outbox.c.created_at >= since)
    columns = (outbox.c.key, outbox.c.lane, outbox.c.status, outbox.c.created_at, outbox.c.done_at)
    groups = [None] if lanes is None else [list(chunk) for chunk in chunks(list(lanes))]
    found: list[Written] = []
    for group in groups:
        statement = select(*columns).where(*conditions)
        if group is not None:
            statement = statement.where(outbox.c.lane.in_(group))
        result = await conn.execute(statement)
        found.extend(Written(**row._mapping) for row in result)
    return found


async def purge_member(conn: AsyncConnection, member_ref: str) -> int:
    """Remove every row that holds a member's words (for `/forget-me`)."""
    result = await conn.execute(delete(outbox).where(outbox.c.words_of == member_ref))
    return result.rowcount or 0


async def purge_closed(conn: AsyncConnection, before: datetime) -> int:
    """Forget closed rows older than `before`."""
    result = await conn.execute(
        delete(outbox).where(outbox.c.status != PENDING, outbox.c.done_at < before)
    )
    return result.rowcount or 0
