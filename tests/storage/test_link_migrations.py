"""Upgrading databases that already hold links: keys filled in, canonical forms recomputed."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command
from sqlalchemy import Connection, column, insert, select, table

from bot.features.links.store import NewShare, record_shares
from bot.storage.database import Database, _alembic_config
from bot.storage.schema import digest_choices, links, shares
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


async def test_upgrading_recomputes_canonical_urls_and_merges_links_that_now_coincide(
    db_url: str,
) -> None:
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_to("0009"))
        old = [  # (id, url as written, canonical under the old rules, first shared)
            (3, "https://x.org/a/b/.", "https://x.org/a/b", 2),
            (5, "https://x.org/a/b/", "https://x.org/a/b/", 1),
            (8, "https://x.org/p%2fq", "https://x.org/p%2Fq", 0),
            (9, "https://x.org/kept", "https://x.org/kept", 0),
        ]
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(links),
                [
                    {
                        "id": link_id,
                        "community": "demo",
                        "canonical_url": canonical,
                        "url_key": hashlib.sha256(canonical.encode()).hexdigest(),
                        "url": url,
                        "first_shared_at": START.replace(day=START.day + day),
                    }
                    for link_id, url, canonical, day in old
                ],
            )
            await conn.execute(
                insert(OLD_SHARES),
                [
                    {
                        "id": share_id,
                        "link_id": link_id,
                        "community": "demo",
                        "member_ref": member,
                        "message_ref": message,
                        "channel": "console:/general",
                        "url": "https://x.org/a/b/",
                        "shared_at": START,
                    }
                    for share_id, link_id, member, message in [
                        (1, 3, "console:/alice", "m1"),
                        (2, 5, "console:/bob", "m2"),
                        (3, 5, "console:/alice", "m1"),  # the same share, seen twice
                        (4, 8, "console:/carol", "m3"),
                    ]
                ],
            )
            await conn.execute(
                insert(digest_choices),
                [
                    {
                        "community": "demo",
                        "week": "2026-W48",
                        "item": "L5",
                        "action": "feature",
                        "member_ref": "console:/fran",
                        "chosen_at": START,
                    }
                ],
            )
        await db.migrate()
        async with db.reading() as conn:
            found = {
                row.id: row
                for row in await conn.execute(
                    select(
                        links.c.id, links.c.canonical_url, links.c.url_key, links.c.first_shared_at
                    )
                )
            }
            pairs = {(row.link_id, row.member_ref) for row in await conn.execute(select(shares))}
            items = list((await conn.execute(select(digest_choices.c.item))).scalars())
        assert sorted(found) == [3, 8, 9]  # the oldest id of the two now the same link
        assert found[3].canonical_url == "https://x.org/a/b/"
        assert found[3].url_key == hashlib.sha256(b"https://x.org/a/b/").hexdigest()
        assert found[3].first_shared_at == START.replace(day=START.day + 1)
        assert found[8].canonical_url == "https://x.org/p%2fq"  # the escape as written
        assert pairs == {(3, "console:/alice"), (3, "console:/bob"), (8, "console:/carol")}
        assert items == ["L3"]
    finally:
        await db.close()
