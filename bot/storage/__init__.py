"""Storage: SQLAlchemy Core (async), Alembic migrations, shared SQL helpers and the kernel
tables' queries (deliveries, members, messages, memberships, runs)."""

from sqlalchemy.ext.asyncio import AsyncConnection as Connection

from bot.storage.database import Database, StorageError

__all__ = ["Connection", "Database", "StorageError"]
