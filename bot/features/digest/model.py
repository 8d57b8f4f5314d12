"""What a digest is made of: sections of entries, platform-neutral and consent-filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.weeks import IsoWeek


@dataclass(frozen=True, slots=True)
class Entry:
    """One item: a link, a blog post, a reflection, a question, an event."""

    key: str  # the id facilitators curate with, e.g. "L12"
    title: str
    url: str | None = None
    people: tuple[str, ...] = ()  # names of those who allow being named
    unnamed: int = 0  # how many others (who do not allow it) took part
    quotes: tuple[str, ...] = ()  # words of those who allow quoting
    detail: str = ""  # e.g. "3 reactions · 2 replies"
    featured: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and its entries."""

    kind: str  # "links", "new_voices", "blog_posts", ...
    heading: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """One community's digest for one ISO week."""

    community: str
    week: IsoWeek
    starts_at: datetime
    ends_at: datetime
    sections: tuple[Section, ...]
    removed: int
    generated_at: datetime
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        """The community's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def is_empty(self) -> bool:
        """True when the week held nothing to report."""
        return not any(section.entries for section in self.sections)

    def entry_count(self) -> int:
        """How many entries all sections hold."""
        return sum(len(section.entries) for section in self.sections)
