"""Scheduling benchmark.

1. Occurrence computation: a year of firings for a few typical rules in Europe/Berlin with
   our zoneinfo-based `Rule.occurrences`, against APScheduler 3's `CronTrigger` walking the
   same year (the baseline, measured in the same run; it is also the one with DST faults).
2. `due(now)` on a real SQLite file with N prompt-like jobs: the cost of one scheduler wake.

Usage: python bench/scheduling.py [jobs]   (default: 500)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apscheduler.triggers.cron import CronTrigger

from bot.core.clock import ManualClock
from bot.core.schedules import parse_rule
from bot.runtime.scheduler import Job, RunContext, Scheduler
from bot.storage.database import Database

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=365)
RULES = ["30 18 * * mon,thu", "0 8 * * *", "*/15 9-17 * * mon-fri", "0 9 1 * *"]


def ours() -> tuple[int, float]:
    began = time.perf_counter()
    count = 0
    for text in RULES:
        count += sum(1 for _ in parse_rule(text).occurrences(START, END, ZONE))
    return count, time.perf_counter() - began


def apscheduler() -> tuple[int, float]:
    began = time.perf_counter()
    count = 0
    for text in RULES:
        trigger = CronTrigger.from_crontab(text, timezone=ZONE)
        previous = None
        moment = START.astimezone(ZONE)
        while True:
            fire = trigger.get_next_fire_time(previous, moment)
            if fire is None or fire >= END:
                break
            count += 1
            previous = fire
            moment = fire + timedelta(microseconds=1)
    return count, time.perf_counter() - began


async def wake_cost(jobs: int) -> tuple[float, float, int]:
    async def run(context: RunContext) -> None:
        await context.part("post", lambda: asyncio.sleep(0))

    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        await database.migrate()
        clock = ManualClock(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
        rules = ["daily 08:00", "mon,thu 18:30", "weekdays 07:30", "0 9 1 * *"]
        scheduler = Scheduler(
            clock,
            database,
            [Job(f"job-{n}", parse_rule(rules[n % 4]), "Europe/Berlin", run) for n in range(jobs)],
        )
        await scheduler.due()  # registers every job once
        quiet = []
        for _ in range(20):
            clock.advance(timedelta(minutes=1))
            began = time.perf_counter()
            await scheduler.due()
            quiet.append(time.perf_counter() - began)
        # 08:00 on a Monday in Berlin: the daily and the weekday jobs (half of them) are due.
        clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
        began = time.perf_counter()
        outcomes = await scheduler.run_due()
        busy = time.perf_counter() - began
        await database.close()
    return sorted(quiet)[len(quiet) // 2], busy, len(outcomes)


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    count, mine = ours()
    base_count, base = apscheduler()
    print(
        f"occurrences, 4 rules x 1 year: ours {count} in {mine * 1000:.1f} ms; "
        f"APScheduler CronTrigger {base_count} in {base * 1000:.1f} ms; "
        f"ratio ours/baseline {mine / base:.2f}"
    )
    quiet, busy, ran = asyncio.run(wake_cost(jobs))
    print(f"due() with {jobs} jobs, nothing due: {quiet * 1000:.1f} ms (median of 20)")
    print(
        f"run_due() with {jobs} jobs, {ran} due at once: {busy * 1000:.0f} ms "
        f"({busy / max(1, ran) * 1000:.2f} ms per run: claim, one part, finish)"
    )


if __name__ == "__main__":
    main()
