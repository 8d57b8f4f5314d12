"""Schedule rules: parsing, errors, and local-time occurrences across DST changes."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.schedules import Rule, RuleError, parse_rule

pytestmark = pytest.mark.timeout(60)


def local_runs(rule: str, zone: str, first: date, last: date) -> list[datetime]:
    """Occurrences between local midnights of `first` and `last + 1`, shown in local time."""
    tz = ZoneInfo(zone)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
    end_day = last + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz).astimezone(UTC)
    found = list(parse_rule(rule).occurrences(start, end, tz))
    for instant in found:
        assert instant.tzinfo is UTC
    return [instant.astimezone(tz) for instant in found]


def per_day(runs: list[datetime]) -> Counter[date]:
    return Counter(run.date() for run in runs)


def around(day: date, before: int = 2, after: int = 2) -> tuple[date, date]:
    return day - timedelta(days=before), day + timedelta(days=after)


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weekdays", "hours", "minutes"),
    [
        ("mon 09:00", {1}, {9}, {0}),
        ("MON,Thu 18:30", {1, 4}, {18}, {30}),
        ("daily 08:00", set(range(7)), {8}, {0}),
        ("weekdays 07:30", {1, 2, 3, 4, 5}, {7}, {30}),
        ("weekends 10:15", {0, 6}, {10}, {15}),
        ("fri-mon 9:05", {5, 6, 0, 1}, {9}, {5}),
        ("monday 23:59", {1}, {23}, {59}),
        ("daily 08:00,20:00", set(range(7)), {8, 20}, {0}),
    ],
)
def test_simple_forms(text: str, weekdays: set[int], hours: set[int], minutes: set[int]) -> None:
    rule = parse_rule(text)
    assert rule.weekdays == weekdays
    assert rule.hours == hours
    assert rule.minutes == minutes
    assert rule.months == frozenset(range(1, 13))
    assert parse_rule(str(rule)) == rule  # the canonical text reads back the same


@pytest.mark.parametrize(
    ("text", "minutes", "hours", "month_days", "months", "weekdays"),
    [
        ("30 18 * * mon,thu", {30}, {18}, set(range(1, 32)), set(range(1, 13)), {1, 4}),
        ("*/15 9-17 * * 1-5", {0, 15, 30, 45}, set(range(9, 18)), None, None, {1, 2, 3, 4, 5}),
        ("0 0 1 jan-mar *", {0}, {0}, {1}, {1, 2, 3}, set(range(7))),
        ("5/20 0,12 * * 7", {5, 25, 45}, {0, 12}, None, None, {0}),
        ("0 8-20/4 * * sun", {0}, {8, 12, 16, 20}, None, None, {0}),
        ("0 0 29 feb *", {0}, {0}, {29}, {2}, set(range(7))),
    ],
)
def test_cron_fields(
    text: str,
    minutes: set[int],
    hours: set[int],
    month_days: set[int] | None,
    months: set[int] | None,
    weekdays: set[int],
) -> None:
    rule = parse_rule(text)
    assert rule.minutes == minutes
    assert rule.hours == hours
    assert rule.month_days == (month_days or set(range(1, 32)))
    assert rule.months == (months or set(range(1, 13)))
    assert rule.weekdays == weekdays


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("mon 9", "'mon 9' is not a time"),
        ("mon 25:00", "is not a time"),
        ("mon 9:60", "is not a time"),
        ("", "empty"),
        ("   ", "empty"),
        ("09:00", 'write "daily 09:00"'),
        ("monday", "has a day but no time"),
        ("funday 09:00", "'funday' is not a day"),
        ("09:00 mon", "put the day first"),
        ("every monday at 9", "has 4 parts"),
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month 0 is out of range 1-31"),
        ("0 0 * 13 *", "month 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week 8 is out of range 0-7"),
        ("0 0 * * moon", "day-of-week 'moon' is not a number"),
        ("*/0 * * * *", "step '0' must be a whole number above 0"),
        ("0 5-1 * * *", "runs backwards"),
        ("0 0 31 2 *", "never fires"),
        ("0 0 30 feb *", "never fires"),
        ("1,,2 * * * *", "empty list item"),
        ("daily 08:00,20:30", "one schedule per time"),
    ],
)
def test_errors_say_what_is_wrong_and_show_forms(text: str, needle: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    message = str(caught.value)
    assert needle in message
    # It shows at least one valid form, in double quotes, that parses.
    examples = re.findall(r'"([^"]+)"', message)
    assert any(_parses(example) for example in examples), message


def _parses(text: str) -> bool:
    try:
        parse_rule(text)
    except RuleError:
        return False
    return True


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    # Vixie cron: "1st of the month OR any Monday".
    runs = local_runs("0 9 1 * mon", "UTC", date(2026, 6, 1), date(2026, 6, 30))
    assert [run.day for run in runs] == [1, 8, 15, 22, 29]
    runs = local_runs("0 9 2 * mon", "UTC", date(2026, 6, 1), date(2026, 6, 10))
    assert [run.day for run in runs] == [1, 2, 8]


def test_describe() -> None:
    assert parse_rule("mon,thu 18:30").describe() == "Mondays and Thursdays at 18:30"
    assert parse_rule("daily 08:00").describe() == "every day at 08:00"
    assert parse_rule("weekdays 07:30").describe() == "weekdays at 07:30"
    assert parse_rule("0 9 1 * *").describe() == "on day 1 of the month at 09:00"
    assert (
        parse_rule("*/15 9-17 * * mon-fri").describe()
        == "weekdays at minute 0,15,30,45 of hour 9-17"
    )
    assert (
        parse_rule("0 0 1 jan,jul *").describe() == "on day 1 of the month at 00:00 in Jan and Jul"
    )


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    rule = parse_rule("daily 08:00")
    with pytest.raises(ValueError, match="aware"):
        list(rule.occurrences(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC), "UTC"))
    with pytest.raises(RuleError, match="not a time zone"):
        rule.next_after(datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus")


def test_next_after_is_strictly_after_and_finds_rare_days() -> None:
    rule = parse_rule("daily 08:00")
    at_eight = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    assert rule.next_after(at_eight, "UTC") == at_eight + timedelta(days=1)
    assert rule.next_after(at_eight - timedelta(microseconds=1), "UTC") == at_eight
    leap = parse_rule("0 12 29 feb *")
    assert leap.next_after(datetime(2026, 3, 1, tzinfo=UTC), "Europe/Berlin") == datetime(
        2028, 2, 29, 11, 0, tzinfo=UTC
    )


# --- DST: each change, each rule fires exactly once per local day ------------------------

SPRING_AUTUMN = [
    # zone, spring change day, autumn change day, a wall time in the gap, one that repeats
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25), "02:30", "02:30"),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1), "02:30", "01:30"),
]


@pytest.mark.parametrize(("zone", "spring", "autumn", "gap", "repeat"), SPRING_AUTUMN)
def test_job_in_the_skipped_hour_fires_shifted_forward_once(
    zone: str, spring: date, autumn: date, gap: str, repeat: str
) -> None:
    runs = local_runs(f"daily {gap}", zone, *around(spring))
    assert per_day(runs) == {spring + timedelta(days=n): 1 for n in range(-2, 3)}
    hour, minute = (int(part) for part in gap.split(":"))
    for run in runs:
        expected = (hour + 1, minute) if run.date() == spring else (hour, minute)
        assert (run.hour, run.minute) == expected, run
    changed = next(run for run in runs if run.date() == spring)
    previous = next(run for run in runs if run.date() == spring - timedelta(days=1))
    # Shifted forward by the gap: exactly 24 real hours after the previous run.
    assert changed.astimezone(UTC) - previous.astimezone(UTC) == timedelta(hours=24)


@pytest.mark.parametrize(("zone", "spring", "autumn", "gap", "repeat"), SPRING_AUTUMN)
def test_job_in_the_repeated_hour_fires_once_at_the_first_pass(
    zone: str, spring: date, autumn: date, gap: str, repeat: str
) -> None:
    runs = local_runs(f"daily {repeat}", zone, *around(autumn))
    assert per_day(runs) == {autumn + timedelta(days=n): 1 for n in range(-2, 3)}
    hour, minute = (int(part) for part in repeat.split(":"))
    for run in runs:
        assert (run.hour, run.minute, run.fold) == (hour, minute, 0)
    changed = next(run for run in runs if run.date() == autumn)
    # First pass: still on summer time (the larger offset).
    summer = ZoneInfo(zone).utcoffset(datetime(autumn.year, 7, 1))
    assert changed.utcoffset() == summer


@pytest.mark.parametrize(("zone", "spring", "autumn", "gap", "repeat"), SPRING_AUTUMN)
@pytest.mark.parametrize("which", ["spring", "autumn"])
def test_midnight_job_on_the_days_around_each_change(
    zone: str, spring: date, autumn: date, gap: str, repeat: str, which: str
) -> None:
    change = spring if which == "spring" else autumn
    runs = local_runs("daily 00:00", zone, *around(change, 3, 3))
    assert per_day(runs) == {change + timedelta(days=n): 1 for n in range(-3, 4)}
    assert all((run.hour, run.minute) == (0, 0) for run in runs)


def test_los_angeles_midnight_on_the_spring_change_is_not_skipped() -> None:
    # APScheduler 3.11's CronTrigger skips 2026-03-09 here.
    runs = local_runs("daily 00:00", "America/Los_Angeles", date(2026, 3, 6), date(2026, 3, 11))
    assert [run.date() for run in runs] == [date(2026, 3, d) for d in range(6, 12)]
    assert all((run.hour, run.minute) == (0, 0) for run in runs)


def test_new_york_01_30_does_not_fire_twice_on_the_autumn_change() -> None:
    # APScheduler 3.11's CronTrigger fires this twice on 2026-11-01.
    runs = local_runs("30 1 * * *", "America/New_York", date(2026, 10, 31), date(2026, 11, 2))
    assert [run.isoformat() for run in runs] == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_every_half_hour_across_the_spring_gap_has_no_duplicates() -> None:
    runs = local_runs("*/30 * * * *", "Europe/Berlin", date(2026, 3, 29), date(2026, 3, 29))
    assert len(runs) == 46  # 23 real hours
    assert len({run.astimezone(UTC) for run in runs}) == 46
    assert [run.strftime("%H:%M") for run in runs[3:7]] == ["01:30", "03:00", "03:30", "04:00"]


def test_every_half_hour_across_the_autumn_repeat_fires_once_per_wall_time() -> None:
    runs = local_runs("*/30 * * * *", "Europe/Berlin", date(2026, 10, 25), date(2026, 10, 25))
    walls = [run.strftime("%H:%M") for run in runs]
    assert len(walls) == 48 and len(set(walls)) == 48
    assert all(run.fold == 0 for run in runs)


def test_half_hour_dst_zone_and_a_vanished_day() -> None:
    # Lord Howe moves its clocks by 30 minutes; 02:15 falls in the gap and shifts to 02:45.
    runs = local_runs("daily 02:15", "Australia/Lord_Howe", date(2026, 10, 3), date(2026, 10, 5))
    assert [run.strftime("%d %H:%M") for run in runs] == ["03 02:15", "04 02:45", "05 02:15"]
    # Samoa skipped 30 December 2011 entirely: the daily job runs on every day that exists.
    runs = local_runs("daily 09:00", "Pacific/Apia", date(2011, 12, 28), date(2012, 1, 1))
    assert [run.day for run in runs] == [28, 29, 31, 1]


def test_midnight_change_zone_fires_once_per_day() -> None:
    # Santiago springs forward at midnight: 00:00 on the change day does not exist.
    runs = local_runs("daily 00:00", "America/Santiago", date(2026, 9, 4), date(2026, 9, 8))
    assert per_day(runs) == {date(2026, 9, d): 1 for d in range(4, 9)}


# --- properties ---------------------------------------------------------------------------

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Europe/Dublin",
    "Pacific/Apia",
    "Asia/Kolkata",
    "UTC",
]


def _transitions(zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(tz).utcoffset()
    while moment < datetime(2028, 1, 1, tzinfo=UTC):
        moment += timedelta(hours=1)
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            found.append(moment)
            previous = offset
    return found


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}
TRANSITIONS["Pacific/Apia"].append(datetime(2011, 12, 30, 10, 0, tzinfo=UTC))
for _zone in ZONES:  # zones without changes still need a pivot
    TRANSITIONS[_zone].append(datetime(2026, 1, 1, tzinfo=UTC))


def _field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    single = number.map(str)
    if names:
        single = single | st.sampled_from(names)
    ranged = st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}")
    stepped = st.integers(1, max(1, (high - low))).map(lambda step: f"*/{step}")
    item = st.one_of(single, ranged, stepped, st.just("*"))
    return st.lists(item, min_size=1, max_size=3).map(",".join)


DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
cron_rules = st.tuples(
    _field(0, 59),
    _field(0, 23),
    _field(1, 28) | st.just("*"),
    _field(1, 12) | st.just("*"),
    _field(0, 7, DAYS) | st.just("*"),
).map(" ".join)
simple_rules = st.tuples(
    st.sampled_from(["daily", "weekdays", "weekends", "mon", "sun,wed", "fri-mon", "sat"]),
    st.integers(0, 23),
    st.integers(0, 59),
).map(lambda p: f"{p[0]} {p[1]:02d}:{p[2]:02d}")


@st.composite
def windows(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        start = draw(st.sampled_from(TRANSITIONS[zone])) + timedelta(
            minutes=draw(st.integers(-72 * 60, 12 * 60))
        )
    else:
        start = draw(
            st.datetimes(datetime(1990, 1, 1), datetime(2037, 12, 31), timezones=st.just(UTC))
        )
    length = timedelta(minutes=draw(st.integers(1, 9 * 24 * 60)))
    return zone, start, start + length


def _wall_matches(rule: Rule, wall: datetime) -> bool:
    return rule.matches_day(wall.date()) and (wall.hour, wall.minute) in set(rule.wall_times())


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def _explained(rule: Rule, instant: datetime, tz: ZoneInfo) -> bool:
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None, fold=0)
    if _exists(wall, tz) and _wall_matches(rule, wall):
        return local.fold == 0  # a repeated wall time fires at its first pass only
    # Otherwise it must be a wall time from a spring gap, moved forward by the gap.
    utc_wall = instant.replace(tzinfo=None)
    offsets = {tz.utcoffset(instant.replace(tzinfo=None) - timedelta(hours=h)) for h in range(49)}
    for offset in offsets:
        assert offset is not None
        candidate = (utc_wall + offset).replace(second=0, microsecond=0)
        if (
            not _exists(candidate, tz)
            and _wall_matches(rule, candidate)
            and candidate.replace(tzinfo=tz).astimezone(UTC) == instant
        ):
            return True
    return False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=cron_rules | simple_rules, window=windows())
def test_occurrences_are_increasing_explained_and_complete(
    text: str, window: tuple[str, datetime, datetime]
) -> None:
    zone, start, end = window
    tz = ZoneInfo(zone)
    rule = parse_rule(text)
    runs = list(islice(rule.occurrences(start, end, tz), 400))
    for earlier, later in pairwise(runs):
        assert earlier < later
    for run in runs:
        assert run.tzinfo is UTC
        assert start <= run < end
        assert _explained(rule, run, tz), (text, zone, run.astimezone(tz))
    if len(runs) < 400:
        # Nothing missed: every matching wall time that exists fires at its first pass.
        wall = start.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        fired = set(runs)
        checked = 0
        while checked < 3000:
            wall += timedelta(minutes=1)
            first = wall.replace(tzinfo=tz).astimezone(UTC)
            if first >= end:
                break
            checked += 1
            if first >= start and _exists(wall, tz) and _wall_matches(rule, wall):
                assert first in fired, (text, zone, wall)


@settings(max_examples=200, deadline=None)
@given(
    time=st.tuples(st.integers(0, 23), st.integers(0, 59)),
    zone=st.sampled_from(ZONES),
    change=st.data(),
)
def test_daily_rule_fires_exactly_once_per_existing_local_day(
    time: tuple[int, int], zone: str, change: st.DataObject
) -> None:
    tz = ZoneInfo(zone)
    pivot = change.draw(st.sampled_from(TRANSITIONS[zone])).astimezone(tz).date()
    first, last = pivot - timedelta(days=3), pivot + timedelta(days=3)
    runs = local_runs(f"daily {time[0]:02d}:{time[1]:02d}", zone, first, last)
    counts = per_day(runs)
    day = first
    while day <= last:
        exists = any(_exists(datetime(day.year, day.month, day.day, h), tz) for h in range(24))
        assert counts.get(day, 0) == (1 if exists else 0), (zone, time, day, runs)
        day += timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(text=cron_rules | simple_rules, window=windows())
def test_next_after_agrees_with_occurrences(
    text: str, window: tuple[str, datetime, datetime]
) -> None:
    zone, start, end = window
    rule = parse_rule(text)
    runs = list(islice(rule.occurrences(start, end, zone), 3))
    if runs:
        assert rule.next_after(start - timedelta(microseconds=1), zone) == runs[0]
    for earlier, later in pairwise(runs):
        assert rule.next_after(earlier, zone) == later


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_parse_never_fails_with_anything_but_rule_error(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleError as error:
        assert str(error)
    else:
        assert parse_rule(rule.text) == rule
