"""Store for shared links: one link per community and canonical URL, one share per member
and message, and the listing of a community's links."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    links,
    shares,
)
from bot.storage.sql import (
    MAX_URL_LENGTH,
    chunks,
    dialect_insert,
    insert_ignoring_conflicts,
    url_key,
)

log = logging.getLogger(__name__)


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
    limit = MAX_URL_LENGTH
    too_long = [share for share in new if len(share.canonical_url) > limit]
    if too_long:
        log.warning("ignored %d link(s) longer than %d characters", len(too_long), limit)
        new = [share for share in new if len(share.canonical_url) <= limit]
    if not new:
        return []
    link_rows = {
        (share.community, share.canonical_url): {
            "community": share.community,
            "canonical_url": share.canonical_url,
            "url_key": url_key(share.canonical_url),
            "url": share.url[:limit],
            "first_shared_at": share.shared_at,
        }
        for share in reversed(new)  # the first share of a URL wins
    }
    ids: dict[tuple[str, str], int] = {}
    rows = list(link_rows.values())
    for chunk in chunks(rows):
        # One round trip for new and known links alike: a conflicting row is "updated" to
        # itself so that RETURNING gives its id too.
        statement = dialect_insert(conn, links)
        statement = statement.on_conflict_do_update(
            index_elements=[links.c.community, links.c.url_key],
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
            "url": share.url[:limit],
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
    keys = [url_key(url) for url in canonical_urls]
    link_ids = select(links.c.id).where(links.c.url_key.in_(keys))
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


async def links_seen_by(
    conn: AsyncConnection, community: str, member_ref: str, channels: Sequence[str], limit: int
) -> list[tuple[int, str, str | None]]:
    """The newest links of a community that `member_ref` shared or that were shared in one of
    `channels` (those every member reads): (id, canonical address, title)."""
    seen = exists().where(
        shares.c.link_id == links.c.id,
        or_(shares.c.member_ref == member_ref, shares.c.channel.in_(list(channels))),
    )
    result = await conn.execute(
        select(links.c.id, links.c.canonical_url, links.c.title)
        .where(links.c.community == community, seen)
        .order_by(links.c.first_shared_at.desc(), links.c.id.desc())
        .limit(limit)
    )
    return [(row.id, row.canonical_url, row.title) for row in result]
