"""The run ledger on a real SQLite file: one holder per run, leases, parts, retries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.core.clock import ManualClock
from bot.runtime.ledger import LeaseLost, Ledger
from bot.storage.database import Database
from tests.helpers import START

pytestmark = pytest.mark.timeout(30)

LEASE = timedelta(minutes=5)
DUE = START


async def test_a_run_is_claimed_once(database: Database, clock: ManualClock) -> None:
    ledger = Ledger(database, clock)
    first = await ledger.claim("job", DUE, "a", LEASE)
    assert first is not None and first.attempt == 1 and not first.resumed and first.sent == {}
    assert await ledger.claim("job", DUE, "a", LEASE) is None  # a replay by the same owner
    assert await ledger.claim("job", DUE, "b", LEASE) is None  # another process
    assert await ledger.claim("job", DUE + timedelta(days=1), "b", LEASE) is not None
    assert await ledger.claim("other", DUE, "b", LEASE) is not None


async def test_a_finished_run_is_never_claimed_again(
    database: Database, clock: ManualClock
) -> None:
    ledger = Ledger(database, clock)
    assert await ledger.claim("job", DUE, "a", LEASE)
    assert await ledger.finish("job", DUE, "a")
    clock.advance(timedelta(days=2))
    assert await ledger.claim("job", DUE, "b", LEASE) is None
    [run] = await ledger.history("job")
    assert (run.status, run.claimed_by, run.finished_at) == ("done", "a", START)


async def test_an_expired_lease_resumes_with_the_parts_already_sent(
    database: Database, clock: ManualClock
) -> None:
    ledger = Ledger(database, clock)
    assert await ledger.claim("job", DUE, "a", LEASE)
    await ledger.mark_part_sent("job", DUE, "a", "post:1", "console:/general/1", LEASE)
    await ledger.mark_part_sent("job", DUE, "a", "post:2", None, LEASE)
    clock.advance(LEASE - timedelta(seconds=1))
    assert await ledger.claim("job", DUE, "b", LEASE) is None  # the lease was renewed
    clock.advance(timedelta(seconds=2))
    resumed = await ledger.claim("job", DUE, "b", LEASE)
    assert resumed is not None and resumed.resumed and resumed.attempt == 2
    assert resumed.sent == {"post:1": "console:/general/1", "post:2": None}
    # The old holder wakes up: it can record what it already sent, but learns it lost the run.
    with pytest.raises(LeaseLost):
        await ledger.mark_part_sent("job", DUE, "a", "post:3", None, LEASE)
    with pytest.raises(LeaseLost):
        await ledger.renew("job", DUE, "a", LEASE)
    assert not await ledger.finish("job", DUE, "a")
    assert set(await ledger.sent_parts("job", DUE)) == {"post:1", "post:2", "post:3"}
    assert await ledger.finish("job", DUE, "b")


async def test_recording_a_part_twice_keeps_one_row(database: Database, clock: ManualClock) -> None:
    ledger = Ledger(database, clock)
    assert await ledger.claim("job", DUE, "a", LEASE)
    await ledger.mark_part_sent("job", DUE, "a", "p", "ref-1")
    await ledger.mark_part_sent("job", DUE, "a", "p", "ref-2")
    assert await ledger.sent_parts("job", DUE) == {"p": "ref-1"}


async def test_a_failed_run_is_retried_after_a_pause_until_attempts_run_out(
    database: Database, clock: ManualClock
) -> None:
    ledger = Ledger(database, clock, max_attempts=2, retry_after=timedelta(minutes=10))
    assert await ledger.claim("job", DUE, "a", LEASE)
    assert await ledger.finish("job", DUE, "a", error="PlatformError: down")
    assert await ledger.claim("job", DUE, "a", LEASE) is None  # waits for the retry pause
    clock.advance(timedelta(minutes=10))
    retry = await ledger.claim("job", DUE, "a", LEASE)
    assert retry is not None and retry.attempt == 2
    assert await ledger.finish("job", DUE, "a", error="PlatformError: still down")
    clock.advance(timedelta(hours=1))
    assert await ledger.claim("job", DUE, "a", LEASE) is None  # out of attempts
    [run] = await ledger.history("job")
    assert (run.status, run.attempts, run.error) == ("failed", 2, "PlatformError: still down")


async def test_two_databases_on_one_file_let_one_claim_win(
    db_url: str, database: Database, clock: ManualClock
) -> None:
    other = Database(db_url)
    try:
        ledgers = [Ledger(database, clock), Ledger(other, clock)]
        for hour in range(20):
            due = DUE + timedelta(hours=hour)
            claims = await asyncio.gather(
                ledgers[0].claim("job", due, "a", LEASE), ledgers[1].claim("job", due, "b", LEASE)
            )
            assert sum(claim is not None for claim in claims) == 1
    finally:
        await other.close()
