"""Alembic environment: runs on the connection the application hands over (see Database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.storage.schema import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `facilitator db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
