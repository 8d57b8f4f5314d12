"""Rendering core content for Slack: neutral markup as mrkdwn, Block Kit sections and buttons,
split within Slack's limits, with a plain-text fallback (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.slack.translate import BUTTON_PREFIX
from bot.core import markup
from bot.core.actions import Button, Content, HomePage, Menu

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100  # a Home tab view holds at most 100 blocks
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150

Json = dict[str, Any]


def plain_text(text: str, limit: int) -> Json:
    """A Block Kit plain_text object, cut to `limit` characters."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text}


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
        "text": plain_text(markup.to_plain(button.label), MAX_BUTTON_LABEL),
        "value": button.action,
    }
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _menu(menu: Menu, index: int) -> Json:
    """A menu as a section naming it, with a static select beside: picking runs the option's
    command line, as a button's value does."""
    options = []
    for option in menu.options:
        if len(option.action) > MAX_OPTION_VALUE:
            raise ValueError(f"menu option {option.label!r}: its command is over 150 chars")
        options.append(
            {
                "text": plain_text(markup.to_plain(option.label), MAX_OPTION_TEXT),
                "value": option.action,
            }
        )
    select: Json = {
        "type": "static_select",
        "action_id": f"{BUTTON_PREFIX}menu{index}",
        "placeholder": plain_text(markup.to_plain(menu.placeholder), MAX_PLACEHOLDER),
        "options": options,
    }
    chosen = [options[i] for i, option in enumerate(menu.options) if option.chosen]
    if chosen:
        select["initial_option"] = chosen[0]
    text = f"*{escape(markup.to_plain(menu.placeholder))}*"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, "accessory": select}


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
            {"type": "header", "text": plain_text(markup.to_plain(content.title), MAX_HEADER)}
        )
    blocks.extend(_section(piece) for piece in split_mrkdwn(render_mrkdwn(content.text)))
    # `text` is the complete message (sections repeat part of it, as on Discord): sections
    # become blocks of their own only when there is no text.
    for heading, body in () if content.text.strip() else content.sections:
        rendered = f"*{escape(markup.to_plain(heading))}*\n{render_mrkdwn(body)}"
        blocks.extend(_section(piece) for piece in split_mrkdwn(rendered))
    blocks.extend(_menu(menu, index) for index, menu in enumerate(content.menus))
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


# -- the App Home ---------------------------------------------------------------------


def home_view(page: HomePage) -> Json:
    """A member's home page as a Home tab view: a header per panel, its text, its buttons;
    within the 100-block limit (a panel that does not fit whole is left out, so none is cut
    in the middle)."""
    blocks: list[Json] = [
        {"type": "header", "text": plain_text(markup.to_plain(page.title), MAX_HEADER)}
    ]
    index = 0  # action ids are unique across the view
    for panel in page.panels:
        part: list[Json] = [
            {"type": "divider"},
            {"type": "header", "text": plain_text(markup.to_plain(panel.heading), MAX_HEADER)},
        ]
        part.extend(_section(piece) for piece in split_mrkdwn(render_mrkdwn(panel.text)))
        buttons = []
        for button in panel.buttons:
            buttons.append(_button(button, index))
            index += 1
        for start in range(0, len(buttons), MAX_ACTION_ELEMENTS):
            part.append(
                {"type": "actions", "elements": buttons[start : start + MAX_ACTION_ELEMENTS]}
            )
        if len(blocks) + len(part) > MAX_HOME_BLOCKS:
            break
        blocks.extend(part)
    return {"type": "home", "blocks": blocks}
