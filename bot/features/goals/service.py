"""Goals for self-directed learning: `/goal set|show|done`, and an opt-in weekly check-in by
direct message (`/settings goal_checkin=on`), sent by a scheduler job: the run for one week
writes each member's check-in as one outbox row (one run part), so nobody gets it twice,
across restarts too, and a member whose DMs are closed parks only their own row."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from bot.core.actions import Action, Content, SendDirect
from bot.core.commands import CommandSpec, Param
from bot.core.communities import CommunityDirectory
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import MemberRef
from bot.core.schedules import parse_rule
from bot.features.goals import store
from bot.features.members import MemberSupportSettings
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage.database import Database

log = logging.getLogger(__name__)


GOAL = CommandSpec(
    name="goal",
    help="Set, see and complete your own learning goal",
    subcommands=(
        CommandSpec(
            name="set",
            help="Set your goal (replaces the current one)",
            example="/goal set Read two papers on feedback and write a summary",
            params=(Param(name="text", help="What you want to learn or make", rest=True),),
        ),
        CommandSpec(name="show", help="See your current goal", example="/goal show"),
        CommandSpec(name="done", help="Mark your goal as reached", example="/goal done"),
    ),
)


class GoalService(Service):
    """Members' goals and their weekly check-ins."""

    name = "goals"

    def __init__(
        self,
        *,
        database: Database,
        directory: CommunityDirectory,
        texts: Callable[[str], Catalog],
    ) -> None:
        self._database = database
        self._directory = directory
        self._texts = texts

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/goal set|show|done`."""
        return (
            (
                GOAL,
                {
                    ("goal", "set"): self.set_goal,
                    ("goal", "show"): self.show,
                    ("goal", "done"): self.done,
                },
            ),
        )

    async def set_goal(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Make the text the caller's goal."""
        t = call.texts
        text = str(call.arguments["text"]).strip()
        if not text:
            return [call.answer(t("goals.empty", prefix=call.prefix))]
        ref = str(call.author.ref)
        previous = await store.set_goal(tx.conn, call.community.name, ref, text, tx.now)
        key = "goals.replaced" if previous is not None else "goals.set"
        return [call.answer(t(key, goal=escape(text), prefix=call.prefix))]

    async def show(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show the caller's goal."""
        t = call.texts
        ref = str(call.author.ref)
        goal = await store.active_goal(tx.conn, call.community.name, ref)
        reached = await store.goals_done(tx.conn, call.community.name, ref)
        if goal is None:
            return [call.answer(t("goals.none", prefix=call.prefix, reached=reached))]
        text = t(
            "goals.show",
            goal=escape(goal.text),
            since=int(goal.set_at.timestamp()),
            reached=reached,
            prefix=call.prefix,
        )
        return [call.answer(text)]

    async def done(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Mark the caller's goal as reached."""
        t = call.texts
        ref = str(call.author.ref)
        goal = await store.active_goal(tx.conn, call.community.name, ref)
        if goal is None:
            return [call.answer(t("goals.none", prefix=call.prefix, reached=0))]
        await store.close_goal(tx.conn, goal.id, "done", tx.now)
        return [call.answer(t("goals.done", goal=escape(goal.text), prefix=call.prefix))]

    # --- weekly check-in ------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """One weekly check-in job per community."""
        return [
            Job(
                f"goal-checkin:{community.name}",
                parse_rule(community.section(MemberSupportSettings).goal_checkin),
                community.timezone,
                partial(self._run_checkin, community.name),
            )
            for community in self._directory.communities
        ]

    async def _run_checkin(self, community: str, context: RunContext) -> None:
        """DM every opted-in member with an active goal; each DM is one part of the run (a
        refused DM parks its own row and fails nothing else)."""
        settings = self._directory.settings(community)
        t = self._texts(settings.language)
        async with self._database.reading() as conn:
            goals = await store.checkin_goals(conn, community)
        for goal in goals:
            member = MemberRef.parse(goal.member_ref)
            text = t(
                "goals.checkin",
                goal=escape(goal.text),
                prefix=self._directory.command_prefix(member.platform),
            )
            action = SendDirect(member=member, content=Content(text=text))
            await context.emit(f"dm:{goal.member_ref}", action)
