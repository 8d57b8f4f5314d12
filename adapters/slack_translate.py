"""Pure translation between Slack payloads and core events, and core content to Block Kit.

No I/O here: the adapter looks members up and passes what it found, so every function can be
tested on recorded payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core import markup
from bot.core.actions import Button, Content
from bot.core.commands import CommandSpec, CommandTable, ParamKind
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
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
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK = 3000
BUTTON_PREFIX = "facilitator:"
MODAL_CALLBACK = "facilitator_command"

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
    """A `block_actions` payload for one of our buttons as a `ButtonPressed`."""
    actions = payload.get("actions") or []
    action = next(
        (a for a in actions if str(a.get("action_id", "")).startswith(BUTTON_PREFIX)), None
    )
    if action is None or not action.get("value"):
        return None
    team = str((payload.get("team") or {}).get("id") or author.ref.space)
    container = payload.get("container") or {}
    channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    ts = str(container.get("message_ts") or (payload.get("message") or {}).get("ts") or "")
    thread = (payload.get("message") or {}).get("thread_ts")
    return ButtonPressed(
        key=f"slack:action:{payload.get('trigger_id')}:{action.get('action_ts')}",
        action=str(action["value"]),
        author=author,
        message=MessageRef(channel_ref(team, channel), ts, thread if thread != ts else None),
        pressed_at=now,
        reply_to=reply_ref(team, author.ref.member, channel, payload.get("response_url")),
    )


# -- modals for commands with many arguments ------------------------------------------


def wants_modal(spec: CommandSpec, text: str) -> bool:
    """True when a command with two or more required arguments was given none."""
    return not text.strip() and sum(param.required for param in spec.params) >= 2


def _plain(text: str, limit: int) -> Json:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text}


def command_modal(
    path: Sequence[str], spec: CommandSpec, *, channel: str, response_url: str | None
) -> Json:
    """A modal asking for a command's arguments; its submission runs the command."""
    blocks: list[Json] = []
    for param in spec.params[: MAX_BLOCKS - 1]:
        element: Json
        if param.kind in (ParamKind.CHOICE, ParamKind.BOOLEAN):
            choices = param.choices if param.kind is ParamKind.CHOICE else ("on", "off")
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": [{"text": _plain(c, 75), "value": c} for c in choices[:100]],
            }
        elif param.kind is ParamKind.INTEGER:
            element = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
        else:
            element = {"type": "plain_text_input", "action_id": "value", "multiline": param.rest}
        blocks.append(
            {
                "type": "input",
                "block_id": param.name,
                "label": _plain(param.name.replace("_", " "), 2000),
                "hint": _plain(param.help, 2000),
                "optional": not param.required,
                "element": element,
            }
        )
    metadata = json.dumps({"path": list(path), "channel": channel, "response_url": response_url})
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": _plain("/" + " ".join(path), 24),
        "submit": _plain("Run", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


_QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"))


class ModalError(ValueError):
    """A form field that cannot become a command argument; `field` names its block."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _quoted(field: str, value: str) -> str:
    for opening, closing in _QUOTE_PAIRS:
        if opening not in value and closing not in value:
            return f"{opening}{value}{closing}"
    raise ModalError(field, "This uses every kind of quote mark; remove some of them.")


def modal_submission(
    payload: Mapping[str, Any], commands: CommandTable
) -> tuple[tuple[str, ...], str, str, str | None]:
    """A submitted command modal as (path, argument text, channel, response_url).

    Raises `ModalError` for a value that cannot be written as an argument.
    """
    view = payload.get("view") or {}
    metadata = json.loads(str(view.get("private_metadata") or "{}"))
    path = tuple(str(part) for part in metadata.get("path") or ())
    spec = commands.resolve(path).spec
    state = (view.get("state") or {}).get("values") or {}
    words: list[str] = []
    for param in spec.params:
        entry = (state.get(param.name) or {}).get("value") or {}
        value = entry.get("value")
        if value is None and entry.get("selected_option"):
            value = entry["selected_option"].get("value")
        if value is None or value == "":
            continue
        words.append(f"{param.name}={_quoted(param.name, str(value))}")
    return path, " ".join(words), str(metadata.get("channel") or ""), metadata.get("response_url")


# -- outbound rendering ---------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link_url(url: str) -> str:
    # Slack writes `&` in link targets as `&amp;` itself; `|`, `<`, `>` and spaces would end it
    return (
        url.replace("&", "&amp;")
        .replace("|", "%7C")
        .replace("<", "%3C")
        .replace(">", "%3E")
        .replace(" ", "%20")
    )


def _moment(span: markup.Moment) -> str:
    when = datetime.fromtimestamp(span.unix, UTC)
    if span.style == "d":
        return f"<!date^{span.unix}^{{date_short_pretty}}|{when:%Y-%m-%d}>"
    return f"<!date^{span.unix}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def _wrapped(text: str, mark: str) -> str:
    # mrkdwn has no escape for its own delimiters: text containing one is left unformatted
    if not text.strip() or mark in text:
        return escape(text)
    return f"{mark}{escape(text)}{mark}"


def render_mrkdwn(text: str) -> str:
    """Neutral markup as Slack mrkdwn."""
    out: list[str] = []
    for span in markup.parse(text):
        match span:
            case markup.Plain():
                out.append(escape(span.text))
            case markup.Bold():
                out.append(_wrapped(span.text, "*"))
            case markup.Italic():
                out.append(_wrapped(span.text, "_"))
            case markup.Block():
                out.append(f"```{escape(span.text)}```")
            case markup.Code():
                out.append(_wrapped(span.text, "`"))
            case markup.Link():
                if span.is_bare:
                    out.append(f"<{_link_url(span.url)}>")
                else:
                    out.append(f"<{_link_url(span.url)}|{escape(span.label)}>")
            case markup.Moment():
                out.append(_moment(span))
    return "".join(out)


def _safe_cut(text: str, limit: int) -> int:
    """Where to cut `text` at most `limit` long: at a line, a space, never inside an entity."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    cut = window.rfind("\n")
    if cut < limit // 2:
        cut = max(cut, window.rfind(" "))
    if cut < limit // 2:
        cut = limit
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.find(">", opening, cut) == -1 and opening > 0:
        cut = opening
    amp = text.rfind("&", 0, cut)
    if amp != -1 and ";" not in text[amp:cut] and cut - amp < 8 and amp > 0:
        cut = amp
    if text.count("```", 0, cut) % 2:  # inside a monospace block: cut before it opens
        fence = text.rfind("```", 0, cut)
        if fence > 0:
            cut = fence
    return cut


def split_mrkdwn(text: str, limit: int = MAX_SECTION) -> list[str]:
    """Split mrkdwn into pieces of at most `limit` characters, never inside `<…>` or `&…;`."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut = _safe_cut(rest, limit)
        piece, rest = rest[:cut], rest[cut:]
        if piece.strip():
            pieces.append(piece.rstrip())
        rest = rest.lstrip("\n") if rest.startswith("\n") else rest.lstrip(" ")
    return pieces


def _button(button: Button, index: int) -> Json:
    if len(button.action) > MAX_BUTTON_VALUE:
        raise ValueError(f"button {button.label!r}: its command is over {MAX_BUTTON_VALUE} chars")
    element: Json = {
        "type": "button",
        "action_id": f"{BUTTON_PREFIX}{index}",
        "text": _plain(markup.to_plain(button.label), MAX_BUTTON_LABEL),
        "value": button.action,
    }
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message to send: notification text and its blocks."""

    text: str
    blocks: list[Json]


def content_blocks(content: Content) -> list[Json]:
    """Every block of a content, in order, each within Slack's per-block limits."""
    blocks: list[Json] = []
    if content.title:
        blocks.append(
            {"type": "header", "text": _plain(markup.to_plain(content.title), MAX_HEADER)}
        )
    blocks.extend(_section(piece) for piece in split_mrkdwn(render_mrkdwn(content.text)))
    for heading, body in content.sections:
        rendered = f"*{escape(markup.to_plain(heading))}*\n{render_mrkdwn(body)}"
        blocks.extend(_section(piece) for piece in split_mrkdwn(rendered))
    buttons = [_button(button, index) for index, button in enumerate(content.buttons)]
    for start in range(0, len(buttons), MAX_ACTION_ELEMENTS):
        blocks.append({"type": "actions", "elements": buttons[start : start + MAX_ACTION_ELEMENTS]})
    return blocks


def _fallback(blocks: Sequence[Json]) -> str:
    texts = []
    for block in blocks:
        if block["type"] in ("section", "header"):
            texts.append(block["text"]["text"])
    text = "\n".join(texts) or " "
    return text if len(text) <= MAX_FALLBACK else text[: _safe_cut(text, MAX_FALLBACK - 1)] + "…"


def render_content(content: Content) -> list[SlackMessage]:
    """A content as one or more Slack messages, each within the 50-block limit."""
    blocks = content_blocks(content)
    if not blocks:
        blocks = [_section(" ")]
    messages = []
    for start in range(0, len(blocks), MAX_BLOCKS):
        chunk = blocks[start : start + MAX_BLOCKS]
        messages.append(SlackMessage(_fallback(chunk), chunk))
    return messages
