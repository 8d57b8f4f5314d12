"""Assignments with self-evaluation: assignments, extensions, submissions (every version),
the facilitators' notes and dialogue, and drafts under way.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the assignment tables."""
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rubric_name", sa.String(length=64), nullable=True),
        sa.Column("rubric", sa.Text(), nullable=False),
        sa.Column("scale_name", sa.String(length=64), nullable=True),
        sa.Column("scale", sa.Text(), nullable=False),
        sa.Column("accepts", sa.String(length=32), nullable=False),
        sa.Column("late_ok", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index("ix_assignments_community", "assignments", ["community", "due_at"])
    op.create_table(
        "assignment_extensions",
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_assignment_extensions_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "assignment_id", "member_ref", name=op.f("pk_assignment_extensions")
        ),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("work", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=False),
        sa.Column("improve", sa.Text(), nullable=False),
        sa.Column("proposed_grade", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("final_grade", sa.String(length=32), nullable=True),
        sa.Column("graded_by", sa.String(length=200), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_submissions_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint(
            "assignment_id", "member_ref", "version", name="uq_submissions_version"
        ),
    )
    op.create_index("ix_submissions_member_ref", "submissions", ["member_ref"])
    op.create_index("ix_submissions_assignment_id", "submissions", ["assignment_id", "status"])
    op.create_table(
        "grade_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("author_ref", sa.String(length=200), nullable=True),
        sa.Column("by_facilitator", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("grade", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_grade_notes_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_notes")),
    )
    op.create_index("ix_grade_notes_submission_id", "grade_notes", ["submission_id"])
    op.create_table(
        "submission_drafts",
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_submission_drafts_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_ref", "assignment_id", name=op.f("pk_submission_drafts")),
    )


def downgrade() -> None:
    """Drop the assignment tables."""
    for table in (
        "submission_drafts",
        "grade_notes",
        "submissions",
        "assignment_extensions",
        "assignments",
    ):
        op.drop_table(table)
