"""The facilitator report on a small hand-made community whose every figure is known, its chart
and table, `/report` in chat, `facilitator report` on the command line, and `/profile`
showing a member exactly the line the report shows about them."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from adapters.discord.render import chunk as discord_chunk
from adapters.discord.render import render as discord_render
from adapters.slack.render import render_mrkdwn, split_mrkdwn
from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.core.i18n import Catalog
from bot.core.markup import Block, block, parse
from bot.core.weeks import IsoWeek
from bot.features.engagement.rules import STAGES, gini, top_share
from bot.features.reports.chart import HEIGHT, WIDTH, chart_png
from bot.features.reports.model import ReportInputs, WeeklyReport, WeekStages, summarise
from bot.features.reports.render import report_figures, table
from bot.features.reports.store import report_inputs
from bot.storage.schema import nudges
from tests.helpers import ConsoleStory

ROOT = Path(__file__).resolve().parents[3]
W42 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)  # a Monday
W44 = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)  # a Tuesday
W45 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
AFTER = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday of the week after
WEEK = IsoWeek(2026, 45)
TEXTS = Catalog("en")


def number(said: str) -> str:
    found = re.search(r"\[(\d+)\]", said)
    assert found is not None, said
    return found.group(1)


async def nudge(story: ConsoleStory, member: str, at: datetime) -> None:
    """A nudge as the nudge job records it (the job itself is not this test's subject)."""
    async with story.app.database.transaction() as conn:
        await conn.execute(
            nudges.insert().values(
                community="demo",
                member_ref=f"console:/{member}",
                sent_at=at,
                reason="inactive",
                step="react",
                text="How about reacting to one link from this week?",
            )
        )


async def build_community(
    story: ConsoleStory, clock: ManualClock, named: tuple[str, ...] = ("erin", "dave", "bob")
) -> None:
    """Weeks 42 to 45 of 2026 in demo (Europe/Berlin); fran facilitates.

    W42: alice finds and shares a link, dave asks a question, bob only talks.
    W44: alice only talks; dave is nudged (unanswered).
    W45: alice opens a thread; bob replies twice and reacts, carol (new, but replies and talk
    are no contribution) replies, fran (a facilitator) replies; carol opens a thread and
    alice replies; erin (new: her first contribution) shares a link;
    dave is nudged again (unanswered) and bob is nudged, then acts (answered).
    erin, dave and bob allow being named (the report names members only with consent).
    """
    for member in named:
        await story.allow(member, consents=("named",))
    clock.set(W42)
    await story.say("alice: worth reading https://example.org/a")
    await story.say("bob: hello all")
    await story.say("dave: /seek Who has read about connectivism?")
    clock.set(W44)
    await story.say("alice: busy week, back soon")
    await nudge(story, "dave", W44 + timedelta(hours=1))
    clock.set(W45)
    root = number(await story.say("alice: what did you make of last week's reading?"))
    clock.advance(timedelta(hours=1))
    await story.say(f"bob>{root}: it changed how I plan")
    await story.say(f"bob+{root} :thumbsup:")
    await story.say(f"carol>{root}: I am new here, and it helped me too")
    await story.say(f"fran>{root}: thanks for starting this")
    clock.advance(timedelta(hours=1))
    await story.say("erin: found this https://example.org/b")
    carols = number(await story.say("carol: does anyone keep a learning journal?"))
    await story.say(f"alice>{carols}: I do, on paper")
    await nudge(story, "dave", W45 + timedelta(days=1))
    await nudge(story, "bob", W45 + timedelta(days=2))
    clock.set(W45 + timedelta(days=3))
    await story.say(f"bob>{root}: one more thought")


async def read_report(story: ConsoleStory, week: IsoWeek = WEEK) -> WeeklyReport:
    config = story.app.config
    async with story.app.database.reading() as conn:
        inputs = await report_inputs(
            conn,
            config.communities[0],
            week,
            story.clock.now(),
            directory=story.app.directory,
        )
    return summarise(inputs)


async def test_the_report_names_drifting_and_nudged_members_only_with_consent(
    config_for: Callable[..., Config], tmp_path: Path
) -> None:
    """Facilitators see how many drift, and the names of those who allow being named."""
    clock = ManualClock(W42)
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await build_community(story, clock, named=("erin",))
        clock.set(AFTER)
        said = await story.say("fran: /report 2026-W45")
        report = await read_report(story)
    assert (report.drifting, report.drifting_unnamed) == ((), 1)  # dave
    assert (report.nudged, report.nudged_unnamed) == ((), 1)  # bob
    assert "**Drifting** (1," in said or "Drifting (1," in said
    assert said.count("1 more, not named: they have not allowed it") == 2
    assert "dave" not in said and "bob" not in said


@pytest.mark.both_backends
async def test_every_figure_of_the_report_on_a_hand_made_community(
    config_for: Callable[..., Config], tmp_path: Path
) -> None:
    clock = ManualClock(W42)
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await build_community(story, clock)
        clock.set(AFTER)
        said = await story.say("fran: /report 2026-W45")
        report = await read_report(story)
        async with story.app.database.reading() as conn:
            answered = dict(
                (await conn.execute(select(nudges.c.member_ref, nudges.c.answered_at))).all()
            )
    assert report.week == "2026-W45" and report.cohort == 5  # alice bob carol dave erin
    # Berlin's week: Monday 00:00 CET is Sunday 23:00 UTC.
    assert report.start == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert report.as_of == report.end == datetime(2026, 11, 8, 23, 0, tzinfo=UTC)
    # seek: erin found a link; sense: alice, bob and carol replied (bob also reacted);
    # share: erin; alice's opening and carol's question are talk, fran is not counted.
    assert dict(report.active.active) == {"seek": 1, "sense": 3, "share": 1, "presence": 0}
    assert report.active.total == 4
    # carol only replied and talked: no contribution yet (engagement.new_voices)
    assert report.new_voices == ("erin",)
    assert [(s.name, s.drift.reason if s.drift else None) for s in report.drifting] == [
        ("dave", "inactive")
    ]
    dave = report.drifting[0]
    assert dave.drift is not None and dave.drift.last_active_at == W42
    assert [(n.sent_at, n.answered_at) for n in dave.nudges] == [
        (W44 + timedelta(hours=1), None),
        (W45 + timedelta(days=1), None),
    ]
    assert (report.nudges_sent, report.nudges_answered) == (2, 1)
    assert [s.name for s in report.nudged] == ["bob"]
    assert answered["console:/bob"] == W45 + timedelta(days=3)  # /report settled it
    # Replies received: alice 4 (bob 2, carol, fran), carol 1 (alice); bob, dave, erin 0.
    assert report.replies == 5 and report.top_members == 1
    assert report.top_share == pytest.approx(4 / 5)
    assert report.gini == pytest.approx(0.72)
    assert report.gini == pytest.approx(gini([4, 1, 0, 0, 0]))
    assert report.top_share == pytest.approx(top_share({"a": 4, "c": 1, "b": 0, "d": 0, "e": 0}))
    history = {row.week: (dict(row.active), row.total) for row in report.history}
    assert list(history) == [f"2026-W{n}" for n in range(38, 46)]
    quiet = ({"seek": 0, "sense": 0, "share": 0, "presence": 0}, 0)
    assert history["2026-W42"] == ({"seek": 2, "sense": 0, "share": 1, "presence": 0}, 3)
    assert history["2026-W43"] == quiet
    assert history["2026-W44"] == ({"seek": 0, "sense": 0, "share": 0, "presence": 0}, 1)
    assert history["2026-W45"] == ({"seek": 1, "sense": 3, "share": 1, "presence": 0}, 4)
    assert all(history[f"2026-W{n}"] == quiet for n in range(38, 42))
    # The answer in chat says the same.
    assert "(only fran sees this) Facilitator report · demo · 2026-W45" in said
    assert "Active members: 4 of 5 · seek 1 · sense 3 · share 1 · presence 0" in said
    assert "New voices (1, their first contribution here): erin" in said
    assert "Nudges: 2 sent this week, 1 of them answered" in said
    assert (
        "• dave · this week: seek 0 · sense 0 · share 0 · presence 0 · drifting: no counted "
        "activity in 14 days (last seen Mon 12 Oct 2026) · nudges (2): Tue 27 Oct 2026 not "
        "answered, Tue 03 Nov 2026 not answered"
    ) in said
    # Bob: two replies and a reaction; nudged on Wednesday, answered by Thursday's reply.
    assert (
        "• bob · this week: seek 0 · sense 3 · share 0 · presence 0 · not drifting · "
        "nudges (1): Wed 04 Nov 2026 answered"
    ) in said
    assert "the top 10% (1 member(s)) received 80.0% of them; Gini coefficient 0.72" in said
    assert "2026-W45     1      3      1         0      4" in said
    assert "private answers cannot carry files" in said
    assert "file for fran written to" in said


async def test_report_is_refused_to_members_and_bad_weeks_say_how_to_write_one(
    config_for: Callable[..., Config], tmp_path: Path
) -> None:
    clock = ManualClock(W45)
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: hello")
        refused = await story.say("alice: /report")
        bad = await story.say("fran: /report next-tuesday")
        no_week = await story.say("fran: /report 2026-W54")
        this_week = await story.say("fran: /report")
    assert "Only facilitators can use /report" in refused
    assert "Facilitator report" not in refused and "✉" not in refused
    assert "write it like 2026-W48" in bad and "/report 2026-W48" in bad
    assert "2026 has no week 54" in no_week
    assert "Facilitator report · demo · 2026-W45" in this_week  # the current week
    assert (tmp_path / "report-demo-2026-W45.png").exists()


async def test_profile_shows_the_member_the_line_facilitators_see(
    config_for: Callable[..., Config], tmp_path: Path
) -> None:
    clock = ManualClock(W42)
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await build_community(story, clock)
        clock.set(AFTER)
        profile = await story.say("dave: /profile")
        report = await story.say("fran: /report")
        earlier = await story.say("fran: /report 2026-W45")
        bob_profile = await story.say("bob: /profile")
    [line] = [text for text in profile.splitlines() if text.startswith("dave · this week")]
    # Dave's /profile was an action within 7 days of his last nudge: it answered it.
    assert "drifting: no counted activity in 14 days" in line
    assert "nudges (2): Tue 27 Oct 2026 not answered, Tue 03 Nov 2026 answered" in line
    assert f"• {line}" in report.splitlines()
    # Running a command is being seen, though it is no activity of the loop.
    assert "(last seen Mon 09 Nov 2026)" in line
    # The week-45 report judged him as of that week's end; he has been back since.
    [then] = [text for text in earlier.splitlines() if text.startswith("• dave · this week")]
    assert "no counted activity in 14 days (back since; last seen Mon 09 Nov 2026)" in then
    assert "What facilitators see about you in the 2026-W46 report" in profile
    assert "/nudges off" in profile
    weeks = [text for text in profile.splitlines() if text.startswith("2026-W")]
    assert weeks == [
        "2026-W42     1      0      0         0",
        "2026-W43     0      0      0         0",
        "2026-W44     0      0      0         0",
        "2026-W45     0      0      0         0",
        "2026-W46     0      0      0         0",
    ]
    assert "bob · this week: seek 0 · sense 0 · share 0 · presence 0 · not drifting" in (
        bob_profile
    )


def test_the_chart_is_a_png_of_the_expected_size_and_follows_the_figures() -> None:
    def week(n: int, seek: int) -> WeekStages:
        active = {"seek": seek, "sense": 2, "share": 1, "presence": 0}
        return WeekStages(week=f"2026-W{n}", active=active, total=seek + 3)

    history = [week(n, n - 38) for n in range(38, 46)]
    png = chart_png(history, "demo")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (WIDTH, HEIGHT) == Image.open(io.BytesIO(png)).size
    assert chart_png(history, "demo") == png  # the same figures, the same bytes
    changed = [*history[:-1], week(45, 2)]
    assert chart_png(changed, "demo") != png
    # Every stage's colour is drawn (the legend and the line).
    colours = {
        colour for _, colour in Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 20)
    }
    assert {(0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167)} <= colours


