"""The home page's publishing: on opening it, and after a member's command or button press
or someone's reaction or reply to their message (their week's "who engaged" changed), only
for members who opened theirs in the last 30 days (both built after the batch commits);
a session created, moved or cancelled refreshes every such page of its community, since each
lists the upcoming sessions.

A publish is an outbox row (`views.publish` is not an acknowledgement: nothing waits for it
within 3 s, and it must survive a restart like any effect). At most one is on its way per
member: a change meanwhile marks the page stale, and the row's confirmation writes one more
with the page as it is then, so a burst of changes costs two publishes, not one each. The
Slack adapter spaces one member's publishes by 10 s. The refresh after a command is built in
a transaction of its own after the command's commit (a page built before would miss what the
command changed); a crash in between loses only that publish, and the next opening shows the
page as it is. A digest post changes nobody's page but the poster's own: everyone else sees
the new digest when they next open theirs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.core.actions import Action, HomePage, Panel, PublishHome
from bot.core.communities import CommunityDirectory
from bot.core.events import (
    ButtonPressed,
    CommandInvoked,
    HomeOpened,
    MessageReceived,
    ReactionAdded,
)
from bot.core.i18n import Catalog
from bot.core.refs import MemberRef, MessageRef
from bot.features.home import store
from bot.features.home.page import DigestContent, HomeRequest, build_home
from bot.runtime.outbox import Effect
from bot.runtime.service import Delivered, Runner, Service, Transaction
from bot.storage import Connection

PUBLISHED = "home.published"
OPENED_WITHIN = timedelta(days=30)  # a page not opened for this long is not kept up to date
EVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Change:
    member_ref: str
    forgetting: bool  # `/forget-me confirm`: their page must be emptied, not rebuilt


# Commands that change a community's sessions, as typed (`/event …` is the old name of the
# facilitators' half): every recent page of that community lists them.
_SESSION_CHANGES = frozenset({"create", "confirm", "edit", "cancel"})


def _sessions_changed(batch: Sequence[Delivered]) -> set[str]:
    """Communities in which the batch created, confirmed, edited or cancelled a session."""
    found: set[str] = set()
    for delivered in batch:
        event = delivered.event
        if isinstance(event, CommandInvoked):
            words = [*event.path, *event.text.split()[:1]]
        elif isinstance(event, ButtonPressed):
            words = event.action.split()[:2]
        else:
            continue
        if len(words) >= 2 and words[0] in ("host", "event") and words[1] in _SESSION_CHANGES:
            found.add(delivered.community.name)
    return found


def _engagements(batch: Sequence[Delivered]) -> list[store.Engagement]:
    """Reactions and thread replies in the batch: each changes who engaged with someone's
    message (the owners are looked up only among recent pages)."""
    found: list[store.Engagement] = []
    for delivered in batch:
        event = delivered.event
        if isinstance(event, ReactionAdded):
            message = event.message
            found.append(
                store.Engagement(str(message.channel), message.message, str(event.author.ref))
            )
        elif isinstance(event, MessageReceived) and not event.is_direct:
            ref = event.ref
            if ref.thread:
                by = str(event.author.ref)
                found.append(store.Engagement(str(ref.channel), ref.thread, by))
    return found


def _changes(batch: Sequence[Delivered]) -> dict[str, _Change]:
    found: dict[str, _Change] = {}
    for delivered in batch:
        event = delivered.event
        if isinstance(event, CommandInvoked):
            line = " ".join(event.path) + " " + event.text
        elif isinstance(event, ButtonPressed):
            line = event.action
        else:
            continue
        ref = str(event.author.ref)
        words = line.split()
        forgetting = words[:2] == ["forget-me", "confirm"]
        found[ref] = _Change(ref, forgetting or (ref in found and found[ref].forgetting))
    return found


class HomeService(Service):
    """Publishes each member's home page when they open it and after their changes."""

    name = "home"
    sees_commands = True

    def __init__(
        self,
        *,
        directory: CommunityDirectory,
        texts: Callable[[str], Catalog],
        run: Runner,
        digest: DigestContent | None,
    ) -> None:
        self._directory = directory
        self._texts = texts
        self._run = run
        self._digest = digest

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Publish the page of who opened it; refresh, after the commit, the pages of who
        changed something."""
        changes = _changes(batch)
        forgetting = [ref for ref, change in changes.items() if change.forgetting]
        if forgetting:
            # Only a page the member has (opened once) needs emptying; read before the
            # command erases the row.
            kept = {v.member_ref for v in await store.viewers(tx.conn, forgetting, EVER)}
            for ref in forgetting:
                if ref not in kept:
                    changes[ref] = _Change(ref, forgetting=False)
        for delivered in batch:
            event = delivered.event
            if isinstance(event, HomeOpened):
                ref = str(event.member.ref)
                community = delivered.community.name
                # (the dispatcher judges an event's `author`; opening a page is no action)
                facilitator = self._directory.is_facilitator(community, event.member)
                await store.record_open(tx.conn, ref, community, facilitator, tx.now)
                changes.setdefault(ref, _Change(ref, forgetting=False))
        engagements = _engagements(batch)
        if engagements:
            since = tx.now - OPENED_WITHIN
            for owner in await store.engaged_owners(tx.conn, engagements, since):
                changes.setdefault(owner, _Change(owner, forgetting=False))
        communities = _sessions_changed(batch)
        if changes or communities:
            # The page is built after the commit, in a transaction of its own: it shows what
            # the batch changed, and the batch's transaction stays short.
            tx.after_commit(partial(self._refresh, changes, communities))
        return []

    async def _refresh(self, changes: Mapping[str, _Change], communities: set[str]) -> None:
        async def work(tx: Transaction) -> list[Action]:
            since = tx.now - OPENED_WITHIN
            found = await store.viewers(tx.conn, list(changes), since)
            listed = {viewer.member_ref for viewer in found}
            for community in sorted(communities):
                for viewer in await store.community_viewers(tx.conn, community, since):
                    if viewer.member_ref not in listed and viewer.member_ref not in changes:
                        listed.add(viewer.member_ref)
                        found.append(viewer)
            for viewer in found:
                await self._publish(tx, viewer)
            shown = {viewer.member_ref for viewer in found}
            for change in changes.values():
                if change.forgetting and change.member_ref not in shown:
                    self._empty(tx, change.member_ref)
            return []

        await self._run(work)

    def _empty(self, tx: Transaction, member_ref: str) -> None:
        """After `/forget-me`: the page keeps nothing of theirs (it may be stale on Slack)."""
        member = MemberRef.parse(member_ref)
        prefix = self._directory.command_prefix(member.platform)
        texts = self._texts(self._directory.communities[0].language)
        page = HomePage(
            title=texts("home.forgotten_title"),
            panels=(
                Panel(
                    heading=texts("home.forgotten_heading"),
                    text=texts("home.forgotten", prefix=prefix),
                ),
            ),
        )
        tx.emit(Effect(action=PublishHome(member=member, page=page), member=member_ref))

    async def _page(self, conn: Connection, viewer: store.Viewer, now: datetime) -> HomePage:
        member = MemberRef.parse(viewer.member_ref)
        community = self._directory.settings(viewer.community)
        request = HomeRequest(
            member_ref=viewer.member_ref,
            community=community,
            is_facilitator=viewer.facilitator,
            texts=self._texts(community.language),
            prefix=self._directory.command_prefix(member.platform),
            now=now,
        )
        return await build_home(conn, request, directory=self._directory, digest=self._digest)

    def _effect(self, viewer: store.Viewer, page: HomePage) -> Effect:
        return Effect(
            action=PublishHome(member=MemberRef.parse(viewer.member_ref), page=page),
            then=PUBLISHED,
            args={"member": viewer.member_ref},
            member=viewer.member_ref,
        )

    async def _publish(self, tx: Transaction, viewer: store.Viewer) -> None:
        """Write a publish of the viewer's page, unless one is on its way (then it is stale)."""
        if viewer.community not in self._directory.names:
            return  # a community no longer configured
        if await store.claim_publish(tx.conn, viewer.member_ref, tx.now):
            tx.emit(self._effect(viewer, await self._page(tx.conn, viewer, tx.now)))

    async def published(
        self, conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
    ) -> Sequence[Effect] | None:
        """A publish was confirmed: when the page changed meanwhile, publish it again."""
        viewer = await store.finish_publish(conn, str(args["member"]), now)
        if viewer is None or viewer.community not in self._directory.names:
            return None
        return [self._effect(viewer, await self._page(conn, viewer, now))]
