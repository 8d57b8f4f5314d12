"""Reading typed dates, durations and repeats."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.features.gatherings.when import (
    WhenError,
    format_duration,
    normalise_recurrence,
    parse_duration,
    parse_time_of_day,
    parse_when,
)

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 23 November 2026, 10:00 in Berlin.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03 17:00", datetime(2026, 12, 3, 17, 0)),
        ("2026-12-03T17:00", datetime(2026, 12, 3, 17, 0)),
        ("2026-12-03 5pm", datetime(2026, 12, 3, 17, 0)),
        ("tomorrow 18:30", datetime(2026, 11, 24, 18, 30)),
        ("tomorrow at 6:30 pm", datetime(2026, 11, 24, 18, 30)),
        ("today 17:00", datetime(2026, 11, 23, 17, 0)),
        ("17:00", datetime(2026, 11, 23, 17, 0)),
        ("next thursday 5pm", datetime(2026, 11, 26, 17, 0)),
        ("Thursday, 5 PM", datetime(2026, 11, 26, 17, 0)),
        ("monday 9:00", datetime(2026, 11, 30, 9, 0)),  # today's 09:00 has passed
        ("monday 11:00", datetime(2026, 11, 23, 11, 0)),  # today's 11:00 is still ahead
        ("next monday 11:00", datetime(2026, 11, 30, 11, 0)),  # "next" is never today
        ("3 dec 17:00", datetime(2026, 12, 3, 17, 0)),
        ("December 3rd 17:00", datetime(2026, 12, 3, 17, 0)),
        ("3 jan 10am", datetime(2027, 1, 3, 10, 0)),  # the next 3 January
        ("5 march 2027 noon", datetime(2027, 3, 5, 12, 0)),
        ("in 2 hours", datetime(2026, 11, 23, 12, 0)),
        ("in 3 days", datetime(2026, 11, 26, 10, 0)),
    ],
)
def test_dates_facilitators_type_are_read_as_local_wall_times(
    text: str, expected: datetime
) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no date"),
        ("next thursday", "no time of day"),
        ("2026-02-30 10:00", "not a date in the calendar"),
        ("31 feb 10:00", "does not exist"),
        ("someday 10:00", "not a date I can read"),
        ("tomorrow 25:00", "no time of day"),
        ("tomorrow 13pm", "no time of day"),
    ],
)
def test_unreadable_dates_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(WhenError, match=problem):
        parse_when(text, NOW)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda moment: moment.replace(second=0, microsecond=0)
    )
)
def test_an_iso_date_and_time_reads_back_exactly(moment: datetime) -> None:
    assert parse_when(moment.strftime("%Y-%m-%d %H:%M"), NOW) == moment


@given(st.integers(0, 23), st.integers(0, 59))
def test_twelve_and_twenty_four_hour_clocks_agree(hour: int, minute: int) -> None:
    twelve = f"{hour % 12 or 12}:{minute:02d}{'pm' if hour >= 12 else 'am'}"
    assert parse_time_of_day(twelve) == time(hour, minute)
    assert parse_time_of_day(f"{hour:02d}:{minute:02d}") == time(hour, minute)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("60m", 60), ("90", 90), ("1h", 60), ("1h30m", 90), ("1h 30m", 90), ("1:30", 90), ("2H", 120)],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "soon", "0m", "3m", "25h", "1h61x"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(WhenError):
        parse_duration(text)


@given(st.integers(5, 24 * 60))
def test_a_formatted_duration_reads_back(minutes: int) -> None:
    assert parse_duration(format_duration(minutes)) == timedelta(minutes=minutes)


def test_repeats_are_named_or_rrules() -> None:
    assert normalise_recurrence("weekly") == "FREQ=WEEKLY"
    assert normalise_recurrence("Biweekly") == "FREQ=WEEKLY;INTERVAL=2"
    assert normalise_recurrence("monthly") == "FREQ=MONTHLY"
    assert normalise_recurrence("RRULE:FREQ=WEEKLY;BYDAY=TU,TH") == "FREQ=WEEKLY;BYDAY=TU,TH"
    assert normalise_recurrence("freq=weekly;until=20270101T000000Z") == (
        "FREQ=WEEKLY;UNTIL=20270101T000000"
    )
    assert normalise_recurrence(None) is None
    assert normalise_recurrence("once") is None
    assert normalise_recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29") is not None  # leap days
    for bad in (
        "sometimes",
        "FREQ=HOURLY",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;;",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000",
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",  # never happens
    ):
        with pytest.raises(WhenError):
            normalise_recurrence(bad)


@given(st.text(max_size=40))
def test_any_text_is_read_or_refused_with_a_clear_error(text: str) -> None:
    try:
        found = parse_when(text, NOW)
    except WhenError as error:
        assert str(error)
    else:
        assert found.tzinfo is None and found.second == 0


@given(st.text(max_size=30))
def test_any_duration_or_repeat_text_is_read_or_refused_with_a_clear_error(text: str) -> None:
    for parse in (parse_duration, normalise_recurrence):
        try:
            parse(text)
        except WhenError as error:
            assert str(error)
