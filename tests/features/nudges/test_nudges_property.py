"""Whatever members do, whatever they set and however the clock moves, the nudge rules never
send a member more than one nudge in any 7-day window, never in their quiet hours, never while
they opted out or snoozed, never more than three unanswered in a row, and never more than the
hourly cap per run. Drives the pure decision (`nudges.rules.decide`) hour by hour the way the
hourly job does, with every member counted as drifting (the worst case); and the storage
reads each member's nudge history the way the rules assume."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.nudges import store as nudge_store
from bot.features.nudges.rules import Candidate, NudgeRules, decide, in_quiet_hours
from bot.storage.database import Database
from bot.storage.memberships import Sighting, touch_memberships

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "UTC")
RULES = NudgeRules(hourly_cap=2)


@dataclass
class Member:
    ref: str
    zone: str
    every_days: int = 7
    opted_out: bool = False
    snoozed_until: datetime | None = None
    may_dm: bool = True
    last_active_at: datetime | None = None
    sent: list[datetime] = field(default_factory=list)
    actions: list[datetime] = field(default_factory=list)

    def candidate(self) -> Candidate:
        unanswered = sum(
            1 for at in self.sent if self.last_active_at is None or at > self.last_active_at
        )
        return Candidate(
            member_ref=self.ref,
            reason="inactive",
            zone=self.zone,
            opted_out=self.opted_out,
            snoozed_until=self.snoozed_until,
            every_days=self.every_days,
            may_dm=self.may_dm,
            last_active_at=self.last_active_at,
            last_nudged_at=self.sent[-1] if self.sent else None,
            unanswered=unanswered,
        )


# One step: (hours to move the clock, member index, what that member does meanwhile).
STEP = st.tuples(
    st.integers(min_value=1, max_value=96),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(
        ["nothing", "act", "weekly", "fortnightly", "off", "on", "snooze", "contact", "zone"]
    ),
    st.integers(min_value=1, max_value=30),
)


@settings(max_examples=300, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=5, max_size=5),
    steps=st.lists(STEP, min_size=1, max_size=80),
)
def test_no_member_ever_gets_more_than_the_rules_allow(
    zones: list[str], steps: list[tuple[int, int, str, int]]
) -> None:
    check(simulate(zones, steps))


def simulate(zones: list[str], steps: list[tuple[int, int, str, int]]) -> list[Member]:
    """Run the hourly decision after each step; check each decision as it is made."""
    members = [Member(f"m{index}", zone) for index, zone in enumerate(zones)]
    now = START
    for hours, index, what, days in steps:
        now += timedelta(hours=hours)
        member = members[index]
        if what == "act":
            member.last_active_at = now - timedelta(minutes=30)
            member.actions.append(member.last_active_at)
        elif what in ("weekly", "fortnightly"):
            member.every_days = 7 if what == "weekly" else 14
        elif what == "off":
            member.opted_out = True
        elif what == "on":
            member.opted_out, member.snoozed_until = False, None
        elif what == "snooze":
            member.snoozed_until = now + timedelta(days=days)
        elif what == "contact":
            member.may_dm = not member.may_dm
        elif what == "zone":
            member.zone = ZONES[days % len(ZONES)]
        # The hourly run at this hour; earlier runs of this hour already sent some.
        hour = now.replace(minute=0, second=0, microsecond=0)
        sent_this_hour = sum(1 for m in members for at in m.sent if at >= hour)
        chosen = decide([m.candidate() for m in members], now, RULES, sent_this_hour)
        assert sent_this_hour + len(chosen) <= RULES.hourly_cap
        for candidate in chosen:
            target = next(m for m in members if m.ref == candidate.member_ref)
            assert not target.opted_out and target.may_dm
            assert target.snoozed_until is None or now >= target.snoozed_until
            assert not in_quiet_hours(now, target.zone, RULES.quiet_start, RULES.quiet_end)
            target.sent.append(now)
    return members


def check(members: list[Member]) -> None:
    """The limits over each member's whole history."""
    for member in members:
        for earlier, later in itertools.pairwise(member.sent):
            # At most one nudge in any 7-day window (the community's every_days is 7).
            assert later - earlier >= timedelta(days=7)
        # Never more than three nudges in a row without an action of their own in between.
        streak = 0
        events = sorted(
            [(at, "nudge") for at in member.sent] + [(at, "act") for at in member.actions]
        )
        for _, kind in events:
            streak = streak + 1 if kind == "nudge" else 0
            assert streak <= RULES.give_up_after


