"""Peer reviews' SQL: pairing claims, the reviews (each row its own draft), reminders, and what
the queue, calibration and the reviewer's list read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.assignments.store import (
    AssignmentRecord,
    SubmissionRecord,
    _assignment,
    _columns,
    _submission,
)
from bot.storage.schema import assignments, memberships, peer_reviews, submissions
from bot.storage.sql import insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One peer review: who reviews which submission, and what they said once submitted."""

    id: int
    assignment_id: int
    submission_id: int
    reviewee_ref: str
    reviewer_ref: str | None  # None: the reviewer was forgotten
    assigned_at: datetime
    levels: tuple[int | None, ...]
    strength: str | None
    suggestion: str | None
    submitted_at: datetime | None
    late: bool

    @property
    def key(self) -> str:
        """How it is named: "R7"."""
        return f"R{self.id}"

    @property
    def done(self) -> bool:
        """Whether the reviewer submitted it."""
        return self.submitted_at is not None


def _review(row: Any) -> ReviewRecord:
    values = {name: getattr(row, name) for name in ReviewRecord.__slots__}
    values["levels"] = tuple(json.loads(row.levels))
    return ReviewRecord(**values)


async def due_for_pairing(conn: AsyncConnection, now: datetime) -> list[AssignmentRecord]:
    """Assignments with peer review whose due time has passed and whose reviewers are not
    paired yet."""
    rows = await conn.execute(
        select(assignments)
        .where(
            assignments.c.peer_reviews > 0,
            assignments.c.reviews_assigned_at.is_(None),
            assignments.c.due_at <= now,
        )
        .order_by(assignments.c.due_at, assignments.c.id)
    )
    return [_assignment(row) for row in rows]


async def claim_pairing(conn: AsyncConnection, assignment_id: int, now: datetime) -> bool:
    """Mark the assignment's reviewers as paired, unless another run did it first."""
    result = await conn.execute(
        update(assignments)
        .where(assignments.c.id == assignment_id, assignments.c.reviews_assigned_at.is_(None))
        .values(reviews_assigned_at=now)
    )
    return bool(result.rowcount)


async def current_submissions(conn: AsyncConnection, assignment_id: int) -> list[SubmissionRecord]:
    """Each member's current version, first submitted first."""
    rows = await conn.execute(
        select(submissions)
        .where(submissions.c.assignment_id == assignment_id, submissions.c.replaced_at.is_(None))
        .order_by(submissions.c.submitted_at, submissions.c.id)
    )
    return [_submission(row) for row in rows]


async def community_members(conn: AsyncConnection, community: str) -> list[str]:
    """The community's members who are not facilitators, as last seen."""
    rows = await conn.execute(
        select(memberships.c.member_ref)
        .where(memberships.c.community == community, memberships.c.facilitator.is_(False))
        .order_by(memberships.c.member_ref)
    )
    return [row[0] for row in rows]


async def earlier_pairs(
    conn: AsyncConnection, community: str, assignment_id: int
) -> set[tuple[str, str]]:
    """(reviewer, reviewee) pairs of the community's other assignments."""
    rows = await conn.execute(
        select(peer_reviews.c.reviewer_ref, peer_reviews.c.reviewee_ref)
        .join(assignments, assignments.c.id == peer_reviews.c.assignment_id)
        .where(
            assignments.c.community == community,
            peer_reviews.c.assignment_id != assignment_id,
            peer_reviews.c.reviewer_ref.is_not(None),
        )
    )
    return {(row[0], row[1]) for row in rows}


async def add_reviews(
    conn: AsyncConnection,
    assignment_id: int,
    pairs: Sequence[tuple[SubmissionRecord, str]],
    criteria: int,
    now: datetime,
) -> list[ReviewRecord]:
    """Assign each (submission, reviewer); a pair assigned already is not assigned twice.
    Return the reviews as kept."""
    await insert_ignoring_conflicts(
        conn,
        peer_reviews,
        [
            {
                "assignment_id": assignment_id,
                "submission_id": work.id,
                "reviewee_ref": work.member_ref,
                "reviewer_ref": reviewer,
                "assigned_at": now,
                "levels": json.dumps([None] * criteria),
                "late": False,
            }
            for work, reviewer in pairs
        ],
    )
    ids = [work.id for work, _ in pairs]
    return [
        r
        for r in await reviews_of(conn, ids)
        if (r.submission_id, r.reviewer_ref) in {(work.id, reviewer) for work, reviewer in pairs}
    ]


async def loads(conn: AsyncConnection, assignment_id: int) -> dict[str, int]:
    """How many reviews each reviewer of the assignment has."""
    rows = await conn.execute(
        select(peer_reviews.c.reviewer_ref, func.count())
        .where(
            peer_reviews.c.assignment_id == assignment_id,
            peer_reviews.c.reviewer_ref.is_not(None),
        )
        .group_by(peer_reviews.c.reviewer_ref)
    )
    return {row[0]: int(row[1]) for row in rows}


