"""`/report [week]`: the facilitator report, privately, with its chart by direct message
(private answers cannot carry files)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.core.actions import Action, Attachment, Content, SendDirect
from bot.core.commands import CommandSpec, Param, Role
from bot.core.communities import CommunityDirectory
from bot.core.markup import block, escape
from bot.core.suggestions import Suggestion
from bot.core.weeks import IsoWeek, resolve_week, suggest_weeks
from bot.features.assignments import grading_line
from bot.features.engagement import settle_nudge_answers
from bot.features.nudges import NudgeSettings
from bot.features.reports.chart import chart_png
from bot.features.reports.model import summarise
from bot.features.reports.render import report_text, table
from bot.features.reports.store import report_inputs
from bot.runtime.service import (
    CommandHandler,
    Invocation,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
)
from bot.storage import Connection


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "community"


REPORT = CommandSpec(
    name="report",
    help="The engagement report for a week, with a chart by direct message",
    example="/report 2026-W48",
    params=(
        Param(
            name="week",
            help="An ISO week such as 2026-W48, or last (default: this week)",
            required=False,
            suggests="report-weeks",
        ),
    ),
    role=Role.FACILITATOR,
)


class ReportService(Service):
    """The facilitator report in chat."""

    name = "reports"

    def __init__(self, directory: CommunityDirectory) -> None:
        self._directory = directory

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/report`."""
        return ((REPORT, {("report",): self.report}),)

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """Weeks to report on: this (the default), last, then the weeks before."""
        return {"report-weeks": self.suggest_weeks}

    async def suggest_weeks(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Weeks in the community's zone, this one first; none for members."""
        if not query.is_facilitator:
            return []
        weeks = suggest_weeks(query.typed, query.now, query.community.zone, this_first=True)
        return weeks[: query.limit]

    async def report(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Answer with the week's report; send its chart and table by direct message."""
        t = call.texts
        community = call.community
        raw = call.arguments.get("week")
        try:
            week = (
                IsoWeek.containing(tx.now, community.zone)
                if raw is None
                else resolve_week(str(raw), tx.now, community.zone)
            )
        except ValueError as problem:
            return [call.answer(t("reports.bad_week", problem=problem, prefix=call.prefix))]
        nudging = community.section(NudgeSettings)
        await settle_nudge_answers(tx.conn, community.name, tx.now, nudging.answer_days)
        inputs = await report_inputs(tx.conn, community, week, tx.now, directory=self._directory)
        report = summarise(inputs)
        text = report_text(report, t, community.section(NudgeSettings).inactive_days)
        start, end = week.bounds(community.zone)
        grading = await grading_line(tx.conn, community, start, end, t)
        if grading is not None:
            text += "\n" + grading
        first, last = report.history[0].week, report.history[-1].week
        chart = Attachment(
            filename=t("reports.chart_filename", community=_slug(community.name), week=report.week),
            data=chart_png(
                report.history,
                t("reports.chart_title", community=community.name, first=first, last=last),
                t("reports.chart_x"),
                t("reports.chart_y"),
            ),
            mime_type="image/png",
        )
        dm_text = (
            t("reports.chart_dm", community=escape(community.name), first=first, last=last)
            + "\n"
            + block(table(report.history, t))
        )
        return [
            call.answer(text + "\n" + t("reports.chart_sent")),
            SendDirect(
                member=call.author.ref,
                content=Content(text=dm_text, attachment=chart),
                fallback=call.event.reply_to,
            ),
        ]
