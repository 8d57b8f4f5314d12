"""Kernel queries for members: accounts the bot has seen, their settings, and who asked to
be forgotten (tombstones). What a member allows (quotes, being named...) is not a setting:
the members feature keeps it in `consents`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    members,
    tombstones,
)
from bot.storage.sql import (
    chunks,
    dialect_insert,
)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """What the bot keeps about a member's account."""

    ref: str
    platform: str
    display_name: str
    first_seen_at: datetime
    last_seen_at: datetime
    link_reactions: bool
    timezone: str | None
    digest_dm: bool = False
    goal_checkin: bool = False
    literacy_questions: bool = True
    nudges: bool = True
    nudge_every_days: int = 7
    nudges_snoozed_until: datetime | None = None


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
    for chunk in chunks(rows):
        statement = dialect_insert(conn, members)
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
    for chunk in chunks(list(dict.fromkeys(refs))):
        for row in await conn.execute(select(members).where(members.c.ref.in_(list(chunk)))):
            found[row.ref] = MemberRecord(**row._mapping)
    return found


async def update_member_settings(conn: AsyncConnection, ref: str, **values: Any) -> None:
    """Change a member's settings (columns of `members`)."""
    await conn.execute(update(members).where(members.c.ref == ref).values(**values))


async def forgotten_members(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, datetime]:
    """The members among `refs` who asked to be forgotten, with when."""
    found: dict[str, datetime] = {}
    for chunk in chunks(list(dict.fromkeys(refs))):
        for row in await conn.execute(
            select(tombstones).where(tombstones.c.member_ref.in_(list(chunk)))
        ):
            found[row.member_ref] = row.forgotten_at
    return found
