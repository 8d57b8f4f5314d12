"""The run ledger: every scheduled side effect first claims `(job_id, due_at)` with a lease.

Whoever claims a run performs it; a restart, a second process or a replay finds the row and
stops. When a holder dies, its lease runs out and the next claim resumes the run, and the
parts already recorded as sent are not sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.storage import runs as repo
from bot.storage.database import Database
from bot.storage.runs import JobRun

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The run was taken over by another owner (our lease ran out); stop sending."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A run we now hold: what it is, until when, and what an earlier attempt already sent."""

    job_id: str
    due_at: datetime
    owner: str
    lease_until: datetime
    attempt: int
    sent: Mapping[str, str | None]

    @property
    def resumed(self) -> bool:
        """Whether an earlier holder started this run."""
        return self.attempt > 1


class Ledger:
    """Claims, lease renewals, sent parts and outcomes of scheduled runs."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        max_attempts: int = 3,
        retry_after: timedelta = timedelta(minutes=5),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._database = database
        self._clock = clock
        self.max_attempts = max_attempts
        self.retry_after = retry_after

    def now(self) -> datetime:
        """The ledger's (injected) time."""
        return self._clock.now()

    def claimable(self, run: JobRun, now: datetime) -> bool:
        """Whether a claim on this existing row could succeed at `now`."""
        if run.status in (repo.DONE, repo.SKIPPED):
            return False
        return run.lease_until <= now and run.attempts < self.max_attempts

    async def claim(
        self, job_id: str, due_at: datetime, owner: str, lease: timedelta
    ) -> Claim | None:
        """Take the run for `owner`, or None when it is done, held, or out of attempts."""
        now = self._clock.now()
        lease_until = now + lease
        async with self._database.transaction() as conn:
            if await repo.insert_run(conn, job_id, due_at, owner, lease_until, now):
                return Claim(job_id, due_at, owner, lease_until, 1, {})
            seen = await repo.get_run(conn, job_id, due_at)
            if seen is None or not self.claimable(seen, now):
                return None
            if not await repo.take_over_run(conn, seen, owner, lease_until, now):
                return None
            sent = await repo.sent_parts(conn, job_id, due_at)
        log.info(
            "resuming %s due %s (attempt %d, %d part(s) already sent; was %s by %s)",
            job_id,
            due_at.isoformat(),
            seen.attempts + 1,
            len(sent),
            seen.status,
            seen.claimed_by,
        )
        return Claim(job_id, due_at, owner, lease_until, seen.attempts + 1, sent)

    async def renew(self, job_id: str, due_at: datetime, owner: str, lease: timedelta) -> datetime:
        """Extend our lease; raise `LeaseLost` when the run is no longer ours."""
        lease_until = self._clock.now() + lease
        async with self._database.transaction() as conn:
            if not await repo.extend_lease(conn, job_id, due_at, owner, lease_until):
                raise LeaseLost(f"{job_id} due {due_at.isoformat()} is no longer held by {owner}")
        return lease_until

    async def mark_part_sent(
        self,
        job_id: str,
        due_at: datetime,
        owner: str,
        part: str,
        ref: str | None = None,
        lease: timedelta | None = None,
    ) -> None:
        """Record that `part` of the run was sent (and renew the lease when `lease` is given)."""
        now = self._clock.now()
        async with self._database.transaction() as conn:
            # The part was sent even if the lease is gone: record it either way, so nobody
            # sends it again, and report the lost lease afterwards.
            await repo.record_part(conn, job_id, due_at, part, ref, now)
            held = True
            if lease is not None:
                held = await repo.extend_lease(conn, job_id, due_at, owner, now + lease)
        if not held:
            raise LeaseLost(f"{job_id} due {due_at.isoformat()} is no longer held by {owner}")

    async def sent_parts(self, job_id: str, due_at: datetime) -> dict[str, str | None]:
        """The parts of a run recorded as sent."""
        async with self._database.reading() as conn:
            return await repo.sent_parts(conn, job_id, due_at)

    async def finish(
        self, job_id: str, due_at: datetime, owner: str, *, error: str | None = None
    ) -> bool:
        """Close our run: done, or failed with `error` (retried later while attempts remain)."""
        now = self._clock.now()
        async with self._database.transaction() as conn:
            if error is None:
                return await repo.finish_run(conn, job_id, due_at, owner, repo.DONE, now)
            run = await repo.get_run(conn, job_id, due_at)
            attempts = run.attempts if run is not None else 1
            retry_at = now + self.retry_after * attempts
            return await repo.finish_run(
                conn, job_id, due_at, owner, repo.FAILED, now, error=error, lease_until=retry_at
            )

    async def history(self, job_id: str, limit: int = 100) -> list[JobRun]:
        """The newest runs of a job, newest first."""
        async with self._database.reading() as conn:
            return await repo.runs_of(conn, job_id, limit)
