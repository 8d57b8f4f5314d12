"""One consent table: every permission a member gives (being quoted, named, introduced...),
default off, instead of a column per permission on `members`.

`members.allow_quotes` was on by default, so `true` records no answer: those members count as
not consenting from now on and are asked once. Only `false` can have come from the member
(`/settings quotes=off`, the welcome's "No"), so it is kept as their answer. Likewise
`members.introductions` was off by default: only `true` is an answer.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `consents`, keep the explicit answers, drop the old columns."""
    op.create_table(
        "consents",
        sa.Column("member_ref", sa.String(length=200), nullable=False),
        sa.Column("consent", sa.String(length=40), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("member_ref", "consent", name=op.f("pk_consents")),
    )
    # When these answers were given was never recorded: answered_at stays empty.
    op.execute(
        "INSERT INTO consents (member_ref, consent, given) "
        "SELECT ref, 'quotes', FALSE FROM members WHERE allow_quotes = FALSE"
    )
    op.execute(
        "INSERT INTO consents (member_ref, consent, given) "
        "SELECT ref, 'introductions', TRUE FROM members WHERE introductions = TRUE"
    )
    with op.batch_alter_table("members") as batch:
        batch.drop_column("allow_quotes")
        batch.drop_column("introductions")


def downgrade() -> None:
    """Restore the columns from the answers (the old defaults where there is none)."""
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("allow_quotes", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(
            sa.Column("introductions", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        "UPDATE members SET allow_quotes = FALSE WHERE ref IN (SELECT member_ref FROM consents "
        "WHERE consent = 'quotes' AND given = FALSE)"
    )
    op.execute(
        "UPDATE members SET introductions = TRUE WHERE ref IN (SELECT member_ref FROM consents "
        "WHERE consent = 'introductions' AND given = TRUE)"
    )
    op.drop_table("consents")
