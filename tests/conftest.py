"""Shared fixtures: a manual clock, a fresh database per test, and config builders.

Helpers that are not fixtures (START, make_config, the harnesses) live in tests/helpers.py;
its asserts are rewritten like a test module's, as they were where the helpers used to live.

Tests marked `both_backends` run twice: on a SQLite file and on a fresh PostgreSQL database
(its own role and schema on a throwaway server started once per session, see
tests/postgres.py). Others use SQLite.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.helpers")

from bot.core.clock import ManualClock  # noqa: E402
from bot.core.config import Config  # noqa: E402
from bot.storage.database import Database  # noqa: E402
from tests.helpers import START, make_config  # noqa: E402
from tests.postgres import (  # noqa: E402
    PostgresServer,
    find_bin,
    start_server,
    stop_server,
    unavailable,
)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when the test says so."""
    return ManualClock(START)


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests marked `both_backends` once per storage backend."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session."""
    bin_dir = find_bin()
    if bin_dir is None:
        where = os.environ.get("PG_BIN") or "/usr/lib/postgresql/*/bin"
        unavailable(f"no {where}/pg_ctl on this machine")
        raise AssertionError("unreachable")
    server = start_server(bin_dir)
    yield server
    stop_server(server, bin_dir)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this test: "sqlite" unless the test is marked both_backends."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def postgres(backend: str, request: pytest.FixtureRequest) -> PostgresServer | None:
    """The session's PostgreSQL server when this test runs on PostgreSQL."""
    if backend != "postgresql":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server


@pytest.fixture
async def db_url(tmp_path: Path, postgres: PostgresServer | None) -> str:
    """A fresh SQLite file, or a fresh PostgreSQL role and schema."""
    if postgres is not None:
        return await postgres.create_database()
    return f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"


@pytest.fixture
async def database(db_url: str, backend: str) -> AsyncIterator[Database]:
    """A migrated database on a real SQLite file or a real PostgreSQL server."""
    db = Database(db_url)
    assert db.dialect == backend, f"expected {backend}, got {db.dialect}"
    await db.migrate()
    yield db
    await db.close()


@pytest.fixture
def config_for(db_url: str) -> Callable[..., Config]:
    """Build a config on this test's database."""
    return lambda **overrides: make_config(db_url, **overrides)
