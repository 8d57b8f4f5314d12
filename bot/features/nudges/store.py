"""The nudges sent to members: what the hourly job reads before deciding (each member's latest
nudge and the unanswered ones since their last own action, what this hour already sent) and
what it records after each direct message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.engagement import NUDGED_MEMBER
from bot.storage.schema import memberships, nudges
from bot.storage.sql import chunks


@dataclass(frozen=True, slots=True)
class NudgeRecord:
    """One nudge as it was sent."""

    id: int
    community: str
    member_ref: str
    sent_at: datetime
    reason: str
    step: str
    text: str
    answered_at: datetime | None
    named_ref: str | None = None
    named: str | None = None


@dataclass(frozen=True, slots=True)
class NudgeHistory:
    """What the rules need about one member's nudges."""

    last_sent_at: datetime | None = None
    last_text: str | None = None
    last_step: str | None = None
    unanswered: int = 0  # sent after their last own action in the community
    count: int = 0  # every nudge they ever got here


async def histories(
    conn: AsyncConnection, community: str, refs: Sequence[str]
) -> dict[str, NudgeHistory]:
    """Each member's nudge history in `community` (members never nudged are absent)."""
    found: dict[str, NudgeHistory] = {}
    for chunk in chunks(list(dict.fromkeys(refs))):
        wanted = list(chunk)
        totals = await conn.execute(
            select(nudges.c.member_ref, func.count(), func.max(nudges.c.sent_at))
            .where(nudges.c.community == community, nudges.c.member_ref.in_(wanted))
            .group_by(nudges.c.member_ref)
        )
        latest: dict[str, tuple[int, datetime]] = {
            ref: (int(count), sent_at) for ref, count, sent_at in totals
        }
        if not latest:
            continue
        unanswered = await conn.execute(
            select(nudges.c.member_ref, func.count())
            .select_from(nudges.outerjoin(memberships, NUDGED_MEMBER))
            .where(
                nudges.c.community == community,
                nudges.c.member_ref.in_(wanted),
                or_(
                    memberships.c.last_active_at.is_(None),
                    nudges.c.sent_at > memberships.c.last_active_at,
                ),
            )
            .group_by(nudges.c.member_ref)
        )
        open_counts = {ref: int(count) for ref, count in unanswered}
        last_rows = await conn.execute(
            select(nudges.c.member_ref, nudges.c.text, nudges.c.step, nudges.c.sent_at)
            .where(nudges.c.community == community, nudges.c.member_ref.in_(wanted))
            .order_by(nudges.c.sent_at, nudges.c.id)
        )
        last_texts: dict[str, tuple[str, str]] = {}
        for ref, text, step, _sent_at in last_rows:
            last_texts[ref] = (text, step)  # ordered: the last one wins
        for ref, (count, sent_at) in latest.items():
            text, step = last_texts[ref]
            found[ref] = NudgeHistory(
                last_sent_at=sent_at,
                last_text=text,
                last_step=step,
                unanswered=open_counts.get(ref, 0),
                count=count,
            )
    return found


async def last_sent_anywhere(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, datetime]:
    """Each member's latest nudge in any community (one member, one inbox)."""
    found: dict[str, datetime] = {}
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(nudges.c.member_ref, func.max(nudges.c.sent_at))
            .where(nudges.c.member_ref.in_(list(chunk)))
            .group_by(nudges.c.member_ref)
        )
        for ref, sent_at in result:
            found[ref] = sent_at
    return found


async def sent_since(conn: AsyncConnection, community: str, since: datetime) -> int:
    """How many nudges `community` recorded at or after `since`."""
    result = await conn.execute(
        select(func.count())
        .select_from(nudges)
        .where(nudges.c.community == community, nudges.c.sent_at >= since)
    )
    return int(result.scalar_one())


async def record(
    conn: AsyncConnection,
    *,
    community: str,
    member_ref: str,
    sent_at: datetime,
    reason: str,
    step: str,
    text: str,
    named: tuple[str, str] | None = None,
) -> None:
    """Keep one sent nudge, exactly as sent (`named`: the peer it names, and how)."""
    await conn.execute(
        insert(nudges).values(
            community=community,
            member_ref=member_ref,
            sent_at=sent_at,
            reason=reason,
            step=step,
            text=text,
            named_ref=named[0] if named else None,
            named=named[1] if named else None,
        )
    )


async def member_nudges(
    conn: AsyncConnection, community: str, member_ref: str, limit: int = 3
) -> list[NudgeRecord]:
    """A member's latest nudges in `community`, newest first."""
    result = await conn.execute(
        select(nudges)
        .where(nudges.c.community == community, nudges.c.member_ref == member_ref)
        .order_by(nudges.c.sent_at.desc(), nudges.c.id.desc())
        .limit(limit)
    )
    return [NudgeRecord(**row._mapping) for row in result]
