"""Gatherings, RSVPs (with a wait-list), questions, takeaways and calendar tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.gatherings.recurrence import next_occurrence
from bot.storage.schema import (
    calendar_tokens,
    gathering_drafts,
    gathering_questions,
    gathering_threads,
    gatherings,
    members,
    rsvps,
    takeaways,
)
from bot.storage.sql import insert_ignoring_conflicts

DRAFT_LIFETIME = timedelta(days=1)  # a previewed session's confirm button works this long

GOING, MAYBE, NO = "going", "maybe", "no"


@dataclass(frozen=True, slots=True)
class GatheringRecord:
    """A live session (or a series of them)."""

    id: int
    community: str
    uid: str
    title: str
    description: str | None
    starts_at: datetime
    duration_minutes: int
    timezone: str
    recurrence: str | None
    where_url: str | None
    capacity: int | None
    host_ref: str | None
    created_at: datetime
    updated_at: datetime
    sequence: int
    cancelled: bool
    mirror_id: str | None


@dataclass(frozen=True, slots=True)
class RsvpRecord:
    """One member's answer for one occurrence."""

    gathering_id: int
    occurrence_at: datetime
    member_ref: str
    status: str
    waitlisted: bool
    position: int
    at: datetime


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """A question for the host."""

    id: int
    member_ref: str
    text: str
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class TakeawayRecord:
    """One attendee's takeaway."""

    gathering_id: int
    title: str
    member_ref: str
    text: str
    at: datetime


async def create_gathering(conn: AsyncConnection, **values: Any) -> GatheringRecord:
    """Store a new gathering and return it."""
    result = await conn.execute(gatherings.insert().returning(*gatherings.c), [values])
    return GatheringRecord(**result.one()._mapping)


async def get_gathering(conn: AsyncConnection, gathering_id: int) -> GatheringRecord | None:
    """One gathering by id."""
    row = (await conn.execute(select(gatherings).where(gatherings.c.id == gathering_id))).first()
    return GatheringRecord(**row._mapping) if row else None


async def get_gathering_by_uid(conn: AsyncConnection, uid: str) -> GatheringRecord | None:
    """One gathering by its calendar UID."""
    row = (await conn.execute(select(gatherings).where(gatherings.c.uid == uid))).first()
    return GatheringRecord(**row._mapping) if row else None


async def list_gatherings(
    conn: AsyncConnection, community: str | None = None, *, include_cancelled: bool = False
) -> list[GatheringRecord]:
    """Every gathering (of a community), oldest first; callers filter by occurrence."""
    statement = select(gatherings).order_by(gatherings.c.starts_at, gatherings.c.id)
    if community is not None:
        statement = statement.where(gatherings.c.community == community)
    if not include_cancelled:
        statement = statement.where(gatherings.c.cancelled.is_(False))
    return [GatheringRecord(**row._mapping) for row in await conn.execute(statement)]


async def update_gathering(
    conn: AsyncConnection, gathering_id: int, now: datetime, **values: Any
) -> GatheringRecord:
    """Change a gathering, bump its calendar SEQUENCE, and return it."""
    await conn.execute(
        update(gatherings)
        .where(gatherings.c.id == gathering_id)
        .values(updated_at=now, sequence=gatherings.c.sequence + 1, **values)
    )
    found = await get_gathering(conn, gathering_id)
    assert found is not None
    return found


async def set_mirror(conn: AsyncConnection, gathering_id: int, mirror_id: str | None) -> None:
    """Remember the platform's own copy of a gathering (Discord's scheduled event)."""
    await conn.execute(
        update(gatherings).where(gatherings.c.id == gathering_id).values(mirror_id=mirror_id)
    )


async def gathering_by_mirror(conn: AsyncConnection, mirror_id: str) -> GatheringRecord | None:
    """The gathering a platform's copy (a Discord scheduled event) stands for."""
    statement = select(gatherings).where(gatherings.c.mirror_id == mirror_id)
    row = (await conn.execute(statement)).first()
    return GatheringRecord(**row._mapping) if row else None


# --- RSVPs ---------------------------------------------------------------------------------


def _rsvp(row: Any) -> RsvpRecord:
    return RsvpRecord(
        gathering_id=row.gathering_id,
        occurrence_at=row.occurrence_at,
        member_ref=row.member_ref,
        status=row.status,
        waitlisted=row.waitlisted,
        position=row.position,
        at=row.at,
    )


