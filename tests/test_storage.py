"""Storage on real SQLite files: migrations, batched writes, retention, two writers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select

from bot.core.config import RetentionSettings
from bot.services.retention import purge_expired
from bot.storage import repositories as repo
from bot.storage.database import Database, StorageError
from bot.storage.member_data import member_columns
from bot.storage.schema import messages, metadata
from tests.conftest import START


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_build_the_schema_the_models_describe(database: Database) -> None:
    async with database.reading() as conn:
        assert await conn.run_sync(_diff) == []


async def test_migrating_twice_is_harmless(database: Database) -> None:
    await database.migrate()


def share(message: str, url: str = "https://example.org/a", member: str = "console:/alice"):  # type: ignore[no-untyped-def]
    return repo.NewShare(
        community="demo",
        canonical_url=url,
        url=url,
        member_ref=member,
        message_ref=message,
        channel="console:/general",
        context="",
        shared_at=START,
    )


async def test_one_link_per_url_one_share_per_member_and_message(database: Database) -> None:
    async with database.transaction() as conn:
        first = await repo.record_shares(conn, [share("m1"), share("m2", member="console:/bob")])
        again = await repo.record_shares(conn, [share("m1")])
        links = await repo.list_links(conn, "demo")
    assert len(first) == 2 and again == []
    assert [(link.canonical_url, link.sharers) for link in links] == [("https://example.org/a", 2)]


async def test_delivery_keys_are_claimed_once(database: Database) -> None:
    async with database.transaction() as conn:
        assert await repo.claim_deliveries(conn, ["a", "b", "a"], START) == {"a", "b"}
        assert await repo.claim_deliveries(conn, ["b", "c"], START) == {"c"}


async def test_retention_clears_old_text_and_old_keys(database: Database) -> None:
    old, new = START - timedelta(days=100), START - timedelta(days=1)
    async with database.transaction() as conn:
        await repo.add_messages(
            conn,
            [
                {
                    "community": "demo",
                    "ref": ref,
                    "channel": "c",
                    "author_ref": "a",
                    "text": "hi",
                    "sent_at": when,
                }
                for ref, when in (("old", old), ("new", new))
            ],
        )
        await repo.claim_deliveries(conn, ["k-old"], START - timedelta(days=20))
        await repo.claim_deliveries(conn, ["k-new"], START)
    purged = await purge_expired(database, RetentionSettings(), START)
    assert (purged.message_texts, purged.delivery_keys) == (1, 1)
    async with database.reading() as conn:
        rows = dict((await conn.execute(select(messages.c.ref, messages.c.text))).all())
    assert rows == {"old": None, "new": "hi"}


async def test_two_processes_on_one_file_wait_instead_of_failing(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)
    await first.migrate()

    async def write(db: Database, prefix: str) -> None:
        for index in range(30):
            async with db.transaction() as conn:
                await repo.claim_deliveries(conn, [f"{prefix}{index}"], START)

    await asyncio.gather(write(first, "a"), write(second, "b"))
    async with first.transaction() as conn:
        assert len(await repo.claim_deliveries(conn, [f"a{i}" for i in range(30)], START)) == 0
    await first.close()
    await second.close()


async def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'nope' / 'x.db'}")
    try:
        await db.migrate()
    except StorageError as error:
        assert "does not exist" in str(error)
    else:
        raise AssertionError("no error")
    finally:
        await db.close()


def test_every_member_identifying_column_is_covered_by_export_and_deletion() -> None:
    marked = {(table.name, column.name) for table, column in member_columns()}
    for table in metadata.tables.values():
        if table.name == "tombstones":
            continue  # kept on purpose after deletion: it stops re-creation
        for column in table.columns:
            if column.name in ("member_ref", "author_ref") or (
                table.name == "members" and column.name == "ref"
            ):
                assert (table.name, column.name) in marked, f"{table.name}.{column.name}"
