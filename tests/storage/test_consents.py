"""Consents on a real SQLite file and a real PostgreSQL server: off until answered, asked once,
exported and erased with the rest, and the upgrade from per-member columns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Connection, column, insert, select, table

from bot.features import FEATURES
from bot.features.members import (
    CONSENTS,
    INTRODUCTIONS,
    NAMED,
    QUOTES,
    answered,
    claim_asks,
    consent_names,
    consenting,
    gives,
    withdraw_ask,
)
from bot.features.members.consent_store import answers_of, record_answers
from bot.runtime.feature import member_tables
from bot.storage.database import Database, _alembic_config
from bot.storage.member_data import erase_member, export_member
from bot.storage.members import touch_members
from bot.storage.schema import consents, members
from tests.helpers import START

pytestmark = pytest.mark.both_backends

ALICE, BOB, CAROL = "console:/alice", "console:/bob", "console:/carol"
EVERY_TABLE = member_tables(FEATURES)


async def _members(database: Database, *refs: str) -> None:
    async with database.transaction() as conn:
        await touch_members(conn, {ref: ("console", ref.rsplit("/", 1)[1]) for ref in refs}, START)


def test_every_consent_that_quotes_names_or_publishes_is_off_by_default() -> None:
    assert {item.key for item in CONSENTS} >= {QUOTES, NAMED, INTRODUCTIONS}
    assert [item.key for item in CONSENTS if item.default] == []


async def test_a_member_who_never_answered_allows_nothing(database: Database) -> None:
    await _members(database, ALICE)
    async with database.reading() as conn:
        assert await consenting(conn, QUOTES, [ALICE]) == set()
        assert await consent_names(conn, NAMED, [ALICE]) == {ALICE: None}
        quoted = await conn.execute(select(members.c.ref).where(gives(QUOTES, members.c.ref)))
        assert quoted.scalars().all() == []


async def test_answers_are_kept_and_the_last_one_counts(database: Database) -> None:
    await _members(database, ALICE, BOB)
    async with database.transaction() as conn:
        await record_answers(conn, ALICE, {QUOTES: True, NAMED: False}, START)
        await record_answers(conn, BOB, {NAMED: True}, START)
    async with database.reading() as conn:
        assert await consenting(conn, QUOTES, [ALICE, BOB, "nobody"]) == {ALICE}
        assert await consent_names(conn, NAMED, [ALICE, BOB]) == {ALICE: None, BOB: "bob"}
        quoted = await conn.execute(select(members.c.ref).where(gives(QUOTES, members.c.ref)))
        assert quoted.scalars().all() == [ALICE]
    later = START + timedelta(days=1)
    async with database.transaction() as conn:
        await record_answers(conn, ALICE, {QUOTES: False}, later)
        stands = {answer.key: answer for answer in await answers_of(conn, ALICE)}
    assert [answer.key for answer in await _answers(database, BOB)] == [c.key for c in CONSENTS]
    assert (stands[QUOTES].given, stands[QUOTES].answered) == (False, True)
    assert (stands[INTRODUCTIONS].given, stands[INTRODUCTIONS].answered) == (False, False)
    async with database.reading() as conn:
        assert await consenting(conn, QUOTES, [ALICE]) == set()


async def _answers(database: Database, ref: str) -> list[object]:
    async with database.reading() as conn:
        return list(await answers_of(conn, ref))


async def test_a_question_is_asked_once_and_asking_is_never_consent(database: Database) -> None:
    await _members(database, ALICE, BOB)
    async with database.transaction() as conn:
        await record_answers(conn, BOB, {QUOTES: True}, START)
        assert await claim_asks(conn, QUOTES, [ALICE, BOB, ALICE], START) == {ALICE}
        assert await claim_asks(conn, QUOTES, [ALICE, BOB], START) == set()
        assert await consenting(conn, QUOTES, [ALICE]) == set()
        assert await answered(conn, QUOTES, [ALICE, BOB]) == {BOB}
        # Answering after the question keeps when it was asked.
        await record_answers(conn, ALICE, {QUOTES: True}, START + timedelta(hours=1))
        [row] = await conn.execute(select(consents).where(consents.c.member_ref == ALICE))
        assert (row.given, row.asked_at, row.answered_at) == (
            True,
            START,
            START + timedelta(hours=1),
        )


async def test_a_question_that_never_arrived_can_be_asked_again(database: Database) -> None:
    await _members(database, ALICE, BOB)
    async with database.transaction() as conn:
        assert await claim_asks(conn, QUOTES, [ALICE, BOB], START) == {ALICE, BOB}
        await record_answers(conn, BOB, {QUOTES: False}, START)
        await withdraw_ask(conn, QUOTES, ALICE)
        await withdraw_ask(conn, QUOTES, BOB)  # an answer stays
        assert await claim_asks(conn, QUOTES, [ALICE, BOB], START) == {ALICE}
        assert await answered(conn, QUOTES, [BOB]) == {BOB}


async def test_consents_are_exported_and_erased_with_the_member(database: Database) -> None:
    await _members(database, ALICE, BOB)
    async with database.transaction() as conn:
        await record_answers(conn, ALICE, {QUOTES: True, NAMED: True}, START)
        await record_answers(conn, BOB, {QUOTES: True}, START)
        exported = await export_member(conn, ALICE, EVERY_TABLE)
        assert sorted((row["consent"], row["given"]) for row in exported["consents"]) == [
            (NAMED, True),
            (QUOTES, True),
        ]
        await erase_member(conn, ALICE, START, EVERY_TABLE)
        assert await export_member(conn, ALICE, EVERY_TABLE) == {}
        assert await consenting(conn, QUOTES, [ALICE, BOB]) == {BOB}


OLD_MEMBERS = table(
    "members",
    column("ref"),
    column("platform"),
    column("display_name"),
    column("first_seen_at"),
    column("last_seen_at"),
    column("allow_quotes"),
    column("introductions"),
)


def _migrate(revision: str, down: bool = False):  # type: ignore[no-untyped-def]
    def run(connection: Connection) -> None:
        config = _alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, revision)

    return run


async def test_upgrading_keeps_only_answers_members_gave_and_downgrading_restores_them(
    db_url: str,
) -> None:
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_migrate("0012"))
            row = {
                "platform": "console",
                "first_seen_at": START,
                "last_seen_at": START,
                "introductions": False,
            }
            await conn.execute(
                insert(OLD_MEMBERS),
                [
                    # On by default: alice never said anything.
                    {**row, "ref": ALICE, "display_name": "alice", "allow_quotes": True},
                    # Off can only have come from bob.
                    {**row, "ref": BOB, "display_name": "bob", "allow_quotes": False},
                    {
                        **row,
                        "ref": CAROL,
                        "display_name": "carol",
                        "allow_quotes": True,
                        "introductions": True,
                    },
                ],
            )
        await db.migrate()
        async with db.transaction() as conn:
            assert await consenting(conn, QUOTES, [ALICE, BOB, CAROL]) == set()
            assert await consenting(conn, INTRODUCTIONS, [ALICE, BOB, CAROL]) == {CAROL}
            assert await answered(conn, QUOTES, [ALICE, BOB, CAROL]) == {BOB}
            # Those without an answer are the ones to ask, once.
            assert await claim_asks(conn, QUOTES, [ALICE, BOB, CAROL], START) == {ALICE, CAROL}
            await record_answers(conn, CAROL, {QUOTES: False}, START)
        async with db.engine.begin() as conn:
            await conn.run_sync(_migrate("0012", down=True))
            result = await conn.execute(
                select(
                    OLD_MEMBERS.c.ref, OLD_MEMBERS.c.allow_quotes, OLD_MEMBERS.c.introductions
                ).order_by(OLD_MEMBERS.c.ref)
            )
            restored = [(ref, bool(quotes), bool(intro)) for ref, quotes, intro in result]
        assert restored == [(ALICE, True, False), (BOB, False, False), (CAROL, False, True)]
    finally:
        await db.close()
