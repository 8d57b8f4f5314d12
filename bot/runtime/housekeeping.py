"""Retention: raw message text and de-duplication keys expire; links, shares and notes stay."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.config import RetentionSettings
from bot.core.schedules import parse_rule
from bot.runtime.scheduler import Job, RunContext
from bot.storage.database import Database
from bot.storage.deliveries import purge_deliveries
from bot.storage.messages import purge_message_text
from bot.storage.outbox import purge_closed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    """How much one purge removed."""

    message_texts: int
    delivery_keys: int


async def purge_expired(database: Database, settings: RetentionSettings, now: datetime) -> Purged:
    """Clear message text and delivery keys older than their retention."""
    async with database.transaction() as conn:
        texts = await purge_message_text(conn, now - timedelta(days=settings.message_text_days))
        keys_before = now - timedelta(days=settings.delivery_keys_days)
        keys = await purge_deliveries(conn, keys_before)
        # Delivered effects keep their keys as long as deliveries do: a replay within that
        # window still finds them.
        keys += await purge_closed(conn, keys_before)
    if texts or keys:
        log.info("retention: cleared %d message texts and %d delivery keys", texts, keys)
    return Purged(texts, keys)


HOUSEKEEPING_JOB = "housekeeping:retention"


def housekeeping_job(database: Database, settings: RetentionSettings) -> Job:
    """The hourly purge, as a scheduled job like all periodic work."""

    async def purge(context: RunContext) -> None:
        await purge_expired(database, settings, context.due_at)

    return Job(HOUSEKEEPING_JOB, parse_rule("0 * * * *"), "UTC", purge)
