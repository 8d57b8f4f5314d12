"""Shared SQL helpers for every store: batching, dialect inserts, byte-order comparison.

The same statements run on SQLite and PostgreSQL: inserts go through `dialect_insert` (each
dialect's ON CONFLICT), writes that depend on what is stored are single upserts (safe at
PostgreSQL's READ COMMITTED), and strings are compared in byte order whatever the server's
collation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, String, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.urls import MAX_LINK_LENGTH

CHUNK = 500  # keeps IN (...) lists and multi-row VALUES under every backend's limits


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size`, for IN lists and multi-row VALUES."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """An insert in the connection's dialect, so that it supports ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # loaded by its engine; not on SQLite

        return postgresql.insert(table)
    return sqlite.insert(table)


def byte_order(conn: AsyncConnection, value: ColumnElement[str]) -> ColumnElement[str]:
    """`value` compared as Python compares strings (SQLite's default; "C" on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return value.collate("C")
    return value


async def insert_ignoring_conflicts(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert rows, skipping any that collide with a unique key; return the inserted rows."""
    if not rows:
        return []
    inserted: list[Any] = []
    for chunk in chunks(rows):
        statement = dialect_insert(conn, table).on_conflict_do_nothing()
        if returning:
            result = await conn.execute(
                statement.returning(*(table.c[name] for name in returning)), list(chunk)
            )
            inserted.extend(result.all())
        else:
            await conn.execute(statement, list(chunk))
    return inserted


def max_length(column: Column[str]) -> int:
    """The declared length of a string column (to cut values before PostgreSQL refuses them)."""
    kind = column.type
    assert isinstance(kind, String) and kind.length, f"{column} has no length"
    return kind.length


# Links and previews keep URLs up to this many characters; longer ones are not usable links.
MAX_URL_LENGTH = MAX_LINK_LENGTH


def url_key(canonical_url: str) -> str:
    """The fixed-size key a canonical URL is indexed by (its SHA-256, in hex)."""
    return hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).hexdigest()
