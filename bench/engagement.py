"""Engagement benchmark: on the digest benchmark's synthetic community (10k members; per year
~1M messages, ~200k links, ~300k reactions), the time to find who is drifting (every member's
activity over 70 days), to count one week's activity per stage, and to build the whole
facilitator report (8 weeks, drift, concentration, chart), for one year and for three years of
history. All should follow the window, not the history: ratio 3y/1y near 1.

Usage: python bench/engagement.py [years...]   (default: 1 3)
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digest import MESSAGES_PER_YEAR, NOW, migrate, populate
from bot.config import parse_config
from bot.core.communities import CommunityDirectory
from bot.core.weeks import last_complete_week
from bot.features.engagement.rules import DriftRules
from bot.features.engagement.store import activity, drifting_members
from bot.features.reports.chart import chart_png
from bot.features.reports.model import summarise
from bot.features.reports.store import report_inputs
from bot.storage.database import Database

RULES = DriftRules()


def add_memberships(path: Path) -> None:
    """Memberships as the dispatcher would have kept them (as migration 0008 derives them)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO memberships (community, member_ref, joined_at, last_active_at, facilitator)"
        " SELECT community, author_ref, MIN(sent_at), MAX(sent_at), 0 FROM messages"
        " GROUP BY community, author_ref"
    )
    db.execute("ANALYZE")
    db.close()


async def median_seconds(work: Callable[[], Awaitable[int]], runs: int = 5) -> tuple[float, int]:
    """The median time of `work` over `runs`, and what it last returned."""
    timings, result = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        result = await work()
        timings.append(time.perf_counter() - began)
    timings.sort()
    return timings[len(timings) // 2], result


Timed = tuple[float, int]


async def measure(path: Path) -> tuple[Timed, Timed, Timed]:
    """(seconds, drifting members), (seconds, active in a week), (seconds, report's cohort)."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    config = parse_config({"communities": [{"name": "bench", "timezone": "Europe/Berlin"}]})
    community = config.communities[0]
    directory = CommunityDirectory(config)

    async def drift() -> int:
        async with database.reading() as conn:
            return len(await drifting_members(conn, "bench", NOW, RULES))

    async def week() -> int:
        async with database.reading() as conn:
            return len(await activity(conn, "bench", NOW - timedelta(days=7), NOW))

    async def report() -> int:
        async with database.reading() as conn:
            week = last_complete_week(NOW, community.zone)
            inputs = await report_inputs(conn, community, week, NOW, directory=directory)
            built = summarise(inputs)
        chart_png(built.history, "bench", "week", "active members")
        return built.cohort

    try:
        return (
            await median_seconds(drift),
            await median_seconds(week),
            await median_seconds(report, runs=3),
        )
    finally:
        await database.close()


def main() -> None:
    years_list = [int(arg) for arg in sys.argv[1:]] or [1, 3]
    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for years in years_list:
            path = Path(folder) / f"engagement-{years}y.db"
            asyncio.run(migrate(path))
            populate(path, years)
            add_memberships(path)
            (drift_s, drifting), (week_s, active), (report_s, cohort) = asyncio.run(measure(path))
            results[years] = (drift_s, week_s, report_s)
            print(
                f"engagement: {years} year(s) ({MESSAGES_PER_YEAR * years:,} messages): "
                f"who is drifting {drift_s * 1000:.0f} ms ({drifting:,} of 10,000 members), "
                f"a week's activity {week_s * 1000:.0f} ms ({active:,} active), "
                f"the weekly report with its chart {report_s * 1000:.0f} ms ({cohort:,} in cohort)"
            )
    if 1 in results:
        for years, (drift_s, week_s, report_s) in results.items():
            if years != 1:
                print(
                    f"  ratio {years}y / 1y [baseline]: drift {drift_s / results[1][0]:.2f}, "
                    f"week {week_s / results[1][1]:.2f}, report {report_s / results[1][2]:.2f}"
                )


if __name__ == "__main__":
    main()
