"""Home pages: who opened theirs (Slack's App Home) and when, so a change republishes only
the pages of members who look at them.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create home_views."""
    op.create_table(
        "home_views",
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facilitator", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("publishing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("member_ref", name=op.f("pk_home_views")),
    )
    op.create_index("ix_home_views_opened_at", "home_views", ["opened_at"])


def downgrade() -> None:
    """Drop home_views."""
    op.drop_index("ix_home_views_opened_at", table_name="home_views")
    op.drop_table("home_views")
