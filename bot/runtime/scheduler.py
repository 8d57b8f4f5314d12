"""Decides what runs when, from the schedules' local-time rules and the run ledger.

`due(now)` is the source of truth and takes the injected clock. APScheduler only wakes the
process at the next instant `next_wake()` names: it reads the wall clock itself and its
memory job store forgets missed runs, so it never decides anything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.actions import Action
from bot.core.clock import AdjustableClock, Clock
from bot.core.schedules import Rule, RuleError
from bot.runtime.ledger import Claim, LeaseLost, Ledger
from bot.runtime.outbox import Effect, Outbox
from bot.storage import runs as repo
from bot.storage.database import Database
from bot.storage.runs import JobRun

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=6)
# Renewed every third of itself while a run works: a dead process's run is taken over
# within this long.
DEFAULT_LEASE = timedelta(seconds=30)
_TICK = timedelta(microseconds=1)
# Even with nothing due, wake at least this often: the machine may have slept, or the
# injected clock may have been moved without a poke.
_MAX_SLEEP = timedelta(hours=1)
_WAKE_JOB = "facilitator-scheduler-wake"


class RunContext:
    """What a job's run callable gets: its due time, `emit()` to write each side effect once
    (delivered by the outbox), and `part()` for a step of its own that must happen once."""

    def __init__(
        self,
        ledger: Ledger,
        claim: Claim,
        lease: timedelta,
        *,
        database: Database | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self._ledger = ledger
        self._claim = claim
        self._lease = lease
        self._database = database
        self._outbox = outbox
        self._sent: dict[str, str | None] = dict(claim.sent)

    @property
    def job_id(self) -> str:
        """The job being run."""
        return self._claim.job_id

    @property
    def due_at(self) -> datetime:
        """The occurrence being run, in aware UTC."""
        return self._claim.due_at

    @property
    def attempt(self) -> int:
        """1 for a first run, more when resuming after a crash or failure."""
        return self._claim.attempt

    @property
    def sent(self) -> Mapping[str, str | None]:
        """Parts recorded as sent so far, with what each posted."""
        return dict(self._sent)

    def effect_key(self, key: str) -> str:
        """The outbox key of this run's part `key` (stable across attempts)."""
        return f"run:{self.job_id}:{self.due_at.isoformat()}:{key}"[:300]

    async def emit(self, key: str, effect: Effect | Action) -> None:
        """Write part `key`'s side effect to the outbox once, fenced by our claim: the row and
        the part commit together, or neither does when the run is no longer ours.

        The row's key is the run's and the part's, unless the effect names one it shares with
        others who may write it (the digest's per week and channel, also written by `/digest
        post`): a key written before is not written again, and the part is still recorded.
        """
        if key in self._sent:
            return
        if self._outbox is None or self._database is None:
            raise RuntimeError("this scheduler has no outbox to write effects to")
        if not isinstance(effect, Effect):
            effect = Effect(action=effect)
        if effect.key is None:
            effect = replace(effect, key=self.effect_key(key))
        now = self._outbox_now()
        async with self._database.transaction() as conn:
            held = await repo.extend_lease(
                conn,
                self.job_id,
                self.due_at,
                self._claim.owner,
                now + self._lease,
                self._claim.attempt,
            )
            if not held:
                raise LeaseLost(
                    f"{self.job_id} due {self.due_at.isoformat()} is no longer held by "
                    f"{self._claim.owner}"
                )
            written = await self._outbox.write(conn, [effect], now)
            await repo.record_part(conn, self.job_id, self.due_at, key, None, now)
        self._outbox.hand_over(written)
        self._sent[key] = None

    def _outbox_now(self) -> datetime:
        return self._ledger.now()

    async def part(self, key: str, send: Callable[[], Awaitable[object]]) -> str | None:
        """Do one step of the run unless it is already recorded as done; return its result.
        Platform effects go through `emit` instead: a step here that crashes after doing its
        work and before being recorded is done again."""
        if key in self._sent:
            return self._sent[key]
        # Confirm we still hold the run right before the step, not only after it.
        await self._ledger.renew(self.job_id, self.due_at, self._claim.owner, self._lease)
        result = await send()
        ref = None if result is None else str(result)
        await self._ledger.mark_part_sent(
            self.job_id, self.due_at, self._claim.owner, key, ref, self._lease
        )
        self._sent[key] = ref
        return ref


