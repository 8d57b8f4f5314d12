"""The link-preview cache, and the descriptions it gives links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import link_previews, links
from bot.storage.sql import dialect_insert, url_key


async def recently_described(conn: AsyncConnection, url: str, since: datetime) -> bool:
    """True when the URL was described (or failed) after `since` or described successfully."""
    row = (
        await conn.execute(
            select(link_previews.c.ok, link_previews.c.fetched_at).where(
                link_previews.c.url_key == url_key(url)
            )
        )
    ).first()
    return row is not None and (row.ok or row.fetched_at >= since)


async def _cache(conn: AsyncConnection, url: str, **values: Any) -> None:
    # One upsert: a delete then insert could collide with a concurrent fetch of the same URL
    # on PostgreSQL, where nothing serialises the two transactions.
    statement = dialect_insert(conn, link_previews).values(
        url_key=url_key(url), canonical_url=url, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["url_key"],
            set_={name: statement.excluded[name] for name in values},
        )
    )


async def save_preview(
    conn: AsyncConnection,
    url: str,
    *,
    title: str | None,
    description: str | None,
    site_name: str | None,
    now: datetime,
) -> None:
    """Cache a page's description and give it to every community's link to that URL."""
    await _cache(
        conn,
        url,
        title=title,
        description=description,
        site_name=site_name,
        fetched_at=now,
        ok=True,
        error=None,
    )
    await conn.execute(
        update(links)
        .where(links.c.url_key == url_key(url))
        .values(title=title, description=description, site_name=site_name)
    )


async def save_failure(conn: AsyncConnection, url: str, error: str, now: datetime) -> None:
    """Remember that a page could not be described (the link keeps its URL as title)."""
    await _cache(
        conn,
        url,
        title=None,
        description=None,
        site_name=None,
        fetched_at=now,
        ok=False,
        error=error,
    )
