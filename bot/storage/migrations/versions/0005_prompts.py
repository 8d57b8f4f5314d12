"""Prompts: schedules, posted prompts, library rotation, and reflections.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the prompt and reflection tables."""
    op.create_table(
        "prompt_schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_schedules")),
    )
    op.create_index(
        "ix_prompt_schedules_community", "prompt_schedules", ["community"], unique=False
    )
    op.create_table(
        "prompt_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("library_key", sa.String(length=100), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_posts")),
        sa.UniqueConstraint("channel", "message", name="uq_prompt_posts_channel_message"),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_prompt_posts_schedule_id_due_at"),
    )
    op.create_table(
        "prompt_library_uses",
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("prompt_key", sa.String(length=100), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "community", "stage", "prompt_key", name=op.f("pk_prompt_library_uses")
        ),
    )
    op.create_table(
        "reflections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("prompt_post_id", sa.Integer(), nullable=True),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["prompt_post_id"],
            ["prompt_posts.id"],
            name=op.f("fk_reflections_prompt_post_id_prompt_posts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reflections")),
        sa.UniqueConstraint("message_ref", name=op.f("uq_reflections_message_ref")),
    )
    op.create_index("ix_reflections_member_ref", "reflections", ["member_ref"], unique=False)
    op.create_index(
        "ix_reflections_prompt_post_id", "reflections", ["prompt_post_id"], unique=False
    )


def downgrade() -> None:
    """Drop the prompt and reflection tables."""
    op.drop_index("ix_reflections_prompt_post_id", table_name="reflections")
    op.drop_index("ix_reflections_member_ref", table_name="reflections")
    op.drop_table("reflections")
    op.drop_table("prompt_library_uses")
    op.drop_table("prompt_posts")
    op.drop_index("ix_prompt_schedules_community", table_name="prompt_schedules")
    op.drop_table("prompt_schedules")
