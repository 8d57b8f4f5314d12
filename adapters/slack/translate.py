"""Pure translation of Slack payloads (events, slash commands, button presses) into core events.

No I/O here: the adapter looks members up and passes what it found, so every function can be
tested on recorded payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.commands import CommandTable
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
    HomeOpened,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
)
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

PLATFORM = "slack"
BUTTON_PREFIX = "facilitator:"

# Subtypes that are a member's ordinary message; every other subtype is bookkeeping.

_MESSAGE_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})

Json = dict[str, Any]
Authors = Mapping[str, Author]


# -- identities and positions ---------------------------------------------------------


def channel_ref(team: str, channel: str) -> ChannelRef:
    """A Slack channel as a core reference."""
    return ChannelRef(PLATFORM, team, channel)


def member_ref(team: str, user: str) -> MemberRef:
    """A Slack member as a core reference."""
    return MemberRef(PLATFORM, team, user)


_TS = re.compile(r"^\d{1,12}(\.\d{1,6})?$")


def is_ts(value: object) -> bool:
    """True for a well-formed Slack message timestamp such as "1790000001.000100"."""
    return isinstance(value, str) and _TS.match(value) is not None


def ts_to_cursor(ts: str) -> str:
    """A message `ts` as a string that sorts like the time it stands for."""
    seconds, _, fraction = ts.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(f"not a Slack ts: {ts!r}")
    return f"{int(seconds):012d}.{fraction:0<6}"


def cursor_to_ts(cursor: str) -> str:
    """The Slack `ts` a cursor was made from."""
    seconds, _, fraction = cursor.partition(".")
    return f"{int(seconds)}.{fraction or '000000'}"


def ts_to_datetime(ts: str) -> datetime:
    """A Slack `ts` (seconds.micros) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


def is_direct_channel(channel: str) -> bool:
    """True for a direct-message conversation id."""
    return channel.startswith("D")


def message_key(team: str, channel: str, ts: str) -> str:
    """De-duplication key of a new message.

    A message's identity, not its delivery's `event_id`: the same message may arrive by the
    Events API, by a retry, and by backfill after a restart, and must be stored once.
    """
    return f"slack:message:{team}/{channel}/{ts}"


def edit_key(team: str, channel: str, ts: str, edited_ts: str) -> str:
    """De-duplication key of an edit: the message and the edit's own time.

    Like `message_key`, it lets a live edit and the same edit found by backfill meet.
    """
    return f"slack:edit:{team}/{channel}/{ts}/{edited_ts}"


