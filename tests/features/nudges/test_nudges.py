"""Nudges through the real application and console: who gets one and when (quiet hours in
each member's own zone, opt-out, snooze, weekly or fortnightly, back-off and giving up,
answers, facilitators and newcomers spared, the hourly cap, no double sends across restarts
and processes), what a nudge offers and says, `/nudges`, the welcome's yes, and the library."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.config import Config, ConfigError
from bot.features.nudges.service import (
    NudgeLibrary,
    NudgeLibraryError,
    choose_step,
    parse_length,
    pick_variant,
)
from bot.storage.schema import nudges
from tests.helpers import (
    ConsoleStory,
    at,
    config_file,
    facilitator,
    nudge_config,
    nudge_texts,
    nudged,
    tick_days,
)

pytestmark = [pytest.mark.timeout(60)]


async def stored(story: ConsoleStory) -> list[Any]:
    async with story.app.database.reading() as conn:
        return list((await conn.execute(select(nudges).order_by(nudges.c.id))).all())


@pytest.mark.both_backends
async def test_a_drifting_member_gets_one_small_step_with_why_and_how_to_change_it(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.allow("bob", consents=("named",))
        await story.say("alice: hello everyone")
        await story.say("bob: hi")
        assert nudged(await story.tick(at(7))) == []  # a week away is not drifting
        clock.set(at(14, 9))
        await story.say("bob@resources: https://example.org/spacing Spacing beats cramming")
        said = await story.tick(at(15))
        assert nudged(said) == ["alice"]  # bob shared yesterday: not drifting
        [text] = nudge_texts(said)["alice"]
        # The step: a real link from this week by another member, named (bob allows it).
        assert "bob" in text and "https://example.org/spacing" in text
        assert "/annotate L1" in text
        assert "I haven't seen you active in demo for 15 days" in text
        assert "/nudges off stops these, /nudges snooze 2w pauses them" in text
        assert "[button 1: Snooze 2 weeks → /nudges snooze 2w]" in text
        assert "[button 2: No more nudges → /nudges off]" in text
        [row] = await stored(story)
        assert (row.member_ref, row.reason, row.step) == ("console:/alice", "inactive", "react")
        assert row.sent_at == at(15) and row.answered_at is None
        assert row.text.startswith("A small idea from **demo**:") and "Why you got this" in row.text
        clock.set(at(15, 11))
        said = await story.say("alice: /nudges")
        assert "Your nudges: on, at most one every 7 days" in said
        assert "• Tue 08 Dec 2026: a peer's link (you came back within a week)" in said
        [row] = await stored(story)
        assert row.answered_at == at(15, 11)
        # The console may DM anyone: the digest carries no open invitation.
        said = await story.say("fran: /digest preview this")
        assert "https://example.org/spacing" in said and "An easy way back in" not in said


async def test_a_peer_who_keeps_their_name_out_is_not_named(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.say("alice: hello")
        clock.set(at(13))
        await story.say("bob: /settings quotes=on named=off")
        await story.say("bob@resources: https://example.org/quiet a quiet read on attention")
        [text] = nudge_texts(await story.tick(at(15)))["alice"]
        assert "someone shared https://example.org/quiet" in text or (
            "someone" in text and "https://example.org/quiet" in text
        )
        assert "bob" not in text


async def test_quiet_hours_are_read_in_each_members_own_zone(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /timezone America/New_York")  # UTC-5 in December
        await story.say("bob: /timezone Asia/Tokyo")  # UTC+9
        await story.say("carol: hello")  # no zone: the community's (Europe/Berlin, UTC+1)
        got: dict[str, datetime] = {}
        for hour in range(12, 12 + 24):  # 12:00 UTC: night in New York and in Tokyo
            moment = at(15, hour)
            for name in nudged(await story.tick(moment)):
                assert name not in got, f"{name} got a second nudge at {moment}"
                got[name] = moment
        assert got == {"carol": at(15, 12), "alice": at(15, 13), "bob": at(15, 23)}
        # Each one's own 08:00 (or later, carol's 13:00 Berlin), never inside 21:00-08:00.
        assert got["alice"].astimezone(_zone("America/New_York")).hour == 8
        assert got["bob"].astimezone(_zone("Asia/Tokyo")).hour == 8


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


async def test_opting_out_and_back_in(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        said = await story.say("alice: /nudges off")
        assert "Nudges are off: I won't send you any" in said
        assert "Your nudges: off." in said
        await story.say("bob: hi")
        assert nudged(await story.tick(at(15))) == ["bob"]
        assert nudged(await story.tick(at(40))) == ["bob"]
        clock.set(at(41))
        said = await story.say("alice: /nudges on")
        assert "Nudges are on" in said
        # Turning them on is an action of her own: she is not drifting for two more weeks.
        assert "alice" not in nudged(await story.tick(at(50)))
        assert "alice" in nudged(await story.tick(at(56)))


async def test_snooze_pauses_nudges_until_it_ends_and_bad_lengths_are_explained(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        said = await story.say("alice: /nudges snooze")
        assert "Say how long to snooze, e.g. 2w or 10d" in said
        assert "Usage: /nudges off | on | snooze 2w | weekly | fortnightly" in said
        said = await story.say("alice: /nudges snooze soon")
        assert "'soon' is not a length; write e.g. 2w, 10d or 3 weeks" in said
        said = await story.say("alice: /nudges snooze 2000d")
        assert "snooze for 1 day to 365 days, not 2000" in said
        said = await story.say("alice: /nudges off 2w")
        assert "Only snooze takes a length (2w)" in said
        said = await story.say("alice: /nudges sometimes")
        assert "Usage: /nudges" in said and "off|on|snooze|weekly|fortnightly" in said
        said = await story.say("alice: /nudges snooze 3 weeks")
        assert "Nudges are snoozed until Mon 14 Dec 2026 10:00 CET" in said
        await story.say("bob: hi")
        assert nudged(await story.tick(at(15))) == ["bob"]
        assert nudged(await story.tick(at(20))) == []
        assert nudged(await story.tick(at(21, 10))) == ["alice"]  # the snooze ended at 09:00


async def test_weekly_and_fortnightly_with_back_off_and_giving_up_after_three(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.say("alice: /nudges weekly")
        said = await story.say("bob: /nudges fortnightly")
        assert "Nudges are on, at most fortnightly" in said
        assert "at most one every 14 days" in said
        # Around each expected nudge, weekly in between, and where a fourth would fall.
        around = (13, 14, 15, 21, 27, 28, 29, 35, 41, 42, 43, 49, 55, 56, 57, 70, 84, 97, 98)
        days = await tick_days(story, [*around, 112, 113, 150, 210, 230])
        # Weekly: the wait doubles with each unanswered nudge (14, then 28 days); after the
        # third unanswered one, none at all. Fortnightly: 28, then 56 days.
        assert days == {"alice": [14, 28, 56], "bob": [14, 42, 98]}
        texts = [row.text for row in await stored(story) if row.member_ref == "console:/alice"]
        assert texts[0] != texts[1] != texts[2]  # never the same wording twice in a row


async def test_an_answered_nudge_resets_the_back_off(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.say("alice: hello")
        assert nudged(await story.tick(at(15))) == ["alice"]
        assert nudged(await story.tick(at(22))) == []  # unanswered: the wait doubles
        assert nudged(await story.tick(at(29))) == ["alice"]
        clock.set(at(31, 9))
        await story.say("alice: I'm back, sorry!")  # answers the nudge of day 29
        # Drifting again from day 45; the last nudge was answered: the count starts afresh
        # (45, then 14 and 28 days later), and only unanswered ones count towards giving up.
        days = await tick_days(story, [32, 38, 44, 45, 46, 52, 58, 59, 60, 86, 87, 88, 130])
        assert days == {"alice": [45, 59, 87]}
        rows = await stored(story)
        assert [row.answered_at for row in rows] == [None, at(31, 9), None, None, None]


async def test_facilitators_and_newcomers_are_never_nudged(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = nudge_config(config_for, joined_days=30)
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("fran: welcome all")  # a facilitator (console.facilitators)
        await story.say("alice: hello")
        # Inactive for 15 days, but joined less than 30 days ago: not yet.
        assert nudged(await story.tick(at(15))) == []
        assert nudged(await story.tick(at(31))) == ["alice"]
        assert nudged(await story.tick(at(120))) == ["alice"]
        assert all(row.member_ref != "console:/fran" for row in await stored(story))


async def test_the_hourly_cap_spreads_nudges_over_hours(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for, hourly_cap=20), clock, tmp_path) as story:
        names = [f"m{number:02d}" for number in range(25)]
        for name in names:
            await story.say(f"{name}: hello")
        first = nudged(await story.tick(at(15, 10)))
        second = nudged(await story.tick(at(15, 11)))
        assert (len(first), len(second)) == (20, 5)
        assert sorted(first + second) == names
        assert nudged(await story.tick(at(15, 12))) == []


async def test_restarts_and_a_second_process_never_send_twice(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = nudge_config(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice: hello")
        await story.say("bob: hello")
    clock.set(at(15))
    async with (
        ConsoleStory(config, clock, tmp_path) as one,
        ConsoleStory(config, clock, tmp_path) as two,
    ):
        both = nudged(await one.tick(at(15))) + nudged(await two.tick(at(15)))
        assert sorted(both) == ["alice", "bob"]
    async with ConsoleStory(config, clock, tmp_path) as again:  # a restart in the same hour
        assert nudged(await again.tick(at(15, 10) + timedelta(minutes=30))) == []
        assert nudged(await again.tick(at(16))) == []  # the next day: too soon
        assert len(await stored(again)) == 2


async def test_the_step_follows_the_weakest_stage_or_the_goal(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        # alice seeks, senses and shares but never comes to sessions; carol has a goal.
        await story.say("alice: /seek Who knows a primer on interviews?")
        await story.say("alice: /reflect Interviews are harder than they look, it seems")
        await story.say("alice@resources: https://example.org/interviews a primer")
        await story.say("carol: /goal set Write a short literature review")
        await story.say("dave: hi")
        clock.set(at(14, 8))
        await story.say(
            'fran: /event create title="Study hall" when="2026-12-10 18:00" confirm=yes'
        )
        said = await story.tick(at(15))
        texts = nudge_texts(said)
        assert "Study hall" in texts["alice"][0] and "/rsvp 1 going" in texts["alice"][0]
        assert "Thu 10 Dec 2026 18:00 CET" in texts["alice"][0]
        assert "Write a short literature review" in texts["carol"][0]
        # Nothing known about dave's loop: the easiest step there is (no link this week).
        assert "Study hall" in texts["dave"][0]
        steps = {row.member_ref: row.step for row in await stored(story)}
        assert steps == {
            "console:/alice": "session",
            "console:/carol": "goal",
            "console:/dave": "session",
        }
        # The goal is not offered twice running.
        said = await story.tick(at(29))
        assert "literature review" not in nudge_texts(said)["carol"][0]


async def test_the_welcome_offers_a_yes_to_nudges(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for, welcome=True), clock, tmp_path) as story:
        said = await story.say("alice: hello")
        assert "[button 3: Yes, send me an occasional nudge → /nudges on]" in said
        said = await story.say("alice: /nudges on")
        assert "Nudges are on" in said


async def test_a_custom_library_is_used_and_a_broken_one_stops_the_start(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    shipped = NudgeLibrary.load(None)
    library = tmp_path / "nudges.toml"
    text = "\n".join(
        f'[{step}]\nonly = "Custom {step} step {{prefix}}seek"'
        if step != "react"
        else '[react]\nonly = "Custom react {link}"'
        for step in ("react", "prompt", "session", "seek", "goal")
    )
    library.write_text(text)
    async with ConsoleStory(
        nudge_config(config_for, library=str(library)), clock, tmp_path
    ) as story:
        await story.say("alice: hello")
        [said] = nudge_texts(await story.tick(at(15)))["alice"]
        assert "Custom seek step /seek" in said and "/nudges off" in said
    assert len(shipped.variants("react")) >= 3
    library.write_text(text.replace("Custom react {link}", "Custom react {url}"))
    with pytest.raises(ConfigError) as error:
        ConsoleStory(nudge_config(config_for, library=str(library)), clock, tmp_path)
    assert f"{library}: react.only uses {{url}}" in str(error.value)
    assert "may use only {id}, {link}, {prefix}, {sharer}" in str(error.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[react\n", "not valid TOML"),
        ('[react]\na = "x"', "add a [prompt] table"),
        ('[reakt]\na = "x"', "unknown table(s) reakt"),
        ('[react]\nA = "x"', "react.A must be a lower-case key"),
        ('[react]\na = "{link"', "react.a: "),
    ],
)
def test_library_errors_name_the_file_and_the_key(text: str, problem: str) -> None:
    with pytest.raises(NudgeLibraryError) as error:
        NudgeLibrary.parse(text, "mine.toml")
    assert str(error.value).startswith("mine.toml: ") and problem in str(error.value)


def test_the_pieces_of_a_nudge() -> None:
    assert parse_length("2w") == timedelta(days=14)
    assert parse_length("10d") == timedelta(days=10)
    assert parse_length("1 week") == timedelta(days=7)
    assert choose_step("presence", {"seek", "session"}, False, None) == "session"
    assert choose_step("presence", {"seek", "react"}, False, None) == "react"
    assert choose_step(None, {"seek", "prompt", "session"}, False, None) == "prompt"
    assert choose_step("sense", {"seek", "react", "goal"}, True, None) == "goal"
    assert choose_step("sense", {"seek", "react", "goal"}, True, "goal") == "react"
    variants = [("a", "one"), ("b", "two")]
    first = pick_variant(variants, "m", 0, str, None)
    assert pick_variant(variants, "m", 1, str, first) != first
    assert pick_variant(variants, "m", 0, str, first) != first  # skips the last text


def test_facilitator_check_and_run_stop_on_a_broken_library_naming_file_and_key(
    tmp_path: Path,
) -> None:
    library = tmp_path / "mine.toml"
    shipped = Path(__file__).resolve().parents[3] / "bot/features/nudges/library/en.toml"
    library.write_text(shipped.read_text("utf-8"), "utf-8")
    config = config_file(tmp_path)
    text = config.read_text("utf-8").replace("# library = ", "library = ")
    # config_file() turns every `enabled = true` off (for the web server): nudges back on.
    text = text.replace(
        "[communities.nudges]\nenabled = false", "[communities.nudges]\nenabled = true"
    )
    config.write_text(text.replace('"nudges.toml"', f'"{library}"'), "utf-8")
    fine = facilitator("check", "--config", str(config), cwd=tmp_path)
    assert fine.returncode == 0, fine.stderr.decode()
    assert f"library {library} (15 wordings)" in fine.stdout.decode()
    library.write_text(
        shipped.read_text("utf-8").replace("**{title}**, {when}", "**{title}**, {date}"), "utf-8"
    )
    for command in ("check", "run"):
        broken = facilitator(command, "--config", str(config), cwd=tmp_path)
        assert broken.returncode == 2
        error = broken.stderr.decode()
        assert f"{library}: session.come uses {{date}}" in error, error
        assert "Traceback" not in error


async def test_a_member_much_quieter_than_before_is_told_so(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        for number in range(10):
            await story.say(f"alice: thought number {number}")
        clock.set(at(20))
        await story.say("alice: still here, just busy")
        for name in ("bob", "carol"):
            for number in range(5):
                await story.say(f"{name}: note {number}")
        said = await story.tick(at(30))
        assert nudged(said) == ["alice"]  # bob and carol are as active as ever
        [text] = nudge_texts(said)["alice"]
        assert "less active in demo lately (1 in the last 14 days, about 9 per 14 days" in text
        [row] = await stored(story)
        assert row.reason == "fell"


async def test_with_nothing_else_to_offer_the_latest_prompt_is_the_step(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general"]},
        "members": {"welcome": False},
        "prompts": [{"stage": "sense", "when": "mon 10:00", "text": "What changed your mind?"}],
    }
    async with ConsoleStory(config_for(communities=[community]), clock, tmp_path) as story:
        await story.say("dave: hi")  # chat only: nothing known about his loop
        assert "What changed your mind?" in await story.tick(at(14, 9))  # posted, 10:00 Berlin
        [text] = nudge_texts(await story.tick(at(15)))["dave"]
        assert "“What changed your mind?”" in text and "thread" in text
        [row] = await stored(story)
        assert row.step == "prompt"
