"""Reminders, the start post, questions for the host and the takeaways thread: driven by the
clock, each exactly once, across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.config import Config
from tests.helpers import ConsoleStory

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

LINK = "https://meet.example.org/talk"
# Thursday 26 November 2026, 17:00 in Berlin = 16:00 UTC.
CREATE = (
    'fran: /event create title="Guest talk" when="2026-11-26 17:00" duration=60m '
    f"where={LINK} confirm=yes"
)


def live_config(config_for: Callable[..., Config], **gatherings: object) -> Config:
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "announcements": "news"},
            }
        ],
        **({"gatherings": gatherings} if gatherings else {}),
    )


async def test_those_going_are_reminded_a_day_and_an_hour_before_and_the_host_gets_questions(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        await story.say(CREATE)
        await story.say("alice: /rsvp 1 going")
        await story.say("bob: /rsvp 1 maybe")
        await story.say("cleo: /ask 1 What got you started?")
        await story.say("dan: /ask 1 What would you do differently?")

        said = await story.tick(datetime(2026, 11, 25, 15, 59, tzinfo=UTC))
        assert "✉" not in said
        said = await story.tick(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
        assert said.count("✉ to alice: Reminder: Guest talk starts Thu 26 Nov 2026 17:00 CET") == 1
        assert "(in 24h)" in said and LINK in said
        assert "✉ to bob" not in said  # maybe is not going
        said = await story.tick(datetime(2026, 11, 25, 16, 30, tzinfo=UTC))
        assert "✉" not in said  # sent once
        said = await story.tick(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
        assert said.count("✉ to alice: Reminder") == 1 and "(in 1h)" in said

        said = await story.tick(datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
        assert "#news Facilitator: Guest talk (event 1) is starting now." in said
        assert "2 question(s) were sent to the host" in said
        assert "✉ to fran: Questions from members for Guest talk:" in said
        assert "1. What got you started?" in said and "2. What would you do differently?" in said
        assert LINK not in said.split("#news")[1].split("\n")[0]  # never in a channel

        await story.allow("alice", "bob", consents=("quotes",))  # a quote names its author
        said = await story.tick(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
        assert "#news Facilitator: Guest talk has ended." in said
        number = said.split("[")[1].split("]")[0]
        said = await story.say(f"alice>{number}: Start with the question, not the tool.")
        said = await story.say(f"bob>{number}: Small groups work better than one big call.")
        reply = said.split("[")[1].split("]")[0]
        said = await story.say(f"cleo>{number}: Slides are optional.")
        await story.say(f"cleo-{said.split('[')[1].split(']')[0]}")  # cleo deletes hers
        await story.say(f"bob~{reply}: Small groups beat one big call.")  # bob edits his
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "Takeaways from live sessions" in said
        assert "alice: Start with the question, not the tool." in said
        assert "bob: Small groups beat one big call." in said
        assert "Slides are optional" not in said
        assert "2 takeaway(s)" in said
        await story.say("fran: /digest exclude T1 already shared")
        said = await story.say("fran: /digest preview")
        assert "Takeaways from live sessions" not in said


async def test_a_restart_between_scheduling_and_the_reminder_still_reminds_exactly_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = live_config(config_for, reminders=["2h"])
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say(CREATE)
        await story.say("alice: /rsvp 1 going")
    # Down while the reminder fell due; back within the grace window.
    clock.set(datetime(2026, 11, 26, 14, 30, tzinfo=UTC))
    async with ConsoleStory(config, clock, tmp_path) as again:
        await again.tick(datetime(2026, 11, 26, 14, 31, tzinfo=UTC))
        said = again.out.getvalue()  # everything since the restart, start-up included
        assert said.count("✉ to alice: Reminder: Guest talk") == 1 and "(in 2h)" in said
    async with ConsoleStory(config, clock, tmp_path) as third:
        said = await third.tick(datetime(2026, 11, 26, 14, 45, tzinfo=UTC))
        assert "✉ to alice: Reminder" not in said


async def test_cancelled_and_moved_sessions_remind_only_at_their_new_time(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for, reminders=["1h"]), clock, tmp_path) as story:
        await story.say(CREATE)
        await story.say("alice: /rsvp 1 going")
        await story.say('fran: /event edit 1 when="2026-11-26 19:00"')
        said = await story.tick(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
        assert "Reminder" not in said
        said = await story.tick(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
        assert "✉ to alice: Reminder: Guest talk starts Thu 26 Nov 2026 19:00 CET" in said
        await story.say('fran: /event create title="Second" when="2026-11-27 17:00" confirm=yes')
        await story.say("alice: /rsvp 2 going")
        await story.say("fran: /event cancel 2")
        said = await story.tick(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
        assert "Reminder" not in said
        said = await story.tick(datetime(2026, 11, 27, 16, 0, tzinfo=UTC))
        assert "starting now" not in said


async def test_a_weekly_series_reminds_at_the_same_local_time_after_the_clocks_change(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 10, 19, 9, 0, tzinfo=UTC))
    async with ConsoleStory(live_config(config_for, reminders=["1h"]), clock, tmp_path) as story:
        await story.say(
            'fran: /event create title=Circle when="2026-10-20 18:00" repeat=weekly confirm=yes'
        )
        await story.say("alice: /rsvp 1 going")
        said = await story.tick(datetime(2026, 10, 20, 15, 0, tzinfo=UTC))  # 17:00 CEST
        assert "✉ to alice: Reminder: Circle starts Tue 20 Oct 2026 18:00 CEST" in said
        said = await story.tick(datetime(2026, 10, 20, 17, 0, tzinfo=UTC))  # it ends
        # The series announces its next session with fresh buttons.
        assert "#news Facilitator: Circle · event 1\nTue 27 Oct 2026 18:00 CET" in said
        assert ": Going → /rsvp 1 going]" in said
        await story.say("alice: /rsvp 1 going")  # the next occurrence
        said = await story.tick(datetime(2026, 10, 27, 15, 0, tzinfo=UTC))
        assert "Reminder" not in said  # 16:00 CET: still two hours before
        said = await story.tick(datetime(2026, 10, 27, 16, 0, tzinfo=UTC))  # 17:00 CET
        assert "✉ to alice: Reminder: Circle starts Tue 27 Oct 2026 18:00 CET" in said