async def rsvps_for(
    conn: AsyncConnection, gathering_id: int, occurrence_at: datetime
) -> list[RsvpRecord]:
    """Every answer for one occurrence, in the order people answered (wait-list by position)."""
    result = await conn.execute(
        select(rsvps)
        .where(rsvps.c.gathering_id == gathering_id, rsvps.c.occurrence_at == occurrence_at)
        .order_by(rsvps.c.position, rsvps.c.id)
    )
    return [_rsvp(row) for row in result]


async def set_rsvp(
    conn: AsyncConnection,
    gathering_id: int,
    occurrence_at: datetime,
    member_ref: str,
    status: str,
    *,
    waitlisted: bool,
    now: datetime,
) -> None:
    """Record a member's answer (replacing an earlier one); a new wait-list entry goes last."""
    position_row = await conn.execute(
        select(func.coalesce(func.max(rsvps.c.position), 0)).where(
            rsvps.c.gathering_id == gathering_id, rsvps.c.occurrence_at == occurrence_at
        )
    )
    position = int(position_row.scalar_one()) + 1
    key = (
        (rsvps.c.gathering_id == gathering_id)
        & (rsvps.c.occurrence_at == occurrence_at)
        & (rsvps.c.member_ref == member_ref)
    )
    existing = (await conn.execute(select(rsvps).where(key))).first()
    if existing is None:
        await conn.execute(
            rsvps.insert(),
            [
                {
                    "gathering_id": gathering_id,
                    "occurrence_at": occurrence_at,
                    "member_ref": member_ref,
                    "status": status,
                    "waitlisted": waitlisted,
                    "position": position,
                    "at": now,
                }
            ],
        )
        return
    values: dict[str, Any] = {"status": status, "waitlisted": waitlisted, "at": now}
    if waitlisted and not existing.waitlisted:
        values["position"] = position
    await conn.execute(update(rsvps).where(key).values(**values))


async def promote(
    conn: AsyncConnection, gathering_id: int, occurrence_at: datetime, member_ref: str
) -> None:
    """Move a member off the wait-list."""
    await conn.execute(
        update(rsvps)
        .where(
            rsvps.c.gathering_id == gathering_id,
            rsvps.c.occurrence_at == occurrence_at,
            rsvps.c.member_ref == member_ref,
        )
        .values(waitlisted=False)
    )


async def member_rsvps(conn: AsyncConnection, member_ref: str) -> list[RsvpRecord]:
    """A member's answers, for their personal calendar."""
    result = await conn.execute(
        select(rsvps).where(rsvps.c.member_ref == member_ref).order_by(rsvps.c.occurrence_at)
    )
    return [_rsvp(row) for row in result]


# --- questions and takeaways ---------------------------------------------------------------


async def add_question(
    conn: AsyncConnection,
    gathering_id: int,
    occurrence_at: datetime,
    member_ref: str,
    text: str,
    now: datetime,
) -> int:
    """Store a question for the host; return its number."""
    result = await conn.execute(
        gathering_questions.insert().returning(gathering_questions.c.id),
        [
            {
                "gathering_id": gathering_id,
                "occurrence_at": occurrence_at,
                "member_ref": member_ref,
                "text": text,
                "asked_at": now,
            }
        ],
    )
    return int(result.scalar_one())


async def questions_for(
    conn: AsyncConnection, gathering_id: int, occurrence_at: datetime
) -> list[QuestionRecord]:
    """The questions asked for one occurrence, oldest first."""
    result = await conn.execute(
        select(gathering_questions)
        .where(
            gathering_questions.c.gathering_id == gathering_id,
            gathering_questions.c.occurrence_at == occurrence_at,
        )
        .order_by(gathering_questions.c.id)
    )
    return [QuestionRecord(row.id, row.member_ref, row.text, row.asked_at) for row in result]


async def add_thread(
    conn: AsyncConnection,
    message_ref: str,
    gathering_id: int,
    occurrence_at: datetime,
    community: str,
) -> None:
    """Remember a takeaways thread so replies in it become takeaways."""
    await insert_ignoring_conflicts(
        conn,
        gathering_threads,
        [
            {
                "message_ref": message_ref,
                "gathering_id": gathering_id,
                "occurrence_at": occurrence_at,
                "community": community,
            }
        ],
    )


async def threads_by_root(
    conn: AsyncConnection, roots: Sequence[str]
) -> dict[str, tuple[int, datetime, str]]:
    """Takeaways threads among `roots` (message refs): (gathering, occurrence, community)."""
    if not roots:
        return {}
    result = await conn.execute(
        select(gathering_threads).where(gathering_threads.c.message_ref.in_(list(roots)))
    )
    return {row.message_ref: (row.gathering_id, row.occurrence_at, row.community) for row in result}


