"""Feeds remember when their last read was of a malformed document (feedparser's bozo).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add feeds.problem."""
    op.add_column("feeds", sa.Column("problem", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop feeds.problem."""
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("problem")
