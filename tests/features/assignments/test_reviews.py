"""Peer review through the console: pairing at the due time, blind reviews, reminders, the
facilitator's view side by side, reassignment, calibration, export and forgetting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.features import FEATURES
from bot.features.assignments.reviews import distance
from bot.runtime.feature import member_tables
from bot.storage.member_data import export_member
from bot.storage.schema import peer_reviews
from tests.features.assignments.test_assignments import course, create
from tests.helpers import ConsoleStory

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_backends]

DUE = "2026-12-10 17:00"  # Europe/Berlin: 16:00 UTC
AFTER_DUE = datetime(2026, 12, 10, 16, 5, tzinfo=UTC)
MEMBERS = ("alice", "bob", "carol", "dave")


async def hand_in(story: ConsoleStory, key: str, member: str, levels: list[int]) -> str:
    await story.say(f"{member}: /submit {key} {member} thinks networks learn, in plain text")
    for number, level in enumerate(levels, 1):
        await story.say(f"{member}: /self-assess level {key} {number} {level}")
    said = await story.say(
        f'{member}: /self-assess finish {key} strengths="ideas" improve="sources" grade=B'
    )
    assert "Submitted" in said, said
    return said


async def reviews(story: ConsoleStory) -> list[dict[str, object]]:
    async with story.app.database.reading() as conn:
        rows = (await conn.execute(select(peer_reviews).order_by(peer_reviews.c.id))).all()
    return [dict(row._mapping) for row in rows]


def dms(said: str) -> dict[str, str]:
    """Each member's direct messages in this output, joined."""
    found: dict[str, list[str]] = {}
    for block in re.split(r"(?m)^(?=✉ to |\(only |\[\d+\] |  \S+ pressed )", said):
        match = re.match(r"✉ to ([\w.-]+): ", block)
        if match:
            found.setdefault(match.group(1), []).append(block)
    return {member: "\n".join(texts) for member, texts in found.items()}


