"""Backfill that cannot skip, on Slack: messages sent while the bot was down survive a stop
during the start-up backfill and a failed history page.

The real bolt app and the whole application against the fake Slack; history is slowed on
the wire (`history_delay`), never by sleeping in the test."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.schema import messages, shares, unread_ranges
from tests.fakes.slack_server import FakeSlack, message_event
from tests.helpers import SlackStory, story_config

pytestmark = pytest.mark.timeout(60)


async def stored_once(story: SlackStory, stamps: list[str]) -> dict[str, tuple[int, int]]:
    """(message rows, share rows) stored for each of these message timestamps."""
    counts: dict[str, tuple[int, int]] = {}
    async with story.app.database.reading() as conn:
        for ts in stamps:
            kept = await conn.execute(select(func.count()).where(messages.c.ref.like(f"%/{ts}")))
            shared = await conn.execute(
                select(func.count()).where(shares.c.message_ref.like(f"%/{ts}"))
            )
            counts[ts] = (int(kept.scalar_one()), int(shared.scalar_one()))
    return counts


async def seen_once_live(fake: FakeSlack, tmp_path: Path) -> dict[str, str]:
    """A first run that sees one message live, so #general has a cursor."""
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        seen = fake.add_message("C0GENERAL", "UALICE", "https://example.org/seen")
        await story.event(message_event("C0GENERAL", "UALICE", seen["text"], seen["ts"]), "Eseen")
    return seen


async def test_a_first_run_that_stores_nothing_still_marks_where_the_channel_begins(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """The past before the first connection is not imported, but what is said after it is
    read even when that first run stored nothing."""
    before = fake.add_message("C0GENERAL", "UALICE", "https://example.org/before")
    config = story_config(fake, tmp_path)
    async with SlackStory(fake, config):  # connects, stores nothing
        pass
    missed = [
        fake.add_message("C0GENERAL", "UALICE", f"https://example.org/down-{n}") for n in range(3)
    ]
    async with SlackStory(fake, config) as story:  # waits until backfill has delivered
        counts = await stored_once(story, [before["ts"], *(m["ts"] for m in missed)])
    assert counts[before["ts"]] == (0, 0)
    assert [counts[m["ts"]] for m in missed] == [(1, 1)] * 3


async def test_a_stop_while_backfill_reads_loses_nothing_sent_while_down(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen = await seen_once_live(fake, tmp_path)
    # While the bot is down: four messages, and a reply in the thread of the one seen.
    missed = [
        fake.add_message("C0GENERAL", "UALICE", f"https://example.org/missed-{n}") for n in range(4)
    ]
    missed.append(
        fake.add_message("C0GENERAL", "UFRAN", "https://example.org/reply", thread_ts=seen["ts"])
    )

    # Start with history slowed; a live message arrives and commits while backfill reads.
    fake.history_delay = 3.0
    answered = fake.history_answered
    reads = len(fake.calls_to("conversations.history"))
    config = story_config(fake, tmp_path)
    story = SlackStory(fake, config)
    await story.app.start()
    try:
        await fake.wait_for(lambda: len(fake.calls_to("conversations.history")) > reads)
        live = fake.add_message("C0GENERAL", "UFRAN", "https://example.org/live")
        # Acknowledged, drained: stored (and its reaction sent) before backfill read anything.
        await story.event(message_event("C0GENERAL", "UFRAN", live["text"], live["ts"]), "Elive")
        reacted = [c.args.get("timestamp") for c in fake.calls_to("reactions.add")]
        assert live["ts"] in reacted
        assert fake.history_answered == answered
    finally:
        await story.app.stop()  # a clean stop before backfill finished

    fake.history_delay = 0.0
    with caplog.at_level(logging.INFO, logger="adapters.slack"):
        async with SlackStory(fake, config) as story:  # waits until backfill has delivered
            counts = await stored_once(story, [m["ts"] for m in [*missed, live]])
            assert await story.count(unread_ranges) == 0
    assert counts == {m["ts"]: (1, 1) for m in [*missed, live]}
    reacted = [c.args.get("timestamp") for c in fake.calls_to("reactions.add")]
    assert all(reacted.count(m["ts"]) == 1 for m in [*missed, live])
    # #general's range and #resources' (begun, empty, at the first run) were both left open.
    assert any("backfill resumes 2 unread range(s)" in r.getMessage() for r in caplog.records)


async def test_a_failed_history_page_leaves_the_rest_for_the_next_start(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await seen_once_live(fake, tmp_path)
    missed = [
        fake.add_message("C0GENERAL", "UALICE", f"https://example.org/{n}") for n in range(250)
    ]
    reads = len(fake.calls_to("conversations.history"))
    fake.fail("conversations.history", "internal_error", after=1)  # the second page fails
    config = story_config(fake, tmp_path)
    with caplog.at_level(logging.INFO, logger="adapters.slack"):
        async with SlackStory(fake, config) as story:
            assert await story.count(unread_ranges) == 1  # not read through: still open
            newest = await stored_once(story, [m["ts"] for m in missed[50:]])
            assert set(newest.values()) == {(1, 1)}  # the first page (newest 200) is stored
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "C0GENERAL" in warning.getMessage() and "internal_error" in warning.getMessage()
    assert "example.org" not in warning.getMessage()

    async with SlackStory(fake, config) as story:
        assert await story.count(unread_ranges) == 0
        counts = await stored_once(story, [m["ts"] for m in missed])
    assert counts == {m["ts"]: (1, 1) for m in missed}
    # The next start read only below the first page: it did not ask for the newest again.
    calls = fake.calls_to("conversations.history")[reads:]
    general = [c for c in calls if c.args["channel"] == "C0GENERAL"]
    resumed = general[2]  # the first page, the failed second, then the next start's
    assert resumed.args.get("latest") == missed[50]["ts"]
