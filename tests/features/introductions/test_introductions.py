"""Bridging introductions through the real application: members who opted in and share
topics but never interacted are introduced by DM once, each shown the other's recent share;
nobody else is written to, and no run, replay or second process sends anything twice."""

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

from bot.cli import describe
from bot.core.actions import Action, SendDirect
from bot.core.clock import ManualClock
from bot.core.config import Config, ConfigError, Secrets
from bot.core.events import Author, CommandInvoked
from bot.core.platform import Capability, PlatformError
from bot.core.refs import ChannelRef, InteractionRef, MemberRef
from bot.features import FEATURES
from bot.features.introductions import store
from bot.features.introductions.service import IntroductionService
from bot.features.introductions.topics import TopicModel
from bot.features.links.preview_store import save_preview
from bot.runtime.feature import member_tables
from bot.storage.member_data import export_member
from bot.storage.schema import introductions, job_run_parts, job_runs
from tests.helpers import ConsoleStory, outbox_rows, refusing

EVERY_TABLE = member_tables(FEATURES)  # what /export and /forget-me cover

pytestmark = [pytest.mark.timeout(60)]

BERLIN = ZoneInfo("Europe/Berlin")
CONSOLE = frozenset({Capability.DIRECT_MESSAGES, Capability.UNSOLICITED_DIRECT_MESSAGES})


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


WEDNESDAY = berlin(11, 25, 10)  # the first run of the default "wed 10:00"


def intro_config(config_for: Callable[..., Config], **introductions: Any) -> Config:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general", "resources"]},
        "members": {"welcome": False, "literacy_questions": False},
    }
    if introductions:
        community["introductions"] = introductions
    return config_for(communities=[community], fetch={"previews": False})


def post_number(said: str) -> int:
    match = re.search(r"\[(\d+)\] #\w+ \w+: ", said)
    assert match is not None, said
    return int(match.group(1))


async def titled(story: ConsoleStory, url: str, title: str) -> None:
    """The page's title, as the preview fetcher would have stored it."""
    async with story.app.database.transaction() as conn:
        await save_preview(
            conn, url, title=title, description=None, site_name=None, now=story.clock.now()
        )


async def a_small_community(story: ConsoleStory) -> None:
    """alice and bob share spaced practice on example.org and never talked; carol knits;
    dave shares interleaving as alice does, but already replied to her; erin shares what bob
    shares but never opted in."""
    said = await story.say(
        "alice@resources: https://example.org/spacing Spaced practice for adult learners"
    )
    alice_post = post_number(said)
    await story.say("alice: /share https://example.org/interleaving Interleaving versus blocking")
    await story.say("bob: /share https://example.org/retrieval Spaced practice beats cramming")
    await story.say("bob: /reflect feedback on retrieval practice changed my evening class")
    await story.say("carol@resources: https://knitting.test/socks Sock yarn for winter")
    await story.say("dave@resources: https://maths.test/mixing Interleaving versus blocking")
    await story.say(f"dave>{alice_post}: I use this with my maths class too")
    await story.say("erin@resources: https://example.org/retrieval Spaced practice, retrieval")
    await titled(story, "https://example.org/spacing", "Spacing effects explained")
    await titled(story, "https://example.org/retrieval", "Retrieval and spacing")
    for name in ("alice", "bob", "carol", "dave"):
        assert "introductions=on" in await story.say(f"{name}: /settings introductions=on")
    await story.say("alice: /settings quotes=on")  # bob never says yes to quotes


@pytest.mark.both_backends
async def test_members_who_share_topics_but_never_met_are_introduced_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await a_small_community(story)
        said = await story.tick(WEDNESDAY)
        dms = re.findall(r"✉ to (\w+): ", said)
        assert sorted(dms) == ["alice", "bob"], said
        to_alice = said.split("✉ to alice: ")[1].split("✉ to")[0]
        to_bob = said.split("✉ to bob: ")[1].split("✉ to")[0]
        assert to_alice.startswith(
            "👋 Meet bob: they recently shared «Retrieval and spacing» "
            "<https://example.org/retrieval> — you both follow "
        )
        assert "example.org" in to_alice and "spaced practice" in to_alice
        assert "In their words" not in to_alice  # bob keeps his words out (never said yes)
        assert to_bob.startswith(
            "👋 Meet alice: they recently shared «Spacing effects explained» "
            "<https://example.org/spacing> — you both follow "
        )
        # alice shared her link with words around it, not with /share: those are quoted too.
        assert "In their words: “Spaced practice for adult learners”" in to_bob
        assert "/settings introductions=off" in to_alice and "/introductions" in to_bob
        assert "carol" not in said and "dave" not in said and "erin" not in said
        assert await story.tick(berlin(11, 25, 11)) == ""  # later the same day: nothing again

        said = await story.say("alice: /introductions")
        assert "Your introductions (1)" in said and "bob · " in said and "example.org" in said
        said = await story.tick(berlin(12, 2, 10))  # a week later
        assert said == ""  # alice and bob were introduced; dave's only match talked to him
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(introductions))).all()
        pairs = [(r.member_a, r.member_b) for r in rows]
        assert pairs == [("console:/alice", "console:/bob")]
        # Without the rule that members who talked are never introduced, alice would have
        # met dave: he is closer to her than bob is.
        async with story.app.database.reading() as conn:
            items, _ = await store.topic_items(conn, "demo", WEDNESDAY - timedelta(90), WEDNESDAY)
        model = TopicModel.build(items)
        alice, bob, dave = (f"console:/{name}" for name in ("alice", "bob", "dave"))
        assert model.similarity(alice, dave) > model.similarity(alice, bob) > 0