def test_the_table_lines_up_the_same_figures_in_a_monospace_block() -> None:
    rows = [
        WeekStages(
            week="2026-W44", active={"seek": 0, "sense": 12, "share": 1, "presence": 3}, total=14
        ),
        WeekStages(
            week="2026-W45", active={"seek": 1, "sense": 3, "share": 1, "presence": 0}, total=4
        ),
    ]
    assert table(rows, TEXTS).splitlines() == [
        "week      seek  sense  share  presence  total",
        "2026-W44     0     12      1         3     14",
        "2026-W45     1      3      1         0      4",
    ]
    assert parse("before\n" + block(table(rows, TEXTS)) + "\nafter")[1] == Block(table(rows, TEXTS))


def test_a_cohort_without_replies_has_no_concentration() -> None:
    start = datetime(2026, 11, 1, 23, tzinfo=UTC)
    inputs = ReportInputs(
        community="demo",
        weeks=[("2026-W45", start, start + timedelta(days=7))],
        activity=[{}],
        cohort={"console:/a": start - timedelta(days=30)},
        facilitators=(),
        drifts=(),
        nudges=(),
        replies={},
        names={},
        as_of=start + timedelta(days=7),
    )
    report = summarise(inputs)
    assert (report.replies, report.top_share, report.gini, report.top_members) == (0, 0.0, 0.0, 1)
    assert report.new_voices == () and report.active.total == 0


