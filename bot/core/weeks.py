"""ISO weeks in a community's time zone: what a digest covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.suggestions import Suggestion, label, matching

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO year and week number, e.g. 2026-W48."""

    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Read `2026-W48`; raise ValueError with the expected form."""
        match = _WEEK.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a week; write it like 2026-W48")
        year, week = int(match.group(1)), int(match.group(2))
        # Reports read weeks before it and digests the week after: stay clear of the
        # calendar's ends (year 1 and 9999), where those dates do not exist.
        if not 1970 <= year <= 9998:
            raise ValueError(f"{year} is out of range; write a year from 1970 to 9998")
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {week}") from None
        return cls(year, week)

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> IsoWeek:
        """The week a moment falls in, in `zone`."""
        year, week, _ = moment.astimezone(zone).isocalendar()
        return cls(year, week)

    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    def sunday(self) -> date:
        """The week's last day."""
        return self.monday() + timedelta(days=6)

    def days_text(self) -> str:
        """The week's days as a community reads them, e.g. "Mon 30 Nov – Sun 6 Dec 2026".

        Days, not moments: a week is Monday to Sunday in its community's zone, so turning its
        UTC bounds back into dates (in UTC or a reader's zone) would shift it by a day.
        """
        first, last = self.monday(), self.sunday()
        return f"{first:%a} {first.day} {first:%b} – {last:%a} {last.day} {last:%b %Y}"

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Local Monday 00:00 to the next Monday 00:00, as aware UTC."""
        start = datetime.combine(self.monday(), time(0), zone)
        end = datetime.combine(self.monday() + timedelta(days=7), time(0), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def previous(self) -> IsoWeek:
        """The week before."""
        year, week, _ = (self.monday() - timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)

    def next(self) -> IsoWeek:
        """The week after."""
        year, week, _ = (self.monday() + timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)


def last_complete_week(now: datetime, zone: ZoneInfo) -> IsoWeek:
    """The latest week that has fully ended at `now` in `zone`."""
    return IsoWeek.containing(now, zone).previous()


def resolve_week(text: str | None, now: datetime, zone: ZoneInfo) -> IsoWeek:
    """`None`/"last" is the last complete week, "this" the current one, else `2026-W48`."""
    if text is None or text.strip().lower() in ("", "last"):
        return last_complete_week(now, zone)
    if text.strip().lower() in ("this", "current"):
        return IsoWeek.containing(now, zone)
    return IsoWeek.parse(text)


def suggest_weeks(
    typed: str, now: datetime, zone: ZoneInfo, *, this_first: bool = False, count: int = 12
) -> list[Suggestion]:
    """Weeks to pick: "last" and "this" (in the order the command defaults to), then the
    weeks before, newest first, each with its days; those matching what was typed."""
    current = IsoWeek.containing(now, zone)
    named = [("this", current), ("last", current.previous())]
    if not this_first:
        named.reverse()
    found = [Suggestion(word, label(f"{word} ({week})", week.days_text())) for word, week in named]
    week = current.previous()
    for _ in range(count):
        week = week.previous()
        found.append(Suggestion(str(week), label(str(week), week.days_text())))
    return [s for s in found if matching(typed.replace("-", " "), s.value, s.label)]
