"""Repository for bridging introductions: who opted in, what members shared lately (as topic
items), and the introductions made (one row per pair and community, never repeated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.introductions.topics import Item
from bot.features.members import INTRODUCTIONS, QUOTES, gives
from bot.storage.schema import (
    introductions,
    link_annotations,
    links,
    members,
    memberships,
    questions,
    reflections,
    shares,
)
from bot.storage.sql import insert_ignoring_conflicts

TOPIC_SEPARATOR = ", "  # topics are words, two words or domains: never a comma inside


@dataclass(frozen=True, slots=True)
class IntroductionCandidate:
    """A member of the community who opted in to introductions."""

    member_ref: str
    platform: str
    name: str
    allow_quotes: bool
    contacted_at: datetime | None  # when they last talked to the bot itself
    facilitator: bool


@dataclass(frozen=True, slots=True)
class Shared:
    """One of a member's recent shares, for quoting: the page's title and their own words
    (the `/share` note, or what they wrote around the link)."""

    id: int
    member_ref: str
    url: str
    title: str | None
    note: str | None
    context: str = ""
    channel: str = ""  # where it was shared: its words are quoted only from a public one


@dataclass(frozen=True, slots=True)
class Made:
    """An introduction that was made."""

    id: int
    community: str
    member_a: str
    member_b: str
    topics: tuple[str, ...]
    introduced_at: datetime

    def other(self, member_ref: str) -> str:
        """The member `member_ref` was introduced to."""
        return self.member_b if member_ref == self.member_a else self.member_a


async def candidates(conn: AsyncConnection, community: str) -> list[IntroductionCandidate]:
    """Members of `community` who opted in (the bot never keeps bots as members)."""
    result = await conn.execute(
        select(
            members.c.ref,
            members.c.platform,
            members.c.display_name,
            gives(QUOTES, members.c.ref).label("allow_quotes"),
            memberships.c.contacted_at,
            memberships.c.facilitator,
        )
        .select_from(members.join(memberships, memberships.c.member_ref == members.c.ref))
        .where(memberships.c.community == community, gives(INTRODUCTIONS, members.c.ref))
        .order_by(members.c.ref)
    )
    return [
        IntroductionCandidate(
            member_ref=row.ref,
            platform=row.platform,
            name=row.display_name,
            allow_quotes=bool(row.allow_quotes),
            contacted_at=row.contacted_at,
            facilitator=row.facilitator,
        )
        for row in result
    ]


async def topic_items(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> tuple[list[Item], dict[str, Shared]]:
    """Everything members contributed to `community` in [start, end) as topic items (shares
    with their page's title and description, reflections, questions, annotations), and the
    shares by item source, for quoting."""
    items: list[Item] = []
    shared: dict[str, Shared] = {}
    result = await conn.execute(
        select(
            shares.c.id,
            shares.c.member_ref,
            shares.c.url,
            shares.c.note,
            shares.c.context,
            shares.c.channel,
            shares.c.shared_at,
            links.c.canonical_url,
            links.c.title,
            links.c.description,
        )
        .select_from(shares.join(links, links.c.id == shares.c.link_id))
        .where(
            shares.c.community == community,
            shares.c.shared_at >= start,
            shares.c.shared_at < end,
        )
        .order_by(shares.c.id)
    )
    for row in result:
        source = f"share:{row.id}"
        texts = tuple(text for text in (row.title, row.description, row.note, row.context) if text)
        items.append(
            Item(
                member_ref=row.member_ref,
                at=row.shared_at,
                texts=texts,
                url=row.canonical_url,
                source=source,
            )
        )
        shared[source] = Shared(
            id=row.id,
            member_ref=row.member_ref,
            url=row.canonical_url,
            title=row.title,
            note=row.note,
            context=row.context or "",
            channel=row.channel,
        )
    # Members' own words elsewhere: (table, time column, source prefix, link column or None).
    # A reflection may be private (`/reflect` answers only its author); with quotes off its
    # words must not surface as topics in someone else's introduction either.
    # Words written to the bot alone (a DM, a command there: `public` false) never surface.
    writings: tuple[tuple[Table, str, str, str | None, bool], ...] = (
        (reflections, "created_at", "reflection", "link_url", True),
        (questions, "asked_at", "question", None, False),
        (link_annotations, "created_at", "annotation", None, False),
    )
    for table, at, kind, link, needs_consent in writings:
        when = table.c[at]
        columns = [table.c.id, table.c.member_ref, table.c.text, when.label("at")]
        if link is not None:
            columns.append(table.c[link].label("url"))
        query = select(*columns).where(table.c.community == community, when >= start, when < end)
        if "public" in table.c:
            query = query.where(table.c.public.is_(True))
        if needs_consent:
            query = query.where(gives(QUOTES, table.c.member_ref))
        result = await conn.execute(query.order_by(table.c.id))
        for row in result:
            items.append(
                Item(
                    member_ref=row.member_ref,
                    at=row.at,
                    texts=(row.text,),
                    url=row.url if link is not None else None,
                    source=f"{kind}:{row.id}",
                )
            )
    return items, shared


async def introduced_pairs(conn: AsyncConnection, community: str) -> set[frozenset[str]]:
    """Every pair ever introduced in `community`."""
    result = await conn.execute(
        select(introductions.c.member_a, introductions.c.member_b).where(
            introductions.c.community == community
        )
    )
    return {frozenset((a, b)) for a, b in result}


async def introduced_since(conn: AsyncConnection, community: str, since: datetime) -> set[str]:
    """Members of `community` introduced after `since`."""
    result = await conn.execute(
        select(introductions.c.member_a, introductions.c.member_b).where(
            introductions.c.community == community, introductions.c.introduced_at > since
        )
    )
    return {member for pair in result for member in pair}


def _made(row: Row[Any]) -> Made:
    mapping = row._mapping
    return Made(
        id=mapping["id"],
        community=mapping["community"],
        member_a=mapping["member_a"],
        member_b=mapping["member_b"],
        topics=tuple(t for t in mapping["topics"].split(TOPIC_SEPARATOR) if t),
        introduced_at=mapping["introduced_at"],
    )


async def record(
    conn: AsyncConnection,
    community: str,
    member_a: str,
    member_b: str,
    topics: tuple[str, ...],
    at: datetime,
) -> bool:
    """Record an introduction; False when the pair was introduced before."""
    first, second = sorted((member_a, member_b))
    row = {
        "community": community,
        "member_a": first,
        "member_b": second,
        "topics": TOPIC_SEPARATOR.join(topics),
        "introduced_at": at,
    }
    return bool(await insert_ignoring_conflicts(conn, introductions, [row], ["id"]))


async def made_at(conn: AsyncConnection, community: str, at: datetime) -> list[Made]:
    """The introductions one run (its due time `at`) made in `community`, in order."""
    result = await conn.execute(
        select(introductions)
        .where(introductions.c.community == community, introductions.c.introduced_at == at)
        .order_by(introductions.c.id)
    )
    return [_made(row) for row in result]


async def of_member(conn: AsyncConnection, community: str, member_ref: str) -> list[Made]:
    """A member's introductions in `community`, newest first."""
    result = await conn.execute(
        select(introductions)
        .where(
            introductions.c.community == community,
            or_(introductions.c.member_a == member_ref, introductions.c.member_b == member_ref),
        )
        .order_by(introductions.c.introduced_at.desc(), introductions.c.id.desc())
    )
    return [_made(row) for row in result]


async def names(conn: AsyncConnection, refs: list[str]) -> dict[str, str]:
    """Display names of members by ref."""
    if not refs:
        return {}
    result = await conn.execute(
        select(members.c.ref, members.c.display_name).where(members.c.ref.in_(refs))
    )
    return {ref: name for ref, name in result}
