"""The report as neutral markup, a monospace table and JSON; and the one line about a member
that the report and `/profile` both print (one function, so they cannot diverge)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.i18n import Catalog
from bot.core.markup import block, escape
from bot.core.weeks import IsoWeek
from bot.features.engagement import STAGES
from bot.features.reports.model import Standing, WeeklyReport, WeekStages

_HISTORY_NAMES = 3  # nudges listed per member line (the most recent ones)


def _unix(moment: Any) -> int:
    return int(moment.timestamp())


def stage_counts(counts: Mapping[str, int], texts: Catalog) -> str:
    """`seek 1 · sense 0 · share 2 · presence 0`."""
    return texts("reports.stage_counts", **{stage: counts.get(stage, 0) for stage in STAGES})


def member_line(standing: Standing, texts: Catalog, recent_days: int) -> str:
    """What the report says about one member; `/profile` shows them exactly this line."""
    t = texts
    drift = standing.drift
    if standing.facilitator:
        status = t("reports.not_judged")
    elif drift is None:
        status = t("reports.not_drifting")
    else:
        if drift.reason == "inactive":
            base = t("reports.drift_inactive", days=recent_days)
        else:
            base = t(
                "reports.drift_fell",
                days=recent_days,
                recent=drift.recent,
                rate=round(drift.earlier_rate or 0),
            )
        last = drift.last_active_at
        if last is None:
            detail = t("reports.drift_never")
        elif last <= standing.as_of:
            detail = t("reports.drift_last", last=_unix(last))
        else:  # a past week's report: they have been back since
            detail = t("reports.drift_back", last=_unix(last))
        status = t("reports.drift_status", drift=base, detail=detail)
    if standing.nudges:
        shown = standing.nudges[-_HISTORY_NAMES:]
        items = [
            t(
                "reports.nudge_answered" if nudge.answered_at else "reports.nudge_open",
                at=_unix(nudge.sent_at),
            )
            for nudge in shown
        ]
        nudges = t("reports.nudges_list", count=len(standing.nudges), items=", ".join(items))
    else:
        nudges = t("reports.nudges_none")
    if standing.new_voice:  # the report names them among the week's new voices
        status = t("reports.new_voice", status=status)
    return t(
        "reports.member_line",
        name=escape(standing.name),
        stages=stage_counts(standing.stages, texts),
        status=status,
        nudges=nudges,
    )


def table(rows: Sequence[WeekStages], texts: Catalog, *, total: bool = True) -> str:
    """Weeks as rows, stages (and the total) as columns, right-aligned: plain text."""
    header = [texts("reports.column_week"), *STAGES]
    if total:
        header.append(texts("reports.column_total"))
    lines = [header]
    for row in rows:
        line = [row.week, *(str(row.active.get(stage, 0)) for stage in STAGES)]
        if total:
            line.append(str(row.total))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    )


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def report_text(report: WeeklyReport, texts: Catalog, recent_days: int) -> str:
    """The whole report in neutral markup (names included: for facilitators only)."""
    t = texts
    active = report.active
    parts = [
        t("reports.title", community=escape(report.community), week=report.week),
        t(
            "reports.period",
            days=IsoWeek.parse(report.week).days_text(),
            cohort=report.cohort,
        ),
        t(
            "reports.active",
            total=active.total,
            cohort=report.cohort,
            stages=stage_counts(active.active, texts),
        ),
        t(
            "reports.new_voices",
            count=len(report.new_voices) + report.new_voices_unnamed,
            names=", ".join(
                [escape(name) for name in report.new_voices]
                + (
                    [t("reports.new_voices_unnamed", count=report.new_voices_unnamed)]
                    if report.new_voices_unnamed
                    else []
                )
            ),
        )
        if report.new_voices or report.new_voices_unnamed
        else t("reports.new_voices_none"),
    ]
    drifting = len(report.drifting) + report.drifting_unnamed
    if drifting:
        parts.append(t("reports.drifting_heading", count=drifting, as_of=_unix(report.as_of)))
        parts.extend(f"• {member_line(s, texts, recent_days)}" for s in report.drifting)
        if report.drifting_unnamed:
            parts.append("• " + t("reports.unnamed_members", count=report.drifting_unnamed))
    else:
        parts.append(t("reports.drifting_none", as_of=_unix(report.as_of)))
    parts.append(t("reports.nudges", sent=report.nudges_sent, answered=report.nudges_answered))
    if report.nudged or report.nudged_unnamed:
        parts.append(t("reports.nudged_heading"))
        parts.extend(f"• {member_line(s, texts, recent_days)}" for s in report.nudged)
        if report.nudged_unnamed:
            parts.append("• " + t("reports.unnamed_members", count=report.nudged_unnamed))
    if report.replies:
        parts.append(
            t(
                "reports.attention",
                replies=report.replies,
                top=report.top_members,
                share=_percent(report.top_share),
                gini=f"{report.gini:.2f}",
            )
        )
    else:
        parts.append(t("reports.attention_none"))
    parts.append(t("reports.history_heading", weeks=len(report.history)))
    parts.append(block(table(report.history, texts)))
    return "\n".join(parts)


def to_json(report: WeeklyReport) -> str:
    """The report's figures as JSON (names included: for facilitators only)."""

    def person(standing: Standing) -> dict[str, Any]:
        drift = standing.drift
        return {
            "member": standing.member_ref,
            "name": standing.name,
            "stages": dict(standing.stages),
            "drift": None
            if drift is None
            else {
                "reason": drift.reason,
                "recent": drift.recent,
                "earlier_rate": drift.earlier_rate,
                "last_active_at": drift.last_active_at.isoformat()
                if drift.last_active_at
                else None,
            },
            "nudges": [
                {
                    "sent_at": n.sent_at.isoformat(),
                    "answered_at": n.answered_at.isoformat() if n.answered_at else None,
                }
                for n in standing.nudges
            ],
        }

    document = {
        "community": report.community,
        "week": report.week,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "as_of": report.as_of.isoformat(),
        "cohort": report.cohort,
        "active": {**report.active.active, "total": report.active.total},
        "new_voices": list(report.new_voices),
        "new_voices_unnamed": report.new_voices_unnamed,
        "drifting": [person(s) for s in report.drifting],
        "nudged": [person(s) for s in report.nudged],
        "nudges": {"sent": report.nudges_sent, "answered": report.nudges_answered},
        "attention": {
            "replies": report.replies,
            "top_members": report.top_members,
            "top_share": round(report.top_share, 4),
            "gini": round(report.gini, 4),
        },
        "history": [{"week": row.week, **row.active, "total": row.total} for row in report.history],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def report_figures(report: WeeklyReport, texts: Catalog, prefix: str = "/") -> str:
    """The week's headline figures (active members by stage, new voices, drift, nudges),
    without names of drifting members: a facilitator's dashboard line by line."""
    t = texts
    lines = [
        t(
            "reports.active",
            total=report.active.total,
            cohort=report.cohort,
            stages=stage_counts(report.active.active, texts),
        ),
        t(
            "reports.figures_new_voices",
            count=len(report.new_voices) + report.new_voices_unnamed,
        ),
        t(
            "reports.figures_drifting",
            count=len(report.drifting) + report.drifting_unnamed,
            as_of=_unix(report.as_of),
            prefix=prefix,
        ),
        t("reports.nudges", sent=report.nudges_sent, answered=report.nudges_answered),
    ]
    return "\n".join(lines)