def test_the_simulation_does_send_nudges() -> None:
    """Members who never act get nudges, spread as the rules say (the property is not empty)."""
    members = simulate(list(ZONES), [(5, 0, "nothing", 1)] * (24 * 70 // 5))
    check(members)
    assert all(len(member.sent) == RULES.give_up_after for member in members)
    for member in members:
        gaps = [later - earlier for earlier, later in itertools.pairwise(member.sent)]
        assert timedelta(days=14) <= gaps[0] < timedelta(days=15)
        assert timedelta(days=28) <= gaps[1] < timedelta(days=29)


def test_the_property_can_fail() -> None:
    """The checks above catch a rule that forgets the interval."""
    member = Member("m0", "UTC", sent=[START])
    loose = replace(member.candidate(), last_nudged_at=None, unanswered=0)
    again = decide([loose], START + timedelta(days=1, hours=10), RULES, 0)
    assert [c.member_ref for c in again] == ["m0"]  # without its history, it would send again
    kept = decide([member.candidate()], START + timedelta(days=1, hours=10), RULES, 0)
    assert kept == []


# Each member: minutes after START of their last own action (None: never), and of their nudges.
HISTORY = st.lists(
    st.tuples(
        st.none() | st.integers(min_value=0, max_value=60 * 24 * 90),
        st.lists(st.integers(min_value=0, max_value=60 * 24 * 90), max_size=6, unique=True),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=15, deadline=None)
@given(history=HISTORY)
def test_stored_histories_count_unanswered_nudges_like_the_rules_do(
    history: list[tuple[int | None, list[int]]],
) -> None:
    """The storage's reading of each member's nudges matches the model the rules assume."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_compare_histories(Path(folder), history))


async def _compare_histories(folder: Path, history: list[tuple[int | None, list[int]]]) -> None:
    database = Database(f"sqlite+aiosqlite:///{folder / 'nudges.db'}")
    await database.migrate()
    try:
        refs = [f"console:/m{index}" for index in range(len(history))]
        async with database.transaction() as conn:
            await touch_memberships(
                conn,
                [
                    Sighting("demo", ref, START, active=False, contacted=False, facilitator=False)
                    for ref in refs
                ],
            )
            for ref, (active, sent) in zip(refs, history, strict=True):
                if active is not None:
                    at = START + timedelta(minutes=active)
                    seen = Sighting(
                        "demo", ref, at, active=True, contacted=False, facilitator=False
                    )
                    await touch_memberships(conn, [seen])
                for minute in sent:
                    await nudge_store.record(
                        conn,
                        community="demo",
                        member_ref=ref,
                        sent_at=START + timedelta(minutes=minute),
                        reason="inactive",
                        step="seek",
                        text=f"text {minute}",
                    )
        async with database.reading() as conn:
            found = await nudge_store.histories(conn, "demo", refs)
        for ref, (active, sent) in zip(refs, history, strict=True):
            if not sent:
                assert ref not in found
                continue
            last = max(sent)
            unanswered = sum(1 for minute in sent if active is None or minute > active)
            assert found[ref].last_sent_at == START + timedelta(minutes=last)
            assert found[ref].last_text == f"text {last}"
            assert (found[ref].unanswered, found[ref].count) == (unanswered, len(sent))
    finally:
        await database.close()
