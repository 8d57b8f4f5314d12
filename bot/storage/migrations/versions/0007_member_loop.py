"""The member loop: /reflect about a link, /seek questions and their answers, goals and
check-ins, critical-literacy asks and annotations, and onboarding welcomes.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the member settings, the reflection's link and the member-loop tables."""
    op.add_column(
        "members",
        sa.Column("goal_checkin", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "members",
        sa.Column("literacy_questions", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("reflections", sa.Column("link_url", sa.String(length=2048), nullable=True))
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("command_key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("message", sa.String(length=100), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("command_key", name=op.f("uq_questions_command_key")),
    )
    op.create_index("ix_questions_community_asked_at", "questions", ["community", "asked_at"])
    op.create_index("ix_questions_member_ref", "questions", ["member_ref"])
    op.create_table(
        "question_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_answers_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_answers")),
        sa.UniqueConstraint("message_ref", name=op.f("uq_question_answers_message_ref")),
    )
    op.create_index("ix_question_answers_question_id", "question_answers", ["question_id"])
    op.create_index("ix_question_answers_member_ref", "question_answers", ["member_ref"])
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    op.create_index("ix_goals_member_ref", "goals", ["member_ref"])
    op.create_index("ix_goals_community_status", "goals", ["community", "status"])
    op.create_table(
        "link_annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_link_annotations_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_annotations")),
        sa.UniqueConstraint("source_key", name=op.f("uq_link_annotations_source_key")),
    )
    op.create_index("ix_link_annotations_link_id", "link_annotations", ["link_id"])
    op.create_index("ix_link_annotations_member_ref", "link_annotations", ["member_ref"])
    op.create_table(
        "literacy_asks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("share_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_literacy_asks_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_literacy_asks")),
        sa.UniqueConstraint("share_id", name=op.f("uq_literacy_asks_share_id")),
    )
    op.create_index(
        "ix_literacy_asks_member_ref_asked_at", "literacy_asks", ["member_ref", "asked_at"]
    )
    op.create_table(
        "welcomes",
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("community", "member_ref", name=op.f("pk_welcomes")),
    )
    op.create_table(
        "community_threads",
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("community", "kind", "channel", name=op.f("pk_community_threads")),
    )


def downgrade() -> None:
    """Drop the member-loop tables and columns."""
    op.drop_table("community_threads")
    op.drop_table("welcomes")
    op.drop_index("ix_literacy_asks_member_ref_asked_at", table_name="literacy_asks")
    op.drop_table("literacy_asks")
    op.drop_index("ix_link_annotations_member_ref", table_name="link_annotations")
    op.drop_index("ix_link_annotations_link_id", table_name="link_annotations")
    op.drop_table("link_annotations")
    op.drop_index("ix_goals_community_status", table_name="goals")
    op.drop_index("ix_goals_member_ref", table_name="goals")
    op.drop_table("goals")
    op.drop_index("ix_question_answers_member_ref", table_name="question_answers")
    op.drop_index("ix_question_answers_question_id", table_name="question_answers")
    op.drop_table("question_answers")
    op.drop_index("ix_questions_member_ref", table_name="questions")
    op.drop_index("ix_questions_community_asked_at", table_name="questions")
    op.drop_table("questions")
    with op.batch_alter_table("reflections") as batch:
        batch.drop_column("link_url")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("literacy_questions")
        batch.drop_column("goal_checkin")
