"""Pure translation between Discord API payloads (plain JSON dicts) and core events/actions.

Nothing here talks to the network or imports discord.py: gateway dispatches and REST history
share one message shape, so one function serves both, and tests feed recorded payloads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core import markup
from bot.core.actions import Button, Content
from bot.core.commands import CommandSpec, CommandTable, Param, ParamKind
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
)
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

PLATFORM = "discord"
DISCORD_EPOCH_MS = 1420070400000
MESSAGE_LIMIT = 2000
EMBED_TOTAL = 6000
EMBED_DESCRIPTION = 4096
EMBED_TITLE = 256
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EPHEMERAL_FLAG = 1 << 6
MAX_CHOICES = 25
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
_CUSTOM_EMOJI = re.compile(r"^<?a?:?([\w~]+):(\d+)>?$")


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


def emoji_to_discord(name: str) -> str:
    """A neutral emoji name (`bookmark`, `:tada:`) as Discord's reaction path segment."""
    bare = name.strip().strip(":") if name.strip().startswith(":") else name.strip()
    if bare in EMOJI:
        return EMOJI[bare]
    custom = _CUSTOM_EMOJI.match(name.strip())
    if custom:
        return f"{custom.group(1)}:{custom.group(2)}"
    if bare and not bare.isascii():
        return bare
    raise ValueError(
        f"unknown emoji {name!r}: use a Unicode emoji, one of {', '.join(sorted(EMOJI))}, "
        "or a custom emoji as name:id"
    )


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


def interaction_ref(payload: Mapping[str, Any], channel: ChannelRef | None) -> InteractionRef:
    """Where to answer an interaction: `<id>:<token>`."""
    return InteractionRef(PLATFORM, f"{payload['id']}:{payload['token']}", channel)


def split_interaction_token(ref: InteractionRef) -> tuple[str, str]:
    """The interaction id and its token from an `InteractionRef` made here."""
    interaction_id, sep, token = ref.token.partition(":")
    if not sep or not interaction_id.isdigit() or not token:
        raise ValueError(f"not a Discord interaction reference: {ref.token[:20]!r}…")
    return interaction_id, token


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def interaction(
    payload: Mapping[str, Any], lookup: Lookup, now: datetime
) -> CommandInvoked | ButtonPressed | None:
    """INTERACTION_CREATE (slash command or button) as an event; None for other kinds."""
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
            options={str(o["name"]): _option_text(o.get("value")) for o in options},
            is_direct=not guild_id,
        )
    if kind == 3:
        message = payload.get("message") or {}
        message_id = str(message.get("id") or "0")
        return ButtonPressed(
            key=key,
            action=str(data.get("custom_id", "")),
            author=author,
            message=_message_ref(channel_id, message_id, guild_id, lookup),
            pressed_at=now,
            reply_to=reply_to,
        )
    return None


# ----------------------------------------------------------------------------- commands

_OPTION_TYPES = {
    ParamKind.TEXT: 3,
    ParamKind.CHOICE: 3,
    ParamKind.INTEGER: 4,
    ParamKind.BOOLEAN: 5,
}


