"""Queries behind the weekly digest. Every query is bounded by the week (indexed on
community and time), so building a digest costs what the week holds, not the history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    digest_choices,
    digest_issues,
    digest_posts,
    links,
    members,
    messages,
    reactions,
    shares,
)
from bot.storage.sql import chunks, dialect_insert, insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class WeekShare:
    """One share made during the week."""

    link_id: int
    member_ref: str
    message_ref: str
    channel: str
    note: str | None
    context: str | None
    shared_at: datetime


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A link's stored description."""

    id: int
    url: str
    canonical_url: str
    title: str | None
    site_name: str | None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A facilitator's curation choice for one item of one week's digest."""

    item: str
    action: str
    reason: str | None
    member_ref: str
    chosen_at: datetime


@dataclass(frozen=True, slots=True)
class Issue:
    """A posted digest."""

    community: str
    week: str
    posted_at: datetime


async def week_shares(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[WeekShare]:
    """Shares made in [start, end)."""
    result = await conn.execute(
        select(
            shares.c.link_id,
            shares.c.member_ref,
            shares.c.message_ref,
            shares.c.channel,
            shares.c.note,
            shares.c.context,
            shares.c.shared_at,
        )
        .where(
            shares.c.community == community,
            shares.c.shared_at >= start,
            shares.c.shared_at < end,
        )
        .order_by(shares.c.shared_at, shares.c.id)
    )
    return [WeekShare(**row._mapping) for row in result]


async def link_infos(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, LinkInfo]:
    """Links by id."""
    found: dict[int, LinkInfo] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        result = await conn.execute(
            select(
                links.c.id,
                links.c.url,
                links.c.canonical_url,
                links.c.title,
                links.c.site_name,
                links.c.description,
            ).where(links.c.id.in_(list(chunk)))
        )
        for row in result:
            found[row.id] = LinkInfo(**row._mapping)
    return found


async def reaction_counts(conn: AsyncConnection, message_refs: Sequence[str]) -> dict[str, int]:
    """How many member reactions each message received."""
    counts: dict[str, int] = {}
    for chunk in chunks(list(dict.fromkeys(message_refs))):
        result = await conn.execute(
            select(reactions.c.message_ref, func.count())
            .where(reactions.c.message_ref.in_(list(chunk)))
            .group_by(reactions.c.message_ref)
        )
        counts.update({ref: int(count) for ref, count in result.all()})
    return counts


async def reply_counts(
    conn: AsyncConnection, community: str, thread_ids: Sequence[str]
) -> dict[str, int]:
    """How many replies each thread root (by message id) received."""
    counts: dict[str, int] = {}
    for chunk in chunks(list(dict.fromkeys(thread_ids))):
        result = await conn.execute(
            select(messages.c.thread, func.count())
            .where(messages.c.community == community, messages.c.thread.in_(list(chunk)))
            .group_by(messages.c.thread)
        )
        counts.update({thread: int(count) for thread, count in result.all()})
    return counts


async def choices(conn: AsyncConnection, community: str, week: str) -> list[Choice]:
    """Facilitators' choices for one week."""
    result = await conn.execute(
        select(
            digest_choices.c.item,
            digest_choices.c.action,
            digest_choices.c.reason,
            digest_choices.c.member_ref,
            digest_choices.c.chosen_at,
        ).where(digest_choices.c.community == community, digest_choices.c.week == week)
    )
    return [Choice(**row._mapping) for row in result]


async def record_choice(
    conn: AsyncConnection,
    community: str,
    week: str,
    item: str,
    action: str,
    reason: str | None,
    member_ref: str,
    now: datetime,
) -> None:
    """Record (or replace) a curation choice, in one upsert."""
    statement = dialect_insert(conn, digest_choices).values(
        community=community,
        week=week,
        item=item,
        action=action,
        reason=reason,
        member_ref=member_ref,
        chosen_at=now,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[
                digest_choices.c.community,
                digest_choices.c.week,
                digest_choices.c.item,
            ],
            set_={
                name: statement.excluded[name]
                for name in ("action", "reason", "member_ref", "chosen_at")
            },
        )
    )


async def claim_posts(
    conn: AsyncConnection, community: str, week: str, channels: Sequence[str], now: datetime
) -> list[str]:
    """Claim the channels this week's digest was not yet posted to; return them."""
    rows = [
        {"community": community, "week": week, "channel": channel, "posted_at": now}
        for channel in channels
    ]
    claimed = await insert_ignoring_conflicts(conn, digest_posts, rows, ["channel"])
    await insert_ignoring_conflicts(
        conn, digest_issues, [{"community": community, "week": week, "posted_at": now}]
    )
    return [row.channel for row in claimed]


async def issues(conn: AsyncConnection, community: str | None = None) -> list[Issue]:
    """Posted digests, newest first."""
    statement = select(digest_issues.c.community, digest_issues.c.week, digest_issues.c.posted_at)
    if community is not None:
        statement = statement.where(digest_issues.c.community == community)
    result = await conn.execute(statement.order_by(digest_issues.c.posted_at.desc()))
    return [Issue(**row._mapping) for row in result]


async def issue(conn: AsyncConnection, community: str, week: str) -> Issue | None:
    """One posted digest."""
    result = await conn.execute(
        select(digest_issues.c.community, digest_issues.c.week, digest_issues.c.posted_at).where(
            digest_issues.c.community == community, digest_issues.c.week == week
        )
    )
    row = result.first()
    return Issue(**row._mapping) if row else None


async def digest_dm_members(conn: AsyncConnection, platform_refs: Sequence[str]) -> list[str]:
    """Members (among `platform_refs`) who asked for the digest by DM."""
    found: list[str] = []
    for chunk in chunks(list(dict.fromkeys(platform_refs))):
        result = await conn.execute(
            select(members.c.ref).where(members.c.ref.in_(list(chunk)), members.c.digest_dm)
        )
        found.extend(result.scalars())
    return found


async def active_members(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> set[str]:
    """Members who posted or reacted in the community during [start, end)."""
    posted = await conn.execute(
        select(messages.c.author_ref)
        .where(
            messages.c.community == community,
            messages.c.sent_at >= start,
            messages.c.sent_at < end,
        )
        .distinct()
    )
    reacted = await conn.execute(
        select(reactions.c.member_ref)
        .where(
            reactions.c.community == community,
            reactions.c.reacted_at >= start,
            reactions.c.reacted_at < end,
        )
        .distinct()
    )
    return set(posted.scalars()) | set(reacted.scalars())


async def community_members_wanting_dm(conn: AsyncConnection, community: str) -> list[str]:
    """Members who ever spoke in the community and asked for the digest by DM."""
    result = await conn.execute(
        select(members.c.ref).where(
            members.c.digest_dm,
            select(messages.c.id)
            .where(messages.c.author_ref == members.c.ref, messages.c.community == community)
            .exists(),
        )
    )
    return list(result.scalars())


async def posted_channels(conn: AsyncConnection, community: str, week: str) -> set[str]:
    """The channels (and "dm:" members) this week's digest already went to."""
    result = await conn.execute(
        select(digest_posts.c.channel).where(
            digest_posts.c.community == community, digest_posts.c.week == week
        )
    )
    return set(result.scalars())
