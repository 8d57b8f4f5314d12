"""Keeps the conversation the other services read: messages, edits, deletions, reactions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.actions import Action
from bot.core.events import (
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
)
from bot.runtime.service import Delivered, Service, Transaction
from bot.storage.messages import (
    add_messages,
    add_reactions,
    delete_messages,
    edit_message,
    remove_reaction,
)


class ConversationService(Service):
    """Stores what members say in watched channels (raw text expires after retention)."""

    name = "conversation"

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Record messages, edits, deletions and reactions of watched channels."""
        new_messages: list[dict[str, Any]] = []
        new_reactions: list[dict[str, Any]] = []
        for delivered in batch:
            event = delivered.event
            if not delivered.is_watched:
                continue
            match event:
                case MessageReceived():
                    new_messages.append(
                        {
                            "community": delivered.community.name,
                            "ref": str(event.ref),
                            "channel": str(event.ref.channel),
                            "thread": event.ref.thread,
                            "author_ref": str(event.author.ref),
                            "text": event.text,
                            "sent_at": event.sent_at,
                        }
                    )
                case MessageEdited():
                    await add_messages(tx.conn, new_messages)
                    new_messages = []
                    await edit_message(tx.conn, str(event.ref), event.text, event.edited_at)
                case MessageDeleted():
                    await add_messages(tx.conn, new_messages)
                    new_messages = []
                    await delete_messages(tx.conn, [str(event.ref)])
                case ReactionAdded():
                    new_reactions.append(
                        {
                            "community": delivered.community.name,
                            "message_ref": str(event.message),
                            "member_ref": str(event.author.ref),
                            "emoji": event.emoji,
                            "reacted_at": event.reacted_at,
                        }
                    )
                case ReactionRemoved():
                    await add_reactions(tx.conn, new_reactions)
                    new_reactions = []
                    await remove_reaction(
                        tx.conn, str(event.message), str(event.author.ref), event.emoji
                    )
        await add_messages(tx.conn, new_messages)
        await add_reactions(tx.conn, new_reactions)
        return []
