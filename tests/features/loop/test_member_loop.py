"""The members' side of the loop through the real application and console: /reflect, /share,
/seek with answers tracked in its thread, goals and their weekly check-in, critical-literacy
questions and annotations, welcomes, and the digest sections they feed (consent applied)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.cli import describe
from bot.core.actions import Action, Post, SendDirect
from bot.core.clock import ManualClock
from bot.core.communities import Purpose
from bot.core.config import Config, ConfigError, Secrets
from bot.core.events import Author, CommandInvoked, MemberJoined, MessageReceived
from bot.core.platform import Capability, EventSink, PlatformError
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.features import FEATURES
from bot.features.goals import store as goals_store
from bot.runtime.feature import member_tables
from bot.storage.database import Database
from bot.storage.member_data import export_member
from bot.storage.members import touch_members, update_member_settings
from bot.storage.schema import link_annotations, question_answers, reflections, shares
from tests.helpers import ConsoleStory

EVERY_TABLE = member_tables(FEATURES)  # what /export and /forget-me cover

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def loop_config(config_for: Callable[..., Config], **members: Any) -> Config:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general", "resources"], "digest": "general"},
    }
    if members:
        community["members"] = members
    return config_for(communities=[community])


async def rows(story: ConsoleStory, table: Any) -> list[Any]:
    async with story.app.database.reading() as conn:
        return list((await conn.execute(select(table))).all())


def number_of(said: str, pattern: str) -> int:
    match = re.search(pattern, said)
    assert match is not None, said
    return int(match.group(1))


async def test_reflect_keeps_a_reflection_about_a_link_and_the_digest_quotes_with_consent(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.allow("alice", "carol")
        said = await story.say(
            "alice: /reflect about=https://example.org/a?utm_source=x Spacing beats cramming, "
            "and now I see why my notes failed"
        )
        assert "Kept your reflection (R1)" in said
        said = await story.say("bob: /settings quotes=off")
        said = await story.say("bob: /reflect Something private I learned about my own habits")
        assert "only counts it" in said
        said = await story.say("carol: /reflect see https://example.org/c — it reframed feedback")
        said = await story.say("alice: /reflect")
        assert "Usage: /reflect" in said
        stored = await rows(story, reflections)
        assert [(r.member_ref, r.link_url) for r in stored] == [
            ("console:/alice", "https://example.org/a"),
            ("console:/bob", None),
            ("console:/carol", "https://example.org/c"),
        ]
        clock.advance(timedelta(days=7))  # curation applies to the last complete week
        await story.say("fran: /digest exclude R3 duplicate of a thread")
        said = await story.say("fran: /digest preview")
        assert "\nReflections\n" in said
        assert "Spacing beats cramming" in said and "about https://example.org/a" in said
        assert " · R1\n" in said
        assert "Something private" not in said and "bob" not in said.split("\nReflections\n")[1]
        assert "and 1 more reflection(s) from members who keep their words out" in said
        assert "reframed feedback" not in said  # excluded by a facilitator


async def test_share_records_the_note_and_a_bare_share_gets_one_literacy_question_a_day(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.allow("bob", consents=("quotes",))  # his annotation is quoted
        said = await story.say("alice: /share https://example.org/a A clear intro to spacing")
        assert "Facilitator: alice shared https://example.org/a (L1): A clear intro" in said
        assert "✉" not in said  # a note: no question
        said = await story.say("alice: /share not-a-link")
        assert "not-a-link is not an http(s) link" in said
        said = await story.say("bob: https://example.org/b")  # a bare link in a channel
        assert "✉ to bob: You shared https://example.org/b (L2) without a note" in said
        said = await story.say("bob: https://example.org/c")
        assert "✉" not in said  # at most once a day
        said = await story.say("bob: /annotate L2 Key idea: retrieval practice; a review paper")
        assert "Attached your note to L2" in said
        said = await story.say("bob: /annotate L99 nothing")
        assert "There is no link L99" in said
        said = await story.say("bob: /annotate L99999999999999 nothing")
        assert "There is no link L99999999999999" in said
        clock.advance(timedelta(days=1, minutes=1))
        said = await story.say("bob: /settings literacy_questions=off")
        assert "literacy_questions=off" in said
        said = await story.say("bob: https://example.org/d")
        assert "✉" not in said  # bob switched them off
        said = await story.say("carol: https://example.org/e thoughtful piece on assessment design")
        assert "✉" not in said  # a note around the link: no question
        [share] = [s for s in await rows(story, shares) if s.member_ref == "console:/alice"]
        assert share.note == "A clear intro to spacing"
        said = await story.say("fran: /digest preview this")
        assert "bob: Key idea: retrieval practice; a review paper" in said


async def test_share_answers_for_a_link_of_several_kilobytes(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        long_url = "https://example.org/" + "p" * 5000
        said = await story.say(f"alice: /share {long_url} a long one")
        assert f"alice shared {long_url} (L1)" in said
        said = await story.say(f"bob: /share {long_url}")
        assert f"bob shared {long_url} (L1)" in said


async def test_a_literacy_question_is_answered_by_a_direct_reply(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        said = await story.say("bob: https://example.org/b")
        assert "✉ to bob:" in said
        bob = Author(ref=MemberRef("console", "", "bob"), name="bob")
        dm = ChannelRef("console", "", "dm-bob")
        reply = MessageReceived(
            key="dm:1",
            ref=MessageRef(dm, "dm1"),
            author=bob,
            text="It argues for spaced practice; a blog, so take it with salt",
            sent_at=clock.now(),
            is_direct=True,
        )
        await story.app.dispatcher.deliver(reply)
        await story.app.dispatcher.deliver(reply)  # a replay adds nothing
        await story.app.drain()
        assert "✉ to bob: Thanks! I attached your note to L1." in story.output()
        [note] = await rows(story, link_annotations)
        assert note.member_ref == "console:/bob" and note.link_id == 1
        later = MessageReceived(
            key="dm:2",
            ref=MessageRef(dm, "dm2"),
            author=bob,
            text="unrelated chat",
            sent_at=clock.now(),
            is_direct=True,
        )
        await story.app.dispatcher.deliver(later)
        await story.app.drain()
        assert len(await rows(story, link_annotations)) == 1  # the question was answered


async def test_a_community_can_switch_literacy_questions_off(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = loop_config(config_for, welcome=False, literacy_questions=False)
    async with ConsoleStory(config, clock, tmp_path) as story:
        assert "✉" not in await story.say("bob: https://example.org/b")


async def test_seek_posts_a_thread_and_only_unanswered_questions_stay_open(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.allow("alice", "bob", consents=("quotes",))  # a question is their words
        said = await story.say("alice: /seek Who knows a primer on qualitative interviews?")
        assert "Posted your question (Q1) in #general" in said
        first = number_of(said, r"\[(\d+)\] #general Facilitator: 🔎 alice asks the network")
        said = await story.say("bob: /seek Any tools for spaced repetition?")
        second = number_of(said, r"\[(\d+)\] #general Facilitator: 🔎 bob asks the network")
        await story.say("carol: /settings quotes=off")
        await story.say("carol: /seek A question from someone private")
        await story.say(f"alice>{first}: I'm still looking too")  # the asker: not an answer
        said = await story.say(f"dave>{second}: Anki, and paper cards")
        answer = number_of(said, r"\[(\d+)\] #general \(thread of \d+\) dave")
        assert len(await rows(story, question_answers)) == 1
        said = await story.say("fran: /digest preview this")
        questions = said.split("\nOpen questions\n")[1]
        assert "Who knows a primer on qualitative interviews?" in questions
        assert "asked by alice" in questions and " · Q1\n" in questions
        assert "spaced repetition" not in questions  # answered
        assert "someone private" not in questions
        assert "and 1 more open question(s)" in questions
        await story.say(f"dave-{answer}")  # the answer is deleted: open again
        said = await story.say("fran: /digest preview this")
        assert "spaced repetition" in said.split("\nOpen questions\n")[1]


async def test_goals_and_an_opt_in_weekly_check_in_sent_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = loop_config(config_for, welcome=False, goal_checkin="mon 10:00")
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.say("alice: /goal show")
        assert "You have no goal set" in said
        said = await story.say("alice: /goal set Read two papers on feedback")
        assert "Your goal: **Read two papers on feedback**" not in said  # markup is rendered
        assert "Your goal: Read two papers on feedback" in said
        said = await story.say("alice: /goal set Read three papers on feedback")
        assert "replaces the previous one" in said
        assert "Read three papers" in await story.say("alice: /goal show")
        await story.say("alice: /settings goal_checkin=on")
        await story.say("bob: /goal set Write a blog post")  # bob did not opt in
        said = await story.tick(berlin(11, 30, 10))
        assert "✉ to alice: Your weekly check-in. Your goal: Read three papers" in said
        assert "✉ to bob" not in said
        assert await story.tick(berlin(11, 30, 11)) == ""  # once per week
        said = await story.say("alice: /goal done")
        assert "Well done" in said
        assert "goals reached so far: 1" in await story.say("alice: /goal show")
        said = await story.say("alice: /profile")
        assert "goal_checkin=on" in said and "goal: none (set one with" in said
        # No active goal: no check-in (bob, away for two weeks by now, may get a nudge).
        assert "✉ to alice" not in await story.tick(berlin(12, 7, 10))


async def test_a_newcomer_is_welcomed_once_and_invited_to_introduce_themselves(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = loop_config(config_for, introductions=True)
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.say("nina: hello everyone")
        assert "Facilitator: 👋 Introductions" in said  # the thread is opened once
        assert "✉ to nina: Welcome to demo!" in said
        assert "/goal set" in said and "/feed add" in said and "/settings" in said
        assert "/timezone" in said
        assert "introductions thread in #general" in said
        said = await story.say("nina: me again")
        assert "Welcome" not in said
        joined = MemberJoined(
            key="join:omar",
            member=Author(ref=MemberRef("console", "", "omar"), name="omar"),
            channel=ChannelRef("console", "", "general"),
            joined_at=clock.now(),
        )
        await story.app.dispatcher.deliver(joined)
        await story.app.dispatcher.deliver(joined)
        await story.app.drain()
        out = story.output()
        assert out.count("✉ to omar: Welcome to demo!") == 1
        assert "👋 Introductions" not in out  # already open
        assert "Welcome" not in await story.say("omar: hi, I joined earlier")


async def test_member_loop_data_is_exported_and_forgotten(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /reflect A thought worth keeping about my practice")
        await story.say("alice: /seek What should I read next?")
        await story.say("alice: /goal set Learn to interview")
        await story.say("alice: https://example.org/x")
        await story.say("alice: /annotate L1 Key idea: listening first")
        said = await story.say("alice: /profile")
        assert "Reflections: 1 · questions asked: 1 · goal: Learn to interview" in said
        async with story.app.database.reading() as conn:
            data = await export_member(conn, "console:/alice", EVERY_TABLE)
        for table in ("reflections", "questions", "goals", "link_annotations", "literacy_asks"):
            assert data.get(table), table
        assert data["welcomes"]
        await story.say("alice: /forget-me confirm")
        async with story.app.database.reading() as conn:
            assert await export_member(conn, "console:/alice", EVERY_TABLE) == {}


def test_bad_member_settings_in_the_config_are_explained(
    config_for: Callable[..., Config],
) -> None:
    with pytest.raises(
        ConfigError, match=r"members\.goal_checkin: 'someday 9': 'someday' is not a day"
    ):
        loop_config(config_for, goal_checkin="someday 9")
    with pytest.raises(ConfigError, match=r"members\.welcom: is not a known setting"):
        loop_config(config_for, welcom=True)


class NoDirectMessages:
    """A platform that refuses direct messages (members closed them), recording the rest."""

    name = "test"
    capabilities = frozenset({Capability.THREADS})

    def __init__(self) -> None:
        self.performed: list[Action] = []

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def perform(self, action: Action) -> MessageRef | None:
        if isinstance(action, SendDirect):
            raise PlatformError("this member does not accept direct messages")
        self.performed.append(action)
        if isinstance(action, Post):
            return MessageRef(action.channel, f"m{len(self.performed)}")
        return None

    async def stop(self) -> None:
        return None


async def test_a_welcome_that_cannot_be_sent_by_dm_is_posted_in_the_channel(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    platform = NoDirectMessages()
    app = Application(loop_config(config_for), secrets=Secrets(), clock=clock, platforms=[platform])
    await app.start()
    general = ChannelRef("test", "space", "general")
    app.directory.bind_channel(general, "demo", {Purpose.WATCHED})
    try:
        joined = MemberJoined(
            key="join:pia",
            member=Author(ref=MemberRef("test", "", "pia"), name="pia"),
            channel=general,
            joined_at=clock.now(),
        )
        await app.dispatcher.deliver(joined)
        await app.drain()
        [post] = platform.performed
        assert isinstance(post, Post) and post.channel == general
        assert (
            post.content.text.startswith("Hello pia!")
            and "Welcome to **demo**" in post.content.text
        )
    finally:
        await app.stop()


def test_check_lists_the_goal_check_in_times(config_for: Callable[..., Config]) -> None:
    shown = describe(loop_config(config_for, goal_checkin="fri 17:00"), Secrets())
    [line] = [line for line in shown.splitlines() if "goal check-ins" in line]
    assert line.startswith("  goal check-ins (members who opted in): Fridays at 17:00; next Fri")


async def test_two_processes_send_each_weekly_check_in_once(
    config_for: Callable[..., Config], database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    config = loop_config(config_for, goal_checkin="mon 10:00")
    async with database.transaction() as conn:
        for name in ("alice", "bob", "carol"):
            ref = f"console:/{name}"
            await touch_members(conn, {ref: ("console", name)}, clock.now())
            await update_member_settings(conn, ref, goal_checkin=name != "carol")
            await goals_store.set_goal(conn, "demo", ref, f"{name}'s goal", clock.now())
    assert clock.now() == berlin(11, 23, 10)  # a Monday, 10:00 in Berlin: due now
    async with (
        ConsoleStory(config, clock, tmp_path) as one,
        ConsoleStory(config, clock, tmp_path) as two,
    ):
        for week in (berlin(11, 23, 10), berlin(11, 30, 10)):
            clock.set(week)
            await asyncio.gather(one.app.scheduler.run_due(), two.app.scheduler.run_due())
            clock.advance(timedelta(minutes=5))
            await asyncio.gather(one.app.scheduler.run_due(), two.app.scheduler.run_due())
            await asyncio.gather(one.app.drain(), two.app.drain())
            said = one.output() + two.output()
            assert sorted(re.findall(r"✉ to (\w+): Your weekly check-in", said)) == [
                "alice",
                "bob",
            ], said


async def test_old_messages_read_back_after_a_restart_welcome_nobody(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for), clock, tmp_path) as story:
        old = MessageReceived(
            key="backfill:1",
            ref=MessageRef(ChannelRef("console", "", "general"), "old1"),
            author=Author(ref=MemberRef("console", "", "ulla"), name="ulla"),
            text="something from last week",
            sent_at=clock.now() - timedelta(days=3),
        )
        await story.app.dispatcher.deliver(old)
        await story.app.drain()
        assert "Welcome" not in story.output()
        async with story.app.database.reading() as conn:
            assert "welcomes" not in await export_member(conn, "console:/ulla", EVERY_TABLE)


async def test_words_written_to_the_bot_alone_are_kept_but_never_quoted(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        await story.allow("alice")
        alice = Author(ref=MemberRef("console", "", "alice"), name="alice")
        dm = ChannelRef("console", "", "dm-alice")
        await story.say("alice: /reflect In the open: spacing beats cramming")
        await story.app.dispatcher.deliver(
            CommandInvoked(
                key="console:dm-reflect",
                path=("reflect",),
                author=alice,
                channel=dm,
                invoked_at=clock.now(),
                reply_to=InteractionRef("console", "alice:dm-reflect", dm),
                text="Only for me: I struggle with my manager",
                is_direct=True,
            )
        )
        await story.app.drain()
        assert "only I read it" in story.output()
        assert "without a note" in await story.say("alice: https://example.org/bare")
        await story.app.dispatcher.deliver(  # her answer to the literacy question, by DM
            MessageReceived(
                key="console:dm-answer",
                ref=MessageRef(dm, "dm-answer"),
                author=alice,
                text="Key idea: my team lead is wrong about this",
                sent_at=clock.now(),
                is_direct=True,
            )
        )
        await story.app.drain()
        assert len(await rows(story, link_annotations)) == 1
        clock.advance(timedelta(days=7))
        said = await story.say("fran: /digest preview")
        assert "spacing beats cramming" in said
        assert "my manager" not in said and "team lead" not in said
        assert "and 1 more reflection(s)" in said


async def test_huge_input_is_refused_once_with_the_limit_not_echoed_back(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        huge = "word " * 20_000  # 100 KB
        said = await story.say(f"alice: /seek {huge}")
        assert "Question can be at most 2000 characters long" in said
        assert len(said) < 500  # one short refusal, nothing posted
        said = await story.say(f"alice: /annotate L1 {huge}")
        assert "Text can be at most 2000 characters long" in said
        assert len(said) < 500
        said = await story.say(f"alice: /seek {'x' * 2500}")
        assert len(said) < 500


async def test_annotate_and_reflect_take_a_link_by_id_or_by_address(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(loop_config(config_for, welcome=False), clock, tmp_path) as story:
        said = await story.say("alice: /share https://example.org/a A clear intro to spacing")
        assert "(L1)" in said
        said = await story.say(
            "bob: /annotate https://example.org/a?utm_source=x Key idea: spacing"
        )
        assert "Attached your note to L1" in said
        said = await story.say("bob: /annotate example.org/a Key idea again")
        assert "Attached your note to L1" in said
        said = await story.say("bob: /annotate https://example.org/never-shared a note")
        assert "There is no link https://example.org/never-shared" in said
        said = await story.say("bob: /reflect about=L1 Spacing changed how I revise")
        assert "Kept your reflection" in said
        said = await story.say("bob: /reflect about=L7 Spacing changed how I revise")
        assert "There is no link L7" in said
        said = await story.say("bob: /reflect about=https://example.org/b Another thought")
        assert "Kept your reflection" in said
        stored = await rows(story, reflections)
        assert [row.link_url for row in stored] == [
            "https://example.org/a",
            "https://example.org/b",
        ]
        notes = await rows(story, link_annotations)
        assert len(notes) == 2
