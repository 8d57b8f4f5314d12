"""The one place consents are read and written: every feature that quotes, names or introduces
a member asks these functions (or puts `gives` in its own query), never the table itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.members.consents import CONSENTS, consent
from bot.storage.schema import consents, members
from bot.storage.sql import chunks, dialect_insert, insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    """Where a member stands on one consent."""

    key: str
    given: bool  # their answer, else the consent's default
    answered: bool  # False: they never said (the default applies)
    asked_at: datetime | None


def gives(key: str, member: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL, true where the member in `member` allows `key` (the default when unanswered);
    correlated with the query it is used in."""
    if consent(key).default:
        return ~exists().where(
            consents.c.member_ref == member,
            consents.c.consent == key,
            consents.c.given.is_(False),
        )
    return exists().where(
        consents.c.member_ref == member,
        consents.c.consent == key,
        consents.c.given.is_(True),
    )


async def consenting(conn: AsyncConnection, key: str, refs: Sequence[str]) -> set[str]:
    """The members among `refs` who allow `key`."""
    default = consent(key).default
    found: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(consents.c.member_ref, consents.c.given).where(
                consents.c.consent == key, consents.c.member_ref.in_(list(chunk))
            )
        )
        answers = {row.member_ref: row.given for row in result}
        found.update(
            ref for ref in chunk if (default if answers.get(ref) is None else answers[ref])
        )
    return found


async def consent_names(
    conn: AsyncConnection, key: str, refs: Sequence[str]
) -> dict[str, str | None]:
    """Display names of the members among `refs` who allow `key`; None for the others."""
    names: dict[str, str | None] = {}
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(
                members.c.ref, members.c.display_name, gives(key, members.c.ref).label("given")
            ).where(members.c.ref.in_(list(chunk)))
        )
        for row in result:
            names[row.ref] = row.display_name if row.given else None
    return names


async def answers_of(conn: AsyncConnection, ref: str) -> list[ConsentAnswer]:
    """Every consent, in the registry's order, as `ref` stands on it."""
    result = await conn.execute(select(consents).where(consents.c.member_ref == ref))
    rows = {row.consent: row for row in result}
    found: list[ConsentAnswer] = []
    for item in CONSENTS:
        row = rows.get(item.key)
        given = row.given if row is not None else None
        found.append(
            ConsentAnswer(
                key=item.key,
                given=item.default if given is None else bool(given),
                answered=given is not None,
                asked_at=row.asked_at if row is not None else None,
            )
        )
    return found


async def record_answers(
    conn: AsyncConnection, ref: str, answers: Mapping[str, bool], now: datetime
) -> None:
    """Keep the member's answers (an answer replaces the last; when they were asked stays)."""
    rows = [
        {"member_ref": ref, "consent": consent(key).key, "given": given, "answered_at": now}
        for key, given in answers.items()
    ]
    if not rows:
        return
    statement = dialect_insert(conn, consents)
    statement = statement.on_conflict_do_update(
        index_elements=[consents.c.member_ref, consents.c.consent],
        set_={"given": statement.excluded.given, "answered_at": statement.excluded.answered_at},
    )
    await conn.execute(statement, rows)


async def claim_asks(
    conn: AsyncConnection, key: str, refs: Sequence[str], now: datetime
) -> set[str]:
    """Note that `key` is being asked of the members among `refs` who were never asked and
    never answered; return them (everyone else has been asked, or has said, already)."""
    rows = [
        {"member_ref": ref, "consent": consent(key).key, "asked_at": now}
        for ref in dict.fromkeys(refs)
    ]
    inserted = await insert_ignoring_conflicts(conn, consents, rows, ["member_ref"])
    return {row.member_ref for row in inserted}


async def answered(conn: AsyncConnection, key: str, refs: Sequence[str]) -> set[str]:
    """The members among `refs` who answered `key`, yes or no."""
    found: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(refs))):
        result = await conn.execute(
            select(consents.c.member_ref).where(
                consents.c.consent == key,
                consents.c.member_ref.in_(list(chunk)),
                consents.c.given.is_not(None),
            )
        )
        found.update(result.scalars())
    return found


async def withdraw_ask(conn: AsyncConnection, key: str, ref: str) -> None:
    """Forget that `key` was asked of `ref` (the question never reached them)."""
    await conn.execute(
        delete(consents).where(
            consents.c.member_ref == ref, consents.c.consent == key, consents.c.given.is_(None)
        )
    )
