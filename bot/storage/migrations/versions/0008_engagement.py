"""Engagement: who belongs to which community and when they last acted, nudges sent, bridging
introductions made, and the members' settings for both.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the settings and tables, and derive memberships from what is stored already."""
    op.add_column(
        "members", sa.Column("nudges", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "members",
        sa.Column("nudge_every_days", sa.Integer(), server_default="7", nullable=False),
    )
    op.add_column(
        "members", sa.Column("nudges_snoozed_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "members",
        sa.Column("introductions", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("facilitator", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("community", "member_ref", name=op.f("pk_memberships")),
    )
    op.create_index("ix_memberships_member_ref", "memberships", ["member_ref"])
    op.create_table(
        "nudges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("named_ref", sa.String(length=200), nullable=True),
        sa.Column("named", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
    )
    op.create_index("ix_nudges_community_sent_at", "nudges", ["community", "sent_at"])
    op.create_index("ix_nudges_member_ref", "nudges", ["member_ref"])
    op.create_table(
        "introductions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("member_a", sa.String(length=200), nullable=False),
        sa.Column("member_b", sa.String(length=200), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("introduced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_introductions")),
        sa.UniqueConstraint(
            "community",
            "member_a",
            "member_b",
            name=op.f("uq_introductions_community_member_a"),
        ),
    )
    op.create_index("ix_introductions_member_b", "introductions", ["member_b"])
    # Activity is counted per period: reactions and reflections are read by time, too.
    op.create_index("ix_reactions_community_reacted_at", "reactions", ["community", "reacted_at"])
    op.create_index(
        "ix_reflections_community_created_at", "reflections", ["community", "created_at"]
    )
    op.create_index(
        "ix_link_annotations_community_created_at",
        "link_annotations",
        ["community", "created_at"],
    )
    # Members who spoke before this version: their first and last message in each community.
    op.execute(
        "INSERT INTO memberships"
        " (community, member_ref, joined_at, first_active_at, last_active_at, facilitator)"
        " SELECT community, author_ref, MIN(sent_at), MIN(sent_at), MAX(sent_at), false"
        " FROM messages"
        " GROUP BY community, author_ref"
    )
    op.execute(
        "INSERT INTO memberships (community, member_ref, joined_at, facilitator)"
        " SELECT w.community, w.member_ref, w.welcomed_at, false FROM welcomes w"
        " WHERE NOT EXISTS (SELECT 1 FROM memberships m"
        " WHERE m.community = w.community AND m.member_ref = w.member_ref)"
    )
    # Welcomed before they first spoke: they joined at the welcome.
    op.execute(
        "UPDATE memberships SET joined_at = (SELECT MIN(w.welcomed_at) FROM welcomes w"
        " WHERE w.community = memberships.community AND w.member_ref = memberships.member_ref)"
        " WHERE EXISTS (SELECT 1 FROM welcomes w WHERE w.community = memberships.community"
        " AND w.member_ref = memberships.member_ref AND w.welcomed_at < memberships.joined_at)"
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_index("ix_link_annotations_community_created_at", table_name="link_annotations")
    op.drop_index("ix_reflections_community_created_at", table_name="reflections")
    op.drop_index("ix_reactions_community_reacted_at", table_name="reactions")
    op.drop_index("ix_introductions_member_b", table_name="introductions")
    op.drop_table("introductions")
    op.drop_index("ix_nudges_member_ref", table_name="nudges")
    op.drop_index("ix_nudges_community_sent_at", table_name="nudges")
    op.drop_table("nudges")
    op.drop_index("ix_memberships_member_ref", table_name="memberships")
    op.drop_table("memberships")
    with op.batch_alter_table("members") as batch:
        for column in ("introductions", "nudges_snoozed_until", "nudge_every_days", "nudges"):
            batch.drop_column(column)
