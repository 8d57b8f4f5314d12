"""Pure translation of Discord API payloads (plain JSON dicts) into core events.

Nothing here talks to the network or imports discord.py: gateway dispatches and REST history
share one message shape, so one function serves both, and tests feed recorded payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    InterestMarked,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
    Subject,
)
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

PLATFORM = "discord"
# The Edit button on a refused form's answer: "formedit:<submission id>:<command path>"; the
# platform opens the form again, so it is no button press of a command.
EDIT_PREFIX = "formedit:"
FORM_PREFIX = "form:"  # a modal's custom_id: the command path it submits (commands.py opens it)
CUSTOM_ID_LIMIT = 100


def form_custom_id(path: Sequence[str], carried: Mapping[str, str]) -> str | None:
    """A modal's custom_id: the command path and the arguments given outside the form (the
    submission a button's Finish names), or None past Discord's 100 characters."""
    custom_id = FORM_PREFIX + " ".join(path)
    if carried:
        custom_id += "?" + urlencode(carried)
    return custom_id if len(custom_id) <= CUSTOM_ID_LIMIT else None


def form_target(custom_id: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """What `form_custom_id` wrote: the command path and the carried arguments."""
    line, _, query = custom_id.removeprefix(FORM_PREFIX).partition("?")
    return tuple(line.split()), dict(parse_qsl(query, keep_blank_values=True))


DISCORD_EPOCH_MS = 1420070400000
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT(_LIMITED)

Payload = dict[str, Any]

# Neutral emoji names services use, and the characters Discord wants.
EMOJI: Mapping[str, str] = {
    "bookmark": "🔖",
    "white_check_mark": "✅",
    "check": "✅",
    "x": "❌",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "eyes": "👀",
    "wave": "👋",
    "tada": "🎉",
    "star": "⭐",
    "heart": "❤️",
    "calendar": "📅",
    "question": "❓",
    "bulb": "💡",
    "pushpin": "📌",
    "memo": "📝",
    "seedling": "🌱",
    "raised_hand": "✋",
    "hourglass": "⏳",
    "books": "📚",
    "link": "🔗",
}
_EMOJI_NAMES = {char: name for name, char in reversed(list(EMOJI.items()))}


@dataclass(frozen=True, slots=True)
class Lookup:
    """What translation needs from the live cache: who we are, role names, thread parents."""

    self_id: str
    role_name: Callable[[str, str], str | None] = lambda guild, role: None
    thread_parent: Callable[[str], str | None] = lambda channel: None


# ----------------------------------------------------------------------------- small helpers


def cursor_of(snowflake: str | int) -> str:
    """A snowflake as a sortable cursor (zero-padded to 20 digits)."""
    return f"{int(snowflake):020d}"


def snowflake_time(snowflake: str | int) -> datetime:
    """When a snowflake was made (aware UTC)."""
    millis = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, UTC)


def snowflake_after(when: datetime) -> int:
    """The smallest snowflake made at or after `when`."""
    return max(0, int(when.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def parse_time(text: str | None) -> datetime | None:
    """Discord's ISO 8601 timestamps as aware UTC datetimes."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def emoji_from_discord(emoji: Mapping[str, Any]) -> str:
    """A reaction's emoji as a neutral name (Unicode we know by name, else as given)."""
    if emoji.get("id"):
        return f"{emoji.get('name') or 'emoji'}:{emoji['id']}"
    char = str(emoji.get("name") or "")
    return _EMOJI_NAMES.get(char, _EMOJI_NAMES.get(char.replace("\ufe0f", ""), char))


def author_from(
    user: Mapping[str, Any], member: Mapping[str, Any] | None, guild_id: str | None, lookup: Lookup
) -> Author:
    """A Discord user (and guild member) as an `Author` with role ids and names."""
    roles: set[str] = set()
    if member is not None and guild_id:
        for role_id in member.get("roles") or ():
            roles.add(str(role_id))
            name = lookup.role_name(guild_id, str(role_id))
            if name:
                roles.add(name)
    nick = member.get("nick") if member else None
    name = nick or user.get("global_name") or user.get("username") or str(user["id"])
    return Author(
        ref=MemberRef(PLATFORM, "", str(user["id"])),
        name=str(name),
        is_bot=bool(user.get("bot")) or str(user["id"]) == lookup.self_id,
        roles=frozenset(roles),
    )


