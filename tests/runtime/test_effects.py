"""Scheduled side effects go through the outbox: a run is done once its rows are committed,
and only the deliverer performs them, so a process that dies between the two loses nothing
and a resumed run writes nothing twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.actions import Action
from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.features.goals import store as goals
from bot.features.prompts import store as prompts
from bot.runtime.ledger import LeaseLost
from bot.runtime.outbox import DEFAULT_LEASE, Effect
from bot.runtime.scheduler import DEFAULT_LEASE as RUN_LEASE
from bot.runtime.scheduler import RunContext
from bot.storage.database import Database
from bot.storage.members import touch_members, update_member_settings
from bot.storage.schema import job_run_parts, job_runs
from tests.helpers import ConsoleStory, eventually, outbox_rows

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN).astimezone(UTC)
PROMPT = re.compile(r"#general Facilitator: 🔎 Seek")


def prompt_config(config_for: Callable[..., Config]) -> Config:
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"]},
                "members": {"welcome": False},
                "prompts": [{"stage": "seek", "when": "daily 12:00"}],
            }
        ]
    )


async def posted_prompts(story: ConsoleStory) -> list[prompts.PromptPost]:
    async with story.app.database.reading() as conn:
        return await prompts.posts_of(conn, "demo")


async def _never() -> None:
    """A deliverer that never runs: the process dies before it gets to the rows."""


async def _died(within: float = 0.0, *, final: bool = True) -> None:
    """A process that died lets go of nothing: its rows wait out their lease."""


async def test_a_prompt_written_by_a_process_that_died_before_delivering_is_posted_once(
    config_for: Callable[..., Config],
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = prompt_config(config_for)
    first = ConsoleStory(config, clock, tmp_path)
    monkeypatch.setattr(first.app.dispatcher.outbox, "start", _never)
    monkeypatch.setattr(first.app.dispatcher.outbox, "stop", _died)
    async with first:
        said = await first.tick(NOON)
        async with first.app.database.reading() as conn:
            [run] = (
                await conn.execute(select(job_runs).where(job_runs.c.job_id.startswith("prompt:")))
            ).all()
        assert run.status == "done"  # the run is done once its row is committed...
        assert not PROMPT.search(said)  # ...and it performs nothing itself
        assert await posted_prompts(first) == []
    # The process died there. The next one takes the row once its lease ran out, and posts.
    clock.advance(DEFAULT_LEASE + timedelta(seconds=1))
    async with ConsoleStory(config, clock, tmp_path) as second:
        await eventually(lambda: bool(PROMPT.search(second.out.getvalue())))
        await second.app.drain()
        assert await second.app.scheduler.run_due() == []  # the run is not run again
        await second.app.drain()
        assert len(PROMPT.findall(second.output())) == 1
        [posted] = await posted_prompts(second)
        assert posted.due_at == NOON  # recorded once the platform confirmed it
        rows = [row for row in await outbox_rows(second.app) if row.key.startswith("run:prompt")]
        assert [(row.status, row.claim) for row in rows] == [("done", 2)]  # taken over once


async def test_a_run_resumed_after_a_crash_writes_each_part_once(
    config_for: Callable[..., Config],
    database: Database,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"]},
                "members": {"welcome": False, "goal_checkin": "mon 12:00"},
            }
        ]
    )
    names = ("alice", "bob", "carol")
    async with database.transaction() as conn:
        for name in names:
            ref = f"console:/{name}"
            await touch_members(conn, {ref: ("console", name)}, clock.now())
            await update_member_settings(conn, ref, goal_checkin=True)
            await goals.set_goal(conn, "demo", ref, f"{name}'s goal", clock.now())
    emit = RunContext.emit
    crashes = [LeaseLost("the process died right after writing its first DM")]

    async def dying(self: RunContext, key: str, effect: Effect | Action) -> Any:
        await emit(self, key, effect)
        if crashes:
            raise crashes.pop()

    monkeypatch.setattr(RunContext, "emit", dying)
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.tick(NOON)  # Monday 12:00 in Berlin
        assert re.findall(r"✉ to (\w+): Your weekly check-in", said) == ["alice"]
        # The run's lease runs out; it resumes and writes only what it had not written.
        said = await story.tick(NOON + RUN_LEASE + timedelta(seconds=1))
        assert sorted(re.findall(r"✉ to (\w+): Your weekly check-in", said)) == ["bob", "carol"]
        rows = [row for row in await outbox_rows(story.app) if row.key.startswith("run:goal")]
        assert sorted(row.lane for row in rows) == [f"dm:console:/{name}" for name in names]
        assert {row.status for row in rows} == {"done"}
        async with story.app.database.reading() as conn:
            [run] = (
                await conn.execute(select(job_runs).where(job_runs.c.job_id == "goal-checkin:demo"))
            ).all()
            parts = (await conn.execute(select(job_run_parts.c.part))).scalars().all()
        assert (run.status, run.attempts) == ("done", 2)
        assert sorted(parts) == [f"dm:console:/{name}" for name in names]
        assert await story.tick(NOON + timedelta(hours=1)) == ""  # nothing more, ever
