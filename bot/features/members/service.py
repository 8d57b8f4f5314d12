"""Members own their data: see it (`/profile`), change it (`/settings`), take it (`/export`)
and delete it (`/forget-me`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.core.actions import Action, Attachment, Button, Content, SendDirect
from bot.core.commands import CommandSpec, Param, ParamKind
from bot.core.communities import CommunityDirectory
from bot.core.i18n import Catalog
from bot.core.markup import block, escape
from bot.core.weeks import IsoWeek
from bot.features.engagement import settle_nudge_answers
from bot.features.goals import active_goal
from bot.features.members import store
from bot.features.members.consent_store import ConsentAnswer, answers_of, record_answers
from bot.features.members.consents import CONSENTS
from bot.features.nudges import NudgeSettings
from bot.features.reports import (
    PROFILE_WEEKS,
    WeekStages,
    member_line,
    report_inputs,
    standing,
    table,
)
from bot.runtime.feature import Registry
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage.member_data import erase_member, export_member
from bot.storage.members import get_member, update_member_settings

PROFILE = CommandSpec(
    name="profile",
    help="See what the bot keeps about you, and your settings",
    example="/profile",
)
# Each on/off setting about how the bot treats the member: the /settings key, its column in
# `members`, and its help. What a member allows others to see of them is a consent instead
# (bot/features/members/consents.py); /settings changes both.
SWITCHES: tuple[tuple[str, str, str], ...] = (
    ("link_reactions", "link_reactions", "React to the links you share? on or off"),
    (
        "digest_dm",
        "digest_dm",
        "Get the weekly digest by direct message in weeks you were away? on or off",
    ),
    (
        "goal_checkin",
        "goal_checkin",
        "A weekly direct message asking how your goal is going? on or off",
    ),
    (
        "literacy_questions",
        "literacy_questions",
        "May I ask one short question about a link you share without a note? on or off",
    ),
)
SETTING_COLUMNS = {key: column for key, column, _ in SWITCHES}
CONSENT_KEYS = frozenset(item.key for item in CONSENTS)

SETTINGS = CommandSpec(
    name="settings",
    help="Change what you allow and how the bot treats you (with no arguments: show them)",
    example="/settings quotes=on named=off",
    params=tuple(
        Param(
            name=key,
            help=help_text,
            kind=ParamKind.BOOLEAN,
            required=False,
            keyword_only=True,
        )
        for key, help_text in (
            *((item.key, item.help) for item in CONSENTS),
            *((key, help_text) for key, _, help_text in SWITCHES),
        )
    ),
)
EXPORT = CommandSpec(
    name="export",
    help="Get everything the bot keeps about you as a JSON file, by direct message",
    example="/export",
)
FORGET = CommandSpec(
    name="forget-me",
    help="Delete everything the bot keeps about you (asks you to confirm first)",
    example="/forget-me confirm",
    params=(
        Param(
            name="confirm",
            help="Type confirm to delete for good",
            kind=ParamKind.CHOICE,
            choices=("confirm",),
            required=False,
        ),
    ),
)


def export_document(member_ref: str, data: Mapping[str, Any], now: datetime) -> bytes:
    """The JSON a member receives from `/export`."""
    document = {
        "member": member_ref,
        "exported_at": now.isoformat(),
        "note": "Everything Facilitator keeps about you, table by table.",
        "data": data,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _consent_lines(answers: Sequence[ConsentAnswer], t: Catalog, prefix: str) -> str:
    """Each consent on a line: yes or no, what it allows, and the command that changes it."""
    lines = []
    for answer in answers:
        lines.append(
            t(
                "members.consent_line",
                key=answer.key,
                answer=t("members.consent_yes" if answer.given else "members.consent_no"),
                what=t(f"members.consent_{answer.key}"),
                change=_on_off(not answer.given),
                unanswered="" if answer.answered else t("members.consent_unanswered"),
                prefix=prefix,
            )
        )
    return "\n".join(lines)


class MemberService(Service):
    """Profile, settings, export and deletion of a member's own data."""

    name = "members"

    def __init__(self, directory: CommunityDirectory, registry: Registry) -> None:
        self._directory = directory
        self._registry = registry  # every feature's member tables and forget hooks

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """The data-ownership commands."""
        return (
            (PROFILE, {("profile",): self.profile}),
            (SETTINGS, {("settings",): self.settings}),
            (EXPORT, {("export",): self.export}),
            (FORGET, {("forget-me",): self.forget}),
        )

    async def profile(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show the caller what is kept about them."""
        t = call.texts
        ref = str(call.author.ref)
        member = await get_member(tx.conn, ref)
        if member is None:
            return [call.answer(t("members.profile_empty"))]
        counts = await store.kept_counts(tx.conn, ref, call.community.name)
        goal = await active_goal(tx.conn, call.community.name, ref)
        text = t(
            "members.profile",
            name=member.display_name,
            community=call.community.name,
            first_seen=int(member.first_seen_at.timestamp()),
            messages=counts["messages"],
            shares=counts["shares"],
            reactions=counts["reactions"],
            link_reactions=_on_off(member.link_reactions),
            goal_checkin=_on_off(member.goal_checkin),
            literacy_questions=_on_off(member.literacy_questions),
            consents=_consent_lines(await answers_of(tx.conn, ref), t, call.prefix),
            reflections=counts["reflections"],
            questions=counts["questions"],
            goal=escape(goal.text) if goal is not None else t("members.goal_unset"),
            timezone=member.timezone or t("members.timezone_unset"),
            prefix=call.prefix,
        )
        return [call.answer(text + "\n" + await self._engagement(call, tx))]

    async def _engagement(self, call: Invocation, tx: Transaction) -> str:
        """The member's own figures, and the line the facilitators' report shows about them."""
        community = call.community
        ref = str(call.author.ref)
        week = IsoWeek.containing(tx.now, community.zone)
        nudging = community.section(NudgeSettings)
        await settle_nudge_answers(tx.conn, community.name, tx.now, nudging.answer_days)
        inputs = await report_inputs(
            tx.conn,
            community,
            week,
            tx.now,
            directory=self._directory,
            weeks=PROFILE_WEEKS,
            names_for=(ref,),
            only=(ref,),
        )
        rows = [
            WeekStages(week=label, active=counts, total=sum(counts.values()))
            for label, counts in inputs.member_weeks(ref)
        ]
        return call.texts(
            "members.profile_engagement",
            table=block(table(rows, call.texts, total=False)),
            week=str(week),
            line=member_line(standing(inputs, ref), call.texts, nudging.inactive_days),
            prefix=call.prefix,
        )

    async def settings(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Change (or show) what the caller allows and their settings."""
        t = call.texts
        ref = str(call.author.ref)
        answers = {key: bool(value) for key, value in call.arguments.items() if key in CONSENT_KEYS}
        changes = {
            SETTING_COLUMNS[key]: value
            for key, value in call.arguments.items()
            if key in SETTING_COLUMNS
        }
        if changes:
            await update_member_settings(tx.conn, ref, **changes)
        if answers:
            await record_answers(tx.conn, ref, answers, tx.now)
        member = await get_member(tx.conn, ref)
        if member is None:
            return [call.answer(t("members.profile_empty"))]
        consents = await answers_of(tx.conn, ref)
        values = {
            "link_reactions": _on_off(member.link_reactions),
            "digest_dm": _on_off(member.digest_dm),
            "goal_checkin": _on_off(member.goal_checkin),
            "literacy_questions": _on_off(member.literacy_questions),
            "prefix": call.prefix,
        }
        if answers or changes:
            allowed = " · ".join(f"{answer.key}={_on_off(answer.given)}" for answer in consents)
            return [call.answer(t("members.settings_changed", consents=allowed, **values))]
        lines = _consent_lines(consents, t, call.prefix)
        return [call.answer(t("members.settings_show", consents=lines, **values))]

    async def export(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Send the caller their data as a JSON file."""
        ref = str(call.author.ref)
        data = await export_member(tx.conn, ref, self._registry.member_tables())
        stamp = tx.now.strftime("%Y%m%d-%H%M%S")
        attachment = Attachment(
            filename=f"facilitator-export-{call.author.ref.member}-{stamp}.json",
            data=export_document(ref, data, tx.now),
            mime_type="application/json",
        )
        rows = sum(len(rows) for rows in data.values())
        t = call.texts
        return [
            SendDirect(
                member=call.author.ref,
                content=Content(text=t("members.export_dm", rows=rows), attachment=attachment),
                fallback=call.event.reply_to,
                refused=Content(
                    text=t("members.export_here", rows=rows),
                    attachment=attachment,
                ),
                sent=Content(text=t("members.export_sent")),
            )
        ]

    async def forget(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Delete the caller's data after they confirm."""
        t = call.texts
        if call.arguments.get("confirm") != "confirm":
            button = Button(
                label=t("members.forget_button"), action="forget-me confirm", style="danger"
            )
            return [call.answer(t("members.forget_ask", prefix=call.prefix), buttons=(button,))]
        ref = str(call.author.ref)
        removed = await erase_member(tx.conn, ref, tx.now, self._registry.member_tables())
        for service in self._registry:
            await service.forget_member(tx.conn, ref)
        return [call.answer(t("members.forget_done", rows=removed))]