async def test_the_command_line_prints_the_report_and_writes_the_chart(
    config_for: Callable[..., Config], tmp_path: Path
) -> None:
    config = config_for()
    clock = ManualClock(W42)
    async with ConsoleStory(config, clock, tmp_path) as story:
        await build_community(story, clock)
    path = tmp_path / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[storage]",
                f'url = "{config.storage.url}"',
                "[web]",
                "enabled = false",
                "[console]",
                'facilitators = ["fran"]',
                "[[communities]]",
                'name = "demo"',
                'timezone = "Europe/Berlin"',
                "[communities.console]",
                'channels = ["general", "resources"]',
            ]
        ),
        "utf-8",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "report", "--config", str(path), *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            timeout=120,
            check=False,
        )

    chart = tmp_path / "out.png"
    text = cli("--week", "2026-W45", "--chart", str(chart))
    assert text.returncode == 0, text.stderr
    assert "Facilitator report · demo · 2026-W45" in text.stdout
    assert "Active members: 4 of 5 · seek 1 · sense 3 · share 1 · presence 0" in text.stdout
    # Read-only: bob's answer is judged by the same rule, though nothing recorded it yet.
    assert "Nudges: 2 sent this week, 1 of them answered" in text.stdout
    assert "dave · this week: seek 0 · sense 0 · share 0 · presence 0 · drifting" in text.stdout
    assert Image.open(chart).size == (WIDTH, HEIGHT)
    as_json = cli("--week", "2026-W45", "--format", "json", "--community", "demo")
    document = json.loads(as_json.stdout)
    assert document["active"] == {"seek": 1, "sense": 3, "share": 1, "presence": 0, "total": 4}
    assert document["attention"] == {"replies": 5, "top_members": 1, "top_share": 0.8, "gini": 0.72}
    assert [d["name"] for d in document["drifting"]] == ["dave"]
    assert document["new_voices"] == ["erin"]
    bad = cli("--week", "soon")
    assert bad.returncode == 2 and "write it like 2026-W48" in bad.stderr
    unknown = cli("--community", "nowhere")
    assert unknown.returncode == 2 and "choose one of demo" in unknown.stderr
    async with story.app.database.reading() as conn:
        stored = (await conn.execute(select(nudges.c.answered_at))).scalars().all()
    assert stored == [None, None, None]  # the command line wrote nothing