async def review(conn: AsyncConnection, review_id: int) -> ReviewRecord | None:
    """A review by id."""
    row = (await conn.execute(select(peer_reviews).where(peer_reviews.c.id == review_id))).first()
    return _review(row) if row else None


async def reviews_of(conn: AsyncConnection, submission_ids: Sequence[int]) -> list[ReviewRecord]:
    """The reviews of these submissions, in the order they were assigned."""
    if not submission_ids:
        return []
    rows = await conn.execute(
        select(peer_reviews)
        .where(peer_reviews.c.submission_id.in_(list(submission_ids)))
        .order_by(peer_reviews.c.id)
    )
    return [_review(row) for row in rows]


async def assignment_reviews(conn: AsyncConnection, assignment_id: int) -> list[ReviewRecord]:
    """Every review of the assignment, in the order they were assigned."""
    rows = await conn.execute(
        select(peer_reviews)
        .where(peer_reviews.c.assignment_id == assignment_id)
        .order_by(peer_reviews.c.id)
    )
    return [_review(row) for row in rows]


async def reviews_by(
    conn: AsyncConnection, community: str, reviewer_ref: str
) -> list[tuple[AssignmentRecord, ReviewRecord, SubmissionRecord]]:
    """The reviewer's reviews in the community, to do first, then the newest."""
    rows = await conn.execute(
        select(assignments, peer_reviews, submissions)
        .join(peer_reviews, peer_reviews.c.assignment_id == assignments.c.id)
        .join(submissions, submissions.c.id == peer_reviews.c.submission_id)
        .where(assignments.c.community == community, peer_reviews.c.reviewer_ref == reviewer_ref)
        .order_by(peer_reviews.c.submitted_at.is_not(None), peer_reviews.c.id.desc())
    )
    return [
        (
            _assignment(row),
            _review(_columns(row, peer_reviews)),
            _submission(_columns(row, submissions)),
        )
        for row in rows
    ]


async def put_levels(conn: AsyncConnection, review_id: int, levels: Sequence[int | None]) -> None:
    """Keep the levels picked so far."""
    await conn.execute(
        update(peer_reviews)
        .where(peer_reviews.c.id == review_id)
        .values(levels=json.dumps(list(levels)))
    )


async def finish_review(
    conn: AsyncConnection,
    review_id: int,
    *,
    strength: str,
    suggestion: str,
    late: bool,
    now: datetime,
) -> bool:
    """Submit the review, unless it was submitted already."""
    result = await conn.execute(
        update(peer_reviews)
        .where(peer_reviews.c.id == review_id, peer_reviews.c.submitted_at.is_(None))
        .values(strength=strength, suggestion=suggestion, late=late, submitted_at=now)
    )
    return bool(result.rowcount)


async def reassign(conn: AsyncConnection, review_id: int, reviewer_ref: str, now: datetime) -> None:
    """Give an unfinished review to another reviewer (their levels start empty)."""
    row = await review(conn, review_id)
    assert row is not None
    await conn.execute(
        update(peer_reviews)
        .where(peer_reviews.c.id == review_id)
        .values(
            reviewer_ref=reviewer_ref,
            assigned_at=now,
            levels=json.dumps([None] * len(row.levels)),
        )
    )


async def follow_new_version(
    conn: AsyncConnection, old_submission: int, new_submission: int
) -> None:
    """A resubmission (within an extension): unfinished reviews review the new version."""
    await conn.execute(
        update(peer_reviews)
        .where(
            peer_reviews.c.submission_id == old_submission,
            peer_reviews.c.submitted_at.is_(None),
        )
        .values(submission_id=new_submission)
    )


async def due_for_reminder(
    conn: AsyncConnection, now: datetime, ahead: Any
) -> list[AssignmentRecord]:
    """Assignments whose reviews are due within `ahead`, reminders not yet sent; each is
    claimed (marked reminded) as it is returned."""
    rows = await conn.execute(
        select(assignments).where(
            assignments.c.reviews_assigned_at.is_not(None),
            assignments.c.review_reminded_at.is_(None),
            assignments.c.review_due_at.is_not(None),
            assignments.c.review_due_at > now,
            assignments.c.review_due_at <= now + ahead,
        )
    )
    found = [_assignment(row) for row in rows]
    claimed: list[AssignmentRecord] = []
    for record in found:
        result = await conn.execute(
            update(assignments)
            .where(assignments.c.id == record.id, assignments.c.review_reminded_at.is_(None))
            .values(review_reminded_at=now)
        )
        if result.rowcount:
            claimed.append(record)
    return claimed


async def drop_unfinished(conn: AsyncConnection, member_ref: str) -> None:
    """A forgotten reviewer's unfinished reviews go (their finished ones stay, unnamed).
    Forgetting empties `reviewer_ref` first, so an unfinished review without a reviewer is
    theirs too."""
    await conn.execute(
        delete(peer_reviews).where(
            (peer_reviews.c.reviewer_ref == member_ref) | peer_reviews.c.reviewer_ref.is_(None),
            peer_reviews.c.submitted_at.is_(None),
        )
    )
