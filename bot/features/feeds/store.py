"""Feeds and their entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.members import NAMED, gives
from bot.storage.schema import feed_entries, feeds, members
from bot.storage.sql import insert_ignoring_conflicts, max_length


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """A followed feed."""

    id: int
    community: str
    url: str
    title: str | None
    site_url: str | None
    owner_ref: str | None
    added_at: datetime
    backfill: bool
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    failures: int
    paused: bool
    last_error: str | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry read from a feed, before it is stored."""

    key: str
    link: str | None
    canonical_link: str | None
    title: str
    summary: str | None
    content_hash: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class WeekPost:
    """A blog post for the digest."""

    id: int
    feed_id: int
    title: str
    link: str | None
    feed_title: str | None
    owner_ref: str | None
    owner_name: str | None
    owner_named: bool


def _url_or_none(url: str | None, column: Column[str]) -> str | None:
    # A cut URL would lead nowhere, and PostgreSQL refuses one longer than the column.
    return url if url is None or len(url) <= max_length(column) else None


async def add_feed(
    conn: AsyncConnection,
    *,
    community: str,
    url: str,
    title: str | None,
    site_url: str | None,
    owner_ref: str | None,
    backfill: bool,
    now: datetime,
) -> FeedRecord | None:
    """Follow a feed; None when the community already follows it."""
    added = await insert_ignoring_conflicts(
        conn,
        feeds,
        [
            {
                "community": community,
                "url": url,
                "title": title,
                "site_url": _url_or_none(site_url, feeds.c.site_url),
                "owner_ref": owner_ref,
                "added_at": now,
                "backfill": backfill,
                "next_poll_at": now,
            }
        ],
        ["id"],
    )
    if not added:
        return None
    return await get_feed(conn, added[0].id)


async def get_feed(conn: AsyncConnection, feed_id: int) -> FeedRecord | None:
    """One feed."""
    row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
    return FeedRecord(**row._mapping) if row else None


async def list_feeds(
    conn: AsyncConnection, community: str, owner_ref: str | None = None
) -> list[FeedRecord]:
    """A community's feeds (a member's own and the community's when `owner_ref` is given)."""
    statement = select(feeds).where(feeds.c.community == community)
    if owner_ref is not None:
        statement = statement.where(
            or_(feeds.c.owner_ref == owner_ref, feeds.c.owner_ref.is_(None))
        )
    result = await conn.execute(statement.order_by(feeds.c.id))
    return [FeedRecord(**row._mapping) for row in result]


async def remove_feed(conn: AsyncConnection, feed_id: int) -> None:
    """Stop following a feed (its entries go with it)."""
    await conn.execute(delete(feed_entries).where(feed_entries.c.feed_id == feed_id))
    await conn.execute(delete(feeds).where(feeds.c.id == feed_id))


async def due_feeds(conn: AsyncConnection, now: datetime, limit: int = 1000) -> list[FeedRecord]:
    """Feeds whose next poll is due and that are not paused."""
    result = await conn.execute(
        select(feeds)
        .where(feeds.c.next_poll_at <= now, ~feeds.c.paused)
        .order_by(feeds.c.next_poll_at)
        .limit(limit)
    )
    return [FeedRecord(**row._mapping) for row in result]


async def update_feed(conn: AsyncConnection, feed_id: int, **values: Any) -> None:
    """Record a poll's outcome (validators, schedule, failures, pause, site link)."""
    if "site_url" in values:
        values["site_url"] = _url_or_none(values["site_url"], feeds.c.site_url)
    await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


async def store_entries(
    conn: AsyncConnection,
    feed: FeedRecord,
    entries: Sequence[NewEntry],
    now: datetime,
) -> int:
    """Store entries not seen before (by id, canonical link or content hash); count new ones.

    Entries published before the feed was added are kept hidden (so they are never announced)
    unless the member asked for a backfill.
    """
    if not entries:
        return 0
    known = await conn.execute(
        select(
            feed_entries.c.entry_key, feed_entries.c.canonical_link, feed_entries.c.content_hash
        ).where(feed_entries.c.feed_id == feed.id)
    )
    keys: set[str] = set()
    for key, link, digest in known:
        keys.update(value for value in (key, link, digest) if value)
    rows = []
    for entry in entries:
        identity = {entry.key, entry.content_hash} | ({entry.canonical_link} - {None})
        if identity & keys:
            continue
        keys |= {value for value in identity if value}
        rows.append(
            {
                "feed_id": feed.id,
                "community": feed.community,
                "entry_key": entry.key[:500],
                "link": _url_or_none(entry.link, feed_entries.c.link),
                "canonical_link": _url_or_none(entry.canonical_link, feed_entries.c.canonical_link),
                "title": entry.title[:500],
                "summary": entry.summary,
                "content_hash": entry.content_hash,
                "published_at": entry.published_at,
                "seen_at": now,
                "hidden": entry.published_at < feed.added_at and not feed.backfill,
            }
        )
    stored = await insert_ignoring_conflicts(conn, feed_entries, rows, ["id"])
    return len(stored)


async def week_posts(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[WeekPost]:
    """Visible posts published in [start, end), with their owner's name and consent."""
    result = await conn.execute(
        select(
            feed_entries.c.id,
            feed_entries.c.feed_id,
            feed_entries.c.title,
            feed_entries.c.link,
            feeds.c.title.label("feed_title"),
            feeds.c.owner_ref,
            members.c.display_name.label("owner_name"),
            gives(NAMED, feeds.c.owner_ref).label("owner_named"),
        )
        .join(feeds, feeds.c.id == feed_entries.c.feed_id)
        .outerjoin(members, members.c.ref == feeds.c.owner_ref)
        .where(
            feed_entries.c.community == community,
            feed_entries.c.published_at >= start,
            feed_entries.c.published_at < end,
            ~feed_entries.c.hidden,
        )
        .order_by(feed_entries.c.published_at)
    )
    return [WeekPost(**row._mapping) for row in result]


async def entry_count(conn: AsyncConnection, feed_id: int) -> int:
    """How many entries a feed has given."""
    result = await conn.execute(
        select(func.count()).select_from(feed_entries).where(feed_entries.c.feed_id == feed_id)
    )
    return int(result.scalar_one())


async def recent_feeds(conn: AsyncConnection, community: str, *, limit: int) -> list[FeedRecord]:
    """A community's newest feeds (a bounded read on the community's index)."""
    result = await conn.execute(
        select(feeds).where(feeds.c.community == community).order_by(feeds.c.id.desc()).limit(limit)
    )
    return [FeedRecord(**row._mapping) for row in result]


@dataclass(frozen=True, slots=True)
class MemberPost:
    """A post from a member's own feed."""

    title: str
    link: str
    canonical_link: str | None
    published_at: datetime


async def member_posts(
    conn: AsyncConnection, community: str, member_ref: str, *, limit: int = 20
) -> list[MemberPost]:
    """The newest posts of the feeds the member registered in the community, newest first."""
    rows = await conn.execute(
        select(
            feed_entries.c.title,
            feed_entries.c.link,
            feed_entries.c.canonical_link,
            feed_entries.c.published_at,
        )
        .join(feeds, feeds.c.id == feed_entries.c.feed_id)
        .where(
            feeds.c.community == community,
            feeds.c.owner_ref == member_ref,
            feed_entries.c.link.is_not(None),
        )
        .order_by(feed_entries.c.published_at.desc(), feed_entries.c.id.desc())
        .limit(limit)
    )
    return [MemberPost(row.title, row.link, row.canonical_link, row.published_at) for row in rows]
