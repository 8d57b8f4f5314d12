"""Calendars (RFC 5545) with icalendar: one VEVENT per gathering, a series as DTSTART in its
own zone plus its RRULE (so calendar apps keep the wall time across DST), UIDs stable across
edits, SEQUENCE bumped on every edit and STATUS:CANCELLED when cancelled.

Meeting links go only into personal calendars, for gatherings the member is going to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.features.gatherings.store import GatheringRecord
from bot.features.gatherings.when import is_address

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//Facilitator//Gatherings//EN"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A gathering to put in a calendar; `where_url` only when the reader may see it."""

    gathering: GatheringRecord
    where_url: str | None = None


def _event(entry: CalendarEntry, now: datetime) -> Event:
    from icalendar import Event, vRecur

    gathering = entry.gathering
    zone = ZoneInfo(gathering.timezone)
    start = gathering.starts_at.astimezone(zone)
    event = Event()
    event.add("uid", gathering.uid)
    event.add("sequence", gathering.sequence)
    event.add("dtstamp", now)
    event.add("created", gathering.created_at)
    event.add("last-modified", gathering.updated_at)
    event.add("summary", gathering.title)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=gathering.duration_minutes))
    if gathering.recurrence:
        event.add("rrule", vRecur.from_ical(gathering.recurrence))
    description = gathering.description or ""
    if entry.where_url:
        event.add("location", entry.where_url)
        if is_address(entry.where_url):  # a plain-text place is a location, never a link
            event.add("url", entry.where_url)
            description = f"{description}\n\nJoin: {entry.where_url}".strip()
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if gathering.cancelled else "CONFIRMED")
    return event


def calendar(entries: Iterable[CalendarEntry], now: datetime, name: str) -> bytes:
    """A VCALENDAR of `entries`, with the VTIMEZONEs they use."""
    from icalendar import Calendar  # a tenth of a second to import: not at every start

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for entry in entries:
        cal.add_component(_event(entry, now))
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