async def test_blind_peer_review_from_pairing_to_calibration_names_nobody(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story, due=DUE, extra='reviews=2 blind=on review_due="2026-12-14 17:00"')
        said = await story.say("fran: /assignment list")
        assert key in said
        for member, levels in zip(
            MEMBERS,
            ([3, 2, 2, 1, 2], [4, 3, 2, 2, 2], [1, 1, 1, 1, 1], [2, 2, 2, 2, 2]),
            strict=True,
        ):
            await hand_in(story, key, member, levels)
        said = await story.say("alice: /review list")
        assert "no peer reviews" in said
        said = await story.tick(AFTER_DUE)
        told = dms(said)
        for member in MEMBERS:
            assert "you have 2 submission(s) to review" in told[member], said
            assert "blind" in told[member]
        assert "8 reviews handed out among 4 reviewers" in told["fran"]
        rows = await reviews(story)
        assert len(rows) == 8
        assert all(row["reviewer_ref"] != row["reviewee_ref"] for row in rows)
        # a second run of the job pairs nothing again
        assert "to review" not in await story.tick(datetime(2026, 12, 10, 16, 30, tzinfo=UTC))
        assert len(await reviews(story)) == 8

        mine = [row for row in rows if row["reviewer_ref"] == "console:/alice"]
        first = f"R{mine[0]['id']}"
        reviewee = str(mine[0]["reviewee_ref"]).split("/")[-1]
        said = await story.say(f"alice: /review show {first}")
        assert "The work:" in said and "thinks networks learn" in said
        assert "author is not named to you" in said
        others = [m for m in MEMBERS if m != "alice"]
        # the work names its author only in its text ("bob thinks..."): the bot adds no name
        assert f"By {reviewee}" not in said
        [option] = re.findall(
            rf"\[button (\d+): 3\. proficient → /review level {first} 1 3\]", said
        )
        said = await story.say(f"alice!press {option}")
        assert "1. Connections: **proficient**" in said or "Connections: proficient" in said
        for number in (2, 3, 4, 5):
            await story.say(f"alice: /review level {first} {number} 1")
        said = await story.say(
            f'alice: /review finish {first} strength="a clear thesis" suggestion="cite two papers"'
        )
        assert f"Sent your review {first}" in said, said
        told = dms(said)
        assert set(told) == {reviewee}, said
        assert "A peer reviewed your submission" in told[reviewee]
        assert "a clear thesis" in told[reviewee] and "cite two papers" in told[reviewee]
        assert "alice" not in told[reviewee]
        said = await story.say(f"alice: /review finish {first} strength=x suggestion=y")
        assert "sent" in said and "cannot be changed" in said

        # the facilitators see the reviews side by side with names; the members never
        said = await story.say("fran: /grade reviews " + key)
        assert "1 of 8 reviews sent (0 late)" in said and "Not yet reviewed" in said
        submission = f"S{mine[0]['submission_id']}"
        said = await story.say(f"fran: /grade show {submission}")
        assert "Peer reviews" in said and "by alice" in said and "self " in said, said
        said = await story.say(f"{reviewee}: /submission {key}")
        assert "Peer reviews you received:** 1 of 2" in said or "1 of 2" in said, said
        assert "a clear thesis" in said and "alice" not in said
        assert "Once every review is in" in said

        # reassign one of bob's unfinished reviews to carol... unless carol already has it
        everything = await reviews(story)
        todo = [row for row in everything if row["submitted_at"] is None]
        target = next(row for row in todo if row["reviewer_ref"] == f"console:/{others[0]}")
        busy = {
            row["reviewer_ref"]
            for row in everything
            if row["submission_id"] == target["submission_id"]
        }
        taker = next(
            m
            for m in MEMBERS
            if f"console:/{m}" != target["reviewee_ref"] and f"console:/{m}" not in busy
        )
        said = await story.say(f"{others[0]}: /grade reassign R{target['id']} {taker}")
        assert "facilitators" in said.lower()
        said = await story.say(f"fran: /grade reassign R{target['id']} {taker}")
        told = dms(said)
        assert f"now goes to {taker}" in said
        assert "given to someone else" in told[others[0]] and "to review" in told[taker]

        # a day before reviews are due, the reviewers who still have reviews are reminded
        said = await story.tick(datetime(2026, 12, 13, 16, 30, tzinfo=UTC))
        reminded = dms(said)
        assert "A reminder" in reminded["bob"] and "alice" in reminded
        assert "A reminder" not in await story.tick(datetime(2026, 12, 13, 17, 30, tzinfo=UTC))

        # past the review due time the reviewee sees the calibration
        await story.tick(datetime(2026, 12, 14, 17, 0, tzinfo=UTC))
        said = await story.say(f"{reviewee}: /submission {key}")
        assert "next to your peers'" in said and "Connections:" in said, said


async def test_too_few_submitters_late_arrivals_blind_blog_refusal_export_and_forgetting(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story, due=DUE, extra="reviews=3")
        said = await story.say(f"alice: /submit {key} blog")
        assert "blind" in said and "blog post names its author" in said
        await hand_in(story, key, "alice", [1, 1, 1, 1, 1])
        await hand_in(story, key, "bob", [2, 2, 2, 2, 2])
        said = await story.tick(AFTER_DUE)
        told = dms(said)
        assert "you have 1 submission(s) to review" in told["alice"]
        assert "2 submission(s) get fewer than 3 reviews" in told["fran"]
        # carol hands in late: she gets reviewers at once, the least loaded first
        said = await hand_in(story, key, "carol", [2, 1, 2, 1, 2])
        told = dms(said)
        assert set(told) == {"alice", "bob"}, said
        assert len(await reviews(story)) == 4
        # a reviewer's review sent, then forgotten: the review stays for bob, unnamed
        row = next(
            r
            for r in await reviews(story)
            if r["reviewer_ref"] == "console:/alice" and r["reviewee_ref"] == "console:/bob"
        )
        for number in range(1, 6):
            await story.say(f"alice: /review level R{row['id']} {number} 2")
        await story.say(f"alice: /review finish R{row['id']} strength=s suggestion=t")
        async with story.app.database.reading() as conn:
            bobs = await export_member(conn, "console:/bob", member_tables(FEATURES))
            alices = await export_member(conn, "console:/alice", member_tables(FEATURES))
        received = [r for r in bobs["peer_reviews"] if r["reviewee_ref"] == "console:/bob"]
        assert received and all(r["reviewer_ref"] is None for r in received)
        assert "console:/alice" not in json.dumps(bobs)
        given = [r for r in alices["peer_reviews"] if r["reviewer_ref"] == "console:/alice"]
        assert len(given) == 2
        await story.say("alice: /forget-me confirm")
        kept = await reviews(story)
        assert [r for r in kept if r["reviewer_ref"] is None and r["submitted_at"] is not None]
        assert not [r for r in kept if r["reviewer_ref"] is None and r["submitted_at"] is None]
        said = await story.say(f"bob: /submission {key}")
        assert "Done well: s" in said, said


