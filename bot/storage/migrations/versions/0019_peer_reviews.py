"""Peer review: an assignment's review settings, and the reviews themselves.

Revision ID: 0019
Revises: 0018
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ASSIGNMENT_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("peer_reviews", sa.Integer(), server_default="0", nullable=False),
    sa.Column("blind", sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("open_reviewing", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("reviews_assigned_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("review_reminded_at", sa.DateTime(timezone=True), nullable=True),
)


def upgrade() -> None:
    """Add the review settings to assignments; create the reviews' table."""
    with op.batch_alter_table("assignments") as batch:
        for column in _ASSIGNMENT_COLUMNS:
            batch.add_column(column)
    op.create_table(
        "peer_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewee_ref", sa.String(length=200), nullable=False),
        sa.Column("reviewer_ref", sa.String(length=200), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("strength", sa.Text(), nullable=True),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_peer_reviews_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_peer_reviews_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_reviews")),
        sa.UniqueConstraint("submission_id", "reviewer_ref", name="uq_peer_reviews_pair"),
    )
    op.create_index("ix_peer_reviews_reviewer_ref", "peer_reviews", ["reviewer_ref"])
    op.create_index("ix_peer_reviews_assignment_id", "peer_reviews", ["assignment_id"])
    op.create_index("ix_peer_reviews_reviewee_ref", "peer_reviews", ["reviewee_ref"])


def downgrade() -> None:
    """Drop the reviews and the review settings."""
    op.drop_table("peer_reviews")
    with op.batch_alter_table("assignments") as batch:
        for column in reversed(_ASSIGNMENT_COLUMNS):
            batch.drop_column(column.name)
