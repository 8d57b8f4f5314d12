"""Repository for the run ledger: `job_runs`, `job_run_parts` and `job_marks`.

Every change to a claimed run is conditional on who holds it, so on PostgreSQL (no
BEGIN IMMEDIATE) a conditional UPDATE still lets only one process win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.schema import UtcDateTime, job_marks, job_run_parts, job_runs
from bot.storage.sql import insert_ignoring_conflicts

RUNNING = "running"
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class JobRun:
    """One ledger row: a (job, due time) and who holds it until when."""

    job_id: str
    due_at: datetime
    claimed_by: str
    lease_until: datetime
    status: str
    attempts: int
    claimed_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class JobMark:
    """When the scheduler first saw a job, and up to when its old misses were logged."""

    job_id: str
    first_seen_at: datetime
    checked_through: datetime


def _run(row: object) -> JobRun:
    return JobRun(
        job_id=row.job_id,  # type: ignore[attr-defined]
        due_at=row.due_at,  # type: ignore[attr-defined]
        claimed_by=row.claimed_by,  # type: ignore[attr-defined]
        lease_until=row.lease_until,  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        attempts=row.attempts,  # type: ignore[attr-defined]
        claimed_at=row.claimed_at,  # type: ignore[attr-defined]
        finished_at=row.finished_at,  # type: ignore[attr-defined]
        error=row.error,  # type: ignore[attr-defined]
    )


def _key(job_id: str, due_at: datetime) -> object:
    return and_(job_runs.c.job_id == job_id, job_runs.c.due_at == due_at)


async def insert_run(
    conn: AsyncConnection,
    job_id: str,
    due_at: datetime,
    owner: str,
    lease_until: datetime,
    now: datetime,
) -> bool:
    """Create the run row held by `owner`; False when it already exists."""
    row = {
        "job_id": job_id,
        "due_at": due_at,
        "claimed_by": owner,
        "lease_until": lease_until,
        "status": RUNNING,
        "attempts": 1,
        "claimed_at": now,
    }
    return bool(await insert_ignoring_conflicts(conn, job_runs, [row], ["job_id"]))


async def get_run(conn: AsyncConnection, job_id: str, due_at: datetime) -> JobRun | None:
    """One run row, if any."""
    result = await conn.execute(select(job_runs).where(_key(job_id, due_at)))  # type: ignore[arg-type]
    row = result.first()
    return None if row is None else _run(row)


async def take_over_run(
    conn: AsyncConnection, seen: JobRun, owner: str, lease_until: datetime, now: datetime
) -> bool:
    """Hand a stale run to `owner`, only if nobody changed it since it was read as `seen`."""
    result = await conn.execute(
        update(job_runs)
        .where(
            _key(seen.job_id, seen.due_at),  # type: ignore[arg-type]
            job_runs.c.claimed_by == seen.claimed_by,
            job_runs.c.lease_until == seen.lease_until,
            job_runs.c.status == seen.status,
        )
        .values(
            claimed_by=owner,
            lease_until=lease_until,
            status=RUNNING,
            attempts=job_runs.c.attempts + 1,
            claimed_at=now,
            finished_at=None,
        )
    )
    return (result.rowcount or 0) == 1


async def extend_lease(
    conn: AsyncConnection,
    job_id: str,
    due_at: datetime,
    owner: str,
    lease_until: datetime,
    attempt: int | None = None,
) -> bool:
    """Extend `owner`'s lease; False when the run is no longer theirs or no longer running
    (with `attempt`: no longer the same claim, the fence against a holder that was paused)."""
    fence = [job_runs.c.attempts == attempt] if attempt is not None else []
    result = await conn.execute(
        update(job_runs)
        .where(
            _key(job_id, due_at),  # type: ignore[arg-type]
            job_runs.c.claimed_by == owner,
            job_runs.c.status == RUNNING,
            *fence,
        )
        .values(lease_until=lease_until)
    )
    return (result.rowcount or 0) == 1


async def finish_run(
    conn: AsyncConnection,
    job_id: str,
    due_at: datetime,
    owner: str,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    lease_until: datetime | None = None,
) -> bool:
    """Close `owner`'s run with `status`; False when it is no longer theirs."""
    values: dict[str, object] = {"status": status, "finished_at": now, "error": error}
    if lease_until is not None:
        values["lease_until"] = lease_until
    result = await conn.execute(
        update(job_runs)
        .where(
            _key(job_id, due_at),  # type: ignore[arg-type]
            job_runs.c.claimed_by == owner,
            job_runs.c.status == RUNNING,
        )
        .values(**values)
    )
    return (result.rowcount or 0) == 1