def test_distance_is_the_mean_gap_between_own_and_peers_levels_per_criterion() -> None:
    assert distance([2, 0], [[1, 3], [0]]) == 0.0
    assert distance([3, 1], [[1], []]) == 2.0  # a criterion no peer judged does not count
    assert distance([1], [[]]) is None


async def review_all(story: ConsoleStory, level: int) -> str:
    """Every pending review sent, every criterion at `level`; what was printed."""
    printed = ""
    for row in await reviews(story):
        if row["submitted_at"] is not None:
            continue
        who = str(row["reviewer_ref"]).split("/")[-1]
        for number in range(1, 6):
            await story.say(f"{who}: /review level R{row['id']} {number} {level}")
        said = await story.say(f"{who}: /review finish R{row['id']} strength=s suggestion=t")
        assert "Sent your review" in said, said
        printed += said
    return printed


async def test_pairing_catches_up_after_a_restart_and_calibration_shows_the_trend(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = course(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:
        first = await create(story, due=DUE, extra="reviews=1 blind=off")
        second = await create(story, due="2026-12-17 17:00", extra="reviews=1 blind=off")
        await hand_in(story, first, "alice", [4, 3, 2, 2, 2])  # far above what peers see
        await hand_in(story, first, "bob", [1, 1, 1, 1, 1])
    # the bot was down at the due time: the first run after it pairs
    clock.set(datetime(2026, 12, 11, 8, 0, tzinfo=UTC))
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.tick(datetime(2026, 12, 11, 8, 5, tzinfo=UTC))
        assert "you have 1 submission(s) to review" in dms(said)["alice"], said
        assert "blind" not in dms(said)["alice"]
        # an open review names its reviewer to the author only when the reviewer allows it
        await story.allow("bob")
        told = dms(await review_all(story, 1))
        assert "bob reviewed your submission" in told["alice"], told
        assert "A peer reviewed your submission" in told["bob"], told
        await hand_in(story, second, "alice", [2, 1, 1, 1, 1])  # closer this time
        await hand_in(story, second, "bob", [1, 1, 1, 1, 1])
        await story.tick(datetime(2026, 12, 17, 16, 5, tzinfo=UTC))
        await review_all(story, 1)
        said = await story.say(f"alice: /submission {second}")
        assert "getting closer to your peers'" in said, said
        assert f"{first} 1.6, {second} 0.2" in said, said


async def test_review_settings_are_checked_and_the_review_due_time_follows_the_due_time(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        said = await story.say(
            f'fran: /assignment create "Essay" "{DUE}" reviews=2 review_due="2026-12-09 17:00"'
        )
        assert "peer reviews are due after the assignment itself" in said, said
        said = await story.say(f'fran: /assignment create "Essay" "{DUE}" reviews=11')
        assert "reviews is 0 (none) to 10" in said, said
        said = await story.say(f'fran: /assignment create "Essay" "{DUE}" reviews=1 reviewers=all')
        assert "Reviewers must be one of submitters, everyone" in said, said
        said = await story.say(f'fran: /assignment create "Essay" "{DUE}" reviews=1')
        assert "Peer review: 1 per submission, blind" in said and "Thu 17 Dec" in said, said
        said = await story.say('fran: /assignment extend A1 "2026-12-20 17:00"')
        said = await story.say("fran: /grade reviews A1")
        assert "reviews due Sun 27 Dec 2026 17:00" in said, said
