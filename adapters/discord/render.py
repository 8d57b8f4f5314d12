"""Rendering core content for Discord: neutral markup as markdown, embeds, buttons, message
bodies within Discord's limits, and emoji names (pure: no network, no discord.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from adapters.discord.translate import EMOJI
from bot.core import markup
from bot.core.actions import Button, Content, Menu

MESSAGE_LIMIT = 2000
EMBED_TOTAL = 6000
EMBED_DESCRIPTION = 4096
EMBED_TITLE = 256
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EPHEMERAL_FLAG = 1 << 6

Payload = dict[str, Any]

_CUSTOM_EMOJI = re.compile(r"^<?a?:?([\w~]+):(\d+)>?$")


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


# A registered command's id by how texts write it ("goal set", "seek"): a code span naming
# one becomes a command mention, `</goal set:ID>`, which members click to start typing it.
Mentions = Mapping[str, str]


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _mention(text: str, mentions: Mentions) -> str | None:
    """A code span like `/goal set <what>` as `</goal set:ID> `<what>``, if it names a
    registered command."""
    if not mentions or not text.startswith("/"):
        return None
    words = text[1:].split(" ")
    for size in (2, 1):
        path = " ".join(words[:size]).lower()
        if len(words) >= size and path in mentions:
            rest = " ".join(words[size:]).strip()
            return f"</{path}:{mentions[path]}>" + (f" {_code(rest)}" if rest else "")
    return None


def render(text: str, mentions: Mentions | None = None) -> str:
    """Neutral markup as Discord markdown; moments become `<t:UNIX:F>` / `<t:UNIX:D>`, and
    code spans that name a registered command (`mentions`) become command mentions."""
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
                out.append(_mention(span.text, mentions or {}) or _code(span.text))
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
    r"|</[^<>\n]+:\d+>"  # a command mention
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


def _embeds(content: Content, mentions: Mentions | None) -> list[Payload]:
    title = render(content.title)[:EMBED_TITLE] if content.title else None
    # `text` is the complete message (sections repeat part of it), so it is what the embeds
    # show; sections become fields only when there is no text.
    if content.text.strip() or not content.sections:
        embeds: list[Payload] = [
            {"description": part}
            for part in chunk(render(content.text, mentions), EMBED_DESCRIPTION)
        ] or [{}]
        if title:
            embeds[0]["title"] = title
        return [embed for embed in embeds if embed]
    embeds = []
    current: Payload = {"title": title} if title else {}
    for heading, body in content.sections:
        name = render(heading)[:FIELD_NAME] or "—"
        value = render(body, mentions)
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


ROWS_PER_MESSAGE = 5  # Discord: five action rows, five buttons or one select each
BUTTONS_PER_ROW = 5
MENU_PREFIX = "menu:"  # a select's custom_id; the picked option's value is its command line
EDIT_LABEL = "Edit"  # the button that opens a refused form again, filled in
CUSTOM_ID_LIMIT = 100
MENU_PLACEHOLDER = 150
OPTION_LABEL = 100


def _command_id(what: str, label: str, action: str) -> str:
    if len(action) > 100:
        raise ValueError(
            f"{what} {label!r}: its command {action[:30]!r}… is longer than "
            "Discord's 100-character custom_id; shorten the command"
        )
    return action


def _select_row(index: int, menu: Menu) -> Payload:
    options = [
        {
            "label": option.label[:OPTION_LABEL] or "—",
            "value": _command_id("menu option", option.label, option.action),
            **({"default": True} if option.chosen else {}),
        }
        for option in menu.options
    ]
    select = {
        "type": 3,
        "custom_id": f"{MENU_PREFIX}{index}",
        "placeholder": menu.placeholder[:MENU_PLACEHOLDER],
        "options": options,
    }
    return {"type": 1, "components": [select]}


def _components(buttons: tuple[Button, ...], menus: tuple[Menu, ...] = ()) -> list[Payload]:
    """Menus first, a row each; then buttons, five to a row, in the rows left."""
    styles = {"primary": 1, "secondary": 2, "success": 3, "danger": 4}
    rows: list[Payload] = [_select_row(index, menu) for index, menu in enumerate(menus)]
    room = (ROWS_PER_MESSAGE - len(rows)) * BUTTONS_PER_ROW
    for index, button in enumerate(buttons[:room]):
        if index % BUTTONS_PER_ROW == 0:
            rows.append({"type": 1, "components": []})
        rows[-1]["components"].append(
            {
                "type": 2,
                "style": styles.get(button.style, 2),
                "label": button.label[:80],
                "custom_id": _command_id("button", button.label, button.action),
            }
        )
    return rows


NO_MENTIONS: Payload = {"parse": []}


def message_payloads(content: Content, mentions: Mentions | None = None) -> list[Payload]:
    """A `Content` as one or more message bodies within Discord's limits.

    Text is chunked at 2,000 characters; with a title or sections it goes into embeds instead
    (descriptions of up to 4,096, packed ten per message and 6,000 characters in total, the
    title on the first); menus and buttons go on the last message. Pings are off. Commands
    are named as mentions, unless that takes more messages than naming them as code.
    """
    plain = _payloads(content, None)
    if not mentions:
        return plain
    mentioned = _payloads(content, mentions)
    return mentioned if len(mentioned) <= len(plain) else plain


def _payloads(content: Content, mentions: Mentions | None) -> list[Payload]:
    bodies: list[Payload] = []
    if content.title or content.sections:
        embeds = _embeds(content, mentions)
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
        bodies = [{"content": piece} for piece in chunk(render(content.text, mentions))]
    if not bodies:
        bodies = [{"content": "\u200b"}]  # Discord refuses an empty message
    if content.buttons or content.menus:
        bodies[-1]["components"] = _components(content.buttons, content.menus)
    for body in bodies:
        body["allowed_mentions"] = NO_MENTIONS
    return bodies


def multipart_form(body: Payload, content: Content) -> list[dict[str, Any]]:
    """A message body and the content's attachment as multipart form fields."""
    attachment = content.attachment
    assert attachment is not None
    listed = [{"id": 0, "filename": attachment.filename}]
    if "data" in body:  # an interaction callback wraps the message in `data`
        payload = {**body, "data": {**body["data"], "attachments": listed}}
    else:
        payload = {**body, "attachments": listed}
    return [
        {"name": "payload_json", "value": json.dumps(payload)},
        {
            "name": "files[0]",
            "value": attachment.data,
            "filename": attachment.filename,
            "content_type": attachment.mime_type,
        },
    ]
