"""Scheduling: the run ledger (job_runs), parts sent per run, and per-job marks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the run ledger tables."""
    op.create_table(
        "job_runs",
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "due_at", name=op.f("pk_job_runs")),
    )
    op.create_index(
        "ix_job_runs_status_lease_until", "job_runs", ["status", "lease_until"], unique=False
    )
    op.create_table(
        "job_run_parts",
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id", "due_at"],
            ["job_runs.job_id", "job_runs.due_at"],
            name="fk_job_run_parts_job_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "due_at", "part", name=op.f("pk_job_run_parts")),
    )
    op.create_table(
        "job_marks",
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_through", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_marks")),
    )


def downgrade() -> None:
    """Drop the run ledger tables."""
    op.drop_table("job_marks")
    op.drop_table("job_run_parts")
    op.drop_index("ix_job_runs_status_lease_until", table_name="job_runs")
    op.drop_table("job_runs")
