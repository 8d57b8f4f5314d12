"""Series keep their local wall time across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.gatherings.recurrence import (
    next_occurrence,
    occurrences,
    to_utc,
    weekly_in_utc,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_a_weekly_berlin_series_stays_at_18_00_local_across_the_autumn_change() -> None:
    first = to_utc(datetime(2026, 10, 13, 18, 0), BERLIN)  # a Tuesday, summer time
    found = list(
        occurrences(
            first,
            BERLIN,
            "FREQ=WEEKLY",
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 11, 5, tzinfo=UTC),
        )
    )
    assert [moment.astimezone(UTC).hour for moment in found] == [16, 16, 17, 17]
    assert all(moment.astimezone(BERLIN).hour == 18 for moment in found)
    assert found[2] == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)  # after 25 October


def test_a_weekly_new_york_series_keeps_its_wall_time_in_autumn_and_spring() -> None:
    first = to_utc(datetime(2026, 10, 22, 12, 0), NEW_YORK)  # a Thursday, EDT
    found = list(
        occurrences(
            first,
            NEW_YORK,
            "FREQ=WEEKLY",
            first,
            datetime(2027, 3, 25, tzinfo=UTC),
        )
    )
    assert all(moment.astimezone(NEW_YORK).hour == 12 for moment in found)
    by_date = {moment.astimezone(NEW_YORK).date().isoformat(): moment.hour for moment in found}
    assert by_date["2026-10-29"] == 16  # EDT, UTC-4
    assert by_date["2026-11-05"] == 17  # EST after 1 November
    assert by_date["2027-03-11"] == 17
    assert by_date["2027-03-18"] == 16  # EDT again after 14 March


def test_a_wall_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    first = to_utc(datetime(2027, 3, 21, 2, 30), BERLIN)  # a Sunday, 02:30 CET
    found = list(occurrences(first, BERLIN, "FREQ=WEEKLY", first, datetime(2027, 4, 5, tzinfo=UTC)))
    # 28 March 2027 02:30 does not exist in Berlin: the session is at 03:30 CEST (01:30 UTC).
    assert found[1] == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert found[2].astimezone(BERLIN).hour == 2


def test_a_repeated_autumn_wall_time_happens_once_at_its_first_pass() -> None:
    first = to_utc(datetime(2026, 10, 4, 2, 30), BERLIN)
    found = list(
        occurrences(first, BERLIN, "FREQ=WEEKLY", first, datetime(2026, 11, 1, tzinfo=UTC))
    )
    on_the_day = [m for m in found if m.astimezone(BERLIN).date().isoformat() == "2026-10-25"]
    assert on_the_day == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 02:30 CEST


def test_a_single_session_has_one_occurrence_and_series_can_end() -> None:
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert list(occurrences(start, BERLIN, None, *window)) == [start]
    assert next_occurrence(start, BERLIN, None, start + timedelta(minutes=1)) is None
    counted = list(occurrences(start, BERLIN, "FREQ=WEEKLY;COUNT=3", *window))
    assert len(counted) == 3
    biweekly = list(
        occurrences(start, BERLIN, "FREQ=WEEKLY;INTERVAL=2", start, start + timedelta(days=29))
    )
    assert [m - start for m in biweekly] == [timedelta(days=14 * n) for n in range(3)]


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "UTC"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1)),
    rule=st.sampled_from(["FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2", "FREQ=DAILY", "FREQ=MONTHLY"]),
)
def test_every_occurrence_is_the_series_wall_time_or_its_gap_shift(
    zone: str, first: datetime, rule: str
) -> None:
    tz = ZoneInfo(zone)
    wall = first.replace(second=0, microsecond=0)
    start = to_utc(wall, tz)
    found = list(occurrences(start, tz, rule, start, start + timedelta(days=400)))
    assert found == sorted(set(found))  # strictly increasing, no repeats
    for moment in found:
        local = moment.astimezone(tz)
        shifted = (local - timedelta(hours=1)).replace(tzinfo=None).time()
        assert local.time() == wall.time() or shifted == wall.time()


def test_a_weekly_rule_is_offered_only_where_it_stays_exact_in_utc_for_a_year() -> None:
    start = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    after = datetime(2026, 11, 20, tzinfo=UTC)
    assert weekly_in_utc(start, ZoneInfo("UTC"), "FREQ=WEEKLY", after) == 1
    assert weekly_in_utc(start, ZoneInfo("Asia/Tokyo"), "FREQ=WEEKLY;INTERVAL=2", after) == 2
    # Berlin's wall time moves against UTC at DST: a UTC weekly rule would drift an hour
    assert weekly_in_utc(start, ZoneInfo("Europe/Berlin"), "FREQ=WEEKLY", after) == 0
    assert weekly_in_utc(start, ZoneInfo("UTC"), "FREQ=MONTHLY", after) == 0
    assert weekly_in_utc(start, ZoneInfo("UTC"), "FREQ=WEEKLY;COUNT=3", after) == 0
    assert weekly_in_utc(start, ZoneInfo("UTC"), "FREQ=WEEKLY;BYDAY=TU,TH", after) == 0
    assert weekly_in_utc(start, ZoneInfo("UTC"), None, after) == 0
