"""The transactional outbox: every side effect, written with its cause, performed once.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the outbox table."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("lane", sa.String(length=300), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("words_of", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claim", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("then_hook", sa.String(length=100), nullable=True),
        sa.Column("then_args", sa.Text(), nullable=True),
        sa.Column("on_park", sa.Text(), nullable=True),
        sa.Column("result_ref", sa.String(length=300), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index("ix_outbox_words_of", "outbox", ["words_of"], unique=False)
    op.create_index("ix_outbox_status_lease_until", "outbox", ["status", "lease_until"])
    op.create_index("ix_outbox_done_at", "outbox", ["done_at"], unique=False)


def downgrade() -> None:
    """Drop the outbox."""
    op.drop_index("ix_outbox_done_at", table_name="outbox")
    op.drop_index("ix_outbox_status_lease_until", table_name="outbox")
    op.drop_index("ix_outbox_words_of", table_name="outbox")
    op.drop_table("outbox")
