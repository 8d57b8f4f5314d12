"""The weekly digest as a service: facilitators preview, curate and post it; it is posted
once per week and channel; members who asked get it by DM in weeks they were away.

Every post and DM is an outbox row keyed by community, week and channel (or member), shared by
the scheduled run and `/digest post`: while one is pending neither writes it again, and the
week counts as posted to a channel only once the platform confirmed the post (`digest.posted`).
A post that failed for good leaves the week unposted there, so posting again sends it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.core.actions import Action, Button, Content, Post, SendDirect
from bot.core.clock import Clock
from bot.core.commands import WEEK as WEEK_PICK
from bot.core.commands import CommandSpec, Param, ParamKind, Role
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.platform import Suggestion, SuggestionRequest
from bot.core.refs import ChannelRef, MemberRef, MessageRef
from bot.core.schedules import parse_rule
from bot.core.weeks import IsoWeek, last_complete_week, resolve_week
from bot.features.digest import store
from bot.features.digest.builder import build_digest, candidates_of, default_providers
from bot.features.digest.config import DigestSchedule, DigestSettings
from bot.features.digest.model import Digest
from bot.features.digest.render import to_content
from bot.runtime.outbox import Effect, latest_attempt
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.sections import SectionProvider
from bot.runtime.service import CommandHandler, Invocation, Service, Suggester, Transaction
from bot.storage import Connection
from bot.storage.database import Database

WEEK = Param(
    name="week",
    help="A week like 2026-W48, or last (the default) or this",
    required=False,
    picks=WEEK_PICK,
)
ITEM = Param(name="item", help="An item id from the preview, e.g. L12")
REASON = Param(
    name="reason",
    help="A week (last, the default, this or 2026-W48), then why (kept for accountability)",
    required=False,
    rest=True,
)

DIGEST = CommandSpec(
    name="digest",
    help="Preview, curate and post the weekly digest",
    role=Role.FACILITATOR,
    subcommands=(
        CommandSpec(
            name="preview",
            help="See the digest before it is posted, with item ids",
            example="/digest preview 2026-W48",
            params=(WEEK,),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="post",
            help="Post the digest to the digest channels now (once per week and channel; a "
            "week not over yet or over 8 weeks old asks you to confirm first)",
            example="/digest post",
            params=(
                WEEK,
                Param(
                    name="confirm",
                    help="yes to post a week not over yet or over 8 weeks old",
                    kind=ParamKind.CHOICE,
                    choices=("yes",),
                    required=False,
                    keyword_only=True,
                ),
            ),
            role=Role.FACILITATOR,
            private=False,
        ),
        CommandSpec(
            name="exclude",
            help="Leave an item out of a week's digest (the week before the reason)",
            example="/digest exclude L12 2026-W48 off-topic",
            params=(ITEM, REASON),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="feature",
            help="Put an item at the top of a week's digest (the week before the reason)",
            example="/digest feature L7 this great discussion",
            params=(ITEM, REASON),
            role=Role.FACILITATOR,
        ),
    ),
)

POSTED_HOOK = "digest.posted"
SUGGESTED_WEEKS = 13  # this week and a quarter back


def post_key(community: str, week: IsoWeek | str, target: str) -> str:
    """The outbox key of a week's digest to one channel (or `dm:<member>`), shared by the
    scheduled run and `/digest post` (a later attempt after a failure gets a suffix)."""
    return f"digest:{community}:{week}:{target}"


async def digest_posted(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """The platform took a digest post (or DM): only now is the week posted there."""
    community, week = str(args["community"]), str(args["week"])
    await store.claim_posts(conn, community, week, [str(args["target"])], now)


@dataclass(slots=True)
class _Plan:
    """What posting one week's digest would write: (run part, effect) pairs, the channels
    whose post is still on its way, and the digest itself (None: nothing left to post)."""

    effects: list[tuple[str, Effect]] = field(default_factory=list)
    posts: list[ChannelRef] = field(default_factory=list)
    pending: list[ChannelRef] = field(default_factory=list)
    digest: Digest | None = None


_ITEM_PREFIXES = ("L", "B", "R", "Q", "E", "T")
OLD_WEEKS = 8  # posting a week that ended longer ago than this asks to confirm first
# A reason's first word that names a week: 2026-W49 (or a malformed try at one), last, this.
_WEEK_WORD = re.compile(r"^(\d{4}-?W\d+|last|this|current)$", re.IGNORECASE)


class DigestService(Service):
    """Builds, previews, curates and posts weekly digests."""

    name = "digest"

    def __init__(
        self,
        settings: DigestSettings,
        directory: CommunityDirectory,
        *,
        archive_url: str | None = None,
        providers: Sequence[SectionProvider] | None = None,
        contributed: Callable[[], Sequence[SectionProvider]] = tuple,
        database: Database | None = None,
        texts: Callable[[str], Catalog] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._archive_url = archive_url
        self._providers: list[SectionProvider] = list(
            providers or default_providers(settings, directory.is_public)
        )
        self._contributed = contributed
        self._database = database
        self._texts = texts or Catalog
        self._clock = clock

    def jobs(self) -> list[Job]:
        """A scheduler job per community with a `[communities.digest] when`."""
        return [
            Job(
                f"digest:{community.name}",
                parse_rule(when),
                community.timezone,
                partial(self._run_scheduled, community.name),
            )
            for community in self._directory.communities
            if (when := community.section(DigestSchedule).when)
        ]

    async def _run_scheduled(self, name: str, context: RunContext) -> None:
        """Post last week's digest to every digest channel and DM those who were away.

        Each channel and each DM is one part of the run: a resumed run writes only the parts
        not written yet, and a channel already posted to (or being posted to) by `/digest
        post` is skipped.
        """
        assert self._database is not None
        community = self._directory.settings(name)
        week = last_complete_week(context.due_at, community.zone)
        texts = self._texts(community.language)
        async with self._database.reading() as conn:
            plan = await self._plan(conn, community, week, texts, context.due_at, always=True)
        for part, effect in plan.effects:
            await context.emit(part, effect)

    async def _plan(
        self,
        conn: Connection,
        community: CommunitySettings,
        week: IsoWeek,
        texts: Catalog,
        now: datetime,
        *,
        always: bool = False,
        asked: Invocation | None = None,
    ) -> _Plan:
        """The posts and DMs of a week's digest not yet delivered nor on their way. With
        `asked`, a post that fails for good tells the facilitator who asked how to retry.
        Without `always`, nothing is planned when every channel has it (or is getting it)."""
        plan = _Plan()
        done = await store.posted_channels(conn, community.name, str(week))
        keys: dict[ChannelRef, str] = {}
        for channel in self._directory.channels(community.name, Purpose.DIGEST):
            if str(channel) in done:
                continue
            attempt = await latest_attempt(conn, post_key(community.name, week, str(channel)))
            if attempt.delivered:
                continue
            if attempt.pending:
                plan.pending.append(channel)
            else:
                keys[channel] = attempt.next_key()
        if not keys and not always:
            return plan
        digest = await self.build(conn, community, week, texts, now)
        content = to_content(digest, texts, archive_url=self.archive_link(community.name, week))
        plan.digest = digest
        for channel, key in keys.items():
            effect = Effect(
                action=Post(channel=channel, content=content),
                key=key,
                then=POSTED_HOOK,
                args={"community": community.name, "week": str(week), "target": str(channel)},
                on_park=self._failure_notice(asked, week, channel) if asked else None,
            )
            plan.effects.append((f"post:{channel}", effect))
            plan.posts.append(channel)
        plan.effects.extend(await self._direct_digests(conn, community, digest, content, texts))
        return plan

    def _failure_notice(self, call: Invocation, week: IsoWeek, channel: ChannelRef) -> SendDirect:
        """The DM that tells a facilitator their post failed for good, and how to retry."""
        line = f"digest post {week}"
        if call.arguments.get("confirm") == "yes":
            line += " confirm=yes"
        text = call.texts(
            "digest.post_failed",
            week=str(week),
            channel=f"#{channel.channel} ({channel.platform})",
            command=call.prefix + line,
        )
        return SendDirect(member=call.author.ref, content=Content(text=text))

    def add_section(self, provider: SectionProvider) -> None:
        """Let another service contribute a section (blog posts, reflections, events...)."""
        self._providers.append(provider)

    def suggestions(self) -> Mapping[str, Suggester]:
        """This week and the twelve before it, newest first, to pick instead of typing."""
        return {WEEK_PICK: self._suggest_weeks}

    async def _suggest_weeks(
        self,
        conn: Connection,
        community: CommunitySettings,
        request: SuggestionRequest,
        now: datetime,
    ) -> list[Suggestion]:
        week = IsoWeek.containing(now, community.zone)
        query = request.query.strip().lower()
        found: list[Suggestion] = []
        for _ in range(SUGGESTED_WEEKS):
            label = f"{week} · {week.days_text()}"
            if not query or query in label.lower():
                found.append(Suggestion(label=label, value=str(week)))
            week = week.previous()
        return found

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """The facilitators' digest commands."""
        return (
            (
                DIGEST,
                {
                    ("digest", "preview"): self.preview,
                    ("digest", "post"): self.post,
                    ("digest", "exclude"): self.exclude,
                    ("digest", "feature"): self.feature,
                },
            ),
        )

    def archive_link(self, community: str, week: IsoWeek) -> str | None:
        """Where the archive shows this issue, if the archive is on."""
        if self._archive_url is None:
            return None
        return f"{self._archive_url}/{community}/{week}"

    async def build(
        self,
        conn: Connection,
        community: CommunitySettings,
        week: IsoWeek,
        texts: Catalog,
        now: object,
    ) -> Digest:
        """One week's digest, from what the database holds now."""

        assert isinstance(now, datetime)
        return await build_digest(
            conn,
            community,
            week,
            texts=texts,
            now=now,
            providers=[*self._providers, *self._contributed()],
        )

    def _week(self, call: Invocation, tx: Transaction) -> IsoWeek:
        raw = call.arguments.get("week")
        return resolve_week(str(raw) if raw is not None else None, tx.now, call.community.zone)

    async def preview(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show facilitators the digest with item ids, privately."""
        try:
            week = self._week(call, tx)
        except ValueError as problem:
            return [call.answer(call.texts("digest.bad_week", problem=str(problem)))]
        digest = await self.build(tx.conn, call.community, week, call.texts, tx.now)
        content = to_content(digest, call.texts, show_keys=True)
        heading = call.texts("digest.preview_heading", prefix=call.prefix)
        return [call.answer(heading + "\n\n" + content.text, title=content.title)]

    async def post(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Post a week's digest now (an unfinished or long-past week only once confirmed)."""
        t = call.texts
        try:
            week = self._week(call, tx)
        except ValueError as problem:
            return [call.answer(t("digest.bad_week", problem=str(problem)))]
        if not self._directory.channels(call.community.name, Purpose.DIGEST):
            return [call.answer(t("digest.no_channels"))]
        end = week.bounds(call.community.zone)[1]
        if call.arguments.get("confirm") != "yes" and (
            end > tx.now or end <= tx.now - timedelta(weeks=OLD_WEEKS)
        ):
            line = f"digest post {week} confirm=yes"
            why = "digest.confirm_unfinished" if end > tx.now else "digest.confirm_old"
            text = t(why, week=str(week), weeks=OLD_WEEKS, command=call.prefix + line)
            button = Button(label=t("digest.confirm_button"), action=line, style="primary")
            return [call.answer(text, ephemeral=True, buttons=(button,))]
        plan = await self._plan(tx.conn, call.community, week, t, tx.now, asked=call)
        if plan.digest is None or not plan.posts:
            if plan.pending:
                return [
                    call.answer(
                        t("digest.being_posted", week=str(week), channels=_where(plan.pending))
                    )
                ]
            return [call.answer(t("digest.already_posted", week=str(week)))]
        for _, effect in plan.effects:
            tx.emit(effect)
        said = t(
            "digest.posting",
            week=str(week),
            count=len(plan.posts),
            channels=_where(plan.posts),
            items=plan.digest.entry_count(),
        )
        return [call.answer(said)]

    async def _direct_digests(
        self,
        conn: Connection,
        community: CommunitySettings,
        digest: Digest,
        content: Content,
        texts: Catalog,
    ) -> list[tuple[str, Effect]]:
        """The digest by DM to members who asked for it and were away this week (once each:
        recorded when delivered, keyed like the channels' posts)."""
        wanting = await store.community_members_wanting_dm(conn, community.name)
        if not wanting:
            return []
        active = await store.active_members(conn, community.name, digest.starts_at, digest.ends_at)
        done = await store.posted_channels(conn, community.name, str(digest.week))
        found: list[tuple[str, Effect]] = []
        for ref in wanting:
            target = f"dm:{ref}"
            if ref in active or target in done:
                continue
            attempt = await latest_attempt(conn, post_key(community.name, digest.week, target))
            if attempt.delivered:
                continue
            member = MemberRef.parse(ref)
            prefix = self._directory.command_prefix(member.platform)
            note = texts("digest.dm_intro", prefix=prefix)
            action = SendDirect(
                member=member,
                content=Content(
                    title=content.title,
                    text=note + "\n\n" + content.text,
                    sections=content.sections,
                ),
            )
            effect = Effect(
                action=action,
                key=attempt.next_key(),
                then=POSTED_HOOK,
                args={"community": community.name, "week": str(digest.week), "target": target},
            )
            found.append((target, effect))
        return found

    async def _choose(self, call: Invocation, tx: Transaction, action: str) -> list[Action]:
        t = call.texts
        item = str(call.arguments["item"]).strip().upper()
        if item[:1] not in _ITEM_PREFIXES or not item[1:].isdigit():
            return [call.answer(t("digest.bad_item", item=item, prefix=call.prefix))]
        head, _, tail = str(call.arguments.get("reason") or "").strip().partition(" ")
        week_text: str | None = None
        if _WEEK_WORD.match(head):  # the week comes before the reason
            week_text, head = head, ""
        try:
            week = resolve_week(week_text, tx.now, call.community.zone)
        except ValueError as problem:
            return [call.answer(t("digest.bad_week", problem=str(problem)))]
        candidates = await candidates_of(
            tx.conn,
            call.community,
            week,
            texts=t,
            providers=[*self._providers, *self._contributed()],
        )
        if item not in candidates:
            return [
                call.answer(t("digest.unknown_item", item=item, week=str(week), prefix=call.prefix))
            ]
        reason = " ".join(part for part in (head, tail.strip()) if part) or None
        await store.record_choice(
            tx.conn,
            call.community.name,
            str(week),
            item,
            action,
            reason,
            str(call.author.ref),
            tx.now,
        )
        return [
            call.answer(
                t(
                    "digest.chosen",
                    action=action,
                    item=item,
                    week=str(week),
                    reason=reason or t("digest.no_reason"),
                )
            )
        ]

    async def exclude(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Leave an item out of this week's digest (recorded with who and why)."""
        return await self._choose(call, tx, "exclude")

    async def feature(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Put an item first in this week's digest (recorded with who and why)."""
        return await self._choose(call, tx, "feature")


def _where(channels: Sequence[ChannelRef]) -> str:
    return ", ".join(f"#{channel.channel} ({channel.platform})" for channel in channels)
