"""The one schedule syntax: `"mon 09:00"`, `"mon,thu 18:30"`, `"daily 08:00"`,
`"weekdays 07:30"`, or a 5-field cron expression, read in a community's time zone.

Occurrences are computed with `zoneinfo`, not APScheduler's `CronTrigger` (which skips or
doubles runs around DST changes). A wall time that does not exist (spring gap) fires shifted
forward by the gap (02:30 becomes 03:30); a wall time that happens twice (autumn) fires once,
at its first occurrence. So a daily rule fires exactly once per local day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FORMS = '"mon 09:00", "mon,thu 18:30", "daily 08:00", "weekdays 07:30" or a 5-field cron'
CRON_FORM = '"minute hour day-of-month month day-of-week", e.g. "30 18 * * mon,thu"'

# Cron numbers the days of the week from Sunday = 0 (7 is Sunday too).
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FULL_DAY_NAMES = (
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
)
_MONTH_NAMES = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_DAY_GROUPS = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "weekdays": frozenset(range(1, 6)),
    "weekends": frozenset({0, 6}),
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ALL_MONTHS = frozenset(range(1, 13))
_ALL_MONTH_DAYS = frozenset(range(1, 32))
_ALL_WEEKDAYS = frozenset(range(7))
# Longest gap between two matches of a satisfiable rule: Feb 29 can be eight years away.
_SEARCH_DAYS = 8 * 366 + 7


class RuleError(ValueError):
    """A schedule text cannot be read; the message says what is wrong and shows valid forms."""


def _zone(zone: tzinfo | str) -> tzinfo:
    if isinstance(zone, str):
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RuleError(
                f'{zone!r} is not a time zone; use an IANA name such as "Europe/Berlin"'
            ) from None
    return zone


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), not {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Rule:
    """A parsed schedule: which local days and wall times it fires at."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    month_days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in cron
    # Cron: when both day fields are restricted, a day matching either one fires.
    days_either: bool = False
    simple: bool = False

    def __str__(self) -> str:
        return self.text

    def matches_day(self, day: date) -> bool:
        """Whether the rule fires on this local calendar day."""
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7
        in_month = day.day in self.month_days
        in_week = weekday in self.weekdays
        return (in_month or in_week) if self.days_either else (in_month and in_week)

    def wall_times(self) -> list[tuple[int, int]]:
        """The (hour, minute) pairs it fires at on a matching day, in order."""
        return [(hour, minute) for hour in sorted(self.hours) for minute in sorted(self.minutes)]

    def _instants_on(self, day: date, zone: tzinfo, times: list[tuple[int, int]]) -> list[datetime]:
        # fold=0 is PEP 495's answer for both edge cases: in a gap it applies the offset from
        # before the change (so 02:30 lands at 03:30 new time), in a repeat it is the first pass.
        found = {
            datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
            for hour, minute in times
        }
        return sorted(found)

    def occurrences(
        self, start_utc: datetime, end_utc: datetime, zone: tzinfo | str
    ) -> Iterator[datetime]:
        """Every firing instant t with start_utc <= t < end_utc, in aware UTC, in order."""
        start = _aware(start_utc, "start_utc")
        end = _aware(end_utc, "end_utc")
        tz = _zone(zone)
        if end <= start:
            return
        times = self.wall_times()
        # One day of slack on each side: a shifted or repeated wall time can leave its day.
        day = start.astimezone(tz).date() - timedelta(days=1)
        last_day = end.astimezone(tz).date() + timedelta(days=1)
        last: datetime | None = None
        while day <= last_day:
            if self.matches_day(day):
                for instant in self._instants_on(day, tz, times):
                    if instant < start or (last is not None and instant <= last):
                        continue
                    if instant >= end:
                        return
                    last = instant
                    yield instant
            day += timedelta(days=1)

    def next_after(self, moment: datetime, zone: tzinfo | str) -> datetime:
        """The first firing instant strictly after `moment`, in aware UTC."""
        after = _aware(moment, "moment") + timedelta(microseconds=1)
        for instant in self.occurrences(after, after + timedelta(days=_SEARCH_DAYS), zone):
            return instant
        raise RuleError(f"{self.text!r} never fires")  # parse_rule refuses such rules

    def describe(self) -> str:
        """English that reads inside a sentence, e.g. "Mondays at 18:30", "every day at 08:00"."""
        times = self.wall_times()
        if len(times) <= 4:
            at = "at " + _join([f"{hour:02d}:{minute:02d}" for hour, minute in times])
        else:
            at = f"at minute {_ranges(self.minutes)} of hour {_ranges(self.hours)}"
            if self.hours == frozenset(range(24)):
                at = f"at minute {_ranges(self.minutes)} of every hour"
        days = self._describe_days()
        months = ""
        if self.months != _ALL_MONTHS:
            months = " in " + _join([_MONTH_NAMES[m - 1].capitalize() for m in sorted(self.months)])
        return f"{days} {at}{months}"

    def _describe_days(self) -> str:
        week = self.weekdays != _ALL_WEEKDAYS
        month = self.month_days != _ALL_MONTH_DAYS
        week_text = self._describe_weekdays()
        month_text = "on day " + _ranges(self.month_days) + " of the month"
        if week and month:
            joiner = " or " if self.days_either else " and "
            return f"{week_text}{joiner}{month_text}"
        if month:
            return month_text
        return week_text

    def _describe_weekdays(self) -> str:
        days = self.weekdays
        if days == _ALL_WEEKDAYS:
            return "every day"
        if days == _DAY_GROUPS["weekdays"]:
            return "weekdays"
        if days == _DAY_GROUPS["weekends"]:
            return "weekends"
        order = sorted(days, key=lambda d: (d + 6) % 7)  # Monday first
        return _join([_FULL_DAY_NAMES[d].capitalize() + "s" for d in order])


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ranges(values: frozenset[int]) -> str:
    ordered = sorted(values)
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - index >= 2:
            parts.append(f"{ordered[index]}-{ordered[end]}")
        else:
            parts.extend(str(value) for value in ordered[index : end + 1])
        index = end + 1
    return ",".join(parts)


