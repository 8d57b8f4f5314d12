"""Kernel queries for the conversation record: messages and reactions of watched channels.

The conversation feature writes them, link sharing removes deleted messages, several features
read them and housekeeping expires their raw text, so they belong to no single feature."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import (
    messages,
    reactions,
    shares,
)
from bot.storage.sql import (
    chunks,
    insert_ignoring_conflicts,
)


async def add_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store received messages (a replayed one is ignored)."""
    await insert_ignoring_conflicts(conn, messages, rows)


async def edit_message(conn: AsyncConnection, ref: str, text: str, edited_at: datetime) -> None:
    """Replace a stored message's text."""
    await conn.execute(
        update(messages).where(messages.c.ref == ref).values(text=text, edited_at=edited_at)
    )


async def delete_messages(conn: AsyncConnection, refs: Sequence[str]) -> None:
    """Remove messages, their shares and reactions."""
    for chunk in chunks(list(refs)):
        await conn.execute(delete(messages).where(messages.c.ref.in_(list(chunk))))
        await conn.execute(delete(shares).where(shares.c.message_ref.in_(list(chunk))))
        await conn.execute(delete(reactions).where(reactions.c.message_ref.in_(list(chunk))))


async def purge_message_text(conn: AsyncConnection, before: datetime) -> int:
    """Clear the raw text of messages sent before `before` (links and shares stay)."""
    result = await conn.execute(
        update(messages)
        .where(and_(messages.c.sent_at < before, messages.c.text.is_not(None)))
        .values(text=None)
    )
    return result.rowcount or 0


async def add_reactions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store members' reactions (a replay is ignored)."""
    await insert_ignoring_conflicts(conn, reactions, rows)


async def remove_reaction(
    conn: AsyncConnection, message_ref: str, member_ref: str, emoji: str
) -> None:
    """Remove one member's reaction."""
    await conn.execute(
        delete(reactions).where(
            reactions.c.message_ref == message_ref,
            reactions.c.member_ref == member_ref,
            reactions.c.emoji == emoji,
        )
    )