JobCallable = Callable[[RunContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """A schedule: an id that is stable across restarts, a rule, a time zone and what to run."""

    id: str
    rule: Rule
    zone: str
    run: JobCallable = field(compare=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200:
            raise ValueError(f"a job id must be 1-200 characters, not {self.id!r}")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RuleError(
                f'{self.zone!r} is not a time zone; use an IANA name such as "Europe/Berlin"'
            ) from None

    @property
    def tz(self) -> ZoneInfo:
        """The job's time zone."""
        return ZoneInfo(self.zone)


@dataclass(frozen=True, slots=True)
class DueRun:
    """One occurrence to run now; `resume` when an earlier attempt started it."""

    job: Job
    due_at: datetime
    resume: bool = False
    superseded: int = 0  # earlier missed occurrences within grace that this run stands for


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What happened to one due run in `run_due`."""

    job_id: str
    due_at: datetime
    status: str  # done | failed | lost | taken
    attempt: int = 0
    error: str | None = None


class PokingClock:
    """An adjustable clock whose moves are time passing with the bot running (the console's
    `!clock +1d`): forward, the scheduler walks it there and runs what falls due on the way,
    in order; backward, it jumps and the scheduler looks again."""

    def __init__(self, inner: AdjustableClock, scheduler: Callable[[], Scheduler]) -> None:
        self._inner = inner
        self._scheduler = scheduler
        self._target = inner.now()

    def now(self) -> datetime:
        """The inner clock's time (on the way, while a forward move is being walked)."""
        return self._inner.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move by `delta` (after any move still being walked); return where it is going."""
        start = max(self._target, self._inner.now())
        if delta <= timedelta():
            self._target = self._inner.advance(delta)
            self._scheduler().poke()
            return self._target
        self._target = start + delta
        self._scheduler().walk(self._inner, self._target)
        return self._target


def _default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Runs each job's occurrences once, across restarts and processes sharing a database."""

    def __init__(
        self,
        clock: Clock,
        database: Database,
        jobs: Iterable[Job] = (),
        *,
        owner: str | None = None,
        grace: timedelta = DEFAULT_GRACE,
        lease: timedelta = DEFAULT_LEASE,
        ledger: Ledger | None = None,
        track: Callable[[asyncio.Task[None]], None] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        if grace < timedelta():
            raise ValueError("grace must not be negative")
        if lease <= timedelta():
            raise ValueError("lease must be positive")
        self.clock = clock
        self.database = database
        self.owner = owner or _default_owner()
        self.grace = grace
        self.lease = lease
        self.ledger = ledger or Ledger(database, clock)
        self.outbox = outbox
        self._aps: Any = None
        # Lets the dispatcher's drain() wait for wake-ups too (the console shows a moved
        # clock's effects before reading the next line).
        self._track = track
        self._tick_lock = asyncio.Lock()
        self._walk_lock = asyncio.Lock()
        self._ticks: set[asyncio.Task[None]] = set()
        self._marks: dict[str, repo.JobMark] = {}
        self._jobs: dict[str, Job] = {}
        for job in jobs:
            self.add(job)

    # --- jobs ---------------------------------------------------------------------------

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The current jobs, by id."""
        return tuple(self._jobs[key] for key in sorted(self._jobs))

    def add(self, job: Job) -> None:
        """Add or replace a job (same id: same ledger history)."""
        self._jobs[job.id] = job
        self.poke()

    def remove(self, job_id: str) -> bool:
        """Stop scheduling a job; its ledger history stays."""
        removed = self._jobs.pop(job_id, None) is not None
        if removed:
            self.poke()
        return removed

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        """Replace every job at once."""
        self._jobs = {job.id: job for job in jobs}
        self.poke()

    # --- the source of truth ------------------------------------------------------------

    async def due(self, now: datetime | None = None) -> list[DueRun]:
        """Runs due at `now` (resumable ones, and each job's latest unrun occurrence in grace)."""
        # Older misses are skipped and logged once, through each job's checked-through mark.
        now = (now or self.clock.now()).astimezone(UTC)
        jobs = self.jobs
        if not jobs:
            return []
        horizon = now - self.grace
        async with self.database.transaction() as conn:
            unseen = [job.id for job in jobs if job.id not in self._marks]
            if unseen:
                self._marks.update(await repo.ensure_marks(conn, unseen, now))
            marks = {job.id: self._marks[job.id] for job in jobs}
            earliest = min(min(mark.checked_through, horizon) for mark in marks.values())
            rows: dict[str, dict[datetime, JobRun]] = {}
            for run in await repo.runs_since(conn, [job.id for job in jobs], earliest):
                rows.setdefault(run.job_id, {})[run.due_at] = run
            found: list[DueRun] = []
            for job in jobs:
                known = rows.get(job.id, {})
                # Rows older than `earliest` are before the grace window and cannot matter.
                newest = max(known, default=None)
                await self._skip_old_misses(conn, job, marks[job.id], known, horizon, now)
                found.extend(self._due_for(job, marks[job.id], known, newest, horizon, now))
        found.sort(key=lambda run: (run.due_at, run.job.id))
        return found

    def _due_for(
        self,
        job: Job,
        mark: repo.JobMark,
        known: dict[datetime, JobRun],
        newest: datetime | None,
        horizon: datetime,
        now: datetime,
    ) -> list[DueRun]:
        found = [
            DueRun(job, run.due_at, resume=True)
            for run in known.values()
            if horizon <= run.due_at <= now and self.ledger.claimable(run, now)
        ]
        start = max(mark.first_seen_at, horizon)
        if newest is not None:
            start = max(start, newest + _TICK)
        # Only the latest missed occurrence runs: after downtime, an hourly job posts once,
        # not once per missed hour. Anything at or before a ledger row is already handled.
        latest: datetime | None = None
        earlier = -1
        for instant in job.rule.occurrences(start, now + _TICK, job.tz):
            latest = instant
            earlier += 1
        if latest is not None:
            found.append(DueRun(job, latest, superseded=earlier))
        return found

    async def _skip_old_misses(
        self,
        conn: Any,
        job: Job,
        mark: repo.JobMark,
        known: dict[datetime, JobRun],
        horizon: datetime,
        now: datetime,
    ) -> None:
        start = max(mark.checked_through, mark.first_seen_at)
        if start >= horizon:
            return
        window = list(job.rule.occurrences(start, horizon, job.tz))
        if not window:
            return  # nothing fell due there: no write needed
        missed = [
            instant
            for instant in window
            if instant not in known or known[instant].status not in (repo.DONE, repo.SKIPPED)
        ]
        abandoned = await repo.skip_stale_runs(conn, job.id, start, horizon, now)
        advanced = await repo.advance_mark(conn, job.id, horizon)
        self._marks[job.id] = replace(mark, checked_through=horizon)
        if not advanced:
            return  # another process got there first and logged it
        if missed:
            log.warning(
                "%s: skipped %d run(s) missed by more than the grace window of %s "
                "(due %s to %s; %d were started and not finished)",
                job.id,
                len(missed),
                self.grace,
                missed[0].isoformat(),
                missed[-1].isoformat(),
                abandoned,
            )

    async def run_due(self, now: datetime | None = None) -> list[RunOutcome]:
        """Claim and run whatever is due; jobs run side by side, a job's runs in order."""
        due = await self.due(now)
        by_job: dict[str, list[DueRun]] = {}
        for run in due:
            by_job.setdefault(run.job.id, []).append(run)
        batches = await asyncio.gather(*(self._run_in_order(runs) for runs in by_job.values()))
        outcomes = [outcome for batch in batches for outcome in batch]
        outcomes.sort(key=lambda outcome: (outcome.due_at, outcome.job_id))
        return outcomes

    async def _run_in_order(self, runs: Sequence[DueRun]) -> list[RunOutcome]:
        return [await self._run_one(run) for run in runs]

    async def _run_one(self, due: DueRun) -> RunOutcome:
        job = due.job
        try:
            claim = await self.ledger.claim(job.id, due.due_at, self.owner, self.lease)
        except Exception:
            log.exception("%s: could not claim the run due %s", job.id, due.due_at.isoformat())
            return RunOutcome(job.id, due.due_at, "failed", error="claim failed")
        if claim is None:
            return RunOutcome(job.id, due.due_at, "taken")
        if due.superseded:
            log.info(
                "%s: running the occurrence due %s once for %d earlier missed one(s)",
                job.id,
                due.due_at.isoformat(),
                due.superseded,
            )
        context = RunContext(
            self.ledger, claim, self.lease, database=self.database, outbox=self.outbox
        )
        renewing = asyncio.create_task(self._keep_lease(claim), name=f"lease {job.id}")
        try:
            await job.run(context)
        except LeaseLost as lost:
            log.warning("%s: stopped the run due %s: %s", job.id, due.due_at.isoformat(), lost)
            return RunOutcome(job.id, due.due_at, "lost", claim.attempt, str(lost))
        except Exception as error:
            log.exception("%s: the run due %s failed", job.id, due.due_at.isoformat())
            message = f"{type(error).__name__}: {error}"[:2000]
            await self._finish(claim, message)
            return RunOutcome(job.id, due.due_at, "failed", claim.attempt, message)
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
        await self._finish(claim, None)
        return RunOutcome(job.id, due.due_at, "done", claim.attempt)

    async def _keep_lease(self, claim: Claim) -> None:
        """Renew a run's lease while it works, so only a dead process's run is taken over."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                await self.ledger.renew(claim.job_id, claim.due_at, self.owner, self.lease)
            except LeaseLost:
                return  # its next emit finds out and stops
            except Exception:
                log.exception("%s: renewing the lease failed", claim.job_id)

    async def _finish(self, claim: Claim, error: str | None) -> None:
        try:
            if not await self.ledger.finish(claim.job_id, claim.due_at, self.owner, error=error):
                log.warning(
                    "%s: the run due %s was taken over before it finished",
                    claim.job_id,
                    claim.due_at.isoformat(),
                )
        except Exception:
            # The lease will run out and the run resumes, sending only unsent parts.
            log.exception(
                "%s: could not record the end of the run due %s",
                claim.job_id,
                claim.due_at.isoformat(),
            )

    async def next_wake(self, now: datetime | None = None) -> datetime | None:
        """When something next becomes due: an occurrence, a lease running out, a retry."""
        now = (now or self.clock.now()).astimezone(UTC)
        jobs = self.jobs
        if not jobs:
            return None
        candidates = [job.rule.next_after(now, job.tz) for job in jobs]
        async with self.database.reading() as conn:
            open_runs = await repo.runs_since(conn, [job.id for job in jobs], now - self.grace)
        candidates.extend(
            run.lease_until
            for run in open_runs
            if run.status in (repo.RUNNING, repo.FAILED)
            and run.attempts < self.ledger.max_attempts
            and run.lease_until > now
        )
        return min(candidates)

    # --- waking up (APScheduler) ---------------------------------------------------------

    async def start(self) -> None:
        """Run what is due now, then let APScheduler wake us at each next due instant."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        if self._aps is not None:
            return
        self._aps = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        self._aps.start()
        self.poke()

    @property
    def wake_at(self) -> datetime | None:
        """The wall-clock time APScheduler will next wake us, while started."""
        if self._aps is None:
            return None
        job = self._aps.get_job(_WAKE_JOB)
        return None if job is None else job.next_run_time

    def poke(self) -> None:
        """Look again now (jobs changed, or the clock was moved)."""
        if self._aps is None:
            return
        task = asyncio.get_running_loop().create_task(self._tick())
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)
        if self._track is not None:
            self._track(task)

    def walk(self, clock: AdjustableClock, until: datetime) -> None:
        """Move `clock` to `until` as time passing: the runs due on the way run, in order, in
        steps no longer than the grace window (a deliberate move; real downtime keeps the
        grace rule)."""
        if self._aps is None:  # not running: nothing would have run on the way either
            clock.advance(until - clock.now())
            return
        task = asyncio.get_running_loop().create_task(self._walk(clock, until))
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)
        if self._track is not None:
            self._track(task)

    async def _walk(self, clock: AdjustableClock, until: datetime) -> None:
        async with self._walk_lock:
            now = clock.now()
            while now < until:
                # Steps of the grace window: each job's runs due in a step run at its end,
                # in order, and none falls behind the window (a poll every 5 minutes would
                # make stepping to every wake-up far too slow over a week).
                if self.grace > timedelta():
                    step = min(until, now + self.grace)
                else:
                    wake = await self.next_wake(now)
                    step = until if wake is None or wake > until else wake
                clock.advance(step - now)
                async with self._tick_lock:
                    try:
                        # one after another by due time: on the way, order is what time means
                        for run in sorted(await self.due(), key=lambda r: (r.due_at, r.job.id)):
                            await self._run_one(run)
                    except Exception:
                        log.exception("the scheduler could not run what was due")
                now = clock.now()
        self.poke()  # arm the next wake-up from where the clock now is

    async def idle(self) -> None:
        """Wait until no wake-up is running or queued (after a poke, before checking effects)."""
        while self._ticks:
            await asyncio.gather(*list(self._ticks), return_exceptions=True)
        async with self._tick_lock:
            pass

    async def _wake(self) -> None:
        # APScheduler calls this; going through poke() keeps every tick tracked.
        self.poke()

    async def _tick(self) -> None:
        async with self._tick_lock:
            # A wake-up already asked for still runs during stop(): what is due now is
            # in-flight work; only the next wake-up is not armed.
            try:
                await self.run_due()
            except Exception:
                log.exception("the scheduler could not run what was due")
            if self._aps is None:
                return
            try:
                wake = await self.next_wake()
            except Exception:
                log.exception("the scheduler could not compute its next wake-up")
                wake = None
            self._arm(wake)

    def _arm(self, wake: datetime | None) -> None:
        from apscheduler.triggers.date import DateTrigger

        if self._aps is None:
            return
        now = self.clock.now()
        delay = _MAX_SLEEP if wake is None else min(max(wake - now, timedelta()), _MAX_SLEEP)
        # APScheduler counts on the wall clock; the injected clock may be shifted from it.
        run_date = datetime.now(UTC) + delay
        self._aps.add_job(
            self._wake,
            trigger=DateTrigger(run_date=run_date, timezone=UTC),
            id=_WAKE_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    async def stop(self) -> None:
        """Stop waking up; a run in progress finishes first."""
        aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)
        await self.idle()