def parse_rule(text: str) -> Rule:
    """Read a schedule text; raise `RuleError` saying what is wrong and showing valid forms."""
    if not isinstance(text, str):
        raise RuleError(f"a schedule must be text such as {FORMS}, not {text!r}")
    words = text.lower().replace("\u00a0", " ").split()
    shown = " ".join(text.split())
    if not words:
        raise RuleError(f"the schedule is empty; write {FORMS}")
    if len(words) == 5:
        return _parse_cron(words, shown)
    if len(words) == 2:
        return _parse_simple(words, shown)
    if len(words) == 1:
        if _TIME.match(words[0]):
            raise RuleError(
                f'{shown!r} has a time but no day; write "daily {words[0]}", '
                f'"mon {words[0]}" or a 5-field cron'
            )
        if _is_day_spec(words[0]):
            raise RuleError(
                f'{shown!r} has a day but no time; write "{words[0]} 09:00" (24-hour HH:MM)'
            )
        raise RuleError(f"{shown!r} is not a schedule; write {FORMS}")
    raise RuleError(
        f"{shown!r} has {len(words)} parts; write {FORMS}. A cron expression has 5 fields: "
        f"{CRON_FORM}"
    )


def _day_number(word: str) -> int | None:
    for names in (_DAY_NAMES, _FULL_DAY_NAMES):
        if word in names:
            return names.index(word)
    if word.endswith("s") and word[:-1] in _FULL_DAY_NAMES:  # "mondays"
        return _FULL_DAY_NAMES.index(word[:-1])
    return None


def _is_day_spec(word: str) -> bool:
    try:
        _parse_days(word, word)
    except RuleError:
        return False
    return True


def _parse_days(word: str, shown: str) -> frozenset[int]:
    if word in _DAY_GROUPS:
        return _DAY_GROUPS[word]
    days: set[int] = set()
    for item in word.split(","):
        if "-" in item:
            first_text, _, last_text = item.partition("-")
            first, last = _day_number(first_text), _day_number(last_text)
            if first is None or last is None:
                raise _not_a_day(item, shown)
            # Walk forward through the week so "fri-mon" wraps over the weekend.
            day = first
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
            continue
        number = _day_number(item)
        if number is None:
            raise _not_a_day(item, shown)
        days.add(number)
    return frozenset(days)


def _not_a_day(item: str, shown: str) -> RuleError:
    return RuleError(
        f"{shown!r}: {item!r} is not a day; use mon, tue, wed, thu, fri, sat, sun "
        f'(lists "mon,thu", ranges "mon-fri"), "daily" or "weekdays"; e.g. {FORMS}'
    )


