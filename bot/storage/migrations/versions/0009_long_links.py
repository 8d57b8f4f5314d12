"""Long links: URLs up to 8 KB, indexed by a fixed-size digest of the canonical URL.

PostgreSQL's B-tree entries hold about 2,700 bytes, so the unique index on (community,
canonical_url) capped links at 2,048 characters and longer ones were dropped. The index now
covers a SHA-256 of the canonical URL; the URLs themselves become unbounded text. The preview
cache is rebuilt with the same key (it is only a cache: pages are described again).

Revision ID: 0009
Revises: 0008
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    """Key links by a digest of their canonical URL and let URLs grow to 8 KB."""
    op.add_column("links", sa.Column("url_key", sa.String(length=64), nullable=True))
    links = sa.table(
        "links", sa.column("id", sa.Integer()), sa.column("canonical_url"), sa.column("url_key")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(links.c.id, links.c.canonical_url)).all()
    for row in rows:
        connection.execute(
            links.update().where(links.c.id == row.id).values(url_key=_key(row.canonical_url))
        )
    with op.batch_alter_table("links") as batch:
        batch.drop_constraint("uq_links_community_canonical_url", type_="unique")
        batch.alter_column("url_key", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("canonical_url", existing_type=sa.String(length=2048), type_=sa.Text())
        batch.alter_column("url", existing_type=sa.String(length=2048), type_=sa.Text())
        batch.create_unique_constraint("uq_links_community_url_key", ["community", "url_key"])
    with op.batch_alter_table("shares") as batch:
        batch.alter_column("url", existing_type=sa.String(length=2048), type_=sa.Text())
    op.drop_table("link_previews")
    op.create_table(
        "link_previews",
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("url_key", name=op.f("pk_link_previews")),
    )


def downgrade() -> None:
    """Back to links keyed by their canonical URL (links over 2,048 characters are dropped)."""
    op.drop_table("link_previews")
    op.create_table(
        "link_previews",
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("canonical_url", name=op.f("pk_link_previews")),
    )
    op.execute("DELETE FROM links WHERE length(canonical_url) > 2048 OR length(url) > 2048")
    op.execute("DELETE FROM shares WHERE length(url) > 2048")
    with op.batch_alter_table("shares") as batch:
        batch.alter_column("url", existing_type=sa.Text(), type_=sa.String(length=2048))
    with op.batch_alter_table("links") as batch:
        batch.drop_constraint("uq_links_community_url_key", type_="unique")
        batch.alter_column("url", existing_type=sa.Text(), type_=sa.String(length=2048))
        batch.alter_column("canonical_url", existing_type=sa.Text(), type_=sa.String(length=2048))
        batch.drop_column("url_key")
        batch.create_unique_constraint(
            "uq_links_community_canonical_url", ["community", "canonical_url"]
        )