async def add_takeaways(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store takeaways (a replayed message is ignored)."""
    await insert_ignoring_conflicts(conn, takeaways, rows)


async def edit_takeaway(conn: AsyncConnection, message_ref: str, text: str) -> None:
    """A takeaway's message was edited."""
    await conn.execute(
        update(takeaways).where(takeaways.c.message_ref == message_ref).values(text=text)
    )


async def delete_takeaways(conn: AsyncConnection, message_refs: Sequence[str]) -> None:
    """Takeaway messages were deleted."""
    if message_refs:
        await conn.execute(delete(takeaways).where(takeaways.c.message_ref.in_(list(message_refs))))


async def week_takeaways(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[TakeawayRecord]:
    """Takeaways written in [start, end), with their gathering's title."""
    result = await conn.execute(
        select(takeaways, gatherings.c.title)
        .join(gatherings, gatherings.c.id == takeaways.c.gathering_id)
        .where(takeaways.c.community == community, takeaways.c.at >= start, takeaways.c.at < end)
        .order_by(takeaways.c.at, takeaways.c.id)
    )
    return [
        TakeawayRecord(row.gathering_id, row.title, row.member_ref, row.text, row.at)
        for row in result
    ]


# --- members --------------------------------------------------------------------------------


async def member_zones(conn: AsyncConnection, refs: Sequence[str] | None = None) -> dict[str, str]:
    """Members with a known time zone: ref -> zone (all of them when `refs` is None)."""
    statement = select(members.c.ref, members.c.timezone).where(members.c.timezone.is_not(None))
    if refs is not None:
        statement = statement.where(members.c.ref.in_(list(refs)))
    return {row.ref: row.timezone for row in await conn.execute(statement)}


# --- calendar tokens ------------------------------------------------------------------------


async def calendar_token(conn: AsyncConnection, member_ref: str) -> str | None:
    """A member's personal calendar token, if one was issued."""
    row = await conn.execute(
        select(calendar_tokens.c.token).where(calendar_tokens.c.member_ref == member_ref)
    )
    return row.scalar_one_or_none()


async def set_calendar_token(
    conn: AsyncConnection, member_ref: str, token: str, now: datetime
) -> None:
    """Issue (or replace) a member's calendar token."""
    await conn.execute(delete(calendar_tokens).where(calendar_tokens.c.member_ref == member_ref))
    await conn.execute(
        calendar_tokens.insert(), [{"member_ref": member_ref, "token": token, "created_at": now}]
    )


async def member_for_token(conn: AsyncConnection, token: str) -> str | None:
    """Whose calendar a token opens."""
    row = await conn.execute(
        select(calendar_tokens.c.member_ref).where(calendar_tokens.c.token == token)
    )
    return row.scalar_one_or_none()


async def rsvps_since(
    conn: AsyncConnection, gathering_id: int, since: datetime
) -> list[RsvpRecord]:
    """Answers for occurrences starting at or after `since`."""
    result = await conn.execute(
        select(rsvps)
        .where(rsvps.c.gathering_id == gathering_id, rsvps.c.occurrence_at >= since)
        .order_by(rsvps.c.occurrence_at, rsvps.c.position, rsvps.c.id)
    )
    return [_rsvp(row) for row in result]


async def move_occurrences(
    conn: AsyncConnection, gathering_id: int, moves: dict[datetime, datetime]
) -> None:
    """Carry answers and questions over when occurrences move (an edit changed the time).

    Rows are read, deleted and written back, so overlapping moves (a series shifted by one
    week) never collide on the unique key.
    """
    moves = {old: new for old, new in moves.items() if old != new}
    if not moves:
        return
    for table in (rsvps, gathering_questions):
        where = (table.c.gathering_id == gathering_id) & table.c.occurrence_at.in_(list(moves))
        rows = [dict(row._mapping) for row in await conn.execute(select(table).where(where))]
        if not rows:
            continue
        await conn.execute(delete(table).where(where))
        for row in rows:
            row.pop("id", None)
            row["occurrence_at"] = moves[row["occurrence_at"]]
        await conn.execute(table.insert(), rows)


async def add_draft(
    conn: AsyncConnection, community: str, member_ref: str, arguments: str, now: datetime
) -> int:
    """Keep a previewed session's arguments (JSON) for its confirm button; return its number.
    Drafts older than a day go at the same time."""
    await conn.execute(
        delete(gathering_drafts).where(gathering_drafts.c.created_at < now - DRAFT_LIFETIME)
    )
    result = await conn.execute(
        gathering_drafts.insert()
        .values(community=community, member_ref=member_ref, arguments=arguments, created_at=now)
        .returning(gathering_drafts.c.id)
    )
    return int(result.scalar_one())


async def take_draft(
    conn: AsyncConnection, draft_id: int, community: str, member_ref: str, now: datetime
) -> str | None:
    """The arguments of the caller's own draft in this community, removed; None when there is
    no such draft, or it is someone else's, or older than a day."""
    result = await conn.execute(
        delete(gathering_drafts)
        .where(
            gathering_drafts.c.id == draft_id,
            gathering_drafts.c.community == community,
            gathering_drafts.c.member_ref == member_ref,
            gathering_drafts.c.created_at >= now - DRAFT_LIFETIME,
        )
        .returning(gathering_drafts.c.arguments)
    )
    found = result.scalar_one_or_none()
    return None if found is None else str(found)


_DAY = timedelta(days=1)


async def suggestible_gatherings(
    conn: AsyncConnection, community: str, since: datetime, *, limit: int = 200
) -> list[GatheringRecord]:
    """A community's sessions that may still be on after `since` (series, and single ones
    starting after `since` less a day), soonest first: a bounded read on the community's
    start-time index."""
    statement = (
        select(gatherings)
        .where(
            gatherings.c.community == community,
            gatherings.c.cancelled.is_(False),
            or_(gatherings.c.recurrence.is_not(None), gatherings.c.starts_at >= since - _DAY),
        )
        .order_by(gatherings.c.starts_at, gatherings.c.id)
        .limit(limit)
    )
    return [GatheringRecord(**row._mapping) for row in await conn.execute(statement)]


async def answered_gatherings(
    conn: AsyncConnection, member_ref: str, gathering_ids: Sequence[int]
) -> set[int]:
    """Which of these sessions the member answered (any occurrence)."""
    if not gathering_ids:
        return set()
    result = await conn.execute(
        select(rsvps.c.gathering_id)
        .where(rsvps.c.member_ref == member_ref, rsvps.c.gathering_id.in_(list(gathering_ids)))
        .distinct()
    )
    return {int(row[0]) for row in result}


async def own_drafts(
    conn: AsyncConnection, community: str, member_ref: str, now: datetime
) -> list[tuple[int, str]]:
    """The member's own unexpired drafts in this community, newest first: (number, JSON)."""
    result = await conn.execute(
        select(gathering_drafts.c.id, gathering_drafts.c.arguments)
        .where(
            gathering_drafts.c.member_ref == member_ref,
            gathering_drafts.c.community == community,
            gathering_drafts.c.created_at >= now - DRAFT_LIFETIME,
        )
        .order_by(gathering_drafts.c.id.desc())
        .limit(25)
    )
    return [(int(row[0]), str(row[1])) for row in result]


@dataclass(frozen=True, slots=True)
class UpcomingSession:
    """A session's occurrence that RSVPs apply to now, with a member's own answer."""

    gathering: GatheringRecord
    occurrence_at: datetime
    going: int  # confirmed, not wait-listed
    mine: RsvpRecord | None


async def upcoming_sessions(
    conn: AsyncConnection, community: str, member_ref: str, now: datetime, limit: int
) -> list[UpcomingSession]:
    """The community's next `limit` sessions (running or to come), soonest first, each with
    how many are going and the member's own answer."""
    upcoming: list[tuple[datetime, GatheringRecord]] = []
    for gathering in await list_gatherings(conn, community):
        since = now - timedelta(minutes=gathering.duration_minutes) + timedelta(microseconds=1)
        zone = ZoneInfo(gathering.timezone)
        occurrence = next_occurrence(gathering.starts_at, zone, gathering.recurrence, since)
        if occurrence is not None:
            upcoming.append((occurrence, gathering))
    upcoming.sort(key=lambda pair: (pair[0], pair[1].id))
    found: list[UpcomingSession] = []
    for occurrence, gathering in upcoming[:limit]:
        answers = await rsvps_for(conn, gathering.id, occurrence)
        going = sum(1 for a in answers if a.status == GOING and not a.waitlisted)
        mine = next((a for a in answers if a.member_ref == member_ref), None)
        found.append(UpcomingSession(gathering, occurrence, going, mine))
    return found
