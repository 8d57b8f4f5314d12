"""The async engine, transactions and migrations.

SQLite (aiosqlite) is the default: WAL, foreign keys, a busy timeout, and every write
transaction opened with BEGIN IMMEDIATE so two processes on one file wait instead of failing
half-way. PostgreSQL (asyncpg) runs the same stores at READ COMMITTED: they write with
single-statement upserts (ON CONFLICT) rather than read-then-write, so concurrent writers
cannot collide; reads get a REPEATABLE READ snapshot; migrations take an advisory lock so two
processes starting at once migrate one after the other.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

# The pg_advisory_xact_lock key that serialises migrations (any constant of our own).
_MIGRATION_LOCK = 0xFAC1_1174


class StorageError(Exception):
    """The database cannot be opened or written; the message says what to check."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


_GLANCE = "facilitator_glance"  # an execution option: begin without taking the write lock


BUSY_TIMEOUT_MS = 30_000  # how long an SQLite write waits for another writer
MIGRATION_WAIT_MS = 300_000  # how long a starting process waits for another's migration


def _busy_timeout(connection: Connection, milliseconds: int) -> None:
    """Set how long this SQLite connection waits for a lock, outside any transaction (a
    statement through the engine would begin one)."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
    cursor.close()


def _into_wal(cursor: Any) -> None:
    """Switch a database to WAL, waiting while another process does the same: SQLite refuses
    a second switch at once ("database is locked") without calling the busy handler, which
    two processes starting on a new file would otherwise meet."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:
            if "database is locked" not in str(error) or time.monotonic() > deadline:
                raise
        await_only(asyncio.sleep(0.05))  # inside SQLAlchemy's greenlet: the loop runs on


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets its pragmas and explicit IMMEDIATE transactions."""
    if url.startswith("sqlite") and "+aiosqlite" not in url:
        url = url.replace("sqlite", "sqlite+aiosqlite", 1)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        # hide_parameters: an error's message would otherwise quote the row (members' words).
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN breaks SAVEPOINTs).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            _into_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            if connection.get_execution_options().get(_GLANCE):
                connection.exec_driver_sql("BEGIN")  # a WAL reader: never waits for a writer
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


_REVISION = re.compile(r"^revision = \"(\w+)\"$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision = \"(\w+)\"$", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration's revision, read from the files; None unless there is one head."""
    # Alembic takes a tenth of a second or more to import and load its scripts; a start whose
    # database is current needs neither (tests compare this with Alembic's own answer).
    versions = resources.files("bot.storage").joinpath("migrations", "versions")
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in versions.iterdir():
        if not entry.name.endswith(".py") or entry.name == "__init__.py":
            continue
        text = entry.read_text("utf-8")
        revisions.update(_REVISION.findall(text))
        parents.update(_DOWN_REVISION.findall(text))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    location = resources.files("bot.storage").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


class Database:
    """One database: transactions for services, migrations at start."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name

    def describe(self) -> str:
        """The URL without any password, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic, inside the running loop)."""
        sqlite_file = _sqlite_file(self.url)
        if sqlite_file is not None and sqlite_file.parent and not sqlite_file.parent.exists():
            raise StorageError(
                f"storage.url: the folder {sqlite_file.parent} does not exist; create it or "
                "change [storage] url"
            )
        try:
            async with self.engine.connect() as conn:
                if await conn.run_sync(self._is_current):
                    await conn.rollback()
                    return
                await conn.rollback()
                try:
                    await conn.run_sync(self._upgrade)
                    await conn.commit()
                finally:
                    if self.dialect == "sqlite":
                        await conn.run_sync(_busy_timeout, BUSY_TIMEOUT_MS)
        except (SQLAlchemyError, OSError) as error:
            raise StorageError(
                f"storage.url: cannot open or write the database {self.describe()} "
                f"({getattr(error, 'orig', None) or error}); {self._hint()}"
            ) from None

    def _hint(self) -> str:
        if self.dialect == "sqlite":
            return "check the path and its permissions"
        return "check the URL, that the server is running, and the role's rights"

    @staticmethod
    def _is_current(connection: Connection) -> bool:
        """True when the database already stands at the newest migration."""
        head = head_revision()
        if head is None or not inspect(connection).has_table("alembic_version"):
            return False
        stored = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        return {row[0] for row in stored} == {head}

    @staticmethod
    def _upgrade(connection: Connection) -> None:
        from alembic import command

        # One transaction around every step (Alembic leaves a transaction it did not open
        # alone; on SQLite it would otherwise commit after each migration and let a second
        # process run the remaining ones twice). It is committed by `migrate`.
        if connection.dialect.name == "sqlite":
            # A second process waits here for the first one's whole migration, which on a
            # busy machine takes longer than an ordinary write's wait.
            _busy_timeout(connection, MIGRATION_WAIT_MS)
        connection.begin()  # BEGIN IMMEDIATE on SQLite: a second process waits here
        if connection.dialect.name == "postgresql":
            # Held until the commit: a second process waits, then finds the schema current.
            connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        command.upgrade(_alembic_config(connection), "head")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that all see one snapshot of the database."""
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # SQLite's IMMEDIATE transaction shuts writers out; here they carry on, and
                # REPEATABLE READ keeps the reader's queries on one snapshot regardless.
                await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            yield conn

    @asynccontextmanager
    async def glancing(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a quick read that must not wait for a writer (suggestions while a
        member types): on SQLite a deferred transaction, which WAL lets read beside a write in
        progress (it sees what was committed before it began)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_GLANCE: True})
            if self.dialect == "postgresql":
                await conn.execution_options(postgresql_readonly=True)
            yield conn

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
