"""Conversation: every message, edit, deletion and reaction in watched channels, kept so the
other features can read what members said."""

from bot.features.conversation.service import ConversationService
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """The conversation's service."""
    return [ConversationService()]


FEATURE = Feature(name="conversation", build=build, member_tables=("messages", "reactions"))

__all__ = ["FEATURE", "ConversationService"]
