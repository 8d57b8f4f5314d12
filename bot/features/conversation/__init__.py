"""Conversation: every message, edit, deletion and reaction in watched channels, kept so the
other features can read what members said."""

from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.conversation.service import ConversationService


def build(kernel: Kernel) -> list[Service]:
    """The conversation's service."""
    return [ConversationService()]


FEATURE = Feature(name="conversation", build=build, member_tables=("messages", "reactions"))

__all__ = ["FEATURE", "ConversationService"]
