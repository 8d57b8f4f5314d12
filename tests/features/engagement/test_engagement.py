"""Engagement foundations: memberships kept by the dispatcher, activity counted per stage, the
drift rule and the concentration measures, on small hand-made communities."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.features.engagement import store
from bot.features.engagement.rules import (
    Activity,
    DriftRules,
    MemberHistory,
    drifting,
    gini,
    lower_quartile,
    top_share,
)
from bot.storage import memberships
from bot.storage.schema import nudges
from tests.helpers import ConsoleStory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = DriftRules(recent_days=14, joined_days=7)


def member(ref: str, *, days: int = 120, recent: int = 0, earlier: int = 0) -> MemberHistory:
    return MemberHistory(
        member_ref=ref, joined_at=NOW - timedelta(days=days), recent=recent, earlier=earlier
    )


def message_number(said: str) -> str:
    found = re.search(r"\[(\d+)\]", said)
    assert found is not None, said
    return found.group(1)


# --- the drift rule --------------------------------------------------------------------------


def test_a_member_with_no_recent_activity_is_inactive_but_a_newcomer_is_left_alone() -> None:
    cohort = [
        member("quiet", recent=0, earlier=10),
        member("new", days=5, recent=0),
        member("busy", recent=9, earlier=30),
    ]
    found = drifting(cohort, NOW, RULES)
    assert [(d.member_ref, d.reason) for d in found] == [("quiet", "inactive")]


def test_a_fall_counts_only_together_with_the_lower_quartile() -> None:
    # "fell" did 40 a period before and 2 now: a fall, and in the lower quartile.
    # "steady_low" always did 2: in the lower quartile, but no fall: never a candidate.
    # "star" fell from 100 to 20 a period, but 20 is far above the cohort's lower quartile.
    cohort = [
        member("fell", recent=2, earlier=160),
        member("steady_low", recent=2, earlier=8),
        member("star", recent=20, earlier=400),
        member("a", recent=8, earlier=32),
        member("b", recent=10, earlier=40),
        member("c", recent=12, earlier=48),
    ]
    found = drifting(cohort, NOW, RULES)
    assert [(d.member_ref, d.reason) for d in found] == [("fell", "fell")]
    assert found[0].earlier_rate == pytest.approx(40.0)


def test_the_earlier_level_counts_only_the_time_they_were_a_member() -> None:
    # Joined 28 days ago: one earlier period of 14 days, in which they did 12 things.
    cohort = [
        member("recent_joiner", days=28, recent=1, earlier=12),
        *(member(f"m{i}", recent=10, earlier=40) for i in range(4)),
    ]
    found = drifting(cohort, NOW, RULES)
    assert [(d.member_ref, d.earlier_rate) for d in found] == [("recent_joiner", 12.0)]
    # With less than one whole earlier period there is no level to fall from.
    cohort[0] = member("recent_joiner", days=20, recent=1, earlier=12)
    assert drifting(cohort, NOW, RULES) == []


def test_concentration_measures_on_known_values() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0
    replies = {f"m{i}": 1 for i in range(18)} | {"hub": 60, "second": 22}
    # Twenty members: the top 10% are two, who received 82 of 100 replies.
    assert top_share(replies) == pytest.approx(0.82)
    assert lower_quartile([1, 2, 3, 4, 5]) == 2.0
    assert lower_quartile([]) == 0.0


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=60))
def test_gini_stays_between_zero_and_one(values: list[int]) -> None:
    assert 0.0 <= gini(values) < 1.0


def test_stages_add_up_and_the_weakest_is_the_earliest_tie() -> None:
    activity = Activity(questions=1, reactions=2, replies=1, links_shared=3, messages=4)
    assert activity.stages() == {"seek": 1, "sense": 3, "share": 3, "presence": 0}
    assert activity.total == 11
    assert activity.weakest_stage() == "presence"
    assert Activity().weakest_stage() == "seek"
    assert (activity + activity).stage("share") == 6


# --- memberships and activity, through the real application -----------------------------------


async def test_memberships_record_first_sign_last_action_contact_and_role(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: hello everyone")
        clock.advance(timedelta(hours=2))
        await story.say("fran: welcome, alice")
        await story.say("bob+1 :wave:")
        clock.advance(timedelta(days=1))
        await story.say("alice: /profile")
        async with story.app.database.reading() as conn:
            found = {m.member_ref: m for m in await memberships.community_members(conn, "demo")}
    alice, fran, bob = found["console:/alice"], found["console:/fran"], found["console:/bob"]
    assert alice.joined_at == NOW and alice.last_active_at == NOW + timedelta(days=1, hours=2)
    assert alice.contacted_at == alice.last_active_at  # a command is talking to the bot
    assert not alice.facilitator and fran.facilitator
    assert fran.contacted_at is None and bob.contacted_at is None
    assert bob.last_active_at == NOW + timedelta(hours=2)
    assert alice.first_active_at == NOW and bob.first_active_at == NOW + timedelta(hours=2)


@pytest.mark.both_backends
async def test_activity_is_counted_per_stage_without_counting_anything_twice(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        first = message_number(await story.say("alice: what I read https://example.org/a"))
        await story.say("bob: same here https://example.org/a and https://example.org/b")
        await story.say(f"bob>{first}: thanks, this was useful")
        await story.say(f"carol>{first}: agreed")
        await story.say(f"carol+{first} :bookmark:")
        await story.say("carol: just saying hi")
        await story.say("dave: /seek Who knows a primer on interviews?")
        await story.say("dave: /reflect Spacing beats cramming, it seems")
        async with story.app.database.reading() as conn:
            counted = await store.activity(conn, "demo", NOW, NOW + timedelta(days=1))
            before = await store.activity(conn, "demo", NOW - timedelta(days=7), NOW)
            bobs = await store.activity(
                conn, "demo", NOW, NOW + timedelta(days=1), members=["console:/bob"]
            )
            received = await store.replies_received(conn, "demo", NOW, NOW + timedelta(days=1))
            met = await store.interactions(conn, "demo", NOW, NOW + timedelta(days=1))
    alice, bob = counted["console:/alice"], counted["console:/bob"]
    carol, dave = counted["console:/carol"], counted["console:/dave"]
    assert (alice.links_found, alice.links_shared, alice.messages) == (1, 1, 0)
    assert (bob.links_found, bob.links_shared, bob.replies) == (1, 2, 1)
    assert (carol.replies, carol.reactions, carol.messages) == (1, 1, 1)
    assert (dave.questions, dave.reflections, dave.total) == (1, 1, 2)
    assert alice.stages() == {"seek": 1, "sense": 0, "share": 1, "presence": 0}
    assert before == {}
    assert bobs == {"console:/bob": bob}
    assert received == {"console:/alice": 2}
    assert met == {
        frozenset({"console:/alice", "console:/bob"}),
        frozenset({"console:/alice", "console:/carol"}),
    }


async def test_the_cohort_leaves_out_facilitators_and_finds_who_went_quiet(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        for name in ("alice", "bob", "fran"):
            await story.say(f"{name}: hello")
        clock.advance(timedelta(days=20))
        await story.say("bob: still here")
        async with story.app.database.reading() as conn:
            now = clock.now()
            cohort = await store.cohort_histories(conn, "demo", now, RULES)
            found = await store.drifting_members(conn, "demo", now, RULES)
    assert sorted(h.member_ref for h in cohort) == ["console:/alice", "console:/bob"]
    assert [(d.member_ref, d.reason) for d in found] == [("console:/alice", "inactive")]
    assert found[0].last_active_at == NOW


async def test_a_nudge_is_answered_by_any_own_action_within_the_window(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: hello")
        await story.say("bob: hello")
        sent = NOW + timedelta(days=20)
        async with story.app.database.transaction() as conn:
            for ref in ("console:/alice", "console:/bob"):
                await conn.execute(
                    nudges.insert().values(
                        community="demo",
                        member_ref=ref,
                        sent_at=sent,
                        reason="inactive",
                        step="react",
                        text="…",
                    )
                )
        clock.set(sent + timedelta(days=3))
        await story.say("alice+1 :thumbsup:")
        clock.set(sent + timedelta(days=8))
        await story.say("bob: back after a while")  # too late to answer the nudge
        async with story.app.database.transaction() as conn:
            marked = await store.settle_nudge_answers(conn, "demo", clock.now(), 7)
            again = await store.settle_nudge_answers(conn, "demo", clock.now(), 7)
            answers = dict(
                (await conn.execute(select(nudges.c.member_ref, nudges.c.answered_at))).all()
            )
    assert (marked, again) == (1, 0)
    assert answers == {"console:/alice": sent + timedelta(days=3), "console:/bob": None}


async def test_a_busy_member_is_rewritten_at_most_once_a_minute_but_contact_is_never_missed(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async def alice() -> memberships.Membership:
        async with story.app.database.reading() as conn:
            found = await memberships.membership(conn, "demo", "console:/alice")
        assert found is not None
        return found

    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: one")
        clock.advance(timedelta(seconds=30))
        await story.say("alice: two")
        assert (await alice()).last_active_at == NOW  # within the minute: not rewritten
        await story.say("alice: /profile")
        assert (await alice()).contacted_at == NOW + timedelta(seconds=30)
        clock.advance(timedelta(seconds=60))  # a minute after the last write
        await story.say("alice: three")
        assert (await alice()).last_active_at == NOW + timedelta(seconds=90)


@pytest.mark.both_backends
async def test_new_voices_are_the_same_in_the_digest_the_report_and_profile(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    """A new voice of a week: a member whose first own contribution here falls in it."""
    config = config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
            }
        ]
    )
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.allow("carol", "dave", consents=("named",))  # erin never says yes
        clock.set(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))  # 2026-W47
        await story.say("dave: /seek Who has read about connectivism?")  # his first: W47
        await story.say("bob: hello all")  # talk is no contribution
        await story.say("carol+1 :heart:")  # nor is a reaction
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # 2026-W48
        await story.say("dave: https://example.org/d")
        await story.say("carol: https://example.org/c")
        await story.say("erin: https://example.org/e")
        async with story.app.database.reading() as conn:
            start, end = (
                datetime(2026, 11, 22, 23, tzinfo=UTC),
                datetime(2026, 11, 29, 23, tzinfo=UTC),
            )
            assert await store.new_voices(conn, "demo", start, end) == [
                "console:/carol",
                "console:/erin",
            ]
        assert "new voice" in (await story.say("carol: /profile")).lower()
        assert "new voice" not in (await story.say("dave: /profile")).lower()
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        digest = await story.say("fran: /digest preview")
        voices = digest.split("New voices", 1)[1].split("\n\n", 1)[0]
        assert "carol" in voices and "and 1 more" in voices
        assert "dave" not in voices and "erin" not in voices and "bob" not in voices
        report = await story.say("fran: /report 2026-W48")
        assert (
            "New voices (2, their first contribution here): carol, "
            "1 not named (they have not allowed it)" in report
        )
