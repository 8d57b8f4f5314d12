"""Assignments' SQL: assignments and extensions, submissions with every version, the grade
notes and dialogue, drafts, and what the digest, report, queue and export read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.assignments.rubrics import Rubric, Scale
from bot.features.members import gives
from bot.storage.schema import (
    assignment_extensions,
    assignments,
    grade_notes,
    members,
    memberships,
    submission_drafts,
    submissions,
)

SUBMITTED, DISCUSSING, GRADED = "submitted", "discussing", "graded"
KINDS = ("link", "blog", "text")


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    """An assignment as kept."""

    id: int
    community: str
    title: str
    description: str | None
    due_at: datetime
    rubric: Rubric
    scale: Scale
    accepts: tuple[str, ...]
    late_ok: bool
    created_by: str | None
    created_at: datetime
    closed_at: datetime | None
    peer_reviews: int = 0  # reviews each submission gets (0: no peer review)
    blind: bool = True
    review_due_at: datetime | None = None
    open_reviewing: bool = False  # members who did not submit review too
    reviews_assigned_at: datetime | None = None

    @property
    def key(self) -> str:
        """How members name it: "A3"."""
        return f"A{self.id}"


def _assignment(row: Any) -> AssignmentRecord:
    return AssignmentRecord(
        id=row.id,
        community=row.community,
        title=row.title,
        description=row.description,
        due_at=row.due_at,
        rubric=Rubric.from_json(row.rubric_name, row.rubric),
        scale=Scale.from_json(row.scale_name, row.scale),
        accepts=tuple(row.accepts.split(",")),
        late_ok=row.late_ok,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_at=row.closed_at,
        peer_reviews=row.peer_reviews,
        blind=row.blind,
        review_due_at=row.review_due_at,
        open_reviewing=row.open_reviewing,
        reviews_assigned_at=row.reviews_assigned_at,
    )


@dataclass(frozen=True, slots=True)
class SubmissionRecord:
    """One version of a member's submission with its self-evaluation and grade."""

    id: int
    assignment_id: int
    member_ref: str
    version: int
    kind: str
    work: str
    title: str
    submitted_at: datetime
    late: bool
    levels: tuple[int, ...]
    strengths: str
    improve: str
    proposed_grade: str
    status: str
    final_grade: str | None
    graded_by: str | None
    graded_at: datetime | None
    replaced_at: datetime | None

    @property
    def key(self) -> str:
        """How it is named: "S12"."""
        return f"S{self.id}"


def _submission(row: Any) -> SubmissionRecord:
    values = {name: getattr(row, name) for name in SubmissionRecord.__slots__}
    values["levels"] = tuple(json.loads(row.levels))
    return SubmissionRecord(**values)


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """A facilitator's comment or grade, or a line of the dialogue."""

    id: int
    submission_id: int
    author_ref: str | None
    by_facilitator: bool
    kind: str
    grade: str | None
    text: str
    at: datetime


@dataclass(slots=True)
class Draft:
    """A submission under way: the work, then the levels as they are picked."""

    kind: str
    work: str
    title: str
    levels: list[int | None] = field(default_factory=list)
    updated_at: datetime | None = None

    def to_json(self) -> str:
        """The draft as kept."""
        return json.dumps(
            {"kind": self.kind, "work": self.work, "title": self.title, "levels": self.levels}
        )


# --- assignments ----------------------------------------------------------------------------


async def create_assignment(conn: AsyncConnection, **values: Any) -> int:
    """Keep a new assignment; return its id."""
    result = await conn.execute(assignments.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def assignment(
    conn: AsyncConnection, community: str, assignment_id: int
) -> AssignmentRecord | None:
    """The community's assignment with this id."""
    row = (
        await conn.execute(
            select(assignments).where(
                assignments.c.id == assignment_id, assignments.c.community == community
            )
        )
    ).first()
    return _assignment(row) if row else None


async def assignment_anywhere(conn: AsyncConnection, assignment_id: int) -> AssignmentRecord | None:
    """The assignment with this id, whatever its community (the command line's view)."""
    row = (await conn.execute(select(assignments).where(assignments.c.id == assignment_id))).first()
    return _assignment(row) if row else None


async def community_assignments(
    conn: AsyncConnection, community: str, *, open_only: bool = False
) -> list[AssignmentRecord]:
    """The community's assignments, soonest due first (the open ones when `open_only`)."""
    statement = select(assignments).where(assignments.c.community == community)
    if open_only:
        statement = statement.where(assignments.c.closed_at.is_(None))
    rows = await conn.execute(statement.order_by(assignments.c.due_at, assignments.c.id))
    return [_assignment(row) for row in rows]


async def update_assignment(conn: AsyncConnection, assignment_id: int, **values: Any) -> None:
    """Change an assignment's fields."""
    await conn.execute(
        update(assignments).where(assignments.c.id == assignment_id).values(**values)
    )


async def submission_counts(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Per assignment: (current submissions, of them graded)."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(
            submissions.c.assignment_id,
            func.count(),
            func.count().filter(submissions.c.status == GRADED),
        )
        .where(submissions.c.assignment_id.in_(list(ids)), submissions.c.replaced_at.is_(None))
        .group_by(submissions.c.assignment_id)
    )
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