def _message_ref(
    channel_id: str, message_id: str, guild_id: str | None, lookup: Lookup
) -> MessageRef:
    parent = lookup.thread_parent(channel_id)
    if parent is not None:
        return MessageRef(ChannelRef(PLATFORM, guild_id or "", parent), message_id, channel_id)
    return MessageRef(ChannelRef(PLATFORM, guild_id or "", channel_id), message_id)


def channel_ref(channel_id: str, guild_id: str | None, lookup: Lookup) -> ChannelRef:
    """The channel an event belongs to (a thread's parent for thread channels)."""
    parent = lookup.thread_parent(channel_id)
    return ChannelRef(PLATFORM, guild_id or "", parent or channel_id)


# ----------------------------------------------------------------------------- inbound

_MEMBER_MESSAGE_TYPES = {0, 19}  # DEFAULT, REPLY: everything else is a system notice


def message_received(payload: Mapping[str, Any], lookup: Lookup) -> MessageReceived | None:
    """MESSAGE_CREATE (or a history entry) as `MessageReceived`; None for bots and notices."""
    if payload.get("type", 0) not in _MEMBER_MESSAGE_TYPES or payload.get("webhook_id"):
        return None
    user = payload.get("author")
    if not user:
        return None
    guild_id = payload.get("guild_id")
    author = author_from(user, payload.get("member"), guild_id, lookup)
    if author.is_bot:
        return None
    message_id = str(payload["id"])
    sent_at = parse_time(payload.get("timestamp")) or snowflake_time(message_id)
    return MessageReceived(
        key=f"discord:msg:{message_id}",
        ref=_message_ref(str(payload["channel_id"]), message_id, guild_id, lookup),
        author=author,
        text=_message_text(payload),
        sent_at=sent_at,
        cursor=cursor_of(message_id),
        is_direct=not guild_id,
    )


def _message_text(payload: Mapping[str, Any]) -> str:
    text = str(payload.get("content") or "")
    # Attachment links count as shared links too; Discord keeps them out of `content`.
    urls = [str(a["url"]) for a in payload.get("attachments") or () if a.get("url")]
    return "\n".join([text, *urls]) if urls else text


def message_edited(payload: Mapping[str, Any], lookup: Lookup) -> MessageEdited | None:
    """MESSAGE_UPDATE as `MessageEdited`; None for embed-only updates and bots."""
    edited_at = parse_time(payload.get("edited_timestamp"))
    user = payload.get("author")
    if edited_at is None or not user or "content" not in payload:
        return None
    guild_id = payload.get("guild_id")
    author = author_from(user, payload.get("member"), guild_id, lookup)
    if author.is_bot:
        return None
    message_id = str(payload["id"])
    return MessageEdited(
        key=f"discord:edit:{message_id}:{payload['edited_timestamp']}",
        ref=_message_ref(str(payload["channel_id"]), message_id, guild_id, lookup),
        author=author,
        text=_message_text(payload),
        sent_at=parse_time(payload.get("timestamp")) or snowflake_time(message_id),
        edited_at=edited_at,
    )


def message_deleted(payload: Mapping[str, Any], lookup: Lookup, now: datetime) -> MessageDeleted:
    """MESSAGE_DELETE as `MessageDeleted`."""
    message_id = str(payload["id"])
    return MessageDeleted(
        key=f"discord:del:{message_id}",
        ref=_message_ref(str(payload["channel_id"]), message_id, payload.get("guild_id"), lookup),
        deleted_at=now,
    )


