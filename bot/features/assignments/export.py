"""`facilitator grades export`: every version of every submission to one assignment, with
its self-evaluation and grade, as CSV or JSON for the course's records."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.features.assignments import store
from bot.storage import Connection


class GradesExportError(ValueError):
    """The assignment named does not exist."""


async def grade_rows(conn: Connection, assignment_ref: str) -> list[dict[str, Any]]:
    """One row per submitted version: who, when, the levels by criterion, the grades."""
    text = assignment_ref.strip().upper().removeprefix("A")
    record = None
    if text.isdigit():
        found = await store.assignment_anywhere(conn, int(text))
        record = found
    if record is None:
        raise GradesExportError(
            f"--assignment {assignment_ref!r}: no such assignment; write its id as "
            "/assignment list shows it, e.g. A1"
        )
    names = [criterion.name for criterion in record.rubric.criteria]
    rows: list[dict[str, Any]] = []
    for item, display_name in await store.export_rows(conn, record.id):
        row: dict[str, Any] = {
            "assignment": record.key,
            "assignment_title": record.title,
            "submission": item.key,
            "member_ref": item.member_ref,
            "member": display_name or "",
            "version": item.version,
            "current": item.replaced_at is None,
            "kind": item.kind,
            "work": item.work,
            "submitted_at": item.submitted_at.isoformat(),
            "late": item.late,
        }
        for index, name in enumerate(names):
            level = item.levels[index] if index < len(item.levels) else None
            criterion = record.rubric.criteria[index]
            row[f"level: {name}"] = criterion.levels[level] if level is not None else ""
        row.update(
            strengths=item.strengths,
            improve=item.improve,
            proposed_grade=item.proposed_grade,
            status=item.status,
            final_grade=item.final_grade or "",
            graded_by=item.graded_by or "",
            graded_at=item.graded_at.isoformat() if item.graded_at else "",
        )
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header (empty when there are none)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    """The rows as a JSON list."""
    return json.dumps(rows, ensure_ascii=False, indent=2)
