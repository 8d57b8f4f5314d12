"""Store for the data-ownership commands: how much the bot keeps about a member."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import messages, questions, reactions, reflections, shares


async def kept_counts(conn: AsyncConnection, ref: str, community: str) -> dict[str, int]:
    """How many messages, shares, reactions, reflections and questions of `ref` are kept."""

    async def count(statement: Any) -> int:
        return int((await conn.execute(statement)).scalar_one())

    return {
        "messages": await count(
            select(func.count())
            .select_from(messages)
            .where(messages.c.author_ref == ref, messages.c.community == community)
        ),
        "shares": await count(
            select(func.count())
            .select_from(shares)
            .where(shares.c.member_ref == ref, shares.c.community == community)
        ),
        "reactions": await count(
            select(func.count())
            .select_from(reactions)
            .where(reactions.c.member_ref == ref, reactions.c.community == community)
        ),
        "reflections": await count(
            select(func.count())
            .select_from(reflections)
            .where(reflections.c.member_ref == ref, reflections.c.community == community)
        ),
        "questions": await count(
            select(func.count())
            .select_from(questions)
            .where(questions.c.member_ref == ref, questions.c.community == community)
        ),
    }
