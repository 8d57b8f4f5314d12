"""What a digest is made of: sections of entries, platform-neutral and consent-filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.weeks import IsoWeek
from bot.runtime.sections import Section


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
    candidates: frozenset[str] = frozenset()  # the ids facilitators may curate this week

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
