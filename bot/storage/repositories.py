"""Repositories for the foundation's tables. All SQL lives in repositories; they return
dataclasses and write in batches (one statement for many rows).

The same statements run on SQLite and PostgreSQL: inserts go through `_insert` (each dialect's
ON CONFLICT), writes that depend on what is stored are single upserts (safe at PostgreSQL's
READ COMMITTED), and strings are compared in byte order whatever the server's collation."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    channel_cursors,
    deliveries,
    links,
    members,
    messages,
    reactions,
    shares,
    tombstones,
)

log = logging.getLogger(__name__)

_CHUNK = 500  # keeps IN (...) lists and multi-row VALUES under every backend's limits


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(conn: AsyncConnection, table: Table) -> Any:
    """A dialect insert that supports ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _byte_order(conn: AsyncConnection, value: ColumnElement[str]) -> ColumnElement[str]:
    """`value` compared as Python compares strings (SQLite's default; "C" on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return value.collate("C")
    return value


async def insert_ignoring_conflicts(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert rows, skipping any that collide with a unique key; return the inserted rows."""
    if not rows:
        return []
    inserted: list[Any] = []
    for chunk in _chunks(rows):
        statement = _insert(conn, table).on_conflict_do_nothing()
        if returning:
            result = await conn.execute(
                statement.returning(*(table.c[name] for name in returning)), list(chunk)
            )
            inserted.extend(result.all())
        else:
            await conn.execute(statement, list(chunk))
    return inserted


def _max_length(column: Column[str]) -> int:
    kind = column.type
    assert isinstance(kind, String) and kind.length, f"{column} has no length"
    return kind.length


# --- deliveries -----------------------------------------------------------------------------


async def claim_deliveries(conn: AsyncConnection, keys: Sequence[str], now: datetime) -> set[str]:
    """Record delivery keys; return those not seen before (a replay returns nothing)."""
    unique = list(dict.fromkeys(keys))
    rows = [{"key": key, "received_at": now} for key in unique]
    return {row.key for row in await insert_ignoring_conflicts(conn, deliveries, rows, ["key"])}


async def purge_deliveries(conn: AsyncConnection, before: datetime) -> int:
    """Forget delivery keys older than `before`."""
    result = await conn.execute(delete(deliveries).where(deliveries.c.received_at < before))
    return result.rowcount or 0


# --- channel cursors ------------------------------------------------------------------------


async def advance_cursors(conn: AsyncConnection, cursors: dict[str, str], now: datetime) -> None:
    """Move each channel's backfill cursor forward (never back), in one upsert."""
    if not cursors:
        return
    rows = [
        {"channel": channel, "cursor": cursor, "updated_at": now}
        for channel, cursor in sorted(cursors.items())  # one lock order for every writer
    ]
    statement = _insert(conn, channel_cursors)
    newer = _byte_order(conn, channel_cursors.c.cursor) < _byte_order(
        conn, statement.excluded.cursor
    )
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


# --- members --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """What the bot keeps about a member's account."""

    ref: str
    platform: str
    display_name: str
    first_seen_at: datetime
    last_seen_at: datetime
    allow_quotes: bool
    link_reactions: bool
    timezone: str | None
    digest_dm: bool = False
    goal_checkin: bool = False
    literacy_questions: bool = True
    nudges: bool = True
    nudge_every_days: int = 7
    nudges_snoozed_until: datetime | None = None
    introductions: bool = False


