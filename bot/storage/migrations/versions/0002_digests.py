"""Digests: posted issues, per-channel posts, facilitators' curation; digest DMs opt-in.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the digest tables, members.digest_dm and an index for thread replies."""
    op.create_table(
        "digest_issues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_issues")),
        sa.UniqueConstraint("community", "week", name="uq_digest_issues_community_week"),
    )
    op.create_table(
        "digest_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_posts")),
        sa.UniqueConstraint(
            "community", "week", "channel", name="uq_digest_posts_community_week_channel"
        ),
    )
    op.create_table(
        "digest_choices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_choices")),
        sa.UniqueConstraint(
            "community", "week", "item", name="uq_digest_choices_community_week_item"
        ),
    )
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("digest_dm", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index("ix_messages_community_thread", "messages", ["community", "thread"])


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_index("ix_messages_community_thread", table_name="messages")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("digest_dm")
    op.drop_table("digest_choices")
    op.drop_table("digest_posts")
    op.drop_table("digest_issues")