async def has_submissions(conn: AsyncConnection, assignment_id: int) -> bool:
    """Whether anyone submitted (an assignment is edited only before the first)."""
    row = await conn.execute(
        select(submissions.c.id).where(submissions.c.assignment_id == assignment_id).limit(1)
    )
    return row.first() is not None


async def extension(conn: AsyncConnection, assignment_id: int, member_ref: str) -> datetime | None:
    """The member's own later due time, if they were given one."""
    row = await conn.execute(
        select(assignment_extensions.c.due_at).where(
            assignment_extensions.c.assignment_id == assignment_id,
            assignment_extensions.c.member_ref == member_ref,
        )
    )
    return row.scalar_one_or_none()


async def extend_for(
    conn: AsyncConnection,
    assignment_id: int,
    member_ref: str,
    due_at: datetime,
    granted_by: str,
    now: datetime,
) -> None:
    """Give one member a due time of their own (replacing an earlier extension)."""
    await conn.execute(
        delete(assignment_extensions).where(
            assignment_extensions.c.assignment_id == assignment_id,
            assignment_extensions.c.member_ref == member_ref,
        )
    )
    await conn.execute(
        assignment_extensions.insert().values(
            assignment_id=assignment_id,
            member_ref=member_ref,
            due_at=due_at,
            granted_by=granted_by,
            granted_at=now,
        )
    )


# --- submissions ----------------------------------------------------------------------------


async def current_submission(
    conn: AsyncConnection, assignment_id: int, member_ref: str
) -> SubmissionRecord | None:
    """The member's current version for an assignment."""
    row = (
        await conn.execute(
            select(submissions).where(
                submissions.c.assignment_id == assignment_id,
                submissions.c.member_ref == member_ref,
                submissions.c.replaced_at.is_(None),
            )
        )
    ).first()
    return _submission(row) if row else None


async def submission(conn: AsyncConnection, submission_id: int) -> SubmissionRecord | None:
    """A submission by id (any version)."""
    row = (await conn.execute(select(submissions).where(submissions.c.id == submission_id))).first()
    return _submission(row) if row else None


async def versions(
    conn: AsyncConnection, assignment_id: int, member_ref: str
) -> list[SubmissionRecord]:
    """Every version the member submitted, first first."""
    rows = await conn.execute(
        select(submissions)
        .where(submissions.c.assignment_id == assignment_id, submissions.c.member_ref == member_ref)
        .order_by(submissions.c.version)
    )
    return [_submission(row) for row in rows]


async def add_submission(
    conn: AsyncConnection,
    *,
    assignment_id: int,
    member_ref: str,
    draft: Draft,
    levels: Sequence[int],
    strengths: str,
    improve: str,
    proposed_grade: str,
    late: bool,
    now: datetime,
) -> tuple[int, int]:
    """Keep a new version (the current one is marked replaced); return (id, version)."""
    previous = await current_submission(conn, assignment_id, member_ref)
    version = 1
    if previous is not None:
        version = previous.version + 1
        await conn.execute(
            update(submissions).where(submissions.c.id == previous.id).values(replaced_at=now)
        )
    else:
        latest = await conn.execute(
            select(func.max(submissions.c.version)).where(
                submissions.c.assignment_id == assignment_id,
                submissions.c.member_ref == member_ref,
            )
        )
        version = int(latest.scalar_one() or 0) + 1
    result = await conn.execute(
        submissions.insert().values(
            assignment_id=assignment_id,
            member_ref=member_ref,
            version=version,
            kind=draft.kind,
            work=draft.work,
            title=draft.title,
            submitted_at=now,
            late=late,
            levels=json.dumps(list(levels)),
            strengths=strengths,
            improve=improve,
            proposed_grade=proposed_grade,
            status=SUBMITTED,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0]), version


