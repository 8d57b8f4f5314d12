"""Session drafts: a previewed `/event create` too long for a confirm button is kept a day,
and the button confirms it by number.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create gathering_drafts."""
    op.create_table(
        "gathering_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=100), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gathering_drafts")),
    )
    op.create_index("ix_gathering_drafts_member_ref", "gathering_drafts", ["member_ref"])


def downgrade() -> None:
    """Drop gathering_drafts."""
    op.drop_index("ix_gathering_drafts_member_ref", table_name="gathering_drafts")
    op.drop_table("gathering_drafts")
