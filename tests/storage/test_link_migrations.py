"""Upgrading databases that already hold links: keys filled in, canonical forms recomputed."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command
from sqlalchemy import Connection, column, insert, select, table

from bot.features.links.store import NewShare, record_shares
from bot.storage.database import Database, _alembic_config
from bot.storage.schema import links
from tests.helpers import START

pytestmark = pytest.mark.both_backends

OLD_LINKS = table(
    "links",
    column("id"),
    column("community"),
    column("canonical_url"),
    column("url"),
    column("first_shared_at"),
)
OLD_SHARES = table(
    "shares",
    column("id"),
    column("link_id"),
    column("community"),
    column("member_ref"),
    column("message_ref"),
    column("channel"),
    column("url"),
    column("shared_at"),
)


def _to(revision: str):  # type: ignore[no-untyped-def]
    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), revision)

    return run


def _share(url: str, message: str) -> NewShare:
    return NewShare(
        community="demo",
        canonical_url=url,
        url=url,
        member_ref="console:/bob",
        message_ref=message,
        channel="console:/general",
        context="",
        shared_at=START,
    )


async def test_upgrading_to_keyed_links_keeps_every_link_findable(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_to("0008"))
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(OLD_LINKS),
                [
                    {
                        "id": 7,
                        "community": "demo",
                        "canonical_url": "https://example.org/a",
                        "url": "https://example.org/a",
                        "first_shared_at": START,
                    }
                ],
            )
        await db.migrate()
        async with db.transaction() as conn:
            [key] = (await conn.execute(select(links.c.url_key))).scalars()
            stored = await record_shares(conn, [_share("https://example.org/a", "m1")])
        assert key == hashlib.sha256(b"https://example.org/a").hexdigest()
        assert [share.link_id for share in stored] == [7]
    finally:
        await db.close()
