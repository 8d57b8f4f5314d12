"""One of two real processes that share a SQLite file (run by test_scheduler.py).

Usage: python -m tests.runtime.two_process_worker DB_URL OWNER OUT_FILE STEPS
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from bot.core.clock import ManualClock
from bot.core.schedules import parse_rule
from bot.runtime.scheduler import Job, RunContext, Scheduler
from bot.storage.database import Database

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=7)


async def main(url: str, owner: str, out: str, steps: int) -> None:
    """Step a ManualClock through the same instants as the other process, running what is due."""

    async def run(context: RunContext) -> None:
        for part in ("a", "b"):

            async def send(part: str = part) -> str:
                line = f"{context.job_id} {context.due_at.isoformat()} {part} {owner}\n"
                # O_APPEND: both processes write whole lines to one file without mixing them.
                descriptor = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(descriptor, line.encode())
                finally:
                    os.close(descriptor)
                return owner

            await context.part(part, send)

    database = Database(url)
    clock = ManualClock(START)
    jobs = [
        Job("every-half-hour", parse_rule("*/30 * * * *"), "UTC", run),
        Job("daily", parse_rule("daily 10:00"), "Europe/Berlin", run),
    ]
    # Each process steps its own ManualClock, so their "now" can drift hours apart; a lease
    # longer than the whole run keeps that drift from looking like a dead holder. (Real
    # processes share the wall clock: their skew is far below the default 5-minute lease.)
    scheduler = Scheduler(clock, database, jobs, owner=owner, lease=timedelta(days=1))
    try:
        for _ in range(steps):
            await scheduler.run_due()
            clock.advance(STEP)
    finally:
        await database.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
