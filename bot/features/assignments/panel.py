"""The assignments part of a member's home page: what is open and due, drafts under way,
their submissions' state; for facilitators, how many wait for a grade."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.actions import Button, Panel
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.features.assignments import review_store, store
from bot.features.assignments.store import DISCUSSING, GRADED
from bot.storage import Connection

DRAFT_HOURS = 24
SHOWN = 5


def _label(key: str, title: str) -> str:
    text = f"{key} · {' '.join(title.split())}"
    return text if len(text) <= 60 else text[:59].rstrip() + "…"


async def assignments_panel(
    conn: Connection,
    *,
    community: CommunitySettings,
    member_ref: str,
    is_facilitator: bool,
    texts: Catalog,
    now: datetime,
) -> Panel | None:
    """The panel, or None when the community has no assignment at all."""
    t = texts
    records = await store.community_assignments(conn, community.name, open_only=True)
    mine = await store.member_submissions(conn, community.name, member_ref)
    to_review = [
        (record, item)
        for record, item, _ in await review_store.reviews_by(conn, community.name, member_ref)
        if not item.done
    ]
    if (
        not records
        and not mine
        and not to_review
        and not (is_facilitator and await store.queue(conn, community.name))
    ):
        return None
    lines: list[str] = []
    buttons: list[Button] = []
    if is_facilitator:
        waiting = await store.queue(conn, community.name)
        lines.append(t("assignments.home_waiting", count=len(waiting)))
        names = await store.display_names(conn, [item.member_ref for _, item in waiting[:3]])
        for record, item in waiting[:3]:
            lines.append(
                t(
                    "assignments.home_waiting_line",
                    key=item.key,
                    title=escape(record.title),
                    name=escape(names.get(item.member_ref, "?")),
                    grade=escape(item.proposed_grade),
                    late=t("assignments.late_mark") if item.late else "",
                )
            )
            buttons.append(
                Button(
                    label=t("assignments.show_button", key=item.key),
                    action=f"grade show {item.key}",
                )
            )
        if waiting:
            buttons.append(Button(label=t("assignments.home_queue"), action="grade queue"))
    for record, review in to_review[:SHOWN]:
        by = f" · due <t:{int(record.review_due_at.timestamp())}>" if record.review_due_at else ""
        lines.append(
            t("assignments.home_review", key=review.key, title=escape(record.title), due=by)
        )
        buttons.append(
            Button(
                label=t("reviews.open_button", key=review.key), action=f"review show {review.key}"
            )
        )
    done = {record.id: item for record, item in mine}
    drafts = set(await store.member_drafts(conn, member_ref, now - timedelta(hours=DRAFT_HOURS)))
    for record in records[:SHOWN]:
        if record.id in done:
            continue
        due = await store.extension(conn, record.id, member_ref) or record.due_at
        due = max(due, record.due_at)
        if record.id in drafts:
            lines.append(
                t("assignments.overview_draft", key=record.key, title=escape(record.title))
            )
            action = f"self-assess show {record.key}"
        else:
            lines.append(
                t(
                    "assignments.overview_open",
                    key=record.key,
                    title=escape(record.title),
                    due=f"<t:{int(due.timestamp())}>",
                )
            )
            action = f"submit {record.key}"
        buttons.append(Button(label=_label(record.key, record.title), action=action))
    for record, item in mine[:SHOWN]:
        if item.status == GRADED:
            status = t("assignments.status_graded", grade=escape(item.final_grade or ""))
        else:
            status = t(f"assignments.status_{item.status}")
        lines.append(
            t(
                "assignments.overview_submitted",
                key=record.key,
                title=escape(record.title),
                status=status,
            )
        )
        if item.status == DISCUSSING:
            buttons.append(
                Button(
                    label=t("assignments.home_reply", key=item.key), action=f"discuss {item.key}"
                )
            )
    if not lines:
        lines.append(t("assignments.overview_empty"))
    return Panel(
        heading=t("assignments.home_heading"), text="\n".join(lines), buttons=tuple(buttons[:SHOWN])
    )


async def grading_line(
    conn: Connection, community: CommunitySettings, start: datetime, end: datetime, texts: Catalog
) -> str | None:
    """The facilitator report's line: versions handed in during [start, end), late ones, and
    grades pending now; None when the community has no assignment."""
    if not await store.community_assignments(conn, community.name):
        return None
    figures = await store.grading_figures(conn, community.name, start, end)
    return texts(
        "assignments.report_line",
        submitted=figures.submitted,
        late=figures.late,
        pending=figures.pending,
    )