def inbound_text(text: str) -> str:
    """Slack message text with its `&amp;`, `&lt;`, `&gt;` escapes undone.

    `<url|label>`, `<@U123>` and `<#C123|name>` stay as Slack wrote them (link capture reads
    them); only the entity escapes inside and outside them are decoded.
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- inbound events -------------------------------------------------------------------


def users_in_event(body: Mapping[str, Any]) -> list[str]:
    """User ids the adapter must look up before `translate_event`."""
    event = body.get("event") or {}
    users = [event.get("user")]
    if event.get("subtype") == "message_changed":
        users.append((event.get("message") or {}).get("user"))
    return [user for user in users if isinstance(user, str) and user]


def _is_from_bot(message: Mapping[str, Any], authors: Authors) -> bool:
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return True
    author = authors.get(str(message.get("user", "")))
    return author is not None and author.is_bot


def translate_message(
    message: Mapping[str, Any], team: str, channel: str, authors: Authors
) -> MessageReceived | None:
    """A new member message (from an event or from history), or None when it is not one."""
    if message.get("subtype") not in _MESSAGE_SUBTYPES or message.get("hidden"):
        return None
    user = message.get("user")
    ts = message.get("ts")
    if not isinstance(user, str) or not isinstance(ts, str) or _is_from_bot(message, authors):
        return None
    author = authors.get(user)
    if author is None:
        return None
    thread = message.get("thread_ts")
    return MessageReceived(
        key=message_key(team, channel, ts),
        ref=MessageRef(channel_ref(team, channel), ts, thread if thread and thread != ts else None),
        author=author,
        text=inbound_text(str(message.get("text") or "")),
        sent_at=ts_to_datetime(ts),
        cursor=ts_to_cursor(ts),
        is_direct=is_direct_channel(channel) or message.get("channel_type") == "im",
    )


def translate_edit(
    message: Mapping[str, Any],
    team: str,
    channel: str,
    authors: Authors,
    *,
    fallback_key: str = "",
    when: datetime | None = None,
) -> MessageEdited | None:
    """An edited member message (from `message_changed` or from history), or None."""
    user = message.get("user")
    ts = message.get("ts")
    edited = (message.get("edited") or {}).get("ts")
    if not isinstance(user, str) or not isinstance(ts, str) or user not in authors:
        return None
    if _is_from_bot(message, authors) or not (edited or fallback_key):
        return None
    thread = message.get("thread_ts")
    return MessageEdited(
        key=edit_key(team, channel, ts, str(edited)) if edited else fallback_key,
        ref=MessageRef(channel_ref(team, channel), ts, thread if thread and thread != ts else None),
        author=authors[user],
        text=inbound_text(str(message.get("text") or "")),
        sent_at=ts_to_datetime(ts),
        edited_at=ts_to_datetime(str(edited)) if edited else (when or ts_to_datetime(ts)),
    )


def translate_event(body: Mapping[str, Any], team: str, authors: Authors) -> Event | None:
    """An Events API `event_callback` as a core event, or None when the bot ignores it."""
    event = body.get("event") or {}
    event_id = str(body.get("event_id") or "")
    key = f"slack:{event_id}"
    kind = event.get("type")
    channel = str(event.get("channel") or "")
    when = ts_to_datetime(str(event.get("event_ts") or body.get("event_time") or 0))
    if kind == "message":
        subtype = event.get("subtype")
        if subtype == "message_changed":
            new = event.get("message") or {}
            old = event.get("previous_message") or {}
            if new.get("text") == old.get("text"):
                return None  # link unfurls and reactions also send message_changed
            return translate_edit(new, team, channel, authors, fallback_key=key, when=when)
        if subtype == "message_deleted":
            old = event.get("previous_message") or {}
            if _is_from_bot(old, authors):
                return None
            ts = str(event.get("deleted_ts") or old.get("ts"))
            thread = old.get("thread_ts")
            return MessageDeleted(
                key=key,
                ref=MessageRef(
                    channel_ref(team, channel), ts, thread if thread and thread != ts else None
                ),
                deleted_at=when,
            )
        return translate_message(event, team, channel, authors)
    if kind in ("reaction_added", "reaction_removed"):
        item = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not isinstance(user, str) or user not in authors:
            return None
        if authors[user].is_bot:
            return None
        target = MessageRef(channel_ref(team, str(item.get("channel"))), str(item.get("ts")))
        emoji = str(event.get("reaction"))
        if kind == "reaction_added":
            return ReactionAdded(
                key=key, message=target, author=authors[user], emoji=emoji, reacted_at=when
            )
        return ReactionRemoved(
            key=key, message=target, author=authors[user], emoji=emoji, removed_at=when
        )
    if kind in ("member_joined_channel", "member_left_channel"):
        user = event.get("user")
        if not isinstance(user, str):
            return None
        when = ts_to_datetime(str(event.get("event_ts") or body.get("event_time") or 0))
        where = channel_ref(team, channel)
        if kind == "member_left_channel":
            return MemberLeft(key=key, member=member_ref(team, user), channel=where, left_at=when)
        author = authors.get(user)
        if author is None or author.is_bot:
            return None
        return MemberJoined(key=key, member=author, channel=where, joined_at=when)
    return None


def _mention_pattern(bot_user: str) -> re.Pattern[str]:
    return re.compile(r"^\s*<@" + re.escape(bot_user) + r"(?:\|[^>]*)?>[\s:,]*")


def mentioned_command(text: str, bot_user: str) -> str | None:
    """The command line of a message addressed to the bot (`<@UBOT> help` gives "help"), or
    None when the message does not begin with the bot's mention."""
    found = _mention_pattern(bot_user).match(text)
    if found is None or not bot_user:
        return None
    return inbound_text(text[found.end() :]).strip()


def translate_mention(
    body: Mapping[str, Any], commands: CommandTable, bot_user: str, author: Author
) -> CommandInvoked | None:
    """An `app_mention` that begins with the bot's mention as the command it names
    (`@Facilitator help`; nothing after the mention means help), answered privately."""
    event = body.get("event") or {}
    text, channel, ts = event.get("text"), event.get("channel"), event.get("ts")
    if not isinstance(text, str) or not isinstance(channel, str) or not is_ts(ts):
        return None
    if author.is_bot or event.get("bot_id"):
        return None
    line = mentioned_command(text, bot_user)
    if line is None:
        return None
    team = author.ref.space
    path, rest = command_path(commands, line)
    return CommandInvoked(
        # the message's identity: a retried event is the same request
        key=f"slack:mention:{team}/{channel}/{ts}",
        path=path,
        author=author,
        channel=channel_ref(team, channel),
        invoked_at=ts_to_datetime(str(ts)),
        reply_to=reply_ref(team, author.ref.member, channel, None),
        text=rest,
        is_direct=is_direct_channel(channel),
    )


def joined_user(body: Mapping[str, Any]) -> str | None:
    """The user id of a `team_join` event."""
    user = (body.get("event") or {}).get("user")
    found = user.get("id") if isinstance(user, Mapping) else user
    return found if isinstance(found, str) and found else None


