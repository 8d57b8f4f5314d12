"""Repository for prompt schedules, posted prompts, library rotation and reflections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database, StorageError
from bot.storage.schema import prompt_library_uses, prompt_posts, prompt_schedules, reflections
from bot.storage.sql import insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class PromptSchedule:
    """A facilitator's rhythm for one stage in one channel."""

    id: int
    community: str
    stage: str
    rule: str
    channel: str
    text: str | None
    paused: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PromptPost:
    """A prompt that was posted, and where its thread lives."""

    id: int
    schedule_id: int | None
    community: str
    stage: str
    due_at: datetime
    channel: str
    message: str
    text: str
    library_key: str | None


def _schedule(row: object) -> PromptSchedule:
    return PromptSchedule(
        **{name: getattr(row, name) for name in PromptSchedule.__dataclass_fields__}
    )


def _post(row: object) -> PromptPost:
    return PromptPost(**{name: getattr(row, name) for name in PromptPost.__dataclass_fields__})


async def add_schedule(
    conn: AsyncConnection,
    *,
    community: str,
    stage: str,
    rule: str,
    channel: str,
    text: str | None,
    created_by: str,
    now: datetime,
) -> PromptSchedule:
    """Create a schedule and return it."""
    result = await conn.execute(
        prompt_schedules.insert()
        .values(
            community=community,
            stage=stage,
            rule=rule,
            channel=channel,
            text=text,
            paused=False,
            created_by=created_by,
            created_at=now,
        )
        .returning(*prompt_schedules.c)
    )
    return _schedule(result.one())


async def get_schedule(conn: AsyncConnection, schedule_id: int) -> PromptSchedule | None:
    """One schedule, if it exists."""
    query = select(prompt_schedules).where(prompt_schedules.c.id == schedule_id)
    result = await conn.execute(query)
    row = result.first()
    return None if row is None else _schedule(row)


async def list_schedules(
    conn: AsyncConnection, community: str | None = None
) -> list[PromptSchedule]:
    """Schedules of one community (or all), oldest first."""
    query = select(prompt_schedules).order_by(prompt_schedules.c.id)
    if community is not None:
        query = query.where(prompt_schedules.c.community == community)
    return [_schedule(row) for row in await conn.execute(query)]


async def set_paused(conn: AsyncConnection, schedule_id: int, paused: bool) -> None:
    """Pause or resume a schedule."""
    await conn.execute(
        update(prompt_schedules).where(prompt_schedules.c.id == schedule_id).values(paused=paused)
    )


async def remove_schedule(conn: AsyncConnection, schedule_id: int) -> None:
    """Delete a schedule; its posted prompts and their reflections stay."""
    await conn.execute(delete(prompt_schedules).where(prompt_schedules.c.id == schedule_id))


async def used_library_keys(conn: AsyncConnection, community: str, stage: str) -> set[str]:
    """Library prompts already used in this round of the rotation."""
    result = await conn.execute(
        select(prompt_library_uses.c.prompt_key).where(
            prompt_library_uses.c.community == community, prompt_library_uses.c.stage == stage
        )
    )
    return set(result.scalars())


async def start_new_round(conn: AsyncConnection, community: str, stage: str) -> None:
    """Forget the rotation of a stage whose prompts have all been used."""
    await conn.execute(
        delete(prompt_library_uses).where(
            prompt_library_uses.c.community == community, prompt_library_uses.c.stage == stage
        )
    )


async def use_library_key(
    conn: AsyncConnection, community: str, stage: str, key: str, now: datetime
) -> None:
    """Record that a library prompt was chosen."""
    row = {"community": community, "stage": stage, "prompt_key": key, "used_at": now}
    await insert_ignoring_conflicts(conn, prompt_library_uses, [row])


