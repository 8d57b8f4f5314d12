"""Link capture: every http(s) link members share is stored once per community, with one
share per member and message, and acknowledged with a reaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.core.actions import Action, React
from bot.core.events import MessageDeleted, MessageEdited, MessageReceived
from bot.core.refs import MessageRef
from bot.core.urls import FoundLink, clean_text, extract_links
from bot.features.links.config import LinkSettings
from bot.features.links.store import (
    NewShare,
    record_shares,
    remove_orphan_links,
    remove_shares,
    shares_of_message,
)
from bot.runtime.service import Delivered, Service, Transaction
from bot.storage import Connection
from bot.storage.members import get_members
from bot.storage.messages import delete_messages

log = logging.getLogger(__name__)

CONTEXT_CHARS = 140


def context_around(text: str, link: FoundLink) -> str:
    """The words around a link, so a digest can say why it was shared."""
    if len(text) <= 2 * CONTEXT_CHARS:
        return text
    start = max(0, link.start - CONTEXT_CHARS)
    end = min(len(text), link.end + CONTEXT_CHARS)
    snippet = text[start:end]
    return ("…" if start else "") + snippet + ("…" if end < len(text) else "")


class LinkService(Service):
    """Captures, de-duplicates and acknowledges shared links."""

    name = "links"

    async def forget_member(self, conn: Connection, member_ref: str) -> None:
        """A forgotten member's links that nobody else shared go too."""
        await remove_orphan_links(conn)

    def __init__(
        self,
        settings: LinkSettings,
        on_new_links: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_new_links = on_new_links

    def _shares(
        self, delivered: Delivered, event: MessageReceived | MessageEdited
    ) -> list[NewShare]:
        return [
            NewShare(
                community=delivered.community.name,
                canonical_url=link.canonical,
                url=link.url,
                member_ref=str(event.author.ref),
                message_ref=str(event.ref),
                channel=str(event.ref.channel),
                context=context_around(clean_text(event.text), link),
                shared_at=event.sent_at,
            )
            for link in extract_links(event.text)
        ]

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Store shares from new and edited messages; drop those of deleted messages."""
        new: list[NewShare] = []
        messages: dict[str, MessageRef] = {}
        for delivered in batch:
            event = delivered.event
            if not delivered.is_watched:
                continue
            if isinstance(event, MessageReceived):
                new.extend(self._shares(delivered, event))
                messages[str(event.ref)] = event.ref
            elif isinstance(event, MessageEdited):
                messages[str(event.ref)] = event.ref
                wanted = self._shares(delivered, event)
                before = set(await shares_of_message(tx.conn, str(event.ref)))
                gone = before - {share.canonical_url for share in wanted}
                await remove_shares(tx.conn, str(event.ref), gone)
                new.extend(share for share in wanted if share.canonical_url not in before)
            elif isinstance(event, MessageDeleted):
                await delete_messages(tx.conn, [str(event.ref)])
        if any(isinstance(d.event, MessageEdited | MessageDeleted) for d in batch):
            await remove_orphan_links(tx.conn)
        stored = await record_shares(tx.conn, new)
        if stored and self._on_new_links is not None:
            notify, urls = self._on_new_links, sorted({share.canonical_url for share in new})

            async def describe() -> None:
                notify(urls)

            tx.after_commit(describe)
        if not stored or not self._settings.react:
            return []
        sharers = await get_members(tx.conn, [share.member_ref for share in stored])
        acknowledged: dict[str, None] = {}
        for share in stored:
            member = sharers.get(share.member_ref)
            if member is None or member.link_reactions:
                acknowledged.setdefault(share.message_ref)
        return [React(message=messages[ref], emoji=self._settings.reaction) for ref in acknowledged]
