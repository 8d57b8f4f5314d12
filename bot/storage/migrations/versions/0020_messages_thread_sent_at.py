"""Messages: the (community, thread) index also orders by time, so a period's talk outside
threads (`thread IS NULL` and a time range) is one index range, not every such message the
community ever had (the report grew with history).

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace ix_messages_community_thread with one that ends in sent_at."""
    op.create_index(
        "ix_messages_community_thread_sent_at", "messages", ["community", "thread", "sent_at"]
    )
    op.drop_index("ix_messages_community_thread", table_name="messages")


def downgrade() -> None:
    """Restore the two-column index."""
    op.create_index("ix_messages_community_thread", "messages", ["community", "thread"])
    op.drop_index("ix_messages_community_thread_sent_at", table_name="messages")