def test_the_table_block_reaches_every_platform_whole() -> None:
    rows = [
        WeekStages(week=f"2026-W{n}", active=dict.fromkeys(STAGES, n), total=n)
        for n in range(38, 46)
    ]
    grid = table(rows, TEXTS)
    text = "**Report**\n" + block(grid) + "\nThe chart is in your direct messages."
    assert (
        discord_render(text)
        == f"**Report**\n```\n{grid}\n```\nThe chart is in your direct messages."
    )
    assert render_mrkdwn(text) == f"*Report*\n```{grid}```\nThe chart is in your direct messages."
    # A long report is cut before the block, never inside it (the fences must pair up): the
    # block straddles Discord's 2,000 and Slack's 3,000 characters.
    line = "• someone drifting away, with a long line\n"
    discord = discord_chunk(discord_render(line * 44 + block(grid)))
    slack = split_mrkdwn(render_mrkdwn(line * 68 + block(grid)))
    for pieces in (discord, slack):
        assert len(pieces) == 2
        assert all(piece.count("```") == 0 for piece in pieces[:-1])
        assert pieces[-1].startswith("```") and pieces[-1].endswith("```")


def test_the_dashboard_figures_count_every_drifting_member_and_name_none() -> None:
    start = datetime(2026, 11, 1, 23, tzinfo=UTC)
    inputs = ReportInputs(
        community="demo",
        weeks=[("2026-W45", start, start + timedelta(days=7))],
        activity=[{}],
        cohort={"console:/a": start - timedelta(days=30)},
        facilitators=(),
        drifts=(),
        nudges=(),
        replies={},
        names={"console:/a": "ada"},
        as_of=start + timedelta(days=7),
    )
    report = replace(summarise(inputs), drifting_unnamed=2)
    figures = report_figures(report, TEXTS, "!")
    assert "**Drifting:** 2 " in figures and "`!report`" in figures
    assert "**Active members:** 0 of 1" in figures and "ada" not in figures
