"""Shared fixtures: a manual clock, a fresh SQLite file per test, and config builders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.core.config import Config, parse_config
from bot.storage.database import Database

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when the test says so."""
    return ManualClock(START)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'facilitator.db'}"


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on a real SQLite file."""
    db = Database(db_url)
    await db.migrate()
    yield db
    await db.close()


def make_config(db_url: str, **overrides: Any) -> Config:
    """A small valid configuration: one console community unless told otherwise."""
    data: dict[str, Any] = {
        "storage": {"url": db_url},
        "web": {"enabled": False},
        "console": {"facilitators": ["fran"]},
        "communities": [
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general", "resources"]},
            }
        ],
    }
    data.update(overrides)
    return parse_config(data, source="test.toml")


@pytest.fixture
def config_for(db_url: str) -> Callable[..., Config]:
    """Build a config on this test's database."""
    return lambda **overrides: make_config(db_url, **overrides)
