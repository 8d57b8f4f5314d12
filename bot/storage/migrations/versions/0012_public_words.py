"""Whether a reflection or an annotation was written where every member can read it: only
those are ever quoted (a direct message to the bot, or a command run there, is not).

Rows stored before are public only when they are replies in a prompt's thread (posted in a
community channel); the others' origin is unknown, so they are kept but no longer quoted.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `public` to reflections and link annotations."""
    for table in ("reflections", "link_annotations"):
        op.add_column(
            table, sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("UPDATE reflections SET public = TRUE WHERE prompt_post_id IS NOT NULL")


def downgrade() -> None:
    """Drop what `upgrade` added."""
    for table in ("reflections", "link_annotations"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("public")