async def test_a_note_is_quoted_only_with_consent_and_opting_out_stops_introductions(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /share https://example.org/spacing Spacing works for adults")
        await story.say("bob: /share https://example.org/rubric Spacing and rubrics together")
        await story.say("carol: /share https://example.org/rubric2 rubrics for peer review")
        await story.say("zoe: /share https://garden.test/tomatoes growing tomatoes")
        for name in ("alice", "bob", "carol"):
            await story.say(f"{name}: /settings introductions=on")
        await story.say("alice: /settings quotes=on")
        await story.say("bob: /settings quotes=off")
        await story.say("carol: /settings introductions=off")
        said = await story.tick(WEDNESDAY)
        to_bob = said.split("✉ to bob: ")[1].split("✉ to")[0]
        to_alice = said.split("✉ to alice: ")[1].split("✉ to")[0]
        assert "In their words: “Spacing works for adults”" in to_bob
        assert "In their words" not in to_alice
        assert "https://example.org/spacing" in to_bob and "spacing" in to_bob.split("follow")[1]
        assert "carol" not in said


async def test_no_shared_topic_no_introduction_and_nobody_who_did_not_opt_in_is_written_to(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /share https://example.org/spacing spaced practice")
        await story.say("bob: /share https://example.org/spacing2 spaced practice")  # no opt-in
        await story.say("carol: /share https://knitting.test/socks sock yarn")
        await story.say("dave: /share https://chess.test/openings chess openings")
        for name in ("alice", "carol", "dave"):
            await story.say(f"{name}: /settings introductions=on")
        assert "✉" not in await story.tick(WEDNESDAY)
        said = await story.say("alice: /introductions")
        assert "not been introduced to anyone yet" in said and "Introductions are on" in said
        said = await story.say("bob: /introductions")
        assert "Introductions are off for you" in said


async def test_disabled_introductions_never_run_and_check_lists_their_time(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = intro_config(config_for, enabled=False)
    async with ConsoleStory(config, clock, tmp_path) as story:
        await a_small_community(story)
        assert "✉" not in await story.tick(WEDNESDAY)
    assert "introductions (members" not in describe(config, Secrets())
    shown = describe(intro_config(config_for, when="fri 16:30", lookback_days=30), Secrets())
    [line] = [line for line in shown.splitlines() if "introductions (" in line]
    assert line.startswith("  introductions (members who opted in): Fridays at 16:30; next Fri")


def test_bad_introduction_settings_are_explained(config_for: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError, match=r"introductions\.when: 'someday 9'"):
        intro_config(config_for, when="someday 9")
    with pytest.raises(ConfigError, match=r"introductions\.lookback_days"):
        intro_config(config_for, lookback_days=3)


@pytest.mark.both_backends
async def test_a_run_that_stopped_after_pairing_sends_the_rest_once_and_forget_me_erases(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await a_small_community(story)
        # A run that recorded its pairs, then died before any DM went out:
        assert await story.app.service(IntroductionService).pair("demo", WEDNESDAY) == 1
        said = await story.tick(WEDNESDAY)
        assert sorted(re.findall(r"✉ to (\w+): ", said)) == ["alice", "bob"]
        assert await story.tick(WEDNESDAY + timedelta(minutes=5)) == ""
        async with story.app.database.reading() as conn:
            assert (await export_member(conn, "console:/alice", EVERY_TABLE))["introductions"]
        await story.say("bob: /forget-me confirm")
        async with story.app.database.reading() as conn:
            assert "introductions" not in await export_member(conn, "console:/alice", EVERY_TABLE)
        said = await story.say("alice: /introductions")
        assert "not been introduced to anyone yet" in said


async def test_two_processes_send_each_introduction_once_and_a_closed_dm_fails_nothing(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = intro_config(config_for)

    def bob_closed_his_dms(action: Action) -> Exception | None:
        if isinstance(action, SendDirect) and action.member.member == "bob":
            return PlatformError("bob does not accept direct messages")
        return None

    async with ConsoleStory(config, clock, tmp_path) as one:
        await a_small_community(one)
        async with ConsoleStory(config, clock, tmp_path) as two:  # a second process
            for story in (one, two):
                refusing(story, bob_closed_his_dms)
            clock.set(WEDNESDAY)  # neither scheduler is poked: the two runs race here
            await asyncio.gather(one.app.scheduler.run_due(), two.app.scheduler.run_due())
            clock.advance(timedelta(minutes=5))
            await asyncio.gather(one.app.scheduler.run_due(), two.app.scheduler.run_due())
            await asyncio.gather(one.app.drain(), two.app.drain())
            said = one.output() + two.output()
            assert re.findall(r"✉ to (\w+): ", said) == ["alice"]
            assert said.split("✉ to alice: ")[1].startswith("👋 Meet bob: ")
            async with one.app.database.reading() as conn:
                [run] = (
                    await conn.execute(
                        select(job_runs).where(job_runs.c.job_id == "introductions:demo")
                    )
                ).all()
                parts = (await conn.execute(select(job_run_parts.c.part))).scalars().all()
            assert run.status == "done"  # bob's closed DMs did not fail (and repeat) the run
            assert sorted(parts) == ["intro:1:a", "intro:1:b"]
            rows = [r for r in await outbox_rows(one.app) if r.key.startswith("run:intro")]
            assert sorted((row.lane, row.status) for row in rows) == [
                ("dm:console:/alice", "done"),
                ("dm:console:/bob", "parked"),
            ]
            assert await two.tick(WEDNESDAY + timedelta(minutes=10)) == ""  # nothing more


async def test_facilitators_who_opt_in_take_part_and_an_opt_out_before_sending_is_kept(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await story.say("fran: /share https://example.org/rubrics rubrics for peer review")
        await story.say("zoe: /share https://example.org/peer peer review with rubrics")
        await story.say("yan: /share https://example.org/spacing spaced practice")
        await story.say("xia: /share https://example.org/space spaced practice for adults")
        await story.say("wim: /share https://garden.test/tomatoes growing tomatoes")
        for name in ("fran", "zoe", "yan", "xia"):
            await story.say(f"{name}: /settings introductions=on")
        assert await story.app.service(IntroductionService).pair("demo", WEDNESDAY) == 2
        await story.say("xia: /settings introductions=off")  # before the DMs went out
        said = await story.tick(WEDNESDAY)
        assert sorted(re.findall(r"✉ to (\w+): ", said)) == ["fran", "zoe"]
        assert "Meet zoe" in said and "Meet fran" in said and "peer review" in said


async def test_a_private_reflection_never_becomes_a_topic_in_someone_elses_introduction(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /settings quotes=off")
        await story.say("bob: /settings quotes=on")
        await story.say("alice: /reflect My manager's feedback on the migration hurt")
        await story.say("bob: /reflect Spaced practice works for vocabulary")
        async with story.app.database.reading() as conn:
            items, _ = await store.topic_items(
                conn, "demo", clock.now() - timedelta(days=1), clock.now() + timedelta(days=1)
            )
    words = {item.member_ref: item.texts for item in items}
    assert "console:/alice" not in words
    assert words["console:/bob"] == ("Spaced practice works for vocabulary",)


async def test_words_shared_in_a_direct_message_are_never_quoted_in_an_introduction(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(intro_config(config_for), clock, tmp_path) as story:
        await story.allow("alice")  # she allows quotes: still, nobody read these words
        dm = ChannelRef("console", "", "dm-alice")
        await story.app.dispatcher.deliver(
            CommandInvoked(
                key="console:dm-share",
                path=("share",),
                author=Author(ref=MemberRef("console", "", "alice"), name="alice"),
                channel=dm,
                invoked_at=clock.now(),
                reply_to=InteractionRef("console", "alice:dm-share", dm),
                text="https://example.org/spacing Spacing works for adults, I told only the bot",
                is_direct=True,
            )
        )
        await story.app.drain()
        await story.say("bob: /share https://example.org/rubric Spacing and rubrics together")
        await story.say("carol: /share https://example.org/rubric2 rubrics for peer review")
        await story.say("zoe: /share https://garden.test/tomatoes growing tomatoes")
        for name in ("alice", "bob"):
            await story.say(f"{name}: /settings introductions=on")
        said = await story.tick(WEDNESDAY)
        to_bob = said.split("✉ to bob: ")[1].split("✉ to")[0]
        assert "Meet alice" in to_bob and "https://example.org/spacing" in to_bob
        assert "In their words" not in to_bob and "told only the bot" not in to_bob
