"""Kernel queries for memberships: who belongs to which community, when they joined, were last
active and last talked to the bot, and whether they facilitate. The dispatcher writes them from
every batch; features read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import memberships
from bot.storage.sql import chunks, dialect_insert


@dataclass(frozen=True, slots=True)
class Sighting:
    """One member seen in one community in a batch of events."""

    community: str
    member_ref: str
    at: datetime  # when (the event's own time: backfilled history keeps its dates)
    active: bool  # they did something (a join alone is not activity)
    contacted: bool  # they talked to the bot itself (a command, a button, a DM)
    facilitator: bool


@dataclass(frozen=True, slots=True)
class Membership:
    """A member of one community."""

    community: str
    member_ref: str
    joined_at: datetime
    first_active_at: datetime | None
    last_active_at: datetime | None
    contacted_at: datetime | None
    facilitator: bool


def _later(current: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    """The later of two nullable times, portably (SQLite has no GREATEST)."""
    return case(
        (new.is_(None), current),
        (current.is_(None), new),
        (new > current, new),
        else_=current,
    )


def _earlier(current: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two nullable times, portably."""
    return case(
        (new.is_(None), current),
        (current.is_(None), new),
        (new < current, new),
        else_=current,
    )


async def touch_memberships(conn: AsyncConnection, sightings: Sequence[Sighting]) -> None:
    """Record members seen in communities: first sign, last action, last contact, role."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for seen in sightings:
        key = (seen.community, seen.member_ref)
        row = merged.setdefault(
            key,
            {
                "community": seen.community,
                "member_ref": seen.member_ref,
                "joined_at": seen.at,
                "first_active_at": None,
                "last_active_at": None,
                "contacted_at": None,
                "facilitator": seen.facilitator,
            },
        )
        row["joined_at"] = min(row["joined_at"], seen.at)
        if seen.active:
            row["facilitator"] = seen.facilitator
            if row["last_active_at"] is None or seen.at > row["last_active_at"]:
                row["last_active_at"] = seen.at
            if row["first_active_at"] is None or seen.at < row["first_active_at"]:
                row["first_active_at"] = seen.at
        if seen.contacted and (row["contacted_at"] is None or seen.at > row["contacted_at"]):
            row["contacted_at"] = seen.at
    if not merged:
        return
    table = memberships
    for chunk in chunks(list(merged.values())):
        statement = dialect_insert(conn, table)
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.community, table.c.member_ref],
            set_={
                "joined_at": case(
                    (new.joined_at < table.c.joined_at, new.joined_at), else_=table.c.joined_at
                ),
                "first_active_at": _earlier(table.c.first_active_at, new.first_active_at),
                "last_active_at": _later(table.c.last_active_at, new.last_active_at),
                "contacted_at": _later(table.c.contacted_at, new.contacted_at),
                # The role as of the latest action (a join tells nothing about roles).
                "facilitator": case(
                    (new.last_active_at.is_(None), table.c.facilitator), else_=new.facilitator
                ),
            },
        )
        await conn.execute(statement, list(chunk))


async def community_members(conn: AsyncConnection, community: str) -> list[Membership]:
    """Everyone the bot has seen in `community`."""
    result = await conn.execute(
        select(memberships)
        .where(memberships.c.community == community)
        .order_by(memberships.c.member_ref)
    )
    return [Membership(**row._mapping) for row in result]


async def memberships_of(conn: AsyncConnection, refs: Sequence[str]) -> list[Membership]:
    """Every community membership of the members `refs`."""
    found: list[Membership] = []
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(memberships).where(memberships.c.member_ref.in_(list(chunk)))
        )
        found.extend(Membership(**row._mapping) for row in result)
    return found


async def membership(conn: AsyncConnection, community: str, member_ref: str) -> Membership | None:
    """One member's membership of `community`, if the bot has seen them there."""
    row = (
        await conn.execute(
            select(memberships).where(
                memberships.c.community == community, memberships.c.member_ref == member_ref
            )
        )
    ).first()
    return Membership(**row._mapping) if row else None
