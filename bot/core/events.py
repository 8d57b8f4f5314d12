"""Inbound platform events: past-tense, frozen, platform-neutral.

Every event carries `key`, the de-duplication key of its delivery (Slack `event_id`, Discord
message id with kind and edit time, interaction id...): the dispatcher stores it in the same
transaction as the services' writes, so a replayed delivery stops there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Author:
    """Who did something, as the platform tells it."""

    ref: MemberRef
    name: str
    is_bot: bool = False
    roles: frozenset[str] = frozenset()  # platform role / user-group ids and names
    timezone: str | None = None  # the zone the platform's profile names (Slack), if any


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A member posted a message (in a channel, a thread, or a DM to the bot)."""

    key: str
    ref: MessageRef
    author: Author
    text: str
    sent_at: datetime  # aware, UTC
    cursor: str | None = None  # sortable backfill position of this message in its channel
    is_direct: bool = False
    backfilled: bool = False  # read from history by backfill, not received live


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited:
    """A member edited a message; `text` is the new text."""

    key: str
    ref: MessageRef
    author: Author
    text: str
    sent_at: datetime  # when the original was sent
    edited_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted:
    """A message was deleted."""

    key: str
    ref: MessageRef
    deleted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded:
    """A member reacted to a message."""

    key: str
    message: MessageRef
    author: Author
    emoji: str
    reacted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRemoved:
    """A member took a reaction back."""

    key: str
    message: MessageRef
    author: Author
    emoji: str
    removed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """The message a command was run on (a message's menu: Discord's message commands)."""

    ref: MessageRef
    author: Author
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked:
    """A member ran a command: `path` like ("goal", "set"); `text` is the unparsed rest.

    Platforms with typed options (Discord) fill `options` instead of `text`.
    """

    key: str
    path: tuple[str, ...]
    author: Author
    channel: ChannelRef
    invoked_at: datetime
    reply_to: InteractionRef
    text: str = ""
    options: Mapping[str, str] | None = None
    is_direct: bool = False
    subject: Subject | None = None  # run from a message's menu: that message


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPressed:
    """A member pressed a button; `action` is the command line the button stands for."""

    key: str
    action: str
    author: Author
    message: MessageRef
    pressed_at: datetime
    reply_to: InteractionRef


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined:
    """A member joined a community's space or channel."""

    key: str
    member: Author
    channel: ChannelRef
    joined_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft:
    """A member left."""

    key: str
    member: MemberRef
    channel: ChannelRef
    left_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeOpened:
    """A member opened their home page (Slack's App Home tab); `channel` is their direct
    conversation with the bot."""

    key: str
    member: Author
    channel: ChannelRef
    opened_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InterestMarked:
    """A member marked (or, `interested` False, unmarked) "Interested" on a platform's own copy
    of a live session (a Discord scheduled event the bot mirrors, `mirror_id`); `channel`
    names the space it belongs to."""

    key: str
    member: Author
    channel: ChannelRef
    mirror_id: str
    interested: bool
    marked_at: datetime


Event = (
    MessageReceived
    | MessageEdited
    | MessageDeleted
    | ReactionAdded
    | ReactionRemoved
    | CommandInvoked
    | ButtonPressed
    | MemberJoined
    | MemberLeft
    | HomeOpened
    | InterestMarked
)


def event_channel(event: Event) -> ChannelRef:
    """The channel an event happened in."""
    match event:
        case MessageReceived() | MessageEdited() | MessageDeleted():
            return event.ref.channel
        case ReactionAdded() | ReactionRemoved() | ButtonPressed():
            return event.message.channel
        case CommandInvoked() | MemberJoined() | MemberLeft() | HomeOpened() | InterestMarked():
            return event.channel


def event_time(event: Event) -> datetime:
    """When an event happened (aware UTC)."""
    match event:
        case MessageReceived():
            return event.sent_at
        case MessageEdited():
            return event.edited_at
        case MessageDeleted():
            return event.deleted_at
        case ReactionAdded():
            return event.reacted_at
        case ReactionRemoved():
            return event.removed_at
        case CommandInvoked():
            return event.invoked_at
        case ButtonPressed():
            return event.pressed_at
        case MemberJoined():
            return event.joined_at
        case MemberLeft():
            return event.left_at
        case HomeOpened():
            return event.opened_at
        case InterestMarked():
            return event.marked_at


def event_author(event: Event) -> MemberRef | None:
    """The member who caused an event, where there is one."""
    match event:
        case MessageReceived() | MessageEdited() | ReactionAdded() | ReactionRemoved():
            return event.author.ref
        case CommandInvoked() | ButtonPressed():
            return event.author.ref
        case MemberJoined() | HomeOpened() | InterestMarked():
            return event.member.ref
        case MemberLeft():
            return event.member
        case MessageDeleted():
            return None
