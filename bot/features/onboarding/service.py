"""Welcoming newcomers once per community: when they join (where the platform says so) or
when they first speak (where joins are not visible), by direct message, else in the channel.
With `[communities.members] introductions = true` the welcome also invites them into an
introductions thread, which the bot opens once per channel.

The welcome asks whether the digest may quote the newcomer (quotes are off until they say
yes). Members the bot knew before that question existed, who never answered it, are asked
once by DM on their next contribution or command; asking is recorded apart from answering
(`consents.asked_at`), so it never counts as a yes.

The welcome is an outbox row written with the batch that found the newcomer, in their DM
lane, before anything else the batch says to them; when the DM is refused for good, its
`on_park` posts it in the channel instead, next in that lane. The answer to a command that
was the newcomer's first contact is delivered in that lane too, after the welcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.core.actions import Action, Answer, Button, Content, Post, SendDirect
from bot.core.clock import Clock
from bot.core.communities import CommunityDirectory
from bot.core.events import Author, ButtonPressed, CommandInvoked, MemberJoined, MessageReceived
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.features.members import QUOTES, MemberSupportSettings, claim_asks, withdraw_ask
from bot.features.nudges import NudgeSettings
from bot.features.onboarding import store
from bot.runtime.outbox import Effect, direct_lane, latest_attempt
from bot.runtime.service import Delivered, Service, Transaction
from bot.storage import Connection
from bot.storage.members import get_members

log = logging.getLogger(__name__)


RECENT = timedelta(days=1)  # older messages (backfill) never trigger a welcome
NEW_MEMBER = timedelta(seconds=5)  # first seen this recently: the bot has never seen them
THREAD_OPENED = "onboarding.thread_opened"


async def _settle(settled: set[tuple[str, str]], keys: set[tuple[str, str]]) -> None:
    settled.update(keys)


async def thread_opened(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """Remember the introductions thread the platform opened (it is opened once)."""
    if ref is None:
        return
    community, channel = str(args["community"]), str(args["channel"])
    await store.record_community_thread(conn, community, "introductions", channel, ref.message, now)


def _changing_settings(batch: Sequence[Delivered]) -> set[str]:
    """Members who run `/settings` (typed, or by a button) in this batch."""
    found: set[str] = set()
    for delivered in batch:
        event = delivered.event
        if isinstance(event, CommandInvoked):
            name = event.path[0] if event.path else ""
        elif isinstance(event, ButtonPressed):
            name = event.action.split(" ", 1)[0]
        else:
            continue
        if name == "settings":
            found.add(str(event.author.ref))
    return found


QUOTES_ASKED = "onboarding.quotes_asked"  # the outbox hook of the quoting question's DM


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

    def __init__(self, *, directory: CommunityDirectory, clock: Clock) -> None:
        self._clock = clock
        self._settled: set[tuple[str, str]] = set()  # (community, member) never to check again
        self._asked: set[str] = set()  # members whose quoting question is settled (cache)
        # Members whose DM with the question was refused: asked again privately, in the
        # answer to their next command (this process only; another asks by DM once more).
        self._unreachable: set[str] = set()
        self._directory = directory

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Find newcomers in the batch and welcome each once."""
        wanted: dict[tuple[str, str], tuple[Delivered, ChannelRef, str]] = {}
        speakers: list[tuple[Delivered, Author, ChannelRef]] = []
        asked: dict[tuple[str, str], list[InteractionRef]] = {}  # commands in this batch
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
            elif isinstance(event, CommandInvoked | ButtonPressed) and (
                (delivered.community.name, str(event.author.ref)) not in self._settled
                or str(event.author.ref) in self._unreachable
            ):
                channel = (
                    event.channel if isinstance(event, CommandInvoked) else event.message.channel
                )
                speakers.append((delivered, event.author, channel))
                key = (delivered.community.name, str(event.author.ref))
                asked.setdefault(key, []).append(event.reply_to)
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
                elif str(author.ref) in self._unreachable:
                    if key in asked:  # a command: its private answer can ask
                        known_before.setdefault(str(author.ref), delivered)
                elif str(author.ref) not in self._asked:
                    known_before.setdefault(str(author.ref), delivered)
            # Whether welcomed now or known before, speaking again never welcomes: once this
            # commits, skip the lookup for these members (a cache of this process only).
            tx.after_commit(partial(_settle, self._settled, checked))
            tx.after_commit(partial(_note, self._asked, {ref for _, ref in checked}))
        by_community: dict[str, list[str]] = {}
        for community, member_ref in wanted:
            by_community.setdefault(community, []).append(member_ref)
        opened: set[ChannelRef] = set()
        for community, refs in by_community.items():
            fresh = await store.claim_welcomes(tx.conn, community, refs, tx.now)
            # The welcome asks about quoting only those never asked nor answering before (a
            # member welcomed in a second community has been asked already).
            ask = await claim_asks(tx.conn, QUOTES, sorted(fresh), tx.now)
            for member_ref in refs:
                known_before.pop(member_ref, None)
                if member_ref not in fresh:
                    continue
                delivered, channel, name = wanted[(community, member_ref)]
                member = MemberRef.parse(member_ref)
                await self._welcome(
                    tx, delivered, member, channel, name, opened, ask_quotes=member_ref in ask
                )
                # Nothing the batch answers them comes before the welcome: same lane, after.
                for interaction in asked.get((community, member_ref), ()):
                    tx.answer_in_lane(interaction, direct_lane(member))
        # A member whose batch holds a /settings command is answering already: not asked now.
        for member_ref in _changing_settings(batch):
            known_before.pop(member_ref, None)
        if known_before:
            for member_ref in await claim_asks(tx.conn, QUOTES, sorted(known_before), tx.now):
                delivered = known_before[member_ref]
                interactions = asked.get((delivered.community.name, member_ref), [])
                self._ask(tx, delivered, MemberRef.parse(member_ref), interactions)
        return []

    def _ask(
        self,
        tx: Transaction,
        delivered: Delivered,
        member: MemberRef,
        interactions: Sequence[InteractionRef],
    ) -> None:
        """Ask a member the bot knew before whether the digest may quote them: by DM, or in
        the private answer to their command once a DM was refused."""
        texts = delivered.texts
        prefix = self._directory.command_prefix(member.platform)
        text = texts("onboarding.quotes_ask_known", community=delivered.community.name)
        content = Content(
            text=text + "\n\n" + texts("onboarding.quotes_ask", prefix=prefix),
            buttons=quote_buttons(texts),
        )
        if str(member) in self._unreachable and interactions:
            self._unreachable.discard(str(member))
            tx.emit(Answer(to=interactions[0], content=content))
            return
        # A refused DM withdraws the question (`question_refused`): it never reached them.
        tx.emit(
            Effect(
                action=SendDirect(member=member, content=content),
                then=QUOTES_ASKED,
                args={"member": str(member)},
            )
        )

    async def question_refused(
        self, conn: Connection, args: Mapping[str, Any], now: datetime
    ) -> None:
        """The quoting question's DM failed for good: the member was not asked after all."""
        member = str(args["member"])
        await withdraw_ask(conn, QUOTES, member)
        self._asked.discard(member)
        self._unreachable.add(member)

    async def _introductions(
        self, tx: Transaction, community: str, texts: Catalog, home: ChannelRef
    ) -> None:
        """Open the introductions thread in `home` unless it is open or being opened."""
        channel = str(home)
        if await store.community_thread(tx.conn, community, "introductions", channel):
            return
        attempt = await latest_attempt(tx.conn, f"onboarding:introductions:{community}:{home}")
        if attempt.pending or attempt.delivered:
            return
        post = Post(
            channel=home,
            content=Content(text=texts("onboarding.introductions_post")),
            start_thread=texts("onboarding.introductions_thread"),
        )
        tx.emit(
            Effect(
                action=post,
                key=attempt.next_key(),
                then=THREAD_OPENED,
                args={"community": community, "channel": channel},
            )
        )

    async def _welcome(
        self,
        tx: Transaction,
        delivered: Delivered,
        member: MemberRef,
        channel: ChannelRef,
        name: str,
        opened: set[ChannelRef],
        *,
        ask_quotes: bool = True,
    ) -> None:
        """The welcome by DM; posted in the channel when the DM is refused for good."""
        community, texts = delivered.community.name, delivered.texts
        settings = self._directory.settings(community)
        prefix = self._directory.command_prefix(member.platform)
        lines = [texts("onboarding.welcome", community=community, prefix=prefix)]
        home = self._directory.home_channel(community, member.platform)
        if settings.section(MemberSupportSettings).introductions and home is not None:
            if home not in opened:
                opened.add(home)
                await self._introductions(tx, community, texts, home)
            lines.append(texts("onboarding.introductions_invite", channel=home.channel))
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
        mention = texts("onboarding.welcome_in_channel", name=escape(name))
        in_channel = Post(channel=channel, content=Content(text=mention + "\n\n" + content.text))
        tx.emit(Effect(action=SendDirect(member=member, content=content), on_park=in_channel))