async def record_post(
    conn: AsyncConnection,
    *,
    schedule_id: int | None,
    community: str,
    stage: str,
    due_at: datetime,
    channel: str,
    message: str,
    text: str,
    library_key: str | None,
    now: datetime,
) -> None:
    """Remember a posted prompt (recording the same post again changes nothing)."""
    row = {
        "schedule_id": schedule_id,
        "community": community,
        "stage": stage,
        "due_at": due_at,
        "channel": channel,
        "message": message,
        "text": text,
        "library_key": library_key,
        "posted_at": now,
    }
    await insert_ignoring_conflicts(conn, prompt_posts, [row])


async def post_for_threads(
    conn: AsyncConnection, threads: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], PromptPost]:
    """The prompt posts that start these (channel, message) threads."""
    found: dict[tuple[str, str], PromptPost] = {}
    channels = sorted({channel for channel, _ in threads})
    messages = sorted({message for _, message in threads})
    if not threads:
        return found
    result = await conn.execute(
        select(prompt_posts).where(
            prompt_posts.c.channel.in_(channels), prompt_posts.c.message.in_(messages)
        )
    )
    wanted = set(threads)
    for row in result:
        post = _post(row)
        if (post.channel, post.message) in wanted:
            found[(post.channel, post.message)] = post
    return found


async def posts_of(conn: AsyncConnection, community: str, limit: int = 50) -> list[PromptPost]:
    """The newest posted prompts of a community, newest first."""
    result = await conn.execute(
        select(prompt_posts)
        .where(prompt_posts.c.community == community)
        .order_by(prompt_posts.c.due_at.desc(), prompt_posts.c.id.desc())
        .limit(limit)
    )
    return [_post(row) for row in result]


async def add_reflections(conn: AsyncConnection, rows: Sequence[dict[str, object]]) -> int:
    """Store reflections; a message already stored is skipped. Returns how many were new."""
    return len(await insert_ignoring_conflicts(conn, reflections, rows, ["id"]))


async def edit_reflection(
    conn: AsyncConnection, message_ref: str, text: str, edited_at: datetime
) -> None:
    """Follow an edit of the message a reflection came from."""
    await conn.execute(
        update(reflections)
        .where(reflections.c.message_ref == message_ref)
        .values(text=text, edited_at=edited_at)
    )


async def remove_reflections(conn: AsyncConnection, message_refs: Sequence[str]) -> None:
    """Delete the reflections of deleted messages."""
    if message_refs:
        await conn.execute(delete(reflections).where(reflections.c.message_ref.in_(message_refs)))


@dataclass(frozen=True, slots=True)
class Reflection:
    """A member's answer to a prompt (or a reflection of their own)."""

    id: int
    community: str
    prompt_post_id: int | None
    member_ref: str
    message_ref: str
    text: str
    created_at: datetime


async def reflections_on(conn: AsyncConnection, prompt_post_id: int) -> list[Reflection]:
    """The reflections posted in one prompt's thread, oldest first."""
    result = await conn.execute(
        select(reflections)
        .where(reflections.c.prompt_post_id == prompt_post_id)
        .order_by(reflections.c.created_at, reflections.c.id)
    )
    return [
        Reflection(
            id=row.id,
            community=row.community,
            prompt_post_id=row.prompt_post_id,
            member_ref=row.member_ref,
            message_ref=row.message_ref,
            text=row.text,
            created_at=row.created_at,
        )
        for row in result
    ]


def no_sqlite_file(url: str) -> bool:
    """Whether `url` names a SQLite database file that does not exist (or none at all)."""
    # Opening a missing SQLite file would create it: `check` must not leave one behind.
    if not url.startswith("sqlite"):
        return False
    path = make_url(url).database
    return not path or path == ":memory:" or not Path(path).exists()


async def schedules_at(url: str) -> list[PromptSchedule]:
    """Every stored schedule of the database at `url`; StorageError says why it is unreadable."""
    database = Database(url)
    try:
        async with database.reading() as conn:
            return await list_schedules(conn)
    except SQLAlchemyError as error:
        raise StorageError(str(getattr(error, "orig", error))) from error
    finally:
        await database.close()
