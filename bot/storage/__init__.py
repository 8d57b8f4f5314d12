"""Storage: SQLAlchemy Core (async), Alembic migrations, repositories."""

from bot.storage.database import Database, StorageError

__all__ = ["Database", "StorageError"]
