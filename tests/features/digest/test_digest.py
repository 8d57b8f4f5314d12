"""The weekly digest: ranking with diversity, consent, curation, posting once, DMs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.actions import Action, Post
from bot.core.clock import ManualClock
from bot.core.config import Config, ConfigError
from bot.core.events import Author, CommandInvoked
from bot.core.platform import PlatformError
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.core.weeks import IsoWeek, last_complete_week, resolve_week
from bot.features.digest import store as digest_store
from tests.helpers import ConsoleStory, eventually, refusing

BERLIN = ZoneInfo("Europe/Berlin")

pytestmark = pytest.mark.both_backends


def digest_config(config_for: Callable[..., Config], **extra: object) -> Config:
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {
                    "channels": ["general", "resources"],
                    "digest": "digest",
                    "announcements": "general",
                },
            }
        ],
        **extra,
    )


def test_weeks_cover_local_monday_to_monday_even_across_dst() -> None:
    week = IsoWeek.parse("2026-W43")  # Berlin leaves summer time on Sunday 25 October
    start, end = week.bounds(BERLIN)
    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=169)
    assert IsoWeek(2026, 49).days_text() == "Mon 30 Nov – Sun 6 Dec 2026"
    monday_morning = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert last_complete_week(monday_morning, BERLIN) == IsoWeek(2026, 48)
    assert str(resolve_week("this", monday_morning, BERLIN)) == "2026-W49"
    with pytest.raises(ValueError, match="write it like 2026-W48"):
        IsoWeek.parse("last tuesday")
    with pytest.raises(ValueError, match="has no week 53"):
        IsoWeek.parse("2027-W53")


async def test_top_links_are_ranked_by_engagement_with_a_cap_per_domain(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = digest_config(config_for, digest={"per_domain": 2, "top_links": 5})
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.allow("bob", "carol")
        await story.say("alice: a quiet one https://quiet.org/x")  # 1
        await story.say("bob: https://popular.org/p — why networks need presence, says Kop")  # 2
        await story.say("carol: https://popular.org/p")  # 3
        await story.say("dave+2 :heart:")
        await story.say("erin>2: great read")  # 4: a reply in its thread
        for n in range(3):
            await story.say(f"frank: https://samesite.org/{n}")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # next Monday
        said = await story.say("fran: /digest preview")
        assert "WEEKLY DIGEST · DEMO · 2026-W48" in said
        links = [line for line in said.splitlines() if "https://" in line and "·" in line]
        assert links[0].startswith("https://popular.org/p")
        assert "1 reactions · 1 replies · shared by bob, carol" in links[0]
        assert "why networks need presence, says Kop" in said
        assert sum("samesite.org" in line for line in links) == 2  # the per-domain cap
        assert "L1" in said  # item ids for curation


async def test_curation_is_recorded_and_the_footer_counts_removals(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.say("alice: https://keep.org/a")
        await story.say("bob: https://drop.org/b")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("alice: /digest exclude L2 spam")
        assert "Only facilitators can use /digest exclude" in said
        said = await story.say("fran: /digest exclude L2 off-topic advert")
        assert "Recorded: exclude L2 in the 2026-W48 digest (off-topic advert)" in said
        said = await story.say("fran: /digest exclude banana")
        assert "BANANA is not a digest item id" in said
        said = await story.say("fran: /digest preview")
        assert "drop.org" not in said and "keep.org" in said
        assert "Facilitators removed 1 item(s) from this digest." in said


async def test_curation_names_a_real_candidate_of_the_week_it_names(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.say("alice: https://keep.org/a")  # L1, in 2026-W48
        clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # Tuesday of 2026-W49
        await story.say("bob: https://now.org/b")  # L2, in 2026-W49
        said = await story.say("fran: /digest exclude L99 spam")
        assert "L99 is not an item of the 2026-W48 digest" in said
        assert "Recorded" not in said
        said = await story.say("fran: /digest exclude L2 spam")  # not last week's
        assert "L2 is not an item of the 2026-W48 digest" in said
        # what that week does hold, each a button that curates it with the same reason
        assert "You can name one of these:\n• L1 https://keep.org/a" in said
        assert "→ /digest exclude L1 reason=spam]" in said and "L2 ·" not in said
        said = await story.say("fran: /digest exclude L2 2026-W49 spam")
        assert "Recorded: exclude L2 in the 2026-W49 digest (spam)" in said
        said = await story.say("fran: /digest feature L1 last fine read")
        assert "Recorded: feature L1 in the 2026-W48 digest (fine read)" in said
        said = await story.say("fran: /digest exclude L1 2026-W60 spam")
        assert "2026 has no week 60" in said and "Recorded" not in said
        said = await story.say("fran: /digest preview this")
        assert "now.org" not in said
        assert "Facilitators removed 1 item(s) from this digest." in said
        said = await story.say("fran: /digest preview")
        assert "keep.org" in said
        assert "Facilitators removed nothing from this digest." in said


async def test_the_digest_is_posted_once_per_week_and_channel(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.say("alice: https://example.org/a is a fine read about connectivism")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest post")
        assert "#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W48" in said
        assert "Posting the 2026-W48 digest to 1 channel(s): #digest (console) (2 item(s))." in said
        said = await story.say("fran: /digest post last")
        assert "already posted" in said and "#digest" not in said


async def test_posting_an_unfinished_or_long_past_week_asks_to_confirm_first(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # Tuesday of 2026-W49
        await story.say("alice: https://example.org/a is a fine read about connectivism")
        said = await story.say("fran: /digest post this")
        assert "#digest Facilitator" not in said
        assert "(only fran sees this) The 2026-W49 week is not over yet" in said
        assert "/digest post 2026-W49 confirm=yes" in said  # the typed form
        assert ": Post it → /digest post 2026-W49 confirm=yes]" in said
        said = await story.say("fran: /digest post 2026-W49 confirm=yes")
        assert "#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W49" in said
        assert "Posting the 2026-W49 digest to 1 channel(s): #digest (console) (2 item(s))." in said
        said = await story.say("fran: /digest post 2026-W40")  # ended 8 weeks and more ago
        assert "The 2026-W40 week ended more than 8 weeks ago" in said
        assert "#digest Facilitator" not in said
        said = await story.say("fran: /digest post 2026-W41")  # 7 weeks before the last one
        assert "#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W41" in said


async def test_consent_decides_who_is_named_and_quoted(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        # alice never answered: quoting and naming are off until she says yes.
        await story.say("alice: https://example.org/a what I think about this in detail")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "alice" not in said
        assert "shared by 1 member(s)" in said
        assert "what I think" not in said
        await story.say("alice: /settings quotes=on")
        said = await story.say("fran: /digest preview")
        assert "alice: what I think about this in detail" in said
        assert "shared by alice" in said  # a quote carries its author's name
        await story.say("alice: /settings quotes=off named=on")
        said = await story.say("fran: /digest preview")
        assert "shared by alice" in said and "what I think" not in said
        await story.say("alice: /settings named=off")
        said = await story.say("fran: /digest preview")
        assert "alice" not in said and "shared by 1 member(s)" in said


async def test_an_empty_week_gives_a_short_friendly_digest(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        said = await story.say("fran: /digest preview 2026-W40")
        assert "A quiet week" in said
        said = await story.say("fran: /digest preview someday")
        assert "write it like 2026-W48" in said


async def test_members_who_were_away_get_the_digest_by_dm_when_they_asked(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.say("bob: hello")
        await story.say("bob: /settings digest_dm=on")
        await story.say("carol: hi")
        await story.say("carol: /settings digest_dm=on")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # week 48 starts: both were active
        await story.say("alice: https://example.org/a fine reading for everyone here")
        await story.say("carol: I am around this week")
        clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest post")
        assert "✉ to bob:" in said  # away in week 49
        assert "✉ to carol:" not in said  # active in week 49
        said = await story.say("fran: /digest post")
        assert "✉" not in said


async def test_two_communities_in_one_process_never_mix_data_or_posts(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for(
        communities=[
            {"name": "north", "console": {"channels": ["n-chat"], "digest": "n-digest"}},
            {"name": "south", "console": {"channels": ["s-chat"], "digest": "s-digest"}},
        ]
    )
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice@n-chat: https://north.example.org/a")
        await story.say("bob@s-chat: https://south.example.org/b")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        north = await story.say("fran@n-chat: /digest post")
        south = await story.say("fran@s-chat: /digest post")
    assert "#n-digest" in north and "#s-digest" not in north
    assert "north.example.org" in north and "south.example.org" not in north
    assert "#s-digest" in south and "north.example.org" not in south


def scheduled_config(config_for: Callable[..., Config]) -> Config:
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
                "digest": {"when": "mon 09:00"},
            }
        ]
    )


async def test_the_digest_is_posted_on_schedule_once_even_across_a_restart(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = scheduled_config(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice: https://example.org/a about networked learning, worth a read")
        said = await story.tick(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))  # 08:59 in Berlin
        assert "#digest" not in said
        said = await story.tick(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00
        assert said.count("#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W48") == 1
        assert "https://example.org/a" in said
        said = await story.tick(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
        assert "#digest" not in said
    async with ConsoleStory(config, clock, tmp_path) as again:  # a restart: same database
        said = await again.tick(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
        assert "#digest" not in said
        said = await again.say("fran: /digest post")
        assert "already posted" in said


async def test_a_manual_post_stops_the_scheduled_one_from_repeating_it(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(scheduled_config(config_for), clock, tmp_path) as story:
        clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
        said = await story.say("fran: /digest post")
        assert "#digest" in said and "2026-W48" in said
        said = await story.tick(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        assert "#digest" not in said


async def test_a_post_the_platform_refuses_stays_unposted_tells_the_facilitator_and_posts_again(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.say("alice: https://example.org/a is a fine read about connectivism")
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        broken = [PlatformError("console: the bot may not post in #digest")]

        def digest_refused(action: Action) -> Exception | None:
            digest = isinstance(action, Post) and action.channel.channel == "digest"
            return broken[0] if digest and broken else None

        refusing(story, digest_refused)
        said = await story.say("fran: /digest post")
        assert "#digest Facilitator" not in said
        notice = said.split("✉ to fran: The 2026-W48 digest could not be posted to #digest")[1]
        assert (
            notice.startswith(" (console)")
            and "post it again with /digest post 2026-W48." in notice
        )
        async with story.app.database.reading() as conn:
            assert await digest_store.posted_channels(conn, "demo", "2026-W48") == set()
            assert await digest_store.issues(conn, "demo") == []  # not in the archive either

        broken.clear()  # a facilitator fixed the channel's permissions
        said = await story.say("fran: /digest post")
        assert said.count("#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W48") == 1
        assert "Posting the 2026-W48 digest to 1 channel(s)" in said and "✉" not in said
        said = await story.say("fran: /digest post")
        assert "already posted" in said and "#digest Facilitator" not in said
        async with story.app.database.reading() as conn:
            assert await digest_store.posted_channels(conn, "demo", "2026-W48") == {
                "console:/digest"
            }


async def test_a_digest_on_its_way_is_not_posted_again_by_command_or_schedule(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(scheduled_config(config_for), clock, tmp_path) as story:
        await story.say("alice: https://example.org/a about networked learning, worth a read")
        clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
        slow = asyncio.Event()  # the platform takes its time with the digest
        perform = story.console.perform

        async def taking_its_time(action: Action) -> MessageRef | None:
            if isinstance(action, Post) and action.channel.channel == "digest":
                await slow.wait()
            return await perform(action)

        story.console.perform = taking_its_time  # type: ignore[method-assign]
        await story.console.handle_line("fran: /digest post")
        await eventually(lambda: "Posting the 2026-W48 digest" in story.out.getvalue())
        await story.console.handle_line("fran: /digest post")
        await eventually(lambda: "is on its way to #digest (console)" in story.out.getvalue())
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00: the scheduled run
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        slow.set()
        await story.app.drain()
        said = story.output()
        assert said.count("#digest Facilitator: WEEKLY DIGEST · DEMO · 2026-W48") == 1, said
        assert "already posted" in await story.say("fran: /digest post")


def test_a_bad_digest_schedule_is_a_config_error(config_for: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError, match=r"communities\[0\]\.digest\.when"):
        config_for(communities=[{"name": "demo", "digest": {"when": "mon 9"}}])


async def test_the_digest_quotes_only_words_written_where_every_member_can_read_them(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(digest_config(config_for), clock, tmp_path) as story:
        await story.allow("alice", "bob")
        await story.say("bob: https://open.org/a what I said in the open channel")
        dm = ChannelRef("console", "", "dm-alice")
        # alice runs /share in a direct message with the bot: nobody else read her note.
        await story.app.dispatcher.deliver(
            CommandInvoked(
                key="console:dm-share",
                path=("share",),
                author=Author(ref=MemberRef("console", "", "alice"), name="alice"),
                channel=dm,
                invoked_at=clock.now(),
                reply_to=InteractionRef("console", "alice:dm-share", dm),
                text="https://private.org/b my private worry about my manager",
                is_direct=True,
            )
        )
        await story.app.drain()
        assert "private worry" in story.output()  # her answer, to her alone
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # next Monday
        said = await story.say("fran: /digest preview")
        assert "what I said in the open channel" in said
        assert "https://private.org/b" in said  # the link counts, its words stay private
        assert "private worry" not in said
