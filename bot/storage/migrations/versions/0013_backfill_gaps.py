"""Unread ranges: what backfill has not read yet survives a stop or a crash during backfill.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add unread_ranges."""
    op.create_table(
        "unread_ranges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("after_cursor", sa.String(length=100), nullable=False),
        sa.Column("until_cursor", sa.String(length=100), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unread_ranges")),
    )
    op.create_index("ix_unread_ranges_channel", "unread_ranges", ["channel"])


def downgrade() -> None:
    """Drop unread_ranges."""
    op.drop_index("ix_unread_ranges_channel", table_name="unread_ranges")
    op.drop_table("unread_ranges")
