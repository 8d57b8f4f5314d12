"""The scheduler, driven by a ManualClock on real SQLite files: restarts, two processes,
catch-up within and beyond the grace window, DST, failures, and APScheduler wake-ups."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import ManualClock
from bot.core.schedules import parse_rule
from bot.runtime.scheduler import Job, RunContext, Scheduler
from bot.storage.database import Database
from tests.helpers import START

pytestmark = pytest.mark.timeout(60)

BERLIN = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parents[2]


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


class Outbox:
    """Where test jobs 'post': every part sent, in order, with the run it belongs to."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, datetime, str]] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.waiting: set[str] = set()  # parts held at a gate, after the ones before were sent
        self.failures: dict[str, int] = {}

    def job(
        self, job_id: str, rule: str, zone: str = "Europe/Berlin", parts: Sequence[str] = ("post",)
    ) -> Job:
        async def run(context: RunContext) -> None:
            for part in parts:
                gate = self.gates.get(part)
                if gate is not None:
                    self.waiting.add(part)
                    await gate.wait()
                await context.part(part, lambda part=part: self._send(context, part))

        return Job(job_id, parse_rule(rule), zone, run)

    async def _send(self, context: RunContext, part: str) -> str:
        if self.failures.get(context.job_id, 0) > 0:
            self.failures[context.job_id] -= 1
            raise ConnectionError("platform unreachable")
        self.sent.append((context.job_id, context.due_at, part))
        return f"msg-{len(self.sent)}"

    def runs(self, job_id: str | None = None) -> Counter[tuple[str, datetime]]:
        return Counter((job, due) for job, due, _ in self.sent if job_id in (None, job))


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll an observable effect with a deadline."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polling with a deadline, as TESTING.md says
            await asyncio.sleep(0.01)


async def step_through(
    clock: ManualClock, until: datetime, step: timedelta, *actions: Callable[[], Awaitable[object]]
) -> None:
    while clock.now() < until:
        clock.advance(step)
        await asyncio.gather(*(action() for action in actions))


# --- basic behaviour ----------------------------------------------------------------------


async def test_runs_each_occurrence_once(database: Database, clock: ManualClock) -> None:
    outbox = Outbox()
    scheduler = Scheduler(clock, database, [outbox.job("daily", "daily 10:00")], owner="a")
    assert [run.due_at for run in await scheduler.due()] == [START]  # 10:00 Berlin, now
    [outcome] = await scheduler.run_due()
    assert (outcome.job_id, outcome.status, outcome.attempt) == ("daily", "done", 1)
    assert await scheduler.run_due() == []  # a replay finds the ledger row
    assert await scheduler.due() == []
    await step_through(clock, START + timedelta(days=3), timedelta(minutes=20), scheduler.run_due)
    assert outbox.runs() == {("daily", START + timedelta(days=n)): 1 for n in range(4)}


