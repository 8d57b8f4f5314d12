"""Store for onboarding: welcomes claimed per member and community, and the community threads
(such as introductions) onboarding posts once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    community_threads,
    welcomes,
)
from bot.storage.sql import insert_ignoring_conflicts


async def claim_welcomes(
    conn: AsyncConnection, community: str, member_refs: Sequence[str], now: datetime
) -> set[str]:
    """Record welcomes; return the members not welcomed in this community before."""
    rows = [
        {"community": community, "member_ref": ref, "welcomed_at": now}
        for ref in dict.fromkeys(member_refs)
    ]
    inserted = await insert_ignoring_conflicts(conn, welcomes, rows, ["member_ref"])
    return {row.member_ref for row in inserted}


async def community_thread(
    conn: AsyncConnection, community: str, kind: str, channel: str
) -> str | None:
    """The message id of a community's thread of this kind in a channel, if posted."""
    result = await conn.execute(
        select(community_threads.c.message).where(
            community_threads.c.community == community,
            community_threads.c.kind == kind,
            community_threads.c.channel == channel,
        )
    )
    value: str | None = result.scalar_one_or_none()
    return value


async def record_community_thread(
    conn: AsyncConnection, community: str, kind: str, channel: str, message: str, now: datetime
) -> None:
    """Remember a community thread (the first one recorded stays)."""
    row = {
        "community": community,
        "kind": kind,
        "channel": channel,
        "message": message,
        "created_at": now,
    }
    await insert_ignoring_conflicts(conn, community_threads, [row])
