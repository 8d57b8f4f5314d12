"""Store for the member loop: own reflections, questions and their answers, critical-literacy
asks and annotations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.members import QUOTES, gives
from bot.storage.schema import (
    link_annotations,
    links,
    literacy_asks,
    members,
    question_answers,
    questions,
    reflections,
)
from bot.storage.sql import insert_ignoring_conflicts, url_key

# --- reflections ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekReflection:
    """A reflection written in a week, with whether its author allows quoting."""

    id: int
    member_ref: str
    text: str
    link_url: str | None
    created_at: datetime
    name: str | None  # the author's display name, None unless they allow quoting


async def add_reflection(
    conn: AsyncConnection,
    *,
    community: str,
    member_ref: str,
    source: str,
    text: str,
    link_url: str | None,
    now: datetime,
    public: bool = False,
) -> int | None:
    """Store a member's own reflection (`public`: written where every member reads it);
    None when this command was stored already."""
    row = {
        "community": community,
        "prompt_post_id": None,
        "member_ref": member_ref,
        "message_ref": source,
        "text": text,
        "created_at": now,
        "link_url": link_url,
        "public": public,
    }
    inserted = await insert_ignoring_conflicts(conn, reflections, [row], ["id"])
    return int(inserted[0].id) if inserted else None


async def week_reflections(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[WeekReflection]:
    """The week's reflections (prompt replies and /reflect), oldest first."""
    result = await conn.execute(
        select(
            reflections.c.id,
            reflections.c.member_ref,
            reflections.c.text,
            reflections.c.link_url,
            reflections.c.created_at,
            reflections.c.public,
            members.c.display_name,
            gives(QUOTES, reflections.c.member_ref).label("quotes"),
        )
        .select_from(reflections.outerjoin(members, members.c.ref == reflections.c.member_ref))
        .where(
            reflections.c.community == community,
            reflections.c.created_at >= start,
            reflections.c.created_at < end,
        )
        .order_by(reflections.c.created_at, reflections.c.id)
    )
    return [
        WeekReflection(
            id=row.id,
            member_ref=row.member_ref,
            text=row.text,
            link_url=row.link_url,
            created_at=row.created_at,
            # Quoted only with consent and only when written where every member reads it.
            name=row.display_name if row.quotes and row.public else None,
        )
        for row in result
    ]


# --- questions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    """A member's /seek question and how many answers it has."""

    id: int
    community: str
    member_ref: str
    text: str
    channel: str | None
    message: str | None
    asked_at: datetime
    answers: int = 0


_QUESTION = (
    questions.c.id,
    questions.c.community,
    questions.c.member_ref,
    questions.c.text,
    questions.c.channel,
    questions.c.message,
    questions.c.asked_at,
)


async def add_question(
    conn: AsyncConnection,
    *,
    community: str,
    member_ref: str,
    text: str,
    command_key: str,
    now: datetime,
) -> int | None:
    """Store a question before it is posted; None when this command was stored already."""
    row = {
        "community": community,
        "member_ref": member_ref,
        "text": text,
        "command_key": command_key,
        "asked_at": now,
    }
    inserted = await insert_ignoring_conflicts(conn, questions, [row], ["id"])
    return int(inserted[0].id) if inserted else None


async def set_question_post(
    conn: AsyncConnection, question_id: int, channel: str, message: str
) -> None:
    """Remember where a question was posted: replies in that thread are its answers."""
    await conn.execute(
        update(questions)
        .where(questions.c.id == question_id)
        .values(channel=channel, message=message)
    )


async def questions_for_threads(
    conn: AsyncConnection, threads: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Question]:
    """The questions whose posts start these (channel, message) threads."""
    if not threads:
        return {}
    result = await conn.execute(
        select(*_QUESTION).where(
            questions.c.channel.in_(sorted({c for c, _ in threads})),
            questions.c.message.in_(sorted({m for _, m in threads})),
        )
    )
    wanted = set(threads)
    found: dict[tuple[str, str], Question] = {}
    for row in result:
        question = Question(**row._mapping)
        key = (str(question.channel), str(question.message))
        if key in wanted:
            found[key] = question
    return found


async def add_answers(conn: AsyncConnection, rows: Sequence[dict[str, object]]) -> None:
    """Store answers (a replayed message is ignored)."""
    await insert_ignoring_conflicts(conn, question_answers, rows)


async def remove_answers(conn: AsyncConnection, message_refs: Sequence[str]) -> None:
    """Forget answers whose messages were deleted."""
    if message_refs:
        await conn.execute(
            delete(question_answers).where(question_answers.c.message_ref.in_(message_refs))
        )