def translate_team_join(
    body: Mapping[str, Any], author: Author, home: ChannelRef
) -> MemberJoined | None:
    """A member who joined the workspace (`team_join`), welcomed as joining `home`."""
    if author.is_bot:
        return None
    event = body.get("event") or {}
    when = ts_to_datetime(str(event.get("event_ts") or body.get("event_time") or 0))
    return MemberJoined(
        key=f"slack:team_join:{author.ref.space}/{author.ref.member}/{home.channel}",
        member=author,
        channel=home,
        joined_at=when,
    )


def translate_home_opened(body: Mapping[str, Any], author: Author) -> HomeOpened | None:
    """A member opened the app's Home tab (`app_home_opened`; the Messages tab is ignored)."""
    event = body.get("event") or {}
    channel = event.get("channel")
    if event.get("tab") != "home" or author.is_bot or not isinstance(channel, str):
        return None
    return HomeOpened(
        key=f"slack:{body.get('event_id')}",
        member=author,
        channel=channel_ref(author.ref.space, channel),
        opened_at=ts_to_datetime(str(event.get("event_ts") or body.get("event_time") or 0)),
    )


# -- interactions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What the adapter needs to answer an interaction (kept inside `InteractionRef.token`)."""

    user: str
    channel: str
    response_url: str | None = None

    def encode(self) -> str:
        """As an opaque token."""
        return json.dumps({"u": self.user, "c": self.channel, "r": self.response_url})

    @classmethod
    def decode(cls, token: str) -> ReplyTarget:
        """Read back `encode()`; raise ValueError on anything else."""
        try:
            data = json.loads(token)
            return cls(str(data["u"]), str(data["c"]), data.get("r"))
        except (ValueError, KeyError, TypeError):
            raise ValueError("not a Slack reply token") from None


def reply_ref(team: str, user: str, channel: str, response_url: str | None) -> InteractionRef:
    """Where to answer an interaction from `user` in `channel`."""
    return InteractionRef(
        PLATFORM, ReplyTarget(user, channel, response_url).encode(), channel_ref(team, channel)
    )


def command_path(commands: CommandTable, text: str) -> tuple[tuple[str, ...], str]:
    """The command path and argument text of `/facilitator <text>` (empty means help).

    Slack escapes `&`, `<` and `>` in the text as in messages; they are undone here.
    """
    if not text.strip():
        return ("help",), ""
    return commands.split_line(inbound_text(text))


def translate_command(
    payload: Mapping[str, Any], commands: CommandTable, author: Author, now: datetime
) -> CommandInvoked:
    """A slash command's form fields as a `CommandInvoked`."""
    team = str(payload.get("team_id"))
    channel = str(payload.get("channel_id"))
    path, text = command_path(commands, str(payload.get("text") or ""))
    # trigger_id is unique per invocation; without one, who and when stand in for it
    trigger = payload.get("trigger_id") or f"{author.ref.member}@{now.isoformat()}"
    return CommandInvoked(
        key=f"slack:command:{trigger}",
        path=path,
        author=author,
        channel=channel_ref(team, channel),
        invoked_at=now,
        reply_to=reply_ref(team, author.ref.member, channel, payload.get("response_url")),
        text=text,
        is_direct=is_direct_channel(channel) or payload.get("channel_name") == "directmessage",
    )


def translate_button(
    payload: Mapping[str, Any], author: Author, now: datetime
) -> ButtonPressed | None:
    """A `block_actions` payload for one of our buttons or menus as a `ButtonPressed` (a
    menu's picked option carries the command line as a button's value does)."""
    actions = payload.get("actions") or []
    action = next(
        (a for a in actions if str(a.get("action_id", "")).startswith(BUTTON_PREFIX)), None
    )
    if action is None:
        return None
    line = action.get("value") or (action.get("selected_option") or {}).get("value")
    if not line:
        return None
    team = str((payload.get("team") or {}).get("id") or author.ref.space)
    container = payload.get("container") or {}
    channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    ts = str(container.get("message_ts") or (payload.get("message") or {}).get("ts") or "")
    thread = (payload.get("message") or {}).get("thread_ts")
    reply_to = reply_ref(team, author.ref.member, channel, payload.get("response_url"))
    if not channel:
        # On the member's Home tab: no channel to answer in (the answer goes to their DM);
        # without one the outbox keeps each member's answers in a lane of their own.
        reply_to = InteractionRef(PLATFORM, reply_to.token, None)
    return ButtonPressed(
        key=f"slack:action:{payload.get('trigger_id')}:{action.get('action_ts')}",
        action=str(line),
        author=author,
        message=MessageRef(channel_ref(team, channel), ts, thread if thread != ts else None),
        pressed_at=now,
        reply_to=reply_to,
    )
