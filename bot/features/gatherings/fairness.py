"""Fair times: rank candidate slots by how many members are awake for the whole session, and
propose a rotation so the same zones do not always take the inconvenient slot.

Pure functions over (member, zone) pairs; the service turns them into text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Person:
    """A member with a known zone; `name` is None when they do not allow being named."""

    ref: str
    zone: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Waking:
    """Local waking hours; `end` before `start` means the window crosses midnight."""

    start: time = time(8, 0)
    end: time = time(21, 0)

    @classmethod
    def parse(cls, start: str, end: str) -> Waking:
        """From "HH:MM" texts."""
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def _minute_inside(self, minute: int) -> bool:
        low = self.start.hour * 60 + self.start.minute
        high = self.end.hour * 60 + self.end.minute
        if low < high:
            return low <= minute <= high
        return minute >= low or minute <= high

    def covers(self, start: datetime, duration: timedelta, zone: ZoneInfo) -> bool:
        """True when the whole session [start, start + duration] is inside waking hours."""
        first = start.astimezone(zone)
        last = (start + duration).astimezone(zone)
        if (last.date() - first.date()).days > 1:
            return False
        if first.date() != last.date():
            # Crossing local midnight is only awake when the window itself crosses it.
            low = self.start.hour * 60 + self.start.minute
            high = self.end.hour * 60 + self.end.minute
            if low < high:
                return False
        # Check every quarter hour and the end: waking windows are whole minutes.
        step = timedelta(minutes=15)
        moment = start
        while moment < start + duration:
            local = moment.astimezone(zone)
            if not self._minute_inside(local.hour * 60 + local.minute):
                return False
            moment += step
        return self._minute_inside(last.hour * 60 + last.minute)


@dataclass(frozen=True, slots=True)
class Slot:
    """A candidate start with who is inside and outside their waking hours."""

    start: datetime  # aware UTC
    inside: tuple[Person, ...]
    outside: tuple[Person, ...]

    @property
    def score(self) -> int:
        """How many members are awake for all of it."""
        return len(self.inside)


def evaluate(
    start: datetime, duration: timedelta, people: Sequence[Person], waking: Waking
) -> Slot:
    """Who is awake for a session starting at `start`."""
    inside: list[Person] = []
    outside: list[Person] = []
    for person in people:
        awake = waking.covers(start, duration, ZoneInfo(person.zone))
        (inside if awake else outside).append(person)
    return Slot(start, tuple(inside), tuple(outside))


def candidates(after: datetime, days: int, slot_minutes: int) -> list[datetime]:
    """Slot starts on a UTC grid of `slot_minutes`, from `after` for `days` days."""
    base = after.astimezone(UTC).replace(second=0, microsecond=0)
    step = timedelta(minutes=slot_minutes)
    minutes = base.hour * 60 + base.minute
    first = base + timedelta(minutes=(-minutes) % slot_minutes)
    if first <= after:
        first += step
    count = days * 24 * 60 // slot_minutes
    return [first + step * index for index in range(count)]


def rank_slots(
    people: Sequence[Person],
    *,
    after: datetime,
    days: int,
    duration: timedelta,
    waking: Waking,
    slot_minutes: int = 30,
    limit: int = 5,
    spacing: timedelta = timedelta(hours=2),
) -> list[Slot]:
    """The best `limit` slots: most members awake first, then earliest; slots at least
    `spacing` apart so the list offers real alternatives."""
    scored = [
        evaluate(start, duration, people, waking) for start in candidates(after, days, slot_minutes)
    ]
    scored.sort(key=lambda slot: (-slot.score, slot.start))
    chosen: list[Slot] = []
    for slot in scored:
        if all(abs(slot.start - other.start) >= spacing for other in chosen):
            chosen.append(slot)
        if len(chosen) >= limit:
            break
    return chosen


@dataclass(frozen=True, slots=True)
class Rotation:
    """Times of day to take turns with, and how often each zone is outside its waking hours."""

    slots: tuple[Slot, ...]
    burden: dict[str, int]  # zone -> how many of the rotation's slots are outside for it

    @property
    def worst(self) -> float:
        """The largest share of the rotation any zone spends outside its waking hours."""
        if not self.burden or not self.slots:
            return 0.0
        return max(self.burden.values()) / len(self.slots)


def _burden(slots: Sequence[Slot], zones: Sequence[str]) -> dict[str, int]:
    burden = dict.fromkeys(zones, 0)
    for slot in slots:
        for zone in {person.zone for person in slot.outside}:
            burden[zone] += 1
    return burden


def rotation(
    people: Sequence[Person],
    *,
    after: datetime,
    duration: timedelta,
    waking: Waking,
    slot_minutes: int = 30,
    max_length: int = 3,
    pool: int = 8,
) -> Rotation:
    """Up to `max_length` daily times to rotate through, chosen so that the zone that is most
    often outside its waking hours is outside as rarely as possible (ties: more people awake,
    then fewer slots). One slot when a time suits everyone."""
    zones = sorted({person.zone for person in people})
    day = rank_slots(
        people,
        after=after,
        days=1,
        duration=duration,
        waking=waking,
        slot_minutes=slot_minutes,
        limit=pool,
        spacing=timedelta(hours=1),
    )
    if not day:
        return Rotation((), {})
    best: tuple[tuple[float, int, int], tuple[Slot, ...]] | None = None
    for length in range(1, max_length + 1):
        for combo in combinations(day, length):
            burden = _burden(combo, zones)
            worst = max(burden.values(), default=0) / length
            awake = sum(slot.score for slot in combo) / length
            key = (worst, -round(awake * 1000), length)
            if best is None or key < best[0]:
                best = (key, tuple(sorted(combo, key=lambda slot: slot.start)))
    assert best is not None
    chosen = best[1]
    return Rotation(chosen, _burden(chosen, zones))
