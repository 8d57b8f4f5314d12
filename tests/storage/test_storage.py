"""Storage on a real SQLite file and a real PostgreSQL server: migrations, batched writes,
retention, two writers."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.config import RetentionSettings
from bot.features import FEATURES
from bot.features.digest import store as digests
from bot.features.feeds import store as feeds
from bot.features.links import preview_store as previews
from bot.features.links.store import NewShare, list_links, record_shares
from bot.runtime.feature import member_tables
from bot.runtime.housekeeping import purge_expired
from bot.storage.database import Database, StorageError, _alembic_config, head_revision
from bot.storage.deliveries import advance_cursors, claim_deliveries, read_cursor
from bot.storage.member_data import erase_member, export_member, member_columns
from bot.storage.members import (
    forgotten_members,
    get_member,
    get_members,
    touch_members,
    update_member_settings,
)
from bot.storage.messages import add_messages, add_reactions, edit_message
from bot.storage.schema import channel_cursors, link_previews, messages, metadata
from bot.storage.schema import links as links_table
from tests.helpers import START

EVERY_TABLE = member_tables(FEATURES)  # what /export and /forget-me cover

pytestmark = pytest.mark.both_backends


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_build_the_schema_the_models_describe(database: Database) -> None:
    async with database.reading() as conn:
        assert await conn.run_sync(_diff) == []


async def test_migrating_twice_is_harmless(database: Database) -> None:
    await database.migrate()


async def test_a_database_error_never_quotes_the_row_it_refused(database: Database) -> None:
    # An error's message reaches the logs with its traceback: the row is members' words.
    row = {"channel": "words-9031", "cursor": "1", "updated_at": START}
    async with database.transaction() as conn:
        await conn.execute(channel_cursors.insert().values(row))
    with pytest.raises(IntegrityError) as refused:
        async with database.transaction() as conn:
            await conn.execute(channel_cursors.insert().values(row))
    assert "words-9031" not in str(refused.value)


def test_the_newest_revision_is_read_from_the_files_as_alembic_reads_it() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


CURRENT = "import asyncio, sys; from bot.storage.database import Database; " + (
    "asyncio.run(Database(sys.argv[1]).migrate()); print(sorted(m for m in sys.modules "
    "if m.split('.')[0] == 'alembic'))"
)


async def test_a_start_on_a_current_database_does_not_load_alembic(
    database: Database, db_url: str
) -> None:
    # Loading Alembic and its scripts costs a tenth of a second or more of every start.
    root = Path(__file__).resolve().parents[2]
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CURRENT, db_url, cwd=root, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(run.communicate(), timeout=60)
    assert run.returncode == 0
    assert out.decode().strip() == "[]"


def share(message: str, url: str = "https://example.org/a", member: str = "console:/alice"):  # type: ignore[no-untyped-def]
    return NewShare(
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
        first = await record_shares(conn, [share("m1"), share("m2", member="console:/bob")])
        again = await record_shares(conn, [share("m1")])
        links = await list_links(conn, "demo")
    assert len(first) == 2 and again == []
    assert [(link.canonical_url, link.sharers) for link in links] == [("https://example.org/a", 2)]


async def test_delivery_keys_are_claimed_once(database: Database) -> None:
    async with database.transaction() as conn:
        assert await claim_deliveries(conn, ["a", "b", "a"], START) == {"a", "b"}
        assert await claim_deliveries(conn, ["b", "c"], START) == {"c"}


async def test_retention_clears_old_text_and_old_keys(database: Database) -> None:
    old, new = START - timedelta(days=100), START - timedelta(days=1)
    async with database.transaction() as conn:
        await add_messages(
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
        await claim_deliveries(conn, ["k-old"], START - timedelta(days=20))
        await claim_deliveries(conn, ["k-new"], START)
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
                await claim_deliveries(conn, [f"{prefix}{index}"], START)

    await asyncio.gather(write(first, "a"), write(second, "b"))
    async with first.transaction() as conn:
        assert len(await claim_deliveries(conn, [f"a{i}" for i in range(30)], START)) == 0
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


async def test_times_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    sent = datetime(2026, 11, 23, 14, 45, 30, 123456, tzinfo=india)
    async with database.transaction() as conn:
        await add_messages(conn, [message_row("m1", sent)])
        await add_messages(conn, [message_row("m2", sent + timedelta(hours=1))])
    async with database.reading() as conn:
        [stored] = (
            await conn.execute(
                select(messages.c.sent_at).where(messages.c.sent_at < sent + timedelta(minutes=1))
            )
        ).scalars()
    assert stored == sent and stored.tzinfo == UTC
    assert stored.hour == 9 and stored.microsecond == 123456
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as conn:
            await add_messages(conn, [message_row("m3", datetime(2026, 1, 1))])


def message_row(ref: str, sent_at: datetime, author: str = "a") -> dict[str, object]:
    return {
        "community": "demo",
        "ref": ref,
        "channel": "c",
        "author_ref": author,
        "text": "hi",
        "sent_at": sent_at,
    }


async def test_members_are_created_with_default_settings_then_refreshed(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        await touch_members(conn, {"console:/alice": ("console", "Alice")}, START)
        later = START + timedelta(hours=2)
        await touch_members(
            conn,
            {"console:/alice": ("console", "Alice L."), "console:/bob": ("console", "B" * 300)},
            later,
        )
        await update_member_settings(conn, "console:/bob", link_reactions=False, digest_dm=True)
        found = await get_members(conn, ["console:/alice", "console:/bob", "nobody"])
    alice, bob = found["console:/alice"], found["console:/bob"]
    assert (alice.display_name, alice.first_seen_at, alice.last_seen_at) == (
        "Alice L.",
        START,
        later,
    )
    assert (alice.nudges, alice.link_reactions, alice.digest_dm) == (True, True, False)
    assert (bob.link_reactions, bob.digest_dm, len(bob.display_name)) == (False, True, 200)
    assert set(found) == {"console:/alice", "console:/bob"}


async def test_batches_larger_than_one_statement_chunk(database: Database) -> None:
    count = 1300  # more than two chunks of links, shares and lookups
    batch = [
        share(f"m{index}", url=f"https://example.org/{index % 650}", member=f"console:/m{index}")
        for index in range(count)
    ]
    async with database.transaction() as conn:
        stored = await record_shares(conn, batch)
        replay = await record_shares(conn, batch[::-1])
        keys = await claim_deliveries(conn, [f"k{i}" for i in range(count)], START)
        links = await list_links(conn, "demo", limit=1000)
    assert len(stored) == count and replay == [] and len(keys) == count
    assert len(links) == 650 and {link.sharers for link in links} == {2}


async def test_a_member_is_exported_and_erased_everywhere(database: Database) -> None:
    alice = "console:/alice"
    async with database.transaction() as conn:
        await touch_members(conn, {alice: ("console", "Alice")}, START)
        await add_messages(conn, [message_row("m1", START, author=alice)])
        await record_shares(conn, [share("m1", member=alice)])
        await add_reactions(
            conn,
            [
                {
                    "community": "demo",
                    "message_ref": "m0",
                    "member_ref": alice,
                    "emoji": "heart",
                    "reacted_at": START,
                }
            ],
        )
        exported = await export_member(conn, alice, EVERY_TABLE)
    assert json.loads(json.dumps(exported))["members"][0]["first_seen_at"] == START.isoformat()
    assert sorted(exported) == ["members", "messages", "reactions", "shares"]
    async with database.transaction() as conn:
        assert await erase_member(conn, alice, START, EVERY_TABLE) == 4
        # the tombstone stays single
        assert await erase_member(conn, alice, START, EVERY_TABLE) == 0
        assert await forgotten_members(conn, [alice, "console:/bob"]) == {alice: START}
        assert await export_member(conn, alice, EVERY_TABLE) == {}
        assert await list_links(conn, "demo") == []  # nobody shares it any more


async def test_cursors_only_move_forward_even_with_two_writers(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)
    await first.migrate()
    channels = [f"console:/c{index}" for index in range(5)]

    async def advance(db: Database, positions: range) -> None:
        for position in positions:
            async with db.transaction() as conn:
                cursors = {channel: f"{position:020d}" for channel in channels}
                await advance_cursors(conn, cursors, START)
                await asyncio.sleep(0)  # let the other writer in while this one is open

    await asyncio.gather(advance(first, range(0, 40, 2)), advance(second, range(39, 0, -2)))
    async with first.reading() as conn:
        assert [await read_cursor(conn, channel) for channel in channels] == [f"{39:020d}"] * 5
    async with first.transaction() as conn:
        # Python's order (code points), not the server's linguistic one, where "a" < "B".
        await advance_cursors(conn, {"x": "B"}, START)
        await advance_cursors(conn, {"x": "a"}, START)
        await advance_cursors(conn, {"x": "Z"}, START)
        assert await read_cursor(conn, "x") == "a"
    await first.close()
    await second.close()


MIGRATE = "import asyncio, sys; from bot.storage.database import Database; " + (
    "asyncio.run(Database(sys.argv[1]).migrate())"
)


@pytest.mark.timeout(400)  # the second process may wait out the first's whole migration
async def test_two_processes_migrating_at_once_both_succeed(db_url: str) -> None:
    # Real processes: Alembic keeps its context in module globals, one migration per process.
    root = Path(__file__).resolve().parents[2]
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, db_url, cwd=root, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        for run in runs:
            _, errors = await asyncio.wait_for(run.communicate(), timeout=360)
            assert run.returncode == 0, errors.decode()
    finally:  # a failure leaves no process whose pipes outlive this test's loop
        for run in runs:
            if run.returncode is None:
                run.kill()
                await run.wait()
    database = Database(db_url)
    async with database.reading() as conn:
        assert await conn.run_sync(_diff) == []
    await database.close()


async def test_links_of_8_kb_are_stored_longer_ones_skipped_not_fatal(database: Database) -> None:
    long_url = "https://example.org/" + "x" * 8000
    too_long = "https://example.org/" + "y" * 9000
    async with database.transaction() as conn:
        stored = await record_shares(
            conn,
            [
                share("m1", url=long_url),
                share("m1", url=too_long),
                share("m1", url="https://example.org/ok"),
            ],
        )
        again = await record_shares(conn, [share("m2", url=long_url, member="console:/bob")])
        links = await list_links(conn, "demo")
        await previews.save_preview(
            conn, long_url, title="Long", description=None, site_name=None, now=START
        )
        assert await previews.recently_described(conn, long_url, START)
    assert len(stored) == 2 and again[0].link_id == stored[0].link_id
    assert sorted(link.canonical_url for link in links) == ["https://example.org/ok", long_url]
    assert [link.sharers for link in links if link.canonical_url == long_url] == [2]


async def test_a_curation_choice_is_replaced_not_duplicated(database: Database) -> None:
    async with database.transaction() as conn:
        await digests.record_choice(conn, "demo", "2026-W48", "L1", "exclude", None, "f", START)
        later = START + timedelta(minutes=5)
        await digests.record_choice(conn, "demo", "2026-W48", "L1", "feature", "good", "g", later)
        assert await digests.choices(conn, "demo", "2026-W48") == [
            digests.Choice("L1", "feature", "good", "g", later)
        ]
        assert await digests.claim_posts(conn, "demo", "2026-W48", ["a", "b"], START) == ["a", "b"]
        assert await digests.claim_posts(conn, "demo", "2026-W48", ["b", "c"], START) == ["c"]
        assert await digests.issues(conn, "demo") == [digests.Issue("demo", "2026-W48", START)]


async def test_an_unreachable_postgresql_server_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = Database(f"postgresql://facilitator:s3cret@127.0.0.1:{port}/facilitator")
    with pytest.raises(StorageError) as raised:
        await db.migrate()
    await db.close()
    message = str(raised.value)
    assert "that the server is running" in message and f":{port}/facilitator" in message
    assert "s3cret" not in message


async def test_nul_characters_in_what_members_write_are_dropped(database: Database) -> None:
    row = message_row("m1", START) | {"text": "a\x00b"}
    async with database.transaction() as conn:
        await add_messages(conn, [row])
        await touch_members(conn, {"console:/nul": ("console", "N\x00ul")}, START)
        await edit_message(conn, "m1", "c\x00d", START)
        member = await get_member(conn, "console:/nul")
        text = (await conn.execute(select(messages.c.text))).scalar_one()
    assert (text, member and member.display_name) == ("cd", "Nul")


async def test_whatever_a_remote_feed_sends_is_stored_within_the_columns(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        feed = await feeds.add_feed(
            conn,
            community="demo",
            url="https://blog.example.org/feed",
            title="T" * 600,
            site_url="https://blog.example.org/" + "s" * 3000,
            owner_ref="console:/alice",
            backfill=False,
            now=START,
        )
        assert feed is not None and feed.title == "T" * 500 and feed.site_url is None
        assert (feed.paused, feed.backfill, feed.failures) == (False, False, 0)
        await feeds.update_feed(conn, feed.id, etag='"' + "e" * 600, last_error="bad\x00byte")
        entry = feeds.NewEntry(
            key="post-1",
            link="https://blog.example.org/" + "p" * 3000,
            canonical_link="https://blog.example.org/" + "p" * 3000,
            title="A\x00 title",
            summary="<p>nul\x00</p>",
            content_hash="h1",
            published_at=START + timedelta(hours=1),
        )
        assert await feeds.store_entries(conn, feed, [entry], START) == 1
        [due] = await feeds.due_feeds(conn, START)
        [post] = await feeds.week_posts(conn, "demo", START, START + timedelta(days=7))
    assert (len(due.etag or ""), due.last_error) == (500, "badbyte")
    assert (post.title, post.link, post.owner_named) == ("A title", None, False)


async def test_a_read_sees_one_snapshot_while_others_write(
    database: Database, backend: str
) -> None:
    async def add(ref: str) -> None:
        async with database.transaction() as conn:
            await add_messages(conn, [message_row(ref, START)])

    async def count(conn: AsyncConnection) -> int:
        return len((await conn.execute(select(messages.c.ref))).all())

    await add("m1")
    async with database.reading() as conn:
        before = await count(conn)
        writer = asyncio.create_task(add("m2"))
        if backend == "postgresql":  # writers do not wait for readers there
            await asyncio.wait_for(writer, timeout=10)
        during = await count(conn)
    await asyncio.wait_for(writer, timeout=10)
    async with database.reading() as conn:
        assert (before, during, await count(conn)) == (1, 1, 2)
    async with database.transaction() as conn:  # the pooled connection can write again
        await add_messages(conn, [message_row("m3", START)])


async def test_link_previews_are_cached_once_per_url_even_with_two_writers(
    database: Database,
) -> None:
    url = "https://example.org/a"
    async with database.transaction() as conn:
        await record_shares(conn, [share("m1", url=url)])

    async def describe(writer: str) -> None:
        for round_ in range(15):
            async with database.transaction() as conn:
                if round_ % 3:
                    await previews.save_preview(
                        conn,
                        url,
                        title=f"{writer}{'T' * 600}",
                        description="d\x00",
                        site_name=None,
                        now=START,
                    )
                else:
                    await previews.save_failure(conn, url, "timed out", START)
                await asyncio.sleep(0)  # let the other writer in while this one is open

    await asyncio.gather(describe("a"), describe("b"))
    async with database.transaction() as conn:
        await previews.save_preview(
            conn, url, title="Title", description="About", site_name="Example", now=START
        )
        assert await previews.recently_described(conn, url, START + timedelta(days=1))
        [cached] = (await conn.execute(select(link_previews))).all()
        [link] = (await conn.execute(select(links_table.c.title, links_table.c.site_name))).all()
    assert (cached.title, cached.ok, cached.error, tuple(link)) == (
        "Title",
        True,
        None,
        ("Title", "Example"),
    )
