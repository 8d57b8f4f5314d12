"""Canonical URLs under the new link rules, and links that now coincide merged.

Dot segments now follow RFC 3986 (a final `.` or `..` keeps its slash) and percent-escapes
keep the case they were written in, so stored canonical forms are recomputed from each link
as first written. Links of a community that now share a canonical URL become one: the oldest
id stays, with the earliest first-shared time; shares, notes, literacy questions and digest
choices move to it (a share already there is not kept twice). Feed entries, reflections and
the preview cache are brought to the new forms too.

This migration uses the rules of `bot.core.urls` as they are when it runs; a later rule change
comes with its own migration.

Revision ID: 0010
Revises: 0009
"""

import hashlib
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.core.urls import canonicalise

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_links = sa.table(
    "links",
    sa.column("id"),
    sa.column("community"),
    sa.column("canonical_url"),
    sa.column("url_key"),
    sa.column("url"),
    sa.column("first_shared_at"),
)
_shares = sa.table(
    "shares", sa.column("link_id"), sa.column("member_ref"), sa.column("message_ref")
)
_annotations = sa.table("link_annotations", sa.column("link_id"))
_asks = sa.table("literacy_asks", sa.column("link_id"))
_choices = sa.table("digest_choices", sa.column("community"), sa.column("week"), sa.column("item"))
_entries = sa.table("feed_entries", sa.column("id"), sa.column("canonical_link"))
_reflections = sa.table("reflections", sa.column("id"), sa.column("link_url"))
_previews = sa.table("link_previews", sa.column("url_key"), sa.column("canonical_url"))


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _recomputed(url: str | None) -> str | None:
    if url is None:
        return None
    return canonicalise(url)


def _merge(connection: sa.Connection, community: str, kept: int, other: int) -> None:
    """Move what points at link `other` to link `kept`, then drop `other`."""
    kept_share = _shares.alias("kept_share")
    connection.execute(
        _shares.delete().where(
            _shares.c.link_id == other,
            sa.select(1)
            .where(
                kept_share.c.link_id == kept,
                kept_share.c.member_ref == _shares.c.member_ref,
                kept_share.c.message_ref == _shares.c.message_ref,
            )
            .exists(),
        )
    )
    connection.execute(_shares.update().where(_shares.c.link_id == other).values(link_id=kept))
    for table in (_annotations, _asks):
        connection.execute(table.update().where(table.c.link_id == other).values(link_id=kept))
    old_item, new_item = f"L{other}", f"L{kept}"
    taken = sa.select(_choices.c.week).where(
        _choices.c.community == community, _choices.c.item == new_item
    )
    connection.execute(
        _choices.delete().where(
            _choices.c.community == community,
            _choices.c.item == old_item,
            _choices.c.week.in_(taken),
        )
    )
    connection.execute(
        _choices.update()
        .where(_choices.c.community == community, _choices.c.item == old_item)
        .values(item=new_item)
    )
    connection.execute(_links.delete().where(_links.c.id == other))


def upgrade() -> None:
    """Recompute canonical URLs and merge the links that now coincide."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _links.c.id,
            _links.c.community,
            _links.c.canonical_url,
            _links.c.url,
            _links.c.first_shared_at,
        ).order_by(_links.c.id)
    ).all()
    groups: dict[tuple[str, str], list[sa.Row[Any, Any, Any, Any, Any]]] = defaultdict(list)
    for row in rows:
        new = _recomputed(row.url) or _recomputed(row.canonical_url) or row.canonical_url
        groups[(row.community, new)].append(row)
    changed: list[tuple[int, str, object]] = []
    for (community, new), group in groups.items():
        kept = group[0]
        for other in group[1:]:
            _merge(connection, community, kept.id, other.id)
        first = min(row.first_shared_at for row in group)
        if new != kept.canonical_url or first != kept.first_shared_at:
            changed.append((kept.id, new, first))
    # Two steps, so that no link takes a key another still holds for a moment.
    for link_id, _, _ in changed:
        connection.execute(
            _links.update().where(_links.c.id == link_id).values(url_key=f"~{link_id}")
        )
    for link_id, new, first in changed:
        connection.execute(
            _links.update()
            .where(_links.c.id == link_id)
            .values(canonical_url=new, url_key=_key(new), first_shared_at=first)
        )
    for table, column in (
        (_entries, _entries.c.canonical_link),
        (_reflections, _reflections.c.link_url),
    ):
        for row_id, url in connection.execute(sa.select(table.c.id, column)).all():
            new = _recomputed(url) or url
            if new != url:
                connection.execute(
                    table.update().where(table.c.id == row_id).values({column.name: new})
                )
    previews = connection.execute(sa.select(_previews.c.url_key, _previews.c.canonical_url))
    for key, url in previews.all():
        if _recomputed(url) != url:  # only a cache: described again under the new form
            connection.execute(_previews.delete().where(_previews.c.url_key == key))


def downgrade() -> None:
    """Nothing to undo: the older rules read the new forms as links like any other."""