async def set_grade(
    conn: AsyncConnection,
    submission_id: int,
    *,
    status: str,
    final_grade: str | None = None,
    graded_by: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move a submission on: into the dialogue, or graded (with who and when)."""
    values: dict[str, Any] = {"status": status}
    if status == GRADED:
        values.update(final_grade=final_grade, graded_by=graded_by, graded_at=now)
    await conn.execute(update(submissions).where(submissions.c.id == submission_id).values(values))


async def member_submissions(
    conn: AsyncConnection, community: str, member_ref: str
) -> list[tuple[AssignmentRecord, SubmissionRecord]]:
    """The member's current submissions in the community, newest first."""
    rows = await conn.execute(
        select(assignments, submissions)
        .join(submissions, submissions.c.assignment_id == assignments.c.id)
        .where(
            assignments.c.community == community,
            submissions.c.member_ref == member_ref,
            submissions.c.replaced_at.is_(None),
        )
        .order_by(submissions.c.submitted_at.desc())
    )
    return [(_assignment(row), _submission(_columns(row, submissions))) for row in rows]


class _Row:
    """One table's columns out of a joined row (the join repeats names such as `id`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _columns(row: Any, table: Any) -> Any:
    mapping = row._mapping
    return _Row({column.name: mapping[table.c[column.name]] for column in table.columns})


async def queue(
    conn: AsyncConnection, community: str, assignment_id: int | None = None
) -> list[tuple[AssignmentRecord, SubmissionRecord]]:
    """Current submissions waiting for a final grade, oldest first."""
    statement = (
        select(assignments, submissions)
        .join(submissions, submissions.c.assignment_id == assignments.c.id)
        .where(
            assignments.c.community == community,
            submissions.c.replaced_at.is_(None),
            submissions.c.status != GRADED,
        )
        .order_by(submissions.c.submitted_at, submissions.c.id)
    )
    if assignment_id is not None:
        statement = statement.where(assignments.c.id == assignment_id)
    rows = await conn.execute(statement)
    return [(_assignment(row), _submission(_columns(row, submissions))) for row in rows]


async def submission_with_assignment(
    conn: AsyncConnection, community: str, submission_id: int
) -> tuple[AssignmentRecord, SubmissionRecord] | None:
    """A submission in the community and its assignment."""
    row = (
        await conn.execute(
            select(assignments, submissions)
            .join(submissions, submissions.c.assignment_id == assignments.c.id)
            .where(submissions.c.id == submission_id, assignments.c.community == community)
        )
    ).first()
    if row is None:
        return None
    return _assignment(row), _submission(_columns(row, submissions))


# --- notes and dialogue ---------------------------------------------------------------------


async def add_note(
    conn: AsyncConnection,
    submission_id: int,
    *,
    author_ref: str,
    by_facilitator: bool,
    kind: str,
    text: str,
    now: datetime,
    grade: str | None = None,
) -> None:
    """Keep a comment, a grade or a line of the dialogue."""
    await conn.execute(
        grade_notes.insert().values(
            submission_id=submission_id,
            author_ref=author_ref,
            by_facilitator=by_facilitator,
            kind=kind,
            grade=grade,
            text=text,
            at=now,
        )
    )


async def notes(conn: AsyncConnection, submission_ids: Sequence[int]) -> list[NoteRecord]:
    """The notes on these submissions, in the order they were written."""
    if not submission_ids:
        return []
    rows = await conn.execute(
        select(grade_notes)
        .where(grade_notes.c.submission_id.in_(list(submission_ids)))
        .order_by(grade_notes.c.at, grade_notes.c.id)
    )
    return [NoteRecord(**row._mapping) for row in rows]


async def facilitators_of(
    conn: AsyncConnection, record: AssignmentRecord, submission_id: int
) -> list[str]:
    """Who the member's side of the dialogue goes to: the assignment's creator and every
    facilitator who wrote on this submission."""
    rows = await conn.execute(
        select(grade_notes.c.author_ref)
        .where(
            grade_notes.c.submission_id == submission_id,
            grade_notes.c.by_facilitator.is_(True),
            grade_notes.c.author_ref.is_not(None),
        )
        .order_by(grade_notes.c.id)
    )
    found = [record.created_by] if record.created_by else []
    found += [row[0] for row in rows]
    return list(dict.fromkeys(found))


async def community_facilitators(conn: AsyncConnection, community: str) -> list[str]:
    """The community's facilitators as last seen (when nobody else is known to tell)."""
    rows = await conn.execute(
        select(memberships.c.member_ref).where(
            memberships.c.community == community, memberships.c.facilitator.is_(True)
        )
    )
    return [row[0] for row in rows]


# --- drafts ---------------------------------------------------------------------------------


async def draft(
    conn: AsyncConnection, assignment_id: int, member_ref: str, since: datetime
) -> Draft | None:
    """The member's draft for the assignment, if written after `since`."""
    row = (
        await conn.execute(
            select(submission_drafts.c.state, submission_drafts.c.updated_at).where(
                submission_drafts.c.assignment_id == assignment_id,
                submission_drafts.c.member_ref == member_ref,
                submission_drafts.c.updated_at >= since,
            )
        )
    ).first()
    if row is None:
        return None
    state = json.loads(row.state)
    return Draft(state["kind"], state["work"], state["title"], state["levels"], row.updated_at)


async def member_drafts(conn: AsyncConnection, member_ref: str, since: datetime) -> list[int]:
    """The assignments the member has a draft for (written after `since`)."""
    rows = await conn.execute(
        select(submission_drafts.c.assignment_id).where(
            submission_drafts.c.member_ref == member_ref,
            submission_drafts.c.updated_at >= since,
        )
    )
    return [row[0] for row in rows]


async def put_draft(
    conn: AsyncConnection, assignment_id: int, member_ref: str, state: Draft, now: datetime
) -> None:
    """Keep the member's draft (replacing the one before)."""
    await drop_draft(conn, assignment_id, member_ref)
    await conn.execute(
        submission_drafts.insert().values(
            assignment_id=assignment_id,
            member_ref=member_ref,
            state=state.to_json(),
            updated_at=now,
        )
    )


async def drop_draft(conn: AsyncConnection, assignment_id: int, member_ref: str) -> None:
    """Let go of the member's draft."""
    await conn.execute(
        delete(submission_drafts).where(
            submission_drafts.c.assignment_id == assignment_id,
            submission_drafts.c.member_ref == member_ref,
        )
    )


async def purge_drafts(conn: AsyncConnection, before: datetime) -> int:
    """Drafts not touched since `before` are let go; return how many."""
    result = await conn.execute(
        delete(submission_drafts).where(submission_drafts.c.updated_at < before)
    )
    return result.rowcount or 0


# --- digest, report, export -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListedSubmission:
    """A submission a digest may list: its titles and work, never its grade."""

    id: int
    assignment_title: str
    title: str
    member_ref: str
    kind: str
    work: str


async def listed_submissions(
    conn: AsyncConnection, community: str, start: datetime, end: datetime, consent: str
) -> list[ListedSubmission]:
    """The week's first versions by members who allow `consent`, first first."""
    rows = await conn.execute(
        select(
            submissions.c.id,
            assignments.c.title.label("assignment_title"),
            submissions.c.title,
            submissions.c.member_ref,
            submissions.c.kind,
            submissions.c.work,
        )
        .join(assignments, submissions.c.assignment_id == assignments.c.id)
        .where(
            assignments.c.community == community,
            submissions.c.version == 1,
            submissions.c.submitted_at >= start,
            submissions.c.submitted_at < end,
            gives(consent, submissions.c.member_ref),
        )
        .order_by(submissions.c.submitted_at, submissions.c.id)
    )
    return [ListedSubmission(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class GradingFigures:
    """What the facilitator report says about assignments in a week."""

    submitted: int  # versions submitted in the week
    late: int  # of them late
    pending: int  # current submissions waiting for a final grade (any week)


async def grading_figures(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> GradingFigures:
    """Submissions in [start, end), late ones, and grades pending now."""
    in_community = and_(
        submissions.c.assignment_id == assignments.c.id, assignments.c.community == community
    )
    week = await conn.execute(
        select(func.count(), func.count().filter(submissions.c.late.is_(True))).where(
            in_community, submissions.c.submitted_at >= start, submissions.c.submitted_at < end
        )
    )
    submitted, late = week.one()
    pending = await conn.execute(
        select(func.count()).where(
            in_community, submissions.c.replaced_at.is_(None), submissions.c.status != GRADED
        )
    )
    return GradingFigures(int(submitted), int(late), int(pending.scalar_one()))


async def export_rows(
    conn: AsyncConnection, assignment_id: int
) -> list[tuple[SubmissionRecord, str | None]]:
    """Every version of every submission to the assignment with the member's display name."""
    rows = await conn.execute(
        select(submissions, members.c.display_name)
        .join(members, members.c.ref == submissions.c.member_ref, isouter=True)
        .where(submissions.c.assignment_id == assignment_id)
        .order_by(submissions.c.member_ref, submissions.c.version)
    )
    return [(_submission(_columns(row, submissions)), row.display_name) for row in rows]


async def display_names(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, str]:
    """Members' display names (facilitators and the member themselves see them)."""
    if not refs:
        return {}
    rows = await conn.execute(
        select(members.c.ref, members.c.display_name).where(members.c.ref.in_(list(refs)))
    )
    return {row.ref: row.display_name for row in rows}


async def community_members_named(conn: AsyncConnection, community: str, name: str) -> list[str]:
    """The refs of the community's members whose display name is `name` (case aside)."""
    rows = await conn.execute(
        select(members.c.ref)
        .join(memberships, memberships.c.member_ref == members.c.ref)
        .where(
            memberships.c.community == community,
            func.lower(members.c.display_name) == name.strip().lower(),
        )
    )
    return [row[0] for row in rows]
