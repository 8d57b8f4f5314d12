"""Store of the home page: who opened theirs and when (`home_views`), the publish on its way,
and the member's own week as the page shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    home_views,
    links,
    messages,
    question_answers,
    questions,
    reactions,
    reflections,
    shares,
)
from bot.storage.sql import chunks, dialect_insert

# A publish not confirmed after this long is taken as lost (parked, or its process died): the
# next change writes a new one instead of waiting for its confirmation.
IN_FLIGHT = timedelta(minutes=2)
SHOWN = 5  # items of each kind a page lists


async def record_open(
    conn: AsyncConnection, member_ref: str, community: str, facilitator: bool, now: datetime
) -> None:
    """The member opened their page now (it shows `community`)."""
    values = {"community": community, "opened_at": now, "facilitator": facilitator}
    insert = dialect_insert(conn, home_views).values(member_ref=member_ref, **values)
    await conn.execute(
        insert.on_conflict_do_update(index_elements=[home_views.c.member_ref], set_=values)
    )


@dataclass(frozen=True, slots=True)
class Viewer:
    """A member who looks at their page: the community it shows, and whether they facilitate
    it (as last seen)."""

    member_ref: str
    community: str
    facilitator: bool


async def viewers(conn: AsyncConnection, refs: Sequence[str], since: datetime) -> list[Viewer]:
    """Of `refs`, those who opened their page since `since`."""
    found: list[Viewer] = []
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(home_views.c.member_ref, home_views.c.community, home_views.c.facilitator)
            .where(home_views.c.member_ref.in_(list(chunk)), home_views.c.opened_at >= since)
            .order_by(home_views.c.member_ref)
        )
        found.extend(Viewer(row.member_ref, row.community, bool(row.facilitator)) for row in result)
    return found


@dataclass(frozen=True, slots=True)
class Engagement:
    """Someone engaged with a message: reacted to it, or replied in its thread."""

    channel: str  # the channel's ref, as `messages.channel` holds it
    message: str  # the message's id in it (a thread's root for a reply)
    by: str  # who engaged


async def engaged_owners(
    conn: AsyncConnection, engagements: Sequence[Engagement], since: datetime
) -> set[str]:
    """Members who opened their page since `since` and whose message, or posted question,
    someone else engaged with: their week's "who engaged" changed."""
    if not engagements:
        return set()
    by_ref: dict[str, set[str]] = {}
    for found in engagements:
        by_ref.setdefault(f"{found.channel}/{found.message}", set()).add(found.by)
    owners: set[str] = set()
    for chunk in chunks(list(by_ref)):
        authored = await conn.execute(
            select(messages.c.ref, messages.c.author_ref)
            .select_from(
                messages.join(home_views, home_views.c.member_ref == messages.c.author_ref)
            )
            .where(messages.c.ref.in_(list(chunk)), home_views.c.opened_at >= since)
        )
        owners.update(row.author_ref for row in authored if by_ref[row.ref] - {row.author_ref})
    # A question is posted by the bot: answers reply in its thread, so its asker is the owner.
    posts = {found.message for found in engagements}
    for chunk in chunks(list(posts)):
        asked = await conn.execute(
            select(questions.c.channel, questions.c.message, questions.c.member_ref)
            .select_from(
                questions.join(home_views, home_views.c.member_ref == questions.c.member_ref)
            )
            .where(questions.c.message.in_(list(chunk)), home_views.c.opened_at >= since)
        )
        for row in asked:
            engagers = by_ref.get(f"{row.channel}/{row.message}", set())
            if engagers - {row.member_ref}:
                owners.add(row.member_ref)
    return owners


async def community_viewers(conn: AsyncConnection, community: str, since: datetime) -> list[Viewer]:
    """Everyone whose page shows `community` and who opened it since `since`."""
    result = await conn.execute(
        select(home_views.c.member_ref, home_views.c.community, home_views.c.facilitator)
        .where(home_views.c.community == community, home_views.c.opened_at >= since)
        .order_by(home_views.c.member_ref)
    )
    return [Viewer(row.member_ref, row.community, bool(row.facilitator)) for row in result]


async def claim_publish(conn: AsyncConnection, member_ref: str, now: datetime) -> bool:
    """True: write a publish now (none is on its way); False: one is, and it is marked stale,
    so its confirmation writes the next."""
    claimed = await conn.execute(
        update(home_views)
        .where(
            home_views.c.member_ref == member_ref,
            (home_views.c.publishing_since.is_(None))
            | (home_views.c.publishing_since < now - IN_FLIGHT),
        )
        .values(publishing_since=now, stale=False)
    )
    if claimed.rowcount:
        return True
    await conn.execute(
        update(home_views).where(home_views.c.member_ref == member_ref).values(stale=True)
    )
    return False