def _parse_simple(words: list[str], shown: str) -> Rule:
    day_word, time_word = words
    if _TIME.match(day_word) and not _TIME.match(time_word):
        raise RuleError(f'{shown!r}: put the day first, e.g. "{time_word} {day_word}"; {FORMS}')
    days = _parse_days(day_word, shown)
    times: set[tuple[int, int]] = set()
    for item in time_word.split(","):
        match = _TIME.match(item)
        if match is None:
            raise RuleError(
                f"{shown!r} is not a time: {item!r} should be a 24-hour HH:MM such as "
                f'"{_suggest_time(item)}"; write {FORMS}'
            )
        times.add((int(match.group(1)), int(match.group(2))))
    hours = {hour for hour, _ in times}
    minutes = {minute for _, minute in times}
    # A rule fires at every hour x minute pair, so "08:00,20:30" would add 08:30 and 20:00.
    if len(hours) * len(minutes) != len(times):
        raise RuleError(
            f"{shown!r}: times with different minutes ({time_word}) cannot share one "
            'schedule; add one schedule per time, e.g. "daily 08:00" and "daily 20:30"'
        )
    return Rule(
        text=f"{day_word} {','.join(f'{h:02d}:{m:02d}' for h, m in sorted(times))}",
        minutes=frozenset(minute for _, minute in times),
        hours=frozenset(hour for hour, _ in times),
        month_days=_ALL_MONTH_DAYS,
        months=_ALL_MONTHS,
        weekdays=days,
        simple=True,
    )


def _suggest_time(item: str) -> str:
    digits = re.sub(r"\D", "", item)
    if digits and len(digits) <= 2 and int(digits) < 24:
        return f"{int(digits):02d}:00"
    return "09:00"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, 1),
    _Field("day-of-week", 0, 7, _DAY_NAMES, 0),
)


def _cron_value(text: str, spec: _Field, shown: str) -> int:
    if text in spec.names:
        return spec.names.index(text) + spec.name_base
    if not text.isdigit():
        hint = f" or a name ({', '.join(spec.names)})" if spec.names else ""
        raise RuleError(
            f"{shown!r}: {spec.name} {text!r} is not a number {spec.low}-{spec.high}{hint}; "
            f"a cron expression is {CRON_FORM}"
        )
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise RuleError(
            f"{shown!r}: {spec.name} {value} is out of range {spec.low}-{spec.high}; "
            f"a cron expression is {CRON_FORM}"
        )
    return value


def _parse_field(text: str, spec: _Field, shown: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise RuleError(f"{shown!r}: {spec.name} {text!r} has an empty list item")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise RuleError(
                    f"{shown!r}: {spec.name} step {step_text!r} must be a whole number "
                    f"above 0, e.g. */15"
                )
            step = int(step_text)
        if body == "*":
            low, high = spec.low, spec.high
        elif "-" in body:
            first, _, last = body.partition("-")
            low, high = _cron_value(first, spec, shown), _cron_value(last, spec, shown)
            if low > high:
                raise RuleError(
                    f"{shown!r}: {spec.name} range {body!r} runs backwards; write it low-high"
                )
        else:
            low = _cron_value(body, spec, shown)
            # "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
            high = spec.high if slash else low
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


def _parse_cron(words: list[str], shown: str) -> Rule:
    try:
        minutes, hours, month_days, months, weekdays = (
            _parse_field(word, spec, shown) for word, spec in zip(words, _FIELDS, strict=True)
        )
    except RuleError as error:
        message = str(error)
        if CRON_FORM not in message:
            message += f"; a cron expression is {CRON_FORM}"
        raise RuleError(message) from None
    dom_any = words[2].startswith("*")
    dow_any = words[4].startswith("*")
    if not dom_any and dow_any:
        longest = max(29 if m == 2 else calendar.monthrange(2001, m)[1] for m in months)
        if min(month_days) > longest:
            raise RuleError(
                f"{shown!r} never fires: no month chosen has day {min(month_days)}; "
                f"a cron expression is {CRON_FORM}"
            )
    return Rule(
        text=" ".join(words),
        minutes=minutes,
        hours=hours,
        month_days=month_days,
        months=months,
        weekdays=weekdays,
        days_either=not dom_any and not dow_any,
    )