def reaction(
    payload: Mapping[str, Any],
    lookup: Lookup,
    now: datetime,
    *,
    added: bool,
    delivery: str | None = None,
) -> ReactionAdded | ReactionRemoved | None:
    """MESSAGE_REACTION_ADD/REMOVE as events; None for our own and other bots' reactions.

    A member may add, remove and add the same reaction again, so the key carries the
    gateway delivery (`<session>.<seq>`, which a RESUME replays unchanged): a replay stops at
    the key while a real second add goes through. Without one, the time stands in.
    """
    user_id = str(payload["user_id"])
    member = payload.get("member")
    guild_id = payload.get("guild_id")
    user = (member or {}).get("user") or {"id": user_id}
    author = author_from(user, member, guild_id, lookup)
    if author.is_bot:
        return None
    emoji = emoji_from_discord(payload.get("emoji") or {})
    message_id = str(payload["message_id"])
    ref = _message_ref(str(payload["channel_id"]), message_id, guild_id, lookup)
    verb = "add" if added else "remove"
    key = f"discord:react:{message_id}:{user_id}:{emoji}:{verb}"
    key += f":{delivery}" if delivery else f":{int(now.timestamp() * 1000)}"
    if added:
        return ReactionAdded(key=key, message=ref, author=author, emoji=emoji, reacted_at=now)
    return ReactionRemoved(key=key, message=ref, author=author, emoji=emoji, removed_at=now)


def interest(
    payload: Mapping[str, Any],
    member: Mapping[str, Any] | None,
    lookup: Lookup,
    now: datetime,
    *,
    added: bool,
    delivery: str | None,
) -> InterestMarked | None:
    """A member marking or unmarking Interested on a scheduled event
    (GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE); `member` is their guild member, looked up
    (the dispatch carries only ids). The key is the gateway delivery's: marking, unmarking
    and marking again are three events, a replay of one is the same."""
    user_id, event_id = str(payload.get("user_id") or ""), payload.get("guild_scheduled_event_id")
    guild_id = str(payload.get("guild_id") or "")
    if not user_id or not event_id or not guild_id:
        return None
    user = (member or {}).get("user") or {"id": user_id}
    author = author_from(user, member, guild_id, lookup)
    if author.is_bot:
        return None
    change = "add" if added else "remove"
    return InterestMarked(
        key=f"discord:interest:{event_id}:{user_id}:{change}:{delivery or now.isoformat()}",
        member=author,
        channel=ChannelRef(PLATFORM, guild_id, "scheduled-events"),
        mirror_id=str(event_id),
        interested=added,
        marked_at=now,
    )


def interaction_ref(payload: Mapping[str, Any], channel: ChannelRef | None) -> InteractionRef:
    """Where to answer an interaction: `<id>:<token>`."""
    return InteractionRef(PLATFORM, f"{payload['id']}:{payload['token']}", channel)


def split_interaction_token(ref: InteractionRef) -> tuple[str, str]:
    """The interaction id and its token from an `InteractionRef` made here."""
    interaction_id, sep, token = ref.token.partition(":")
    if not sep or not interaction_id.isdigit() or not token:
        raise ValueError(f"not a Discord interaction reference: {ref.token[:20]!r}…")
    return interaction_id, token