def _description(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "—"
    return first if len(first) <= 100 else first[:99] + "…"


def _option(param: Param) -> Payload:
    option: Payload = {
        "type": _OPTION_TYPES[param.kind],
        "name": param.name.lower(),
        "description": _description(param.help),
        "required": param.required,
    }
    if param.kind is ParamKind.CHOICE and len(param.choices) > MAX_CHOICES:
        option["autocomplete"] = True  # Discord lists at most 25 choices; suggest instead
    elif param.kind is ParamKind.CHOICE and param.choices:
        option["choices"] = [{"name": c, "value": c} for c in param.choices]
    return option


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


def autocomplete_choices(param: Param, typed: str) -> list[Payload]:
    """Up to 25 of a parameter's choices: those starting with `typed` first, then containing."""
    wanted = typed.strip().lower()
    starting = [c for c in param.choices if c.lower().startswith(wanted)]
    containing = [c for c in param.choices if wanted in c.lower() and c not in starting]
    return [{"name": c, "value": c} for c in (starting + containing)[:MAX_CHOICES]]


def _params(spec: CommandSpec) -> list[Payload]:
    # Discord refuses a required option after an optional one.
    ordered = sorted(spec.params, key=lambda p: not p.required)
    return [_option(p) for p in ordered]


def command_payload(spec: CommandSpec) -> Payload:
    """One neutral command as a raw CHAT_INPUT application command."""
    if spec.is_group:
        options = [
            {
                "type": 1,
                "name": sub.name,
                "description": _description(sub.help),
                "options": _params(sub),
            }
            for sub in spec.subcommands
        ]
    else:
        options = _params(spec)
    return {
        "type": 1,
        "name": spec.name,
        "description": _description(spec.help),
        "options": options,
        "contexts": [0, 1],  # guild channels and the bot's DMs
    }


def command_payloads(table: CommandTable | Iterable[CommandSpec]) -> list[Payload]:
    """Every neutral command as the body of a bulk upsert, sorted by name."""
    specs: Iterable[CommandSpec] = table
    return [command_payload(spec) for spec in sorted(specs, key=lambda s: s.name)]


def _normal(value: Any, template: Any) -> Any:
    """`value` reduced to the keys `template` has (Discord adds ids, versions, defaults)."""
    if isinstance(template, dict) and isinstance(value, dict):
        return {k: _normal(value.get(k, _DEFAULTS.get(k)), v) for k, v in template.items()}
    if isinstance(template, list) and isinstance(value, list):
        if template and len(value) == len(template):
            return [_normal(v, t) for v, t in zip(value, template, strict=True)]
        return value
    return value


_DEFAULTS: Mapping[str, Any] = {"options": [], "required": False}


def commands_differ(wanted: list[Payload], current: list[Payload]) -> bool:
    """True when the registered commands do not match what we would register."""
    by_name = {str(c.get("name")): c for c in current}
    if set(by_name) != {str(c["name"]) for c in wanted}:
        return True
    return any(_normal(by_name[str(w["name"])], w) != w for w in wanted)


def commands_hash(wanted: list[Payload]) -> str:
    """A stable hash of the command set (logged, to see when a sync happened)."""
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- rendering

_MARKDOWN_SPECIAL = re.compile(r"([\\*_~`|])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>-])(?=\s)")
_URL = re.compile(r"https?://[^\s<>]+")


def _escape_plain(text: str) -> str:
    """Member-visible plain text with Discord markdown neutralised, URLs left intact."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[position:]))
    return _LINE_START.sub(r"\1\\\2", "".join(out))


def render(text: str) -> str:
    """Neutral markup as Discord markdown; moments become `<t:UNIX:F>` / `<t:UNIX:D>`."""
    out: list[str] = []
    for span in markup.parse(text):
        match span:
            case markup.Plain():
                out.append(_escape_plain(span.text))
            case markup.Bold():
                out.append(f"**{_escape_plain(span.text)}**")
            case markup.Italic():
                out.append(f"*{_escape_plain(span.text)}*")
            case markup.Block():
                out.append(f"```\n{span.text}\n```")
            case markup.Code():
                fence = "``" if "`" in span.text else "`"
                out.append(f"{fence}{span.text}{fence}")
            case markup.Link():
                if span.label == span.url:
                    out.append(span.url)
                else:
                    label = _escape_plain(span.label.replace("[", "(").replace("]", ")"))
                    out.append(f"[{label}]({span.url})")
            case markup.Moment():
                out.append(f"<t:{span.unix}:{'D' if span.style == 'd' else 'F'}>")
    return "".join(out)


# Pieces a cut must never fall inside: blocks, masked links, bare and bracketed URLs, timestamps.
_UNBREAKABLE = re.compile(
    r"```[\s\S]*?```"  # a monospace block (a table): cut before it, never inside
    r"|\[[^\]\n]*\]\(<?https?://[^\s)]+>?\)|<https?://[^\s>]+>|https?://\S+|<t:-?\d+(?::\w)?>"
)


def chunk(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` chars, between words, never inside a link."""
    pieces: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        cut = _cut(rest, limit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            pieces.append(head)
    if rest.strip():
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int) -> int:
    guarded = [(m.start(), m.end()) for m in _UNBREAKABLE.finditer(text, 0, limit + 2048)]

    def inside(position: int) -> bool:
        return any(start < position < end for start, end in guarded)

    for separator in ("\n\n", "\n", " ", "\t"):
        position = text.rfind(separator, 0, limit + 1)
        while position > 0:
            if not inside(position):
                return position
            position = text.rfind(separator, 0, position)
    # A link longer than the limit: cut it before it starts, else between its words, and
    # only a single word longer than the limit is cut hard.
    for start, end in guarded:
        if start < limit < end and start > 0:
            return start
    position = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return position if position > 0 else limit


def _embed_size(embed: Payload) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", ()))


def _embeds(content: Content) -> list[Payload]:
    title = render(content.title)[:EMBED_TITLE] if content.title else None
    # `text` is the complete message (sections repeat part of it), so it is what the embeds
    # show; sections become fields only when there is no text.
    if content.text.strip() or not content.sections:
        embeds: list[Payload] = [
            {"description": part} for part in chunk(render(content.text), EMBED_DESCRIPTION)
        ] or [{}]
        if title:
            embeds[0]["title"] = title
        return [embed for embed in embeds if embed]
    embeds = []
    current: Payload = {"title": title} if title else {}
    for heading, body in content.sections:
        name = render(heading)[:FIELD_NAME] or "—"
        value = render(body)
        if 0 < len(value) <= FIELD_VALUE:
            fields = current.get("fields", [])
            if len(fields) >= FIELDS_PER_EMBED or (
                _embed_size(current) + len(name) + len(value) > EMBED_TOTAL
            ):
                embeds.append(current)
                current = {}
            current.setdefault("fields", []).append({"name": name, "value": value})
            continue
        if current:
            embeds.append(current)
            current = {}
        for index, part in enumerate(chunk(value, EMBED_DESCRIPTION) or [""]):
            embeds.append(
                {"title": name, "description": part} if index == 0 else {"description": part}
            )
    if current:
        embeds.append(current)
    return embeds


def _components(buttons: tuple[Button, ...]) -> list[Payload]:
    styles = {"primary": 1, "secondary": 2, "success": 3, "danger": 4}
    rows: list[Payload] = []
    for index, button in enumerate(buttons[:25]):
        if len(button.action) > 100:
            raise ValueError(
                f"button {button.label!r}: its command {button.action[:30]!r}… is longer than "
                "Discord's 100-character custom_id; shorten the command"
            )
        if index % 5 == 0:
            rows.append({"type": 1, "components": []})
        rows[-1]["components"].append(
            {
                "type": 2,
                "style": styles.get(button.style, 2),
                "label": button.label[:80],
                "custom_id": button.action,
            }
        )
    return rows


NO_MENTIONS: Payload = {"parse": []}


def message_payloads(content: Content) -> list[Payload]:
    """A `Content` as one or more message bodies within Discord's limits.

    Text is chunked at 2,000 characters; with a title or sections it goes into embeds instead
    (descriptions of up to 4,096, packed ten per message and 6,000 characters in total, the
    title on the first); buttons go on the last message. Pings are off.
    """
    bodies: list[Payload] = []
    if content.title or content.sections:
        embeds = _embeds(content)
        batch: list[Payload] = []
        size = 0
        for embed in embeds:
            if batch and (
                len(batch) == EMBEDS_PER_MESSAGE or size + _embed_size(embed) > EMBED_TOTAL
            ):
                bodies.append({"embeds": batch})
                batch, size = [], 0
            batch.append(embed)
            size += _embed_size(embed)
        if batch:
            bodies.append({"embeds": batch})
    else:
        bodies = [{"content": piece} for piece in chunk(render(content.text))]
    if not bodies:
        bodies = [{"content": "\u200b"}]  # Discord refuses an empty message
    if content.buttons:
        bodies[-1]["components"] = _components(content.buttons)
    for body in bodies:
        body["allowed_mentions"] = NO_MENTIONS
    return bodies
