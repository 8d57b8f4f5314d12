"""Rendering core content as terminal text (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core import Content, markup


def content(content: Content, zone: ZoneInfo, first_button: int = 1) -> str:
    """Content as terminal text: title in capitals, sections, then menus' options and
    buttons numbered from `first_button` with their command (an option is pressed as a
    button is; the chosen one is marked ✓)."""
    parts: list[str] = []
    if content.title:
        parts.append(markup_text(content.title, zone).upper())
    parts.append(markup_text(content.text, zone))
    if not content.text.strip():  # the text is the whole message; sections repeat part of it
        for heading, body in content.sections:
            parts.append(f"— {markup_text(heading, zone)} —\n{markup_text(body, zone)}")
    number = first_button
    for menu in content.menus:
        parts.append(f"  {markup_text(menu.placeholder, zone)}:")
        for option in menu.options:
            mark = " ✓" if option.chosen else ""
            parts.append(f"    [button {number}: {option.label}{mark} → /{option.action}]")
            number += 1
    for index, button in enumerate(content.buttons, number):
        parts.append(f"  [button {index}: {button.label} → /{button.action}]")
    return "\n".join(part for part in parts if part)


def markup_text(text: str, zone: ZoneInfo) -> str:
    """Neutral markup as plain text; moments in `zone`."""
    out: list[str] = []
    for span in markup.parse(text):
        match span:
            case markup.Plain() | markup.Bold() | markup.Italic() | markup.Code():
                out.append(span.text)
            case markup.Block():
                out.append(span.text)
            case markup.Link():
                out.append(span.label if span.is_bare else f"{span.label} <{span.url}>")
            case markup.Moment():
                local = datetime.fromtimestamp(span.unix, zone)
                shown = "%a %d %b %Y" if span.style == "d" else "%a %d %b %Y %H:%M %Z"
                out.append(local.strftime(shown))
    return "".join(out)