async def questions_asked(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[Question]:
    """Questions asked in [start, end), with their answer counts, oldest first."""
    answers = (
        select(func.count())
        .select_from(question_answers)
        .where(question_answers.c.question_id == questions.c.id)
        .scalar_subquery()
    )
    result = await conn.execute(
        select(*_QUESTION, answers.label("answers"))
        .where(
            questions.c.community == community,
            questions.c.asked_at >= start,
            questions.c.asked_at < end,
        )
        .order_by(questions.c.asked_at, questions.c.id)
    )
    return [Question(**row._mapping) for row in result]


# --- critical literacy ------------------------------------------------------------------------


async def last_ask(conn: AsyncConnection, community: str, member_ref: str) -> datetime | None:
    """When the member was last asked a literacy question in this community."""
    result = await conn.execute(
        select(func.max(literacy_asks.c.asked_at)).where(
            literacy_asks.c.community == community, literacy_asks.c.member_ref == member_ref
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    return value


async def record_ask(
    conn: AsyncConnection,
    *,
    community: str,
    member_ref: str,
    link_id: int,
    share_id: int,
    now: datetime,
) -> bool:
    """Record a literacy question; False when this share was asked about already."""
    row = {
        "community": community,
        "member_ref": member_ref,
        "link_id": link_id,
        "share_id": share_id,
        "asked_at": now,
    }
    return bool(await insert_ignoring_conflicts(conn, literacy_asks, [row], ["id"]))


@dataclass(frozen=True, slots=True)
class PendingAsk:
    """A literacy question not answered yet."""

    id: int
    community: str
    link_id: int
    asked_at: datetime


async def pending_ask(conn: AsyncConnection, member_ref: str, since: datetime) -> PendingAsk | None:
    """The member's newest unanswered literacy question asked since `since`."""
    row = (
        await conn.execute(
            select(
                literacy_asks.c.id,
                literacy_asks.c.community,
                literacy_asks.c.link_id,
                literacy_asks.c.asked_at,
            )
            .where(
                literacy_asks.c.member_ref == member_ref,
                literacy_asks.c.answered_at.is_(None),
                literacy_asks.c.asked_at >= since,
            )
            .order_by(literacy_asks.c.asked_at.desc(), literacy_asks.c.id.desc())
            .limit(1)
        )
    ).first()
    return PendingAsk(**row._mapping) if row else None


async def mark_answered(
    conn: AsyncConnection, member_ref: str, link_id: int, now: datetime
) -> None:
    """The member answered the questions about this link."""
    await conn.execute(
        update(literacy_asks)
        .where(
            literacy_asks.c.member_ref == member_ref,
            literacy_asks.c.link_id == link_id,
            literacy_asks.c.answered_at.is_(None),
        )
        .values(answered_at=now)
    )


async def link_in_community(conn: AsyncConnection, community: str, link_id: int) -> str | None:
    """The canonical URL of a community's link by id, if it exists."""
    result = await conn.execute(
        select(links.c.canonical_url).where(links.c.id == link_id, links.c.community == community)
    )
    value: str | None = result.scalar_one_or_none()
    return value


async def recent_links(
    conn: AsyncConnection, community: str, query: str, limit: int
) -> list[tuple[int, str, str | None]]:
    """A community's newest links (id, canonical URL, title) whose address or title contains
    `query` (any case)."""
    statement = select(links.c.id, links.c.canonical_url, links.c.title).where(
        links.c.community == community
    )
    if query.strip():
        pattern = "%" + query.strip().lower().replace("%", "").replace("_", "") + "%"
        statement = statement.where(
            func.lower(links.c.canonical_url).like(pattern)
            | func.lower(func.coalesce(links.c.title, "")).like(pattern)
        )
    result = await conn.execute(statement.order_by(links.c.id.desc()).limit(limit))
    return [(int(row.id), str(row.canonical_url), row.title) for row in result]


async def link_id_for(conn: AsyncConnection, community: str, canonical_url: str) -> int | None:
    """A community's link id by canonical URL."""
    result = await conn.execute(
        select(links.c.id).where(
            links.c.community == community, links.c.url_key == url_key(canonical_url)
        )
    )
    value: int | None = result.scalar_one_or_none()
    return value


async def add_annotation(
    conn: AsyncConnection,
    *,
    community: str,
    link_id: int,
    member_ref: str,
    text: str,
    source_key: str,
    now: datetime,
    public: bool = False,
) -> bool:
    """Attach a member's words to a link (`public`: written where every member reads it);
    False when this event was stored already."""
    row = {
        "community": community,
        "link_id": link_id,
        "member_ref": member_ref,
        "text": text,
        "source_key": source_key,
        "created_at": now,
        "public": public,
    }
    return bool(await insert_ignoring_conflicts(conn, link_annotations, [row], ["id"]))


@dataclass(frozen=True, slots=True)
class Annotation:
    """A member's annotation of a link, with whether they allow quoting."""

    link_id: int
    member_ref: str
    text: str
    name: str | None


async def annotations_of(conn: AsyncConnection, link_ids: Sequence[int]) -> list[Annotation]:
    """Annotations of these links, oldest first."""
    if not link_ids:
        return []
    result = await conn.execute(
        select(
            link_annotations.c.link_id,
            link_annotations.c.member_ref,
            link_annotations.c.text,
            link_annotations.c.public,
            members.c.display_name,
            gives(QUOTES, link_annotations.c.member_ref).label("quotes"),
        )
        .select_from(
            link_annotations.outerjoin(members, members.c.ref == link_annotations.c.member_ref)
        )
        .where(link_annotations.c.link_id.in_(list(link_ids)))
        .order_by(link_annotations.c.created_at, link_annotations.c.id)
    )
    return [
        Annotation(
            link_id=row.link_id,
            member_ref=row.member_ref,
            text=row.text,
            name=row.display_name if row.quotes and row.public else None,
        )
        for row in result
    ]
