"""Store for members' learning goals: the active goal, replacing and closing it, goals reached,
and the goals due a weekly check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    goals,
    members,
)


@dataclass(frozen=True, slots=True)
class Goal:
    """A member's learning goal in one community."""

    id: int
    community: str
    member_ref: str
    text: str
    set_at: datetime
    closed_at: datetime | None
    status: str


async def active_goal(conn: AsyncConnection, community: str, member_ref: str) -> Goal | None:
    """The member's current goal, if any."""
    row = (
        await conn.execute(
            select(goals).where(
                goals.c.community == community,
                goals.c.member_ref == member_ref,
                goals.c.status == "active",
            )
        )
    ).first()
    return Goal(**row._mapping) if row else None


async def set_goal(
    conn: AsyncConnection, community: str, member_ref: str, text: str, now: datetime
) -> Goal | None:
    """Make `text` the member's goal; return the goal it replaced, if any."""
    previous = await active_goal(conn, community, member_ref)
    if previous is not None:
        await close_goal(conn, previous.id, "replaced", now)
    await conn.execute(
        goals.insert().values(
            community=community, member_ref=member_ref, text=text, set_at=now, status="active"
        )
    )
    return previous


async def close_goal(conn: AsyncConnection, goal_id: int, status: str, now: datetime) -> None:
    """Mark a goal done (or replaced)."""
    await conn.execute(
        update(goals).where(goals.c.id == goal_id).values(status=status, closed_at=now)
    )


async def goals_done(conn: AsyncConnection, community: str, member_ref: str) -> int:
    """How many goals the member has reached in this community."""
    result = await conn.execute(
        select(func.count())
        .select_from(goals)
        .where(
            goals.c.community == community,
            goals.c.member_ref == member_ref,
            goals.c.status == "done",
        )
    )
    return int(result.scalar_one())


async def checkin_goals(conn: AsyncConnection, community: str) -> list[Goal]:
    """Active goals of members who asked for a weekly check-in, by member."""
    result = await conn.execute(
        select(goals)
        .join(members, members.c.ref == goals.c.member_ref)
        .where(
            goals.c.community == community,
            goals.c.status == "active",
            members.c.goal_checkin.is_(True),
        )
        .order_by(goals.c.member_ref)
    )
    return [Goal(**row._mapping) for row in result]
