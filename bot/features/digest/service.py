"""The weekly digest as a service: facilitators preview, curate and post it; it is posted
once per week and channel; members who asked get it by DM in weeks they were away."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

from bot.core.actions import Action, Button, Content, Post, SendDirect
from bot.core.clock import Clock
from bot.core.commands import CommandSpec, Param, ParamKind, Role
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.refs import ChannelRef, MemberRef, MessageRef
from bot.core.schedules import parse_rule
from bot.core.weeks import IsoWeek, last_complete_week, resolve_week
from bot.features.digest import store
from bot.features.digest.builder import build_digest, candidates_of, default_providers
from bot.features.digest.config import DigestSchedule, DigestSettings
from bot.features.digest.model import Digest
from bot.features.digest.render import to_content
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.sections import SectionProvider
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage import Connection
from bot.storage.database import Database

WEEK = Param(
    name="week", help="A week like 2026-W48, or last (the default) or this", required=False
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
        perform: Callable[[Action], Awaitable[MessageRef | None]] | None = None,
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
        self._perform = perform
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

        Each channel and each DM is one part of the run: a resumed run sends only the parts
        not recorded yet, and a channel already posted to by `/digest post` is skipped.
        """
        assert self._database is not None and self._perform is not None
        community = self._directory.settings(name)
        week = last_complete_week(context.due_at, community.zone)
        texts = self._texts(community.language)
        async with self._database.reading() as conn:
            done = await store.posted_channels(conn, name, str(week))
            digest = await self.build(conn, community, week, texts, context.due_at)
        content = to_content(digest, texts, archive_url=self.archive_link(name, week))
        for channel in self._directory.channels(name, Purpose.DIGEST):
            if str(channel) not in done:
                post = Post(channel=channel, content=content)
                await context.part(f"post:{channel}", partial(self._send, name, week, post))
        async with self._database.transaction() as conn:
            tx = Transaction(conn=conn, now=context.due_at)
            direct = await self._direct_digests(tx, community, digest, content, texts)
        for action in direct:
            assert isinstance(action, SendDirect)
            await context.part(f"dm:{action.member}", partial(self._perform, action))

    async def _send(self, community: str, week: IsoWeek, post: Post) -> MessageRef | None:
        assert self._database is not None and self._perform is not None
        assert self._clock is not None
        ref = await self._perform(post)
        async with self._database.transaction() as conn:
            now = self._clock.now()
            await store.claim_posts(conn, community, str(week), [str(post.channel)], now)
        return ref

    def add_section(self, provider: SectionProvider) -> None:
        """Let another service contribute a section (blog posts, reflections, events...)."""
        self._providers.append(provider)

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
        actions, digest = await self.post_week(tx, call.community, week, t)
        posts = [action for action in actions if isinstance(action, Post)]
        if not posts or digest is None:
            return [call.answer(t("digest.already_posted", week=str(week)))]
        where = ", ".join(f"#{post.channel.channel} ({post.channel.platform})" for post in posts)
        said = t(
            "digest.posted",
            week=str(week),
            count=len(posts),
            channels=where,
            items=digest.entry_count(),
        )
        return [*actions, call.answer(said)]

    async def post_week(
        self, tx: Transaction, community: CommunitySettings, week: IsoWeek, texts: Catalog
    ) -> tuple[list[Action], Digest | None]:
        """Post to every digest channel not yet posted to this week, and DM those who asked.

        The digest comes back too (None when every channel had it already).
        """
        channels = self._directory.channels(community.name, Purpose.DIGEST)
        if not channels:
            return [], None
        claimed = await store.claim_posts(
            tx.conn, community.name, str(week), [str(channel) for channel in channels], tx.now
        )
        if not claimed:
            return [], None
        digest = await self.build(tx.conn, community, week, texts, tx.now)
        content = to_content(digest, texts, archive_url=self.archive_link(community.name, week))
        actions: list[Action] = [
            Post(channel=ChannelRef.parse(channel), content=content) for channel in claimed
        ]
        actions.extend(await self._direct_digests(tx, community, digest, content, texts))
        return actions, digest

    async def _direct_digests(
        self,
        tx: Transaction,
        community: CommunitySettings,
        digest: Digest,
        content: Content,
        texts: Catalog,
    ) -> list[Action]:
        wanting = await store.community_members_wanting_dm(tx.conn, community.name)
        if not wanting:
            return []
        active = await store.active_members(
            tx.conn, community.name, digest.starts_at, digest.ends_at
        )
        away = [ref for ref in wanting if ref not in active]
        claimed = await store.claim_posts(
            tx.conn, community.name, str(digest.week), [f"dm:{ref}" for ref in away], tx.now
        )
        actions: list[Action] = []
        for channel in claimed:
            member = MemberRef.parse(channel.removeprefix("dm:"))
            prefix = self._directory.command_prefix(member.platform)
            note = texts("digest.dm_intro", prefix=prefix)
            actions.append(
                SendDirect(
                    member=member,
                    content=Content(
                        title=content.title,
                        text=note + "\n\n" + content.text,
                        sections=content.sections,
                    ),
                )
            )
        return actions

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