async def sent_parts(conn: AsyncConnection, job_id: str, due_at: datetime) -> dict[str, str | None]:
    """The parts of a run recorded as sent, with what each one posted."""
    result = await conn.execute(
        select(job_run_parts.c.part, job_run_parts.c.ref).where(
            job_run_parts.c.job_id == job_id, job_run_parts.c.due_at == due_at
        )
    )
    return {row.part: row.ref for row in result}


async def record_part(
    conn: AsyncConnection, job_id: str, due_at: datetime, part: str, ref: str | None, now: datetime
) -> None:
    """Record one part as sent (a second record of the same part changes nothing)."""
    row = {"job_id": job_id, "due_at": due_at, "part": part, "ref": ref, "sent_at": now}
    await insert_ignoring_conflicts(conn, job_run_parts, [row])


async def runs_since(
    conn: AsyncConnection, job_ids: Sequence[str], since: datetime
) -> list[JobRun]:
    """Run rows of these jobs due at or after `since`, oldest first."""
    found: list[JobRun] = []
    ids = list(dict.fromkeys(job_ids))
    for start in range(0, len(ids), 500):
        result = await conn.execute(
            select(job_runs)
            .where(job_runs.c.job_id.in_(ids[start : start + 500]), job_runs.c.due_at >= since)
            .order_by(job_runs.c.due_at)
        )
        found.extend(_run(row) for row in result)
    found.sort(key=lambda run: run.due_at)
    return found


async def runs_of(conn: AsyncConnection, job_id: str, limit: int = 100) -> list[JobRun]:
    """The newest runs of one job, newest first."""
    result = await conn.execute(
        select(job_runs)
        .where(job_runs.c.job_id == job_id)
        .order_by(job_runs.c.due_at.desc())
        .limit(limit)
    )
    return [_run(row) for row in result]


async def newest_due(conn: AsyncConnection, job_ids: Sequence[str]) -> dict[str, datetime]:
    """Each job's latest due time in the ledger."""
    ids = list(dict.fromkeys(job_ids))
    newest: dict[str, datetime] = {}
    for start in range(0, len(ids), 500):
        result = await conn.execute(
            select(job_runs.c.job_id, func.max(job_runs.c.due_at).label("due_at"))
            .where(job_runs.c.job_id.in_(ids[start : start + 500]))
            .group_by(job_runs.c.job_id)
        )
        for row in result:
            moment = row.due_at
            if not isinstance(moment, datetime):  # SQLite's max() may hand back stored text
                moment = UtcDateTime().process_result_value(moment, conn.dialect)
            if moment is not None:
                newest[row.job_id] = moment
    return newest


async def skip_stale_runs(
    conn: AsyncConnection, job_id: str, start: datetime, end: datetime, now: datetime
) -> int:
    """Mark unfinished runs due in [start, end) whose lease has run out as skipped."""
    result = await conn.execute(
        update(job_runs)
        .where(
            job_runs.c.job_id == job_id,
            job_runs.c.due_at >= start,
            job_runs.c.due_at < end,
            job_runs.c.status.in_([RUNNING, FAILED]),
            job_runs.c.lease_until <= now,
        )
        .values(status=SKIPPED, finished_at=now, error="older than the grace window")
    )
    return result.rowcount or 0


async def ensure_marks(
    conn: AsyncConnection, job_ids: Sequence[str], now: datetime
) -> dict[str, JobMark]:
    """Each job's mark, creating it (first seen now) for jobs not seen before."""
    ids = list(dict.fromkeys(job_ids))
    rows = [{"job_id": job_id, "first_seen_at": now, "checked_through": now} for job_id in ids]
    await insert_ignoring_conflicts(conn, job_marks, rows)
    marks: dict[str, JobMark] = {}
    for start in range(0, len(ids), 500):
        result = await conn.execute(
            select(job_marks).where(job_marks.c.job_id.in_(ids[start : start + 500]))
        )
        for row in result:
            marks[row.job_id] = JobMark(row.job_id, row.first_seen_at, row.checked_through)
    return marks


async def advance_mark(conn: AsyncConnection, job_id: str, checked_through: datetime) -> bool:
    """Move a job's checked-through mark forward; False when it was already there."""
    result = await conn.execute(
        update(job_marks)
        .where(job_marks.c.job_id == job_id, job_marks.c.checked_through < checked_through)
        .values(checked_through=checked_through)
    )
    return (result.rowcount or 0) == 1


async def forget_job(conn: AsyncConnection, job_id: str) -> None:
    """Drop a removed job's mark (its ledger rows stay as history)."""
    await conn.execute(job_marks.delete().where(job_marks.c.job_id == job_id))
