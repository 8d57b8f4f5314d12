"""Fair times: who is awake when, and rotations that share the inconvenient slot."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.gatherings.fairness import Person, Waking, evaluate, rank_slots, rotation

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WAKING = Waking(time(8, 0), time(21, 0))


def test_a_session_counts_only_when_all_of_it_is_inside_waking_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert WAKING.covers(datetime(2026, 11, 23, 7, 0, tzinfo=UTC), HOUR, berlin)  # 08:00-09:00
    assert not WAKING.covers(datetime(2026, 11, 23, 6, 30, tzinfo=UTC), HOUR, berlin)
    assert WAKING.covers(datetime(2026, 11, 23, 19, 0, tzinfo=UTC), HOUR, berlin)  # 20-21
    assert not WAKING.covers(datetime(2026, 11, 23, 19, 30, tzinfo=UTC), HOUR, berlin)
    night_owls = Waking(time(18, 0), time(2, 0))
    assert night_owls.covers(datetime(2026, 11, 23, 22, 30, tzinfo=UTC), HOUR, berlin)
    assert not night_owls.covers(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), HOUR, berlin)


def test_slots_rank_by_members_awake_and_name_who_is_outside() -> None:
    people = [
        Person("a", "Europe/Berlin", "Ana"),
        Person("b", "Europe/Berlin", None),  # does not allow being named
        Person("c", "America/New_York", "Cy"),
        Person("d", "Asia/Tokyo", "Dai"),
    ]
    slots = rank_slots(people, after=NOW, days=2, duration=HOUR, waking=WAKING)
    assert slots[0].score == 3
    scores = [slot.score for slot in slots]
    assert scores == sorted(scores, reverse=True)
    for slot in slots:
        assert {p.ref for p in slot.inside} | {p.ref for p in slot.outside} == {"a", "b", "c", "d"}
        assert slot.start > NOW
    worst = evaluate(datetime(2026, 11, 24, 3, 0, tzinfo=UTC), HOUR, people, WAKING)
    assert {p.ref for p in worst.outside} == {"a", "b", "c"}  # 04:00 Berlin, 22:00 New York


def test_one_time_that_suits_everyone_needs_no_rotation() -> None:
    people = [Person("a", "Europe/Berlin"), Person("b", "Europe/London")]
    plan = rotation(people, after=NOW, duration=HOUR, waking=WAKING)
    assert len(plan.slots) == 1 and plan.worst == 0


def test_three_continents_take_turns_so_no_zone_is_always_outside() -> None:
    people = [
        Person("a", "Europe/Berlin"),
        Person("b", "America/Los_Angeles"),
        Person("c", "Asia/Tokyo"),
        Person("d", "America/New_York"),
    ]
    best_single = min(
        len({p.zone for p in slot.outside})
        for slot in rank_slots(people, after=NOW, days=1, duration=HOUR, waking=WAKING, limit=48)
    )
    assert best_single >= 1  # no time suits all four
    plan = rotation(people, after=NOW, duration=HOUR, waking=WAKING)
    assert len(plan.slots) > 1
    assert all(count < len(plan.slots) for count in plan.burden.values())


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Europe/Berlin",
                "America/New_York",
                "Asia/Tokyo",
                "Australia/Sydney",
                "America/Los_Angeles",
                "Asia/Kolkata",
                "Africa/Lagos",
            ]
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_rotation_is_never_less_fair_than_the_best_single_time(zones: list[str]) -> None:
    people = [Person(str(index), zone) for index, zone in enumerate(zones)]
    plan = rotation(people, after=NOW, duration=HOUR, waking=WAKING)
    singles = rank_slots(
        people, after=NOW, days=1, duration=HOUR, waking=WAKING, limit=8, spacing=HOUR
    )
    # A single daily time leaves its outside zones outside every time (a share of 1).
    best_single = min(1.0 if slot.outside else 0.0 for slot in singles)
    assert plan.worst <= best_single
    assert 1 <= len(plan.slots) <= 3
