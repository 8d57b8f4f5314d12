"""Suggestions while a member types an argument that names a thing (a session, a link, a
zone): a `Param` says which source it `suggests` from, features provide the sources, and
each adapter shows them natively (Discord autocomplete). The typed form never needs them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.events import Author
from bot.core.refs import ChannelRef

MAX_SUGGESTIONS = 25  # Discord's ceiling; no platform shows more usefully
MAX_LABEL = 100  # Discord's ceiling for a choice's name


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One thing to offer: `value` is what the command reads (the typed id, `L12`), `label`
    what a member reads."""

    value: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SuggestionRequest:
    """A member is typing an argument whose `Param.suggests` is `source`."""

    source: str
    typed: str
    author: Author
    channel: ChannelRef
    is_direct: bool = False


def label(*parts: str) -> str:
    """A readable label from parts joined by " · ", cut to MAX_LABEL characters with "…"."""
    text = " · ".join(" ".join(part.split()) for part in parts if part and part.strip())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def matching(typed: str, *fields: str) -> bool:
    """Whether every word typed appears in one of the fields (case-insensitive)."""
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in typed.lower().split())