async def finish_publish(conn: AsyncConnection, member_ref: str, now: datetime) -> Viewer | None:
    """A publish was confirmed: the viewer to publish for again when the page changed
    meanwhile (the next publish is then on its way), else None."""
    row = (
        await conn.execute(
            select(home_views.c.stale, home_views.c.community, home_views.c.facilitator).where(
                home_views.c.member_ref == member_ref
            )
        )
    ).first()
    if row is None:
        return None
    if row.stale:
        await conn.execute(
            update(home_views)
            .where(home_views.c.member_ref == member_ref)
            .values(publishing_since=now, stale=False)
        )
        return Viewer(member_ref, str(row.community), bool(row.facilitator))
    await conn.execute(
        update(home_views)
        .where(home_views.c.member_ref == member_ref)
        .values(publishing_since=None)
    )
    return None


@dataclass(frozen=True, slots=True)
class WeekItem:
    """Something the member did this week: its text (their own words or a link) and when."""

    text: str
    at: datetime
    url: str | None = None


@dataclass(frozen=True, slots=True)
class LoopWeek:
    """The member's own seek · sense · share in one week, and who engaged with it."""

    sought: int
    questions: tuple[WeekItem, ...]
    reflected: int
    reflections: tuple[WeekItem, ...]
    shared: int
    shares: tuple[WeekItem, ...]
    engaged: tuple[str, ...]  # member refs who replied, reacted or answered


async def loop_week(
    conn: AsyncConnection, community: str, member_ref: str, start: datetime, end: datetime
) -> LoopWeek:
    """What the member sought, reflected on and shared in [start, end), newest first."""

    def within(column: ColumnElement[datetime]) -> ColumnElement[bool]:
        return (column >= start) & (column < end)

    asked = (
        select(questions.c.text, questions.c.asked_at)
        .where(
            questions.c.community == community,
            questions.c.member_ref == member_ref,
            within(questions.c.asked_at),
        )
        .order_by(questions.c.asked_at.desc())
    )
    kept = (
        select(reflections.c.text, reflections.c.created_at, reflections.c.link_url)
        .where(
            reflections.c.community == community,
            reflections.c.member_ref == member_ref,
            within(reflections.c.created_at),
        )
        .order_by(reflections.c.created_at.desc())
    )
    shared = (
        select(links.c.title, shares.c.shared_at, links.c.canonical_url)
        .select_from(shares.join(links, links.c.id == shares.c.link_id))
        .where(
            shares.c.community == community,
            shares.c.member_ref == member_ref,
            within(shares.c.shared_at),
        )
        .order_by(shares.c.shared_at.desc())
    )
    found: list[tuple[int, tuple[WeekItem, ...]]] = []
    for statement in (asked, kept, shared):
        total = int(
            (
                await conn.execute(select(func.count()).select_from(statement.subquery()))
            ).scalar_one()
        )
        rows = await conn.execute(statement.limit(SHOWN))
        items = tuple(
            WeekItem(text=str(row[0] or ""), at=row[1], url=row[2] if len(row) > 2 else None)
            for row in rows
        )
        found.append((total, items))
    return LoopWeek(
        sought=found[0][0],
        questions=found[0][1],
        reflected=found[1][0],
        reflections=found[1][1],
        shared=found[2][0],
        shares=found[2][1],
        engaged=tuple(await _engaged(conn, community, member_ref, start, end)),
    )


async def _engaged(
    conn: AsyncConnection, community: str, member_ref: str, start: datetime, end: datetime
) -> list[str]:
    """Members who reacted to the member's messages, replied in their threads or answered
    their questions in [start, end), first engagement first."""
    root = messages.alias("root")
    reply = messages
    reacted = (
        select(reactions.c.member_ref, reactions.c.reacted_at)
        .select_from(reactions.join(messages, messages.c.ref == reactions.c.message_ref))
        .where(
            reactions.c.community == community,
            messages.c.author_ref == member_ref,
            reactions.c.member_ref != member_ref,
            reactions.c.reacted_at >= start,
            reactions.c.reacted_at < end,
        )
    )
    replied = (
        select(reply.c.author_ref, reply.c.sent_at)
        .select_from(reply.join(root, root.c.ref == reply.c.channel + "/" + reply.c.thread))
        .where(
            reply.c.community == community,
            reply.c.thread.is_not(None),
            root.c.author_ref == member_ref,
            reply.c.author_ref != member_ref,
            reply.c.sent_at >= start,
            reply.c.sent_at < end,
        )
    )
    answered = (
        select(question_answers.c.member_ref, question_answers.c.answered_at)
        .select_from(
            question_answers.join(questions, questions.c.id == question_answers.c.question_id)
        )
        .where(
            questions.c.community == community,
            questions.c.member_ref == member_ref,
            question_answers.c.member_ref != member_ref,
            question_answers.c.answered_at >= start,
            question_answers.c.answered_at < end,
        )
    )
    first: dict[str, datetime] = {}
    for statement in (reacted, replied, answered):
        for ref, at in await conn.execute(statement):
            if ref not in first or at < first[ref]:
                first[ref] = at
    return sorted(first, key=lambda ref: (first[ref], ref))
