"""Initial schema: members, messages, links, shares, reactions, deliveries, tombstones, cursors.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the foundation's tables."""
    op.create_table(
        "channel_cursors",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("cursor", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_cursors")),
    )
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_received_at"), "deliveries", ["received_at"], unique=False)
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("first_shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("community", "canonical_url", name="uq_links_community_canonical_url"),
    )
    op.create_table(
        "members",
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allow_quotes", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("link_reactions", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_members")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("thread", sa.String(length=100), nullable=True),
        sa.Column("author_ref", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("ref", name=op.f("uq_messages_ref")),
    )
    op.create_index("ix_messages_author_ref", "messages", ["author_ref"], unique=False)
    op.create_index(
        "ix_messages_community_sent_at", "messages", ["community", "sent_at"], unique=False
    )
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("emoji", sa.String(length=100), nullable=False),
        sa.Column("reacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint(
            "message_ref", "member_ref", "emoji", name="uq_reactions_message_member_emoji"
        ),
    )
    op.create_index("ix_reactions_member_ref", "reactions", ["member_ref"], unique=False)
    op.create_table(
        "tombstones",
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_ref", name=op.f("pk_tombstones")),
    )
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name=op.f("fk_shares_link_id_links"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
        sa.UniqueConstraint(
            "link_id", "member_ref", "message_ref", name="uq_shares_link_member_message"
        ),
    )
    op.create_index(
        "ix_shares_community_shared_at", "shares", ["community", "shared_at"], unique=False
    )
    op.create_index("ix_shares_member_ref", "shares", ["member_ref"], unique=False)
    op.create_index("ix_shares_message_ref", "shares", ["message_ref"], unique=False)


def downgrade() -> None:
    """Drop the foundation's tables."""
    op.drop_index("ix_shares_message_ref", table_name="shares")
    op.drop_index("ix_shares_member_ref", table_name="shares")
    op.drop_index("ix_shares_community_shared_at", table_name="shares")
    op.drop_table("shares")
    op.drop_table("tombstones")
    op.drop_index("ix_reactions_member_ref", table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_messages_community_sent_at", table_name="messages")
    op.drop_index("ix_messages_author_ref", table_name="messages")
    op.drop_table("messages")
    op.drop_table("members")
    op.drop_table("links")
    op.drop_index(op.f("ix_deliveries_received_at"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("channel_cursors")
