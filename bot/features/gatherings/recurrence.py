"""Occurrences of a gathering: a series keeps its local wall time across DST changes.

The rule is expanded in naive local wall time, then each wall time gets the zone with PEP 495
`fold=0` (like the scheduler): a wall time in the spring gap moves forward by the gap, a wall
time that happens twice in autumn is its first pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

MAX_OCCURRENCES = 1000  # never walk a series further than this in one call


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time in `zone`, as aware UTC (fold=0)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def occurrences(
    starts_at: datetime,
    zone: ZoneInfo,
    recurrence: str | None,
    start: datetime,
    end: datetime,
) -> Iterator[datetime]:
    """Occurrence starts t (aware UTC) with start <= t < end, in order."""
    if recurrence is None:
        if start <= starts_at < end:
            yield starts_at
        return
    from dateutil.rrule import rrulestr  # imported on first use: it slows every start

    first_wall = starts_at.astimezone(zone).replace(tzinfo=None)
    rule = rrulestr(recurrence, dtstart=first_wall)
    # Walk from a little before `start` in wall time (offsets differ by at most a day).
    window_start = max(first_wall, start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1))
    last: datetime | None = None
    count = 0
    wall = rule.after(window_start, inc=True)
    while wall is not None and count < MAX_OCCURRENCES:
        instant = to_utc(wall, zone)
        if instant >= end:
            return
        if instant >= start and (last is None or instant > last):
            last = instant
            count += 1
            yield instant
        wall = rule.after(wall, inc=False)


def next_occurrence(
    starts_at: datetime, zone: ZoneInfo, recurrence: str | None, after: datetime
) -> datetime | None:
    """The first occurrence starting at or after `after`, if any (within ten years)."""
    for instant in occurrences(starts_at, zone, recurrence, after, after + timedelta(days=3660)):
        return instant
    return None


def weekly_in_utc(
    starts_at: datetime, zone: ZoneInfo, recurrence: str | None, after: datetime
) -> int:
    """The interval in weeks of a series that, for the coming year, repeats exactly that many
    weeks apart in UTC (one weekday, one UTC time: what a platform's weekly rule expresses,
    Discord's `recurrence_rule`); 0 for anything else (a zone with DST, monthly, an end)."""
    if recurrence is None:
        return 0
    parts = dict(
        part.split("=", 1)
        for part in recurrence.upper().removeprefix("RRULE:").split(";")
        if "=" in part
    )
    if parts.get("FREQ") != "WEEKLY" or {"COUNT", "UNTIL"} & parts.keys():
        return 0
    if len(parts.get("BYDAY", "").split(",")) > 1:
        return 0
    interval = int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 0
    if interval not in (1, 2):
        return 0
    found = list(occurrences(starts_at, zone, recurrence, after, after + timedelta(days=366)))
    step = timedelta(weeks=interval)
    if len(found) < 2 or any(b - a != step for a, b in pairwise(found)):
        return 0
    return interval