async def test_a_new_job_does_not_replay_occurrences_before_it_existed(
    database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()
    # 09:00 Berlin was an hour ago, well inside the grace window, but the job is new.
    scheduler = Scheduler(clock, database, [outbox.job("new", "daily 09:00")], owner="a")
    assert await scheduler.run_due() == []
    clock.advance(timedelta(hours=23))
    assert [o.status for o in await scheduler.run_due()] == ["done"]


async def test_next_wake_is_the_next_occurrence(database: Database, clock: ManualClock) -> None:
    outbox = Outbox()
    scheduler = Scheduler(
        clock,
        database,
        [outbox.job("a", "daily 10:30"), outbox.job("b", "mon 12:00", "America/New_York")],
    )
    assert await scheduler.next_wake() == berlin(2026, 11, 23, 10, 30)
    clock.set(berlin(2026, 11, 23, 10, 31))
    assert await scheduler.next_wake() == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


# --- restarts and crashes -------------------------------------------------------------------


async def test_a_restart_in_the_middle_of_a_run_sends_only_the_missing_parts(
    db_url: str, clock: ManualClock
) -> None:
    parts = ("intro", "prompt:1", "prompt:2")
    outbox = Outbox()
    outbox.gates["prompt:2"] = asyncio.Event()  # the process dies while waiting here
    first_db = Database(db_url)
    await first_db.migrate()
    first = Scheduler(
        clock, first_db, [outbox.job("prompts", "daily 10:00", parts=parts)], owner="first"
    )
    running = asyncio.create_task(first.run_due())
    await wait_for(lambda: "prompt:2" in outbox.waiting)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await first_db.close()

    del outbox.gates["prompt:2"]
    second_db = Database(db_url)
    await second_db.migrate()
    try:
        second = Scheduler(
            clock, second_db, [outbox.job("prompts", "daily 10:00", parts=parts)], owner="second"
        )
        # The dead holder's lease still stands: nobody may resume yet.
        assert await second.run_due() == []
        assert await second.next_wake() == START + second.lease
        clock.advance(second.lease)
        [outcome] = await second.run_due()
        assert (outcome.status, outcome.attempt) == ("done", 2)
        assert [part for _, _, part in outbox.sent] == list(parts)  # each exactly once
        [run] = await second.ledger.history("prompts")
        assert (run.status, run.claimed_by) == ("done", "second")
        assert await second.ledger.sent_parts("prompts", START) == {
            "intro": "msg-1",
            "prompt:1": "msg-2",
            "prompt:2": "msg-3",
        }
        assert await second.run_due() == []
    finally:
        await second_db.close()


async def test_two_schedulers_sharing_one_database_post_once(
    db_url: str, database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()

    def jobs() -> list[Job]:
        return [
            outbox.job("daily", "daily 10:00"),
            outbox.job("half-hourly", "*/30 * * * *", "UTC", parts=("a", "b")),
            outbox.job("twice-weekly", "mon,wed 18:30", "America/New_York"),
        ]

    other_db = Database(db_url)
    try:
        one = Scheduler(clock, database, jobs(), owner="one")
        two = Scheduler(clock, other_db, jobs(), owner="two")
        await asyncio.gather(one.run_due(), two.run_due())
        end = START + timedelta(days=2)
        await step_through(clock, end, timedelta(minutes=13), one.run_due, two.run_due)
    finally:
        await other_db.close()
    for job in jobs():
        expected = list(
            job.rule.occurrences(START, clock.now() + timedelta(microseconds=1), job.tz)
        )
        parts = 2 if job.id == "half-hourly" else 1
        assert outbox.runs(job.id) == {(job.id, due): parts for due in expected}, job.id
    assert len(outbox.sent) == len(set(outbox.sent))


# --- catch-up after downtime --------------------------------------------------------------


async def test_a_run_missed_within_the_grace_window_runs_once_after_a_restart(
    db_url: str, database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()
    before = Scheduler(clock, database, [outbox.job("noon", "daily 12:00")], owner="before")
    assert await before.run_due() == []  # registered at 10:00 Berlin; then the process stops
    clock.set(berlin(2026, 11, 23, 17, 59))  # down for the 12:00 run, back 5 h 59 min later
    after = Scheduler(clock, database, [outbox.job("noon", "daily 12:00")], owner="after")
    [outcome] = await after.run_due()
    assert (outcome.due_at, outcome.status) == (berlin(2026, 11, 23, 12), "done")
    assert await after.run_due() == []
    assert outbox.runs() == {("noon", berlin(2026, 11, 23, 12)): 1}


async def test_a_run_missed_beyond_the_grace_window_is_skipped_and_logged_once(
    database: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox()
    job = outbox.job("noon", "daily 12:00")
    assert await Scheduler(clock, database, [job], owner="before").run_due() == []
    clock.set(berlin(2026, 11, 25, 18, 1))  # two days down: 23rd, 24th and 25th 12:00 missed
    after = Scheduler(clock, database, [job], owner="after")
    with caplog.at_level(logging.WARNING, logger="bot.runtime.scheduler"):
        assert await after.run_due() == []
        assert await after.run_due() == []
    skips = [record.getMessage() for record in caplog.records if "skipped" in record.getMessage()]
    assert len(skips) == 1 and "skipped 3 run(s)" in skips[0] and "noon" in skips[0]
    assert outbox.sent == []
    clock.set(berlin(2026, 11, 26, 12))
    assert [o.status for o in await after.run_due()] == ["done"]


async def test_a_custom_grace_window(database: Database, clock: ManualClock) -> None:
    outbox = Outbox()
    job = outbox.job("noon", "daily 12:00")
    scheduler = Scheduler(clock, database, [job], grace=timedelta(minutes=30))
    await scheduler.run_due()
    clock.set(berlin(2026, 11, 23, 12, 31))
    assert await scheduler.run_due() == []
    clock.set(berlin(2026, 11, 24, 12, 30))
    assert [o.status for o in await scheduler.run_due()] == ["done"]


async def test_many_missed_occurrences_within_grace_run_once(
    database: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox()
    job = outbox.job("hourly", "0 * * * *", "UTC")
    scheduler = Scheduler(clock, database, [job])
    assert [o.due_at for o in await scheduler.run_due()] == [START]
    clock.advance(timedelta(hours=5, minutes=10))
    with caplog.at_level(logging.INFO, logger="bot.runtime.scheduler"):
        [outcome] = await scheduler.run_due()
    assert outcome.due_at == START + timedelta(hours=5)
    assert any("for 4 earlier missed" in record.getMessage() for record in caplog.records)
    clock.advance(timedelta(minutes=50))
    assert [o.due_at for o in await scheduler.run_due()] == [START + timedelta(hours=6)]
    assert len(outbox.sent) == 3


async def test_an_abandoned_run_older_than_grace_is_not_resumed(
    db_url: str, clock: ManualClock
) -> None:
    outbox = Outbox()
    outbox.gates["second"] = asyncio.Event()
    db = Database(db_url)
    await db.migrate()
    job = outbox.job("two-part", "daily 10:00", parts=("first", "second"))
    running = asyncio.create_task(Scheduler(clock, db, [job], owner="dead").run_due())
    await wait_for(lambda: "second" in outbox.waiting)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await db.close()
    del outbox.gates["second"]
    db = Database(db_url)
    try:
        clock.advance(timedelta(hours=7))
        scheduler = Scheduler(clock, db, [job], owner="alive")
        assert await scheduler.run_due() == []
        [run] = await scheduler.ledger.history("two-part")
        assert run.status == "skipped"
        assert len(outbox.sent) == 1
    finally:
        await db.close()


# --- failures -----------------------------------------------------------------------------


async def test_a_failing_job_does_not_stop_others_and_is_retried(
    database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()
    outbox.failures["flaky"] = 1
    scheduler = Scheduler(
        clock,
        database,
        [outbox.job("flaky", "daily 10:00", parts=("a", "b")), outbox.job("steady", "daily 10:00")],
    )
    outcomes = {o.job_id: o for o in await scheduler.run_due()}
    assert outcomes["flaky"].status == "failed"
    assert "ConnectionError: platform unreachable" in (outcomes["flaky"].error or "")
    assert outcomes["steady"].status == "done"
    assert await scheduler.run_due() == []  # waits for the retry pause
    wake = await scheduler.next_wake()
    assert wake == START + scheduler.ledger.retry_after
    clock.set(wake)
    [retry] = await scheduler.run_due()
    assert (retry.job_id, retry.status, retry.attempt) == ("flaky", "done", 2)
    assert outbox.runs() == {("flaky", START): 2, ("steady", START): 1}


# --- DST, clock-driven --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "change", "expected_local"),
    [
        (date(2026, 3, 27), date(2026, 3, 31), date(2026, 3, 29), "03:30"),
        (date(2026, 10, 23), date(2026, 10, 27), date(2026, 10, 25), "02:30"),
    ],
)
async def test_a_job_in_the_changing_hour_runs_once_per_local_day(
    database: Database,
    clock: ManualClock,
    first: date,
    last: date,
    change: date,
    expected_local: str,
) -> None:
    outbox = Outbox()
    clock.set(datetime(first.year, first.month, first.day, tzinfo=BERLIN))
    scheduler = Scheduler(clock, database, [outbox.job("night", "daily 02:30")])
    end = datetime(last.year, last.month, last.day, 23, 59, tzinfo=BERLIN)
    await step_through(clock, end, timedelta(minutes=10), scheduler.run_due)
    local = [due.astimezone(BERLIN) for _, due, _ in outbox.sent]
    assert Counter(moment.date() for moment in local) == {
        first + timedelta(days=n): 1 for n in range((last - first).days + 1)
    }
    for moment in local:
        shown = moment.strftime("%H:%M")
        assert shown == (expected_local if moment.date() == change else "02:30")
        assert moment.fold == 0


# --- waking up through APScheduler ---------------------------------------------------------


async def test_apscheduler_wakes_the_process_and_catches_up_at_start(
    database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()
    job = outbox.job("noon", "daily 12:00")
    await Scheduler(clock, database, [job]).run_due()  # first seen at 10:00 Berlin
    clock.set(berlin(2026, 11, 23, 13))  # the process was down at noon
    scheduler = Scheduler(clock, database, [job], owner="restarted")
    await scheduler.start()
    try:
        await wait_for(lambda: len(outbox.sent) == 1)
        await wait_for(lambda: scheduler.wake_at is not None)
        # Nothing due for 23 h: it still wakes within the hour, in case the machine slept.
        wake_at = scheduler.wake_at
        assert wake_at is not None
        assert abs(wake_at - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(seconds=30)
        clock.set(berlin(2026, 11, 24, 11, 30))
        scheduler.poke()
        await wait_for(
            lambda: (
                scheduler.wake_at is not None
                and abs(scheduler.wake_at - (datetime.now(UTC) + timedelta(minutes=30)))
                < timedelta(seconds=30)
            )
        )
        clock.set(berlin(2026, 11, 24, 12))
        scheduler.poke()
        await wait_for(lambda: len(outbox.sent) == 2)
        assert outbox.runs() == {
            ("noon", berlin(2026, 11, 23, 12)): 1,
            ("noon", berlin(2026, 11, 24, 12)): 1,
        }
    finally:
        await scheduler.stop()
    assert scheduler.wake_at is None


async def test_adding_a_job_while_running_wakes_for_it(
    database: Database, clock: ManualClock
) -> None:
    outbox = Outbox()
    scheduler = Scheduler(clock, database)
    await scheduler.start()
    try:
        scheduler.add(outbox.job("now", "daily 10:00"))  # due this very minute
        await wait_for(lambda: len(outbox.sent) == 1)
        assert scheduler.remove("now")
        assert not scheduler.remove("now")
        clock.advance(timedelta(days=1))
        scheduler.poke()
        await wait_for(lambda: scheduler.wake_at is not None)
        assert len(outbox.sent) == 1
    finally:
        await scheduler.stop()


async def test_two_real_processes_on_one_sqlite_file_post_each_part_once(
    db_url: str, database: Database, tmp_path: Path
) -> None:
    out = tmp_path / "sent.txt"
    steps = 120  # 14 hours in 7-minute steps
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.runtime.two_process_worker",
            db_url,
            owner,
            str(out),
            str(steps),
            cwd=str(ROOT),
            stderr=asyncio.subprocess.PIPE,
        )
        for owner in ("one", "two")
    ]
    for worker in workers:
        _, errors = await asyncio.wait_for(worker.communicate(), 90)
        assert worker.returncode == 0, errors.decode()
    lines = out.read_text().splitlines()
    sent = Counter(tuple(line.split()[:3]) for line in lines)
    assert sent and max(sent.values()) == 1, [key for key, n in sent.items() if n > 1]
    end = START + timedelta(minutes=7 * (steps - 1))
    half_hours = {
        (START + timedelta(minutes=30 * n)).isoformat()
        for n in range(int((end - START) / timedelta(minutes=30)) + 1)
    }
    assert {due for job, due, _ in sent if job == "every-half-hour"} == half_hours
    assert {(due, part) for job, due, part in sent if job == "daily"} == {
        (START.isoformat(), "a"),
        (START.isoformat(), "b"),
    }
