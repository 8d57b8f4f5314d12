"""The neutral markup services write and adapters translate.

Services write `**bold**`, `_italic_`, `` `code` ``, `[label](https://url)` and `<t:UNIX>` (a
moment, shown in each reader's own zone; `<t:UNIX:d>` for the date alone), and lines fenced by
three backticks (on lines of their own) for a monospace block, e.g. tables beside charts.
Member-supplied text goes through `escape()` first so it cannot inject markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plain:
    """Literal text."""

    text: str


@dataclass(frozen=True, slots=True)
class Bold:
    """Strong text."""

    text: str


@dataclass(frozen=True, slots=True)
class Italic:
    """Emphasised text."""

    text: str


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code (commands, ids)."""

    text: str


@dataclass(frozen=True, slots=True)
class Block:
    """Preformatted lines shown in a monospace font (tables)."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A labelled link."""

    label: str
    url: str

    @property
    def is_bare(self) -> bool:
        """True when the label is just the URL (show it once)."""
        decoded = self.url.replace("%28", "(").replace("%29", ")").replace("%20", " ")
        return self.label in (self.url, decoded)


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time: `style` is "f" (date and time) or "d" (date)."""

    unix: int
    style: str = "f"


Span = Plain | Bold | Italic | Code | Block | Link | Moment

_TOKEN = re.compile(
    r"(?m:^```\n(?P<block>[\s\S]*?)\n```$)"
    r"|\\(?P<escaped>[\\*_`\[\]<>()])"
    r"|\*\*(?P<bold>(?:\\.|[^*\\])+?)\*\*"
    r"|(?<![\w])_(?P<italic>(?:\\.|[^_\\])+?)_(?![\w])"
    r"|`(?P<code>[^`]+)`"
    r"|\[(?P<label>(?:\\.|[^\]\\])+)\]\((?P<url>https?://[^\s)]+)\)"
    r"|<t:(?P<unix>-?\d+)(?::(?P<style>[fd]))?>"
)
_ESCAPABLE = re.compile(r"([\\*_`\[\]<>()])")
_UNESCAPE = re.compile(r"\\([\\*_`\[\]<>()])")


def block(lines: str) -> str:
    """Lines shown as a monospace block (three backticks inside are broken up)."""
    return "```\n" + lines.replace("```", "`\u200b``") + "\n```"


def escape(text: str) -> str:
    """Make member text safe to embed in markup."""
    return _ESCAPABLE.sub(r"\\\1", text)


def link(label: str, url: str) -> str:
    """A safe `[label](url)`: the label escaped, parentheses and spaces in the URL encoded."""
    safe_url = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    return f"[{escape(label)}]({safe_url})"


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def parse(text: str) -> list[Span]:
    """Split markup into spans; anything that is not markup stays plain."""
    spans: list[Span] = []
    plain: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        plain.append(text[position : match.start()])
        position = match.end()
        if match.group("escaped") is not None:
            plain.append(match.group("escaped"))
            continue
        if plain and "".join(plain):
            spans.append(Plain("".join(plain)))
        plain = []
        if match.group("block") is not None:
            spans.append(Block(match.group("block")))
        elif match.group("bold") is not None:
            spans.append(Bold(_unescape(match.group("bold"))))
        elif match.group("italic") is not None:
            spans.append(Italic(_unescape(match.group("italic"))))
        elif match.group("code") is not None:
            spans.append(Code(match.group("code")))
        elif match.group("url") is not None:
            spans.append(Link(_unescape(match.group("label")), match.group("url")))
        else:
            spans.append(Moment(int(match.group("unix")), match.group("style") or "f"))
    plain.append(text[position:])
    if "".join(plain):
        spans.append(Plain("".join(plain)))
    return spans


def to_plain(text: str) -> str:
    """Markup reduced to plain text (times in UTC): for logs, files and fallbacks."""
    from datetime import UTC, datetime

    out: list[str] = []
    for span in parse(text):
        match span:
            case Plain() | Bold() | Italic() | Code() | Block():
                out.append(span.text)
            case Link():
                out.append(span.label if span.is_bare else f"{span.label} ({span.url})")
            case Moment():
                moment = datetime.fromtimestamp(span.unix, UTC)
                out.append(
                    moment.strftime("%Y-%m-%d" if span.style == "d" else "%Y-%m-%d %H:%M UTC")
                )
    return "".join(out)
