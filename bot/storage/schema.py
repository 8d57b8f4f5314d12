"""Tables, in SQLAlchemy Core. The schema changes only through migrations in `migrations/`.

Columns that hold a member's identity carry `info={"member": True}`: export and deletion
walk every such column, so a new table is covered the day it is added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

MEMBER = {"member": True}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


members = Table(
    "members",
    metadata,
    Column("ref", String(200), primary_key=True, info=MEMBER),
    Column("platform", String(20), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("allow_quotes", Boolean(), nullable=False, server_default=true()),
    Column("link_reactions", Boolean(), nullable=False, server_default=true()),
    Column("timezone", String(64), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("ref", String(300), nullable=False, unique=True),
    Column("channel", String(200), nullable=False),
    Column("thread", String(100), nullable=True),
    Column("author_ref", String(200), nullable=False, info=MEMBER),
    Column("text", Text(), nullable=True),  # cleared after the retention period
    Column("sent_at", UtcDateTime(), nullable=False),
    Column("edited_at", UtcDateTime(), nullable=True),
    Index("ix_messages_community_sent_at", "community", "sent_at"),
    Index("ix_messages_author_ref", "author_ref"),
)

links = Table(
    "links",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("canonical_url", String(2048), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("title", String(500), nullable=True),
    Column("description", Text(), nullable=True),
    Column("site_name", String(200), nullable=True),
    Column("first_shared_at", UtcDateTime(), nullable=False),
    UniqueConstraint("community", "canonical_url", name="uq_links_community_canonical_url"),
)

shares = Table(
    "shares",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("link_id", Integer(), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("message_ref", String(300), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("url", String(2048), nullable=False),  # as the member wrote it
    Column("context", Text(), nullable=True),  # the text around the link
    Column("note", Text(), nullable=True),
    Column("shared_at", UtcDateTime(), nullable=False),
    UniqueConstraint("link_id", "member_ref", "message_ref", name="uq_shares_link_member_message"),
    Index("ix_shares_message_ref", "message_ref"),
    Index("ix_shares_member_ref", "member_ref"),
    Index("ix_shares_community_shared_at", "community", "shared_at"),
)

reactions = Table(
    "reactions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("message_ref", String(300), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("emoji", String(100), nullable=False),
    Column("reacted_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "message_ref", "member_ref", "emoji", name="uq_reactions_message_member_emoji"
    ),
    Index("ix_reactions_member_ref", "member_ref"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False, index=True),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("member_ref", String(200), primary_key=True),  # kept on purpose: it stops re-creation
    Column("forgotten_at", UtcDateTime(), nullable=False),
)

channel_cursors = Table(
    "channel_cursors",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("cursor", String(100), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# --- scheduling ---------------------------------------------------------------------------

job_runs = Table(
    "job_runs",
    metadata,
    Column("job_id", String(200), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("claimed_by", String(100), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # running | done | failed | skipped
    Column("attempts", Integer(), nullable=False, server_default="1"),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("error", Text(), nullable=True),
    PrimaryKeyConstraint("job_id", "due_at", name="pk_job_runs"),
    Index("ix_job_runs_status_lease_until", "status", "lease_until"),
)

job_run_parts = Table(
    "job_run_parts",
    metadata,
    Column("job_id", String(200), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("part", String(200), nullable=False),
    Column("ref", String(300), nullable=True),  # what was posted, e.g. a message ref
    Column("sent_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("job_id", "due_at", "part", name="pk_job_run_parts"),
    ForeignKeyConstraint(
        ["job_id", "due_at"],
        ["job_runs.job_id", "job_runs.due_at"],
        name="fk_job_run_parts_job_runs",
        ondelete="CASCADE",
    ),
)

job_marks = Table(
    "job_marks",
    metadata,
    Column("job_id", String(200), primary_key=True),
    Column("first_seen_at", UtcDateTime(), nullable=False),  # nothing before it is a miss
    Column("checked_through", UtcDateTime(), nullable=False),  # misses before it are logged
)