async def touch_members(
    conn: AsyncConnection, seen: dict[str, tuple[str, str]], now: datetime
) -> None:
    """Create or refresh members: `seen` maps ref to (platform, display name)."""
    if not seen:
        return
    rows = [
        {
            "ref": ref,
            "platform": platform,
            "display_name": name[:200],
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for ref, (platform, name) in seen.items()
    ]
    for chunk in _chunks(rows):
        statement = _insert(conn, members)
        statement = statement.on_conflict_do_update(
            index_elements=[members.c.ref],
            set_={
                "display_name": statement.excluded.display_name,
                "last_seen_at": statement.excluded.last_seen_at,
            },
        )
        await conn.execute(statement, list(chunk))


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # scanning tzdata is slow: once per process


async def zones_from_profiles(conn: AsyncConnection, zones: dict[str, str]) -> None:
    """Take members' time zones from their platform profiles where they set none themselves."""
    known = _known_zones()
    rows = [{"r": ref, "z": zone} for ref, zone in zones.items() if zone in known]
    if rows:
        await conn.execute(
            update(members)
            .where(members.c.ref == bindparam("r"), members.c.timezone.is_(None))
            .values(timezone=bindparam("z")),
            rows,
        )


async def get_member(conn: AsyncConnection, ref: str) -> MemberRecord | None:
    """One member, if the bot has seen them."""
    row = (await conn.execute(select(members).where(members.c.ref == ref))).first()
    return MemberRecord(**row._mapping) if row else None


async def get_members(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, MemberRecord]:
    """Several members by ref."""
    found: dict[str, MemberRecord] = {}
    for chunk in _chunks(list(dict.fromkeys(refs))):
        for row in await conn.execute(select(members).where(members.c.ref.in_(list(chunk)))):
            found[row.ref] = MemberRecord(**row._mapping)
    return found


async def update_member_settings(conn: AsyncConnection, ref: str, **values: Any) -> None:
    """Change a member's settings (columns of `members`)."""
    await conn.execute(update(members).where(members.c.ref == ref).values(**values))


async def forgotten_members(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, datetime]:
    """The members among `refs` who asked to be forgotten, with when."""
    found: dict[str, datetime] = {}
    for chunk in _chunks(list(dict.fromkeys(refs))):
        for row in await conn.execute(
            select(tombstones).where(tombstones.c.member_ref.in_(list(chunk)))
        ):
            found[row.member_ref] = row.forgotten_at
    return found


# --- messages -------------------------------------------------------------------------------


async def add_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store received messages (a replayed one is ignored)."""
    await insert_ignoring_conflicts(conn, messages, rows)


async def edit_message(conn: AsyncConnection, ref: str, text: str, edited_at: datetime) -> None:
    """Replace a stored message's text."""
    await conn.execute(
        update(messages).where(messages.c.ref == ref).values(text=text, edited_at=edited_at)
    )


async def delete_messages(conn: AsyncConnection, refs: Sequence[str]) -> None:
    """Remove messages, their shares and reactions."""
    for chunk in _chunks(list(refs)):
        await conn.execute(delete(messages).where(messages.c.ref.in_(list(chunk))))
        await conn.execute(delete(shares).where(shares.c.message_ref.in_(list(chunk))))
        await conn.execute(delete(reactions).where(reactions.c.message_ref.in_(list(chunk))))


async def purge_message_text(conn: AsyncConnection, before: datetime) -> int:
    """Clear the raw text of messages sent before `before` (links and shares stay)."""
    result = await conn.execute(
        update(messages)
        .where(and_(messages.c.sent_at < before, messages.c.text.is_not(None)))
        .values(text=None)
    )
    return result.rowcount or 0


# --- links and shares -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewShare:
    """A link a member shared, before it is stored."""

    community: str
    canonical_url: str
    url: str
    member_ref: str
    message_ref: str
    channel: str
    context: str
    shared_at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StoredShare:
    """A share that was stored (not a replay)."""

    id: int
    link_id: int
    member_ref: str
    message_ref: str


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A link collected in a community, with how many members shared it."""

    id: int
    community: str
    canonical_url: str
    url: str
    title: str | None
    first_shared_at: datetime
    sharers: int


async def record_shares(conn: AsyncConnection, new: Sequence[NewShare]) -> list[StoredShare]:
    """Store links (one per community and canonical URL) and shares; return the new shares."""
    limit = _max_length(links.c.canonical_url)
    too_long = [share for share in new if len(share.canonical_url) > limit]
    if too_long:
        # Not a usable link, and PostgreSQL would refuse the whole statement for it.
        log.warning("ignored %d link(s) longer than %d characters", len(too_long), limit)
        new = [share for share in new if len(share.canonical_url) <= limit]
    if not new:
        return []
    link_rows = {
        (share.community, share.canonical_url): {
            "community": share.community,
            "canonical_url": share.canonical_url,
            "url": share.url[: _max_length(links.c.url)],
            "first_shared_at": share.shared_at,
        }
        for share in reversed(new)  # the first share of a URL wins
    }
    ids: dict[tuple[str, str], int] = {}
    rows = list(link_rows.values())
    for chunk in _chunks(rows):
        # One round trip for new and known links alike: a conflicting row is "updated" to
        # itself so that RETURNING gives its id too.
        statement = _insert(conn, links)
        statement = statement.on_conflict_do_update(
            index_elements=[links.c.community, links.c.canonical_url],
            set_={"community": statement.excluded.community},
        ).returning(links.c.id, links.c.community, links.c.canonical_url)
        for row in await conn.execute(statement, list(chunk)):
            ids[(row.community, row.canonical_url)] = row.id
    share_rows = [
        {
            "link_id": ids[(share.community, share.canonical_url)],
            "community": share.community,
            "member_ref": share.member_ref,
            "message_ref": share.message_ref,
            "channel": share.channel,
            "url": share.url[: _max_length(shares.c.url)],
            "context": share.context,
            "note": share.note,
            "shared_at": share.shared_at,
        }
        for share in new
    ]
    stored = await insert_ignoring_conflicts(
        conn, shares, share_rows, ["id", "link_id", "member_ref", "message_ref"]
    )
    return [StoredShare(row.id, row.link_id, row.member_ref, row.message_ref) for row in stored]


async def shares_of_message(conn: AsyncConnection, message_ref: str) -> list[str]:
    """Canonical URLs shared in one message."""
    result = await conn.execute(
        select(links.c.canonical_url)
        .join(shares, shares.c.link_id == links.c.id)
        .where(shares.c.message_ref == message_ref)
    )
    return list(result.scalars())


async def stored_shares_of_message(conn: AsyncConnection, message_ref: str) -> list[StoredShare]:
    """The shares one message holds."""
    result = await conn.execute(
        select(shares.c.id, shares.c.link_id, shares.c.member_ref, shares.c.message_ref)
        .where(shares.c.message_ref == message_ref)
        .order_by(shares.c.id)
    )
    return [StoredShare(row.id, row.link_id, row.member_ref, row.message_ref) for row in result]


async def remove_shares(conn: AsyncConnection, message_ref: str, canonical_urls: set[str]) -> None:
    """Remove a message's shares of the given links (an edit took them out)."""
    if not canonical_urls:
        return
    link_ids = select(links.c.id).where(links.c.canonical_url.in_(list(canonical_urls)))
    await conn.execute(
        delete(shares).where(shares.c.message_ref == message_ref, shares.c.link_id.in_(link_ids))
    )


async def remove_orphan_links(conn: AsyncConnection) -> None:
    """Drop links nobody shares any more."""
    await conn.execute(
        delete(links).where(~select(shares.c.id).where(shares.c.link_id == links.c.id).exists())
    )


async def list_links(conn: AsyncConnection, community: str, limit: int = 20) -> list[LinkRecord]:
    """The newest links of a community with their number of sharers."""
    sharers = func.count(func.distinct(shares.c.member_ref)).label("sharers")
    result = await conn.execute(
        select(
            links.c.id,
            links.c.community,
            links.c.canonical_url,
            links.c.url,
            links.c.title,
            links.c.first_shared_at,
            sharers,
        )
        .join(shares, shares.c.link_id == links.c.id)
        .where(links.c.community == community)
        .group_by(links.c.id)
        .order_by(links.c.first_shared_at.desc(), links.c.id.desc())
        .limit(limit)
    )
    return [LinkRecord(**row._mapping) for row in result]


# --- reactions ------------------------------------------------------------------------------


async def add_reactions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store members' reactions (a replay is ignored)."""
    await insert_ignoring_conflicts(conn, reactions, rows)


async def remove_reaction(
    conn: AsyncConnection, message_ref: str, member_ref: str, emoji: str
) -> None:
    """Remove one member's reaction."""
    await conn.execute(
        delete(reactions).where(
            reactions.c.message_ref == message_ref,
            reactions.c.member_ref == member_ref,
            reactions.c.emoji == emoji,
        )
    )
