"""Gatherings (live sessions): RSVPs, questions, takeaways threads, personal calendar tokens.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _gathering_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("gathering_id", sa.Integer(), nullable=False)


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["gathering_id"],
        ["gatherings.id"],
        name=op.f(f"fk_{table}_gathering_id_gatherings"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Add the gathering tables."""
    op.create_table(
        "gatherings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("recurrence", sa.String(length=500), nullable=True),
        sa.Column("where_url", sa.String(length=2048), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("host_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("mirror_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gatherings")),
        sa.UniqueConstraint("uid", name=op.f("uq_gatherings_uid")),
    )
    op.create_index("ix_gatherings_community_starts_at", "gatherings", ["community", "starts_at"])
    op.create_table(
        "rsvps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _gathering_fk(),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("waitlisted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _fk("rsvps"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsvps")),
        sa.UniqueConstraint(
            "gathering_id",
            "occurrence_at",
            "member_ref",
            name="uq_rsvps_gathering_occurrence_member",
        ),
    )
    op.create_index("ix_rsvps_member_ref", "rsvps", ["member_ref"])
    op.create_table(
        "gathering_questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _gathering_fk(),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        _fk("gathering_questions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gathering_questions")),
    )
    op.create_index("ix_gathering_questions_member_ref", "gathering_questions", ["member_ref"])
    op.create_table(
        "gathering_threads",
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        _gathering_fk(),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        _fk("gathering_threads"),
        sa.PrimaryKeyConstraint("message_ref", name=op.f("pk_gathering_threads")),
    )
    op.create_table(
        "takeaways",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _gathering_fk(),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("message_ref", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _fk("takeaways"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takeaways")),
        sa.UniqueConstraint("message_ref", name=op.f("uq_takeaways_message_ref")),
    )
    op.create_index("ix_takeaways_community_at", "takeaways", ["community", "at"])
    op.create_index("ix_takeaways_member_ref", "takeaways", ["member_ref"])
    op.create_table(
        "calendar_tokens",
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_ref", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_calendar_tokens_token")),
    )


def downgrade() -> None:
    """Drop the gathering tables."""
    op.drop_table("calendar_tokens")
    op.drop_index("ix_takeaways_member_ref", table_name="takeaways")
    op.drop_index("ix_takeaways_community_at", table_name="takeaways")
    op.drop_table("takeaways")
    op.drop_table("gathering_threads")
    op.drop_index("ix_gathering_questions_member_ref", table_name="gathering_questions")
    op.drop_table("gathering_questions")
    op.drop_index("ix_rsvps_member_ref", table_name="rsvps")
    op.drop_table("rsvps")
    op.drop_index("ix_gatherings_community_starts_at", table_name="gatherings")
    op.drop_table("gatherings")
