"""Welcoming newcomers once per community: when they join (where the platform says so) or
when they first speak (where joins are not visible), by direct message, else in the channel.
With `[communities.members] introductions = true` the welcome also invites them into an
introductions thread, which the bot opens once per channel.

The welcome asks whether the digest may quote the newcomer (quotes are off until they say
yes). Members the bot knew before that question existed, who never answered it, are asked
once by DM on their next contribution or command; asking is recorded apart from answering
(`consents.asked_at`), so it never counts as a yes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

from bot.core.actions import Action, Button, Content, Post, SendDirect
from bot.core.clock import Clock
from bot.core.communities import CommunityDirectory
from bot.core.events import Author, ButtonPressed, CommandInvoked, MemberJoined, MessageReceived
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import ChannelRef, MemberRef
from bot.features.members import QUOTES, MemberSupportSettings, answered, claim_asks, withdraw_ask
from bot.features.nudges import NudgeSettings
from bot.features.onboarding import store
from bot.runtime.service import Delivered, Perform, Service, Transaction, send_direct
from bot.storage.database import Database
from bot.storage.members import get_members

log = logging.getLogger(__name__)


RECENT = timedelta(days=1)  # older messages (backfill) never trigger a welcome
NEW_MEMBER = timedelta(seconds=5)  # first seen this recently: the bot has never seen them


async def _settle(settled: set[tuple[str, str]], keys: set[tuple[str, str]]) -> None:
    settled.update(keys)


async def _note(asked: set[str], refs: set[str]) -> None:
    asked.update(refs)


def quote_buttons(texts: Catalog) -> tuple[Button, ...]:
    """Yes and No to quoting: each the `/settings` command it stands for."""
    return (
        Button(label=texts("onboarding.quotes_yes"), action="settings quotes=on"),
        Button(label=texts("onboarding.quotes_no"), action="settings quotes=off"),
    )


class OnboardingService(Service):
    """Welcomes each member once per community."""

    name = "onboarding"
    sees_commands = True  # a member whose first contact is a command is a newcomer too

    def __init__(
        self, *, database: Database, directory: CommunityDirectory, perform: Perform, clock: Clock
    ) -> None:
        self._clock = clock
        self._settled: set[tuple[str, str]] = set()  # (community, member) never to check again
        self._asked: set[str] = set()  # members whose quoting question is settled (cache)
        self._database = database
        self._directory = directory
        self._perform = perform

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Find newcomers in the batch and welcome each once; ask members who never said
        whether they may be quoted, once."""
        wanted: dict[tuple[str, str], tuple[Delivered, ChannelRef, str]] = {}
        speakers: list[tuple[Delivered, Author, ChannelRef]] = []
        for delivered in batch:
            event = delivered.event
            if not delivered.community.section(MemberSupportSettings).welcome:
                continue
            if isinstance(event, MemberJoined) and not event.member.is_bot:
                key = (delivered.community.name, str(event.member.ref))
                wanted.setdefault(key, (delivered, event.channel, event.member.name))
            elif (
                isinstance(event, MessageReceived)
                and delivered.is_watched
                and not event.is_direct
                and tx.now - event.sent_at < RECENT
                and (delivered.community.name, str(event.author.ref)) not in self._settled
            ):
                speakers.append((delivered, event.author, event.ref.channel))
            elif (
                isinstance(event, CommandInvoked | ButtonPressed)
                and (delivered.community.name, str(event.author.ref)) not in self._settled
            ):
                channel = (
                    event.channel if isinstance(event, CommandInvoked) else event.message.channel
                )
                speakers.append((delivered, event.author, channel))
        # Members the bot knew before who may never have been asked about quotes (they were
        # here before quoting needed a yes): asked once, by DM, on their next contribution.
        known_before: dict[str, Delivered] = {}
        if speakers:
            known = await get_members(tx.conn, [str(a.ref) for _, a, _ in speakers])
            checked: set[tuple[str, str]] = set()
            for delivered, author, channel in speakers:
                key = (delivered.community.name, str(author.ref))
                checked.add(key)
                record = known.get(str(author.ref))
                if record is not None and tx.now - record.first_seen_at < NEW_MEMBER:
                    wanted.setdefault(key, (delivered, channel, author.name))
                elif str(author.ref) not in self._asked:
                    known_before.setdefault(str(author.ref), delivered)
            # Whether welcomed now or known before, speaking again never welcomes: once this
            # commits, skip the lookup for these members (a cache of this process only).
            tx.after_commit(partial(_settle, self._settled, checked))
            asked = {ref for _, ref in checked}
            tx.after_commit(partial(_note, self._asked, asked))
        by_community: dict[str, list[str]] = {}
        for community, member_ref in wanted:
            by_community.setdefault(community, []).append(member_ref)
        for community, refs in by_community.items():
            fresh = await store.claim_welcomes(tx.conn, community, refs, tx.now)
            # The welcome asks about quoting only those never asked nor answering before (a
            # member welcomed in a second community has been asked already).
            ask = await claim_asks(tx.conn, QUOTES, sorted(fresh), tx.now)
            for member_ref in refs:
                known_before.pop(member_ref, None)
                if member_ref in fresh:
                    delivered, channel, name = wanted[(community, member_ref)]
                    member = MemberRef.parse(member_ref)
                    welcome = self._welcomer(delivered, member, channel, name, member_ref in ask)
                    # Before the batch's actions: nothing reaches a newcomer before the welcome.
                    tx.after_commit(welcome, first=True)
        if known_before:
            for member_ref in await claim_asks(tx.conn, QUOTES, sorted(known_before), tx.now):
                delivered = known_before[member_ref]
                tx.after_commit(partial(self._ask, delivered, MemberRef.parse(member_ref)))
        return []

    async def _ask(self, delivered: Delivered, member: MemberRef) -> None:
        """Ask a member the bot knew before whether the digest may quote them (after the
        batch's answers, and not if a command in it answered already)."""
        async with self._database.reading() as conn:
            if await answered(conn, QUOTES, [str(member)]):
                return
        texts = delivered.texts
        prefix = self._directory.command_prefix(member.platform)
        text = texts("onboarding.quotes_ask_known", community=delivered.community.name)
        content = Content(
            text=text + "\n\n" + texts("onboarding.quotes_ask", prefix=prefix),
            buttons=quote_buttons(texts),
        )
        action = SendDirect(member=member, content=content)
        sent = await send_direct(self._perform, action, "the question about quotes")
        if sent is None:  # it never reached them: ask again after the next start
            async with self._database.transaction() as conn:
                await withdraw_ask(conn, QUOTES, str(member))

    def _welcomer(
        self, delivered: Delivered, member: MemberRef, channel: ChannelRef, name: str, ask: bool
    ) -> Callable[[], Awaitable[None]]:
        async def welcome() -> None:
            await self.welcome(
                delivered.community.name, delivered.texts, member, channel, name, ask_quotes=ask
            )

        return welcome

    async def _introductions(self, community: str, texts: Catalog, home: ChannelRef) -> None:
        """Open the introductions thread in `home` unless it is open already."""
        async with self._database.reading() as conn:
            if await store.community_thread(conn, community, "introductions", str(home)):
                return
        post = Post(
            channel=home,
            content=Content(text=texts("onboarding.introductions_post")),
            start_thread=texts("onboarding.introductions_thread"),
        )
        ref = await self._perform(post)
        if ref is None:
            return
        async with self._database.transaction() as conn:
            await store.record_community_thread(
                conn, community, "introductions", str(home), ref.message, self._clock.now()
            )

    async def welcome(
        self,
        community: str,
        texts: Catalog,
        member: MemberRef,
        channel: ChannelRef,
        name: str,
        *,
        ask_quotes: bool = True,
    ) -> None:
        """Send the welcome by DM; post it in the channel when the DM cannot be sent."""
        settings = self._directory.settings(community)
        prefix = self._directory.command_prefix(member.platform)
        lines = [texts("onboarding.welcome", community=community, prefix=prefix)]
        home = self._directory.home_channel(community, member.platform)
        if settings.section(MemberSupportSettings).introductions and home is not None:
            try:
                await self._introductions(community, texts, home)
                lines.append(texts("onboarding.introductions_invite", channel=home.channel))
            except Exception:
                log.exception("could not open the introductions thread in %s", home)
        buttons: tuple[Button, ...] = ()
        if ask_quotes:
            # Quoting is asked, not assumed: both answers are one press (or one typed command).
            lines.append(texts("onboarding.quotes_ask", prefix=prefix))
            buttons = quote_buttons(texts)
        if settings.section(NudgeSettings).enabled:
            # Saying yes is talking to the bot: on Discord that is what allows nudges by DM.
            lines.append(texts("nudges.welcome_offer", prefix=prefix))
            buttons += (Button(label=texts("nudges.welcome_button"), action="nudges on"),)
        content = Content(text="\n\n".join(lines), buttons=buttons)
        try:
            await self._perform(SendDirect(member=member, content=content))
        except Exception:
            log.info("could not DM the welcome to %s; posting it in %s", member, channel)
            mention = texts("onboarding.welcome_in_channel", name=escape(name))
            await self._perform(
                Post(channel=channel, content=Content(text=mention + "\n\n" + content.text))
            )