def option_text(value: Any) -> str:
    """An option's or argument's value as it would be typed."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


USER_OPTION = 6


def _option_value(option: Mapping[str, Any]) -> str:
    """A slash command option as typed: a picked member (a USER option's id) as their
    mention, which commands read like a typed one."""
    if option.get("type") == USER_OPTION:
        return f"<@{option.get('value')}>"
    return option_text(option.get("value"))


def interaction(
    payload: Mapping[str, Any],
    lookup: Lookup,
    now: datetime,
    menus: Mapping[str, str] | None = None,
) -> CommandInvoked | ButtonPressed | None:
    """INTERACTION_CREATE (slash command, message command, button or menu pick) as an event;
    None for other kinds. `menus` maps a message command's label to the command it runs."""
    kind = payload.get("type")
    guild_id = payload.get("guild_id")
    member = payload.get("member")
    user = (member or {}).get("user") or payload.get("user")
    if not user:
        return None
    author = author_from(user, member, guild_id, lookup)
    channel_id = str(payload.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    channel = channel_ref(channel_id, guild_id, lookup)
    reply_to = interaction_ref(payload, channel)
    key = f"discord:interaction:{payload['id']}"
    data = payload.get("data") or {}
    if kind == 2 and data.get("type") == 3:  # a message command: run on its target message
        target = ((data.get("resolved") or {}).get("messages") or {}).get(
            str(data.get("target_id"))
        )
        command = (menus or {}).get(str(data.get("name", "")))
        if not target or command is None:
            return None
        target = {**target, "guild_id": guild_id}
        target_user = target.get("author") or {}
        subject = Subject(
            ref=_message_ref(
                str(target.get("channel_id") or channel_id), str(target["id"]), guild_id, lookup
            ),
            author=author_from(target_user, target.get("member"), guild_id, lookup),
            text=_message_text(target),
        )
        return CommandInvoked(
            key=key,
            path=(command,),
            author=author,
            channel=channel,
            invoked_at=now,
            reply_to=reply_to,
            options={},
            is_direct=not guild_id,
            subject=subject,
        )
    if kind == 2:
        path = [str(data.get("name", ""))]
        options = list(data.get("options") or ())
        while options and options[0].get("type") in (1, 2):  # SUB_COMMAND(_GROUP)
            path.append(str(options[0]["name"]))
            options = list(options[0].get("options") or ())
        return CommandInvoked(
            key=key,
            path=tuple(path),
            author=author,
            channel=channel,
            invoked_at=now,
            reply_to=reply_to,
            options={str(o["name"]): _option_value(o) for o in options},
            is_direct=not guild_id,
        )
    if kind == 5:  # a form (modal) submitted: the command it names, with what was typed
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(FORM_PREFIX):
            return None
        form_path, values = form_target(custom_id)
        for row in data.get("components") or ():
            for field in row.get("components") or ():
                value = str(field.get("value") or "")
                if value.strip():  # an optional field left empty is not given
                    values[str(field["custom_id"])] = value
        return CommandInvoked(
            key=key,
            path=form_path,
            author=author,
            channel=channel,
            invoked_at=now,
            reply_to=reply_to,
            options=values,
            is_direct=not guild_id,
        )
    if kind == 3:
        message = payload.get("message") or {}
        message_id = str(message.get("id") or "0")
        action = str(data.get("custom_id", ""))
        if action.startswith(EDIT_PREFIX):
            return None  # opens a form (the platform answers it), never runs a command
        if data.get("component_type") == 3:  # a select: the picked option carries the command
            picked = data.get("values") or ()
            if not picked:
                return None
            action = str(picked[0])
        return ButtonPressed(
            key=key,
            action=action,
            author=author,
            message=_message_ref(channel_id, message_id, guild_id, lookup),
            pressed_at=now,
            reply_to=reply_to,
        )
    return None


# ----------------------------------------------------------------------------- autocomplete


def chat_input(payload: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, str]] | None:
    """A slash command interaction's path and options as text (None for other kinds)."""
    data = payload.get("data") or {}
    if payload.get("type") != 2 or data.get("type", 1) != 1:
        return None
    path = [str(data.get("name", ""))]
    options = list(data.get("options") or ())
    while options and options[0].get("type") in (1, 2):
        path.append(str(options[0]["name"]))
        options = list(options[0].get("options") or ())
    return tuple(path), {str(o["name"]): option_text(o.get("value")) for o in options}


def autocomplete_focus(payload: Mapping[str, Any]) -> tuple[tuple[str, ...], str, str] | None:
    """For an autocomplete interaction: the command path, the focused option and its text."""
    data = payload.get("data") or {}
    path = [str(data.get("name", ""))]
    options = list(data.get("options") or ())
    while options and options[0].get("type") in (1, 2):
        path.append(str(options[0]["name"]))
        options = list(options[0].get("options") or ())
    for option in options:
        if option.get("focused"):
            return tuple(path), str(option["name"]), str(option.get("value") or "")
    return None


def autocomplete_caller(
    payload: Mapping[str, Any], lookup: Lookup
) -> tuple[Author, ChannelRef, bool] | None:
    """Who is typing into an autocomplete interaction, where, and whether in a DM."""
    guild_id = payload.get("guild_id")
    member = payload.get("member")
    user = (member or {}).get("user") or payload.get("user")
    if not user:
        return None
    channel_id = str(payload.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    author = author_from(user, member, guild_id, lookup)
    return author, channel_ref(channel_id, guild_id, lookup), not guild_id


def message_address(guild_id: str, channel_id: str, message_id: str) -> str:
    """A message's own address (what a reflection on a message without a link is about)."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
