"""Prompts through the real application and console: schedules, posting as thread
starters, library rotation, pause/resume/remove, and replies stored as reflections."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.console.platform import ConsolePlatform
from bot.app import Application
from bot.cli import describe
from bot.core.actions import Action, Post
from bot.core.clock import ManualClock
from bot.core.config import Config, ConfigError, Secrets
from bot.features.prompts import store
from bot.features.prompts.service import (
    LibraryError,
    PromptLibrary,
    stored_schedule_lines,
)
from bot.storage.schema import job_runs, prompt_posts, reflections, shares
from tests.helpers import ConsoleStory, outbox_rows, refusing

pytestmark = pytest.mark.timeout(60)

BERLIN = ZoneInfo("Europe/Berlin")
SENSE = PromptLibrary.load("en").stage("sense")


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def reply_number(said: str) -> int:
    match = re.search(r"\[(\d+)\] #general \(thread of \d+\) \w+: ", said)
    assert match is not None, said
    return int(match.group(1))


def post_number(said: str) -> int:
    match = re.search(r"\[(\d+)\] #general Facilitator: ", said)
    assert match is not None, said
    return int(match.group(1))


async def test_a_scheduled_prompt_is_posted_once_and_replies_become_reflections(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say('fran: /prompt add stage=sense when="mon,thu 18:30"')
        assert "Prompt schedule 1 added: sense, Mondays and Thursdays at 18:30 in #general" in said
        assert "Next post: Mon 23 Nov 18:30" in said
        assert await story.tick(berlin(11, 23, 18, 29)) == ""
        said = await story.tick(berlin(11, 23, 18, 30))
        assert SENSE[0].text in said and "Sense" in said
        number = post_number(said)
        assert await story.tick(berlin(11, 23, 18, 45)) == ""  # posted once

        said = await story.say(
            f"alice>{number}: It connects with what I knew https://example.org/r"
        )
        assert "Facilitator reacted :bookmark:" in said  # links in replies are shares too
        alice_reply = reply_number(said)
        bob_reply = reply_number(await story.say(f"bob>{number}: Same for me"))
        await story.say("bob: not in the thread")
        async with story.app.database.reading() as conn:
            [post] = await store.posts_of(conn, "demo")
            found = await store.reflections_on(conn, post.id)
            share_count = len((await conn.execute(select(shares.c.id))).all())
        assert post.stage == "sense" and post.library_key == SENSE[0].key
        assert post.due_at == berlin(11, 23, 18, 30)
        assert [(r.member_ref, r.text) for r in found] == [
            ("console:/alice", "It connects with what I knew https://example.org/r"),
            ("console:/bob", "Same for me"),
        ]
        assert share_count == 1

        await story.say(f"bob~{bob_reply}: Same for me, and more")
        await story.say(f"alice-{alice_reply}")
        async with story.app.database.reading() as conn:
            found = await store.reflections_on(conn, post.id)
        assert [r.text for r in found] == ["Same for me, and more"]

        said = await story.tick(berlin(11, 26, 18, 30))  # Thursday: the next library prompt
        assert SENSE[1].text in said and SENSE[0].text not in said


async def test_library_prompts_rotate_without_repeats_until_used_up(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=sense when="daily 12:00"')
        shown: list[str] = []
        for day in range(len(SENSE) + 2):
            said = await story.tick(berlin(11, 23, 12) + timedelta(days=day))
            shown.append(next(p.key for p in SENSE if p.text in said))
        assert shown[: len(SENSE)] == [prompt.key for prompt in SENSE]
        assert len(set(shown[: len(SENSE)])) == len(SENSE)
        assert shown[len(SENSE) :] == [SENSE[0].key, SENSE[1].key]


async def test_pause_resume_remove_and_list(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say(
            'fran: /prompt add stage=seek when="daily 12:00" channel=#resources '
            'text="What are you looking for this week?"'
        )
        assert "in #resources (your text)" in said
        said = await story.say("fran: /prompt list")
        assert "1. seek · every day at 12:00 · #resources · What are you looking for" in said
        assert "next Mon 23 Nov 12:00" in said
        said = await story.tick(berlin(11, 23, 12))
        assert "] #resources Facilitator: 🔎 Seek · What are you looking for this week?" in said

        assert "Paused prompt schedule 1" in await story.say("fran: /prompt pause 1")
        assert "paused" in await story.say("fran: /prompt list")
        assert await story.tick(berlin(11, 24, 12)) == ""
        assert "posts again" in await story.say("fran: /prompt resume 1")
        assert "What are you looking for" in await story.tick(berlin(11, 25, 12))
        assert "Removed prompt schedule 1" in await story.say("fran: /prompt remove 1")
        assert await story.tick(berlin(11, 26, 12)) == ""
        assert "No prompt schedules yet" in await story.say("fran: /prompt list")
        assert "There is no prompt schedule 1" in await story.say("fran: /prompt pause 1")


async def test_bad_input_gets_a_clear_answer(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say('fran: /prompt add stage=seek when="mon 9"')
        assert "'mon 9' is not a time" in said and "mon 09:00" in said
        said = await story.say('fran: /prompt add stage=seek when="daily 08:00" channel=#nowhere')
        assert "I can't post to #nowhere" in said
        said = await story.say('fran: /prompt add stage=wonder when="daily 08:00"')
        assert "seek" in said and "sense" in said and "share" in said
        said = await story.say('alice: /prompt add stage=seek when="daily 08:00"')
        assert "Only facilitators" in said
        async with story.app.database.reading() as conn:
            assert await store.list_schedules(conn) == []


async def test_schedules_survive_a_restart_and_are_not_posted_twice(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for()
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=share when="daily 12:00"')
        assert "Share" in await story.tick(berlin(11, 23, 12))
    clock.set(berlin(11, 24, 13))  # down over the next noon, back within the grace window
    async with ConsoleStory(config, clock, tmp_path) as story:
        # Starting catches up on the missed noon prompt; running again posts nothing more.
        await story.tick(berlin(11, 24, 13))
        assert await story.app.scheduler.run_due() == []
        assert story.out.getvalue().count("#general Facilitator: 🎁 Share") == 1
        async with story.app.database.reading() as conn:
            posts = (await conn.execute(select(prompt_posts.c.due_at))).scalars().all()
        assert sorted(posts) == [berlin(11, 23, 12), berlin(11, 24, 12)]


async def test_a_post_the_platform_refused_for_a_moment_is_retried_with_the_prompt_chosen(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    refusals = [ConnectionError("503 from the platform")]  # a chat service's bad minute

    def once(action: Action) -> Exception | None:
        return refusals.pop() if isinstance(action, Post) and refusals else None

    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=seek when="daily 12:00"')
        refusing(story, once)
        said = await story.tick(berlin(11, 23, 12))  # the deliverer tries again, in order
        seek = PromptLibrary.load("en").stage("seek")
        assert said.count("#general Facilitator: ") == 1 and seek[0].text in said
        assert refusals == []
        async with story.app.database.reading() as conn:
            assert await store.used_library_keys(conn, "demo", "seek") == {seek[0].key}
            [post] = await store.posts_of(conn, "demo")  # recorded once, when delivered
            [run] = (
                await conn.execute(select(job_runs).where(job_runs.c.job_id.startswith("prompt:")))
            ).all()
        assert post.library_key == seek[0].key and run.attempts == 1 and run.status == "done"
        [row] = [row for row in await outbox_rows(story.app) if row.key.startswith("run:prompt")]
        assert (row.status, row.attempts) == ("done", 1)  # one failed attempt, then delivered


def test_the_library_ships_every_stage_with_critical_literacy_prompts() -> None:
    library = PromptLibrary.load("en")
    for stage in ("seek", "sense", "share"):
        assert len(library.stage(stage)) >= 5
    everything = " ".join(p.text for s in ("seek", "sense", "share") for p in library.stage(s))
    assert "How do you know this source is reliable?" in everything
    assert "Which view is missing" in everything or "which view is missing" in everything
    assert PromptLibrary.load("xx").stage("seek") == library.stage("seek")  # falls back


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[seek]\na = 'x'\n[sense]\nb = 'y'\n", "add a [share] table"),
        ("[seek]\na = 'x'\n[sense]\nb = 'y'\n[share]\n", "no prompts for 'share'"),
        ("[seek]\na = 'x'\n[sense]\nb = 'y'\n[share]\nC = 'z'\n", "lower-case key"),
        ("[seek]\na = 'x'\n[sense]\nb = 'y'\n[share]\nc = ''\n", "lower-case key"),
        ("[seek\n", "not valid TOML"),
        ("[seek]\na='x'\n[sense]\nb='y'\n[share]\nc='z'\n[other]\nd='w'\n", "unknown tables"),
    ],
)
def test_a_broken_library_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(LibraryError, match=re.escape(problem)):
        PromptLibrary.parse(text, "custom.toml")


async def test_a_reply_recorded_twice_is_stored_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=sense when="daily 12:00"')
        number = post_number(await story.tick(berlin(11, 23, 12)))
        await story.say(f"alice>{number}: first thought")
        async with story.app.database.transaction() as conn:
            [row] = (await conn.execute(select(reflections))).mappings().all()
            again = {key: value for key, value in row.items() if key != "id"}
            assert await store.add_reflections(conn, [again]) == 0


async def _no_lines() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def test_moving_the_console_clock_posts_what_became_due(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for()
    out = io.StringIO()
    app = Application(config, secrets=Secrets(), clock=clock)
    # The console gets the application's clock, as `facilitator run` wires it.
    console = ConsolePlatform(
        config,
        app.directory,
        app.commands,
        app.clock,
        lines=_no_lines(),
        out=out,
        export_dir=tmp_path,
    )
    app._given_platforms = [console]
    await app.start()
    try:
        await console.handle_line('fran: /prompt add stage=seek when="daily 12:00"')
        await app.drain()
        await app.scheduler.idle()
        assert "Facilitator: 🔎 Seek" not in out.getvalue()
        await console.handle_line("!clock +2h")  # 10:00 -> 12:00 in Berlin
        await app.scheduler.idle()
        await app.drain()
        assert out.getvalue().count("#general Facilitator: 🔎 Seek") == 1
        await console.handle_line("!clock +1h")
        await app.scheduler.idle()
        assert out.getvalue().count("#general Facilitator: 🔎 Seek") == 1
    finally:
        await app.stop()


async def test_moving_the_console_clock_days_ahead_runs_every_run_due_on_the_way_in_order(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for()
    out = io.StringIO()
    app = Application(config, secrets=Secrets(), clock=clock)
    console = ConsolePlatform(
        config,
        app.directory,
        app.commands,
        app.clock,
        lines=_no_lines(),
        out=out,
        export_dir=tmp_path,
    )
    app._given_platforms = [console]
    await app.start()
    try:
        await console.handle_line('fran: /prompt add stage=seek when="daily 12:00"')
        await console.handle_line('fran: /prompt add stage=sense when="daily 11:00"')
        await app.drain()
        await console.handle_line("!clock +4d")  # Mon 10:00 -> Fri 10:00 in Berlin
        await app.drain()
        shown = out.getvalue()
        assert "🕒 Fri 27 Nov 2026 10:00 CET" in shown
        posts = re.findall(r"#general Facilitator: (🔎 Seek|\S+ Sense)", shown)
        assert len(posts) == 8, shown  # Mon to Thu, 11:00 then 12:00 each day
        assert [post.endswith("Sense") for post in posts] == [True, False] * 4
        assert clock.now() == berlin(11, 27, 10)
        await console.handle_line("!clock +1x")
        assert "'+1x' is not a duration; write +30m, +2h, +1d or +1w" in out.getvalue()
        assert clock.now() == berlin(11, 27, 10)
    finally:
        await app.stop()


def _with_prompts(prompts: list[dict[str, str]], **extra: object) -> dict[str, object]:
    return {
        "communities": [
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general", "resources"], "announcements": "resources"},
                "prompts": prompts,
            }
        ],
        **extra,
    }


async def test_config_prompts_post_in_the_announcements_channel_and_are_listed(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    data = _with_prompts([{"stage": "share", "when": "weekdays 07:30"}])
    config = config_for(communities=data["communities"], scheduler={"grace_hours": 2})
    async with ConsoleStory(config, clock, tmp_path) as story:
        assert story.app.scheduler.grace == timedelta(hours=2)
        said = await story.say("fran: /prompt list")
        assert "(config) share · weekdays at 07:30 · announcements channel" in said
        assert "next Tue 24 Nov 07:30" in said
        said = await story.tick(berlin(11, 24, 7, 30))
        assert (
            "] #resources Facilitator: 🎁 Share · "
            + PromptLibrary.load("en").stage("share")[0].text
            in said
        )
        assert await story.tick(berlin(11, 28, 7, 30)) == ""  # Saturday
        said = await story.tick(berlin(11, 30, 9, 29))  # Monday, missed by just under 2 h
        assert "#resources Facilitator: 🎁 Share" in said


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ({"stage": "share", "when": "mon 9"}, "communities[0].prompts[0].when: 'mon 9' is not"),
        ({"stage": "ponder", "when": "mon 09:00"}, "prompts[0].stage: 'ponder' is not one of"),
        ({"stage": "seek"}, "prompts[0].when: is missing"),
        ({"stage": "seek", "when": "mon 09:00", "channel": "x"}, "channel: is not a known"),
    ],
)
def test_config_prompt_errors_name_the_key(
    config_for: Callable[..., Config], prompt: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        config_for(communities=_with_prompts([prompt])["communities"])


def test_check_lists_the_next_prompt_times_in_local_time(
    config_for: Callable[..., Config],
) -> None:
    data = _with_prompts([{"stage": "seek", "when": "0 9 1 * *"}])
    shown = describe(config_for(communities=data["communities"]), Secrets())
    [line] = [line for line in shown.splitlines() if "prompt seek" in line]
    assert line.startswith("  prompt seek: on day 1 of the month at 09:00; next ")
    assert line.count(" 09:00") == 4 and line.count(" 01 ") == 3


async def test_forget_me_removes_a_members_reflections(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=sense when="daily 12:00"')
        number = post_number(await story.tick(berlin(11, 23, 12)))
        await story.say(f"alice>{number}: mine")
        await story.say(f"bob>{number}: his")
        assert "Done" in await story.say("alice: /forget-me confirm")
        async with story.app.database.reading() as conn:
            left = (await conn.execute(select(reflections.c.member_ref))).scalars().all()
        assert left == ["console:/bob"]


async def test_check_lists_schedules_added_with_commands(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for()
    assert await stored_schedule_lines(config, clock.now()) == [
        "prompt schedules in the database: none yet (no database file)"
    ]
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say('fran: /prompt add stage=seek when="mon 09:00"')
        await story.say('fran: /prompt add stage=share when="fri 16:00"')
        await story.say("fran: /prompt pause 2")
    lines = await stored_schedule_lines(config, clock.now())
    assert lines == [
        "prompt schedules in the database: 2",
        "  demo #1 seek: Mondays at 09:00; next Mon 30 Nov 09:00, Mon 07 Dec 09:00, "
        "Mon 14 Dec 09:00",
        "  demo #2 share: Fridays at 16:00; paused",
    ]


async def test_a_piped_console_script_sees_a_moved_clocks_prompt_before_the_next_line(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    script = [
        b'fran: /prompt add stage=seek when="daily 12:00"\n',
        b"!clock +2h\n",  # 10:00 -> 12:00 in Berlin: the prompt is due
        b"alice>1: a reply in the prompt's thread\n",
    ]

    async def lines() -> AsyncIterator[bytes]:
        for line in script:
            yield line

    config = config_for()
    out = io.StringIO()
    app = Application(config, secrets=Secrets(), clock=clock)
    console = ConsolePlatform(
        config, app.directory, app.commands, app.clock, lines=lines(), out=out, export_dir=tmp_path
    )
    app._given_platforms = [console]
    await app.start()
    await app.wait_done()
    await app.drain()
    await app.stop()
    text = out.getvalue()
    assert "[1] #general Facilitator: 🔎 Seek · " in text
    assert "[2] #general (thread of 1) alice: a reply in the prompt's thread" in text
    assert "there is no post" not in text
