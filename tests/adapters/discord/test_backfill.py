"""Backfill that cannot skip: messages sent while the bot was down survive a stop during the
start-up backfill, and a failed thread listing does not hide the other listing's threads.

The real discord.py client and the real application against the fake Discord; history is
slowed on the wire (`history_delay`), never by sleeping in the test."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.storage.schema import messages, shares, unread_ranges
from tests.helpers import REACTION_PUT, DiscordStory, World, eventually

pytestmark = pytest.mark.timeout(60)

Story = Callable[..., DiscordStory]
HISTORY = r"/channels/\d+/messages"
ACTIVE = r"/guilds/\d+/threads/active"
ARCHIVED = r"/channels/\d+/threads/archived/public"


async def stored_once(story: DiscordStory, message_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(message rows, share rows) stored for each of these message ids."""
    counts: dict[str, tuple[int, int]] = {}
    async with story.app.database.reading() as conn:
        for message_id in message_ids:
            kept = await conn.execute(
                select(func.count()).where(messages.c.ref.like(f"%/{message_id}"))
            )
            shared = await conn.execute(
                select(func.count()).where(shares.c.message_ref.like(f"%/{message_id}"))
            )
            counts[message_id] = (int(kept.scalar_one()), int(shared.scalar_one()))
    return counts


async def open_ranges(story: DiscordStory) -> int:
    async with story.app.database.reading() as conn:
        found = await conn.execute(select(func.count()).select_from(unread_ranges))
        return int(found.scalar_one())


async def seen_once_live(world: World, story_for: Story) -> None:
    """A first run that sees one message live, so the channel has a cursor."""
    async with story_for(world) as story:
        seen = await world.fake.message(world.resources, world.alice, "https://example.org/seen")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=seen["id"]))
        await story.app.drain()


async def test_a_first_run_that_stores_nothing_still_marks_where_the_channel_begins(
    world: World, story_for: Story
) -> None:
    """A channel's past before the bot first connects is not imported; but from that first
    connection on, what is said is read even when that run stored nothing (killed or stopped
    before its first message committed)."""
    before = world.fake.post(world.resources, world.alice, "https://example.org/before")
    async with story_for(world) as story:  # connects, stores nothing
        await story.app.drain()
    missed = [
        world.fake.post(world.resources, world.alice, f"https://example.org/down-{n}")
        for n in range(3)
    ]
    async with story_for(world) as story:
        await eventually(lambda: story.platform.backfills >= 1)
        await story.app.drain()
        counts = await stored_once(story, [before["id"], *(m["id"] for m in missed)])
    assert counts[before["id"]] == (0, 0)  # from before the first connection: not imported
    assert [counts[m["id"]] for m in missed] == [(1, 1)] * 3


async def test_a_stop_while_backfill_reads_loses_nothing_sent_while_down(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    await seen_once_live(world, story_for)
    # While the bot is down: messages in #resources, and a new thread with a reply in it.
    missed = [
        world.fake.post(world.resources, world.alice, f"https://example.org/missed-{n}")
        for n in range(4)
    ]
    thread = world.fake.add_thread(world.resources, missed[0]["id"], "made while down")
    missed.append(world.fake.post(thread, world.fran, "https://example.org/in-thread"))

    # Start with history slowed; a live message arrives and commits while backfill reads.
    world.fake.history_delay = 3.0
    answered = world.fake.history_answered
    reads = len(world.fake.requests_to("GET", HISTORY))
    async with story_for(world) as story:
        await world.fake.wait_for_request("GET", HISTORY, count=reads + 1, within=10)
        live = await world.fake.message(world.resources, world.fran, "https://example.org/live")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=live["id"]))
        await story.app.drain()
        assert world.fake.history_answered == answered  # backfill has read nothing yet
    # ...and the bot stopped cleanly before backfill finished.

    world.fake.history_delay = 0.0
    with caplog.at_level(logging.INFO, logger="facilitator.discord"):
        async with story_for(world) as story:
            for message in missed:
                await world.fake.wait_for_request(
                    "PUT", REACTION_PUT.format(message=message["id"]), within=20
                )
            await eventually(lambda: story.platform.backfills >= 1, within=20)
            await story.app.drain()
            counts = await stored_once(story, [m["id"] for m in [*missed, live]])
            assert await open_ranges(story) == 0  # read through: nothing left unread
    assert counts == {m["id"]: (1, 1) for m in [*missed, live]}
    for message in [*missed, live]:
        assert len(world.fake.requests_to("PUT", REACTION_PUT.format(message=message["id"]))) == 1
    resumed = [r.getMessage() for r in caplog.records if "backfill resumes" in r.getMessage()]
    # #resources and #general (read from the oldest cursor: it had none of its own)
    assert resumed == ["discord: backfill resumes 2 unread range(s) left open in 2 channel(s)"]


async def test_archived_threads_are_read_when_the_active_listing_fails(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    await seen_once_live(world, story_for)
    # While the bot is down: a thread that was archived, and one that is still active.
    root = world.fake.post(world.resources, world.alice, "two threads start here")
    archived = world.fake.add_thread(world.resources, root["id"], "closed", archived=True)
    in_archived = world.fake.post(archived, world.alice, "https://example.org/archived")
    other = world.fake.post(world.resources, world.alice, "and another one")
    active = world.fake.add_thread(world.resources, other["id"], "still open")
    in_active = world.fake.post(active, world.fran, "https://example.org/active")
    # 503: discord.py gives up at once (a 500 it retries for about 25 s before failing).
    world.fake.fail("GET", ACTIVE, status=503)
    with caplog.at_level(logging.INFO, logger="facilitator.discord"):
        async with story_for(world) as story:
            await world.fake.wait_for_request(
                "PUT", REACTION_PUT.format(message=in_archived["id"]), within=20
            )
            await eventually(lambda: story.platform.backfills >= 1, within=20)
            await story.app.drain()
            assert world.fake.requests_to("GET", ARCHIVED)  # listed despite the failure
            # The active thread could not be found: its range stays open, not "read".
            assert await open_ranges(story) >= 1
            assert not world.fake.requests_to("PUT", REACTION_PUT.format(message=in_active["id"]))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "cannot list the active threads" in r.getMessage() and "503" in r.getMessage()
        for r in warnings
    )
    assert all("example.org" not in r.getMessage() for r in warnings)  # no message text

    # Next start, the listing answers: the range left open is read through.
    world.fake.failures.clear()
    async with story_for(world) as story:
        await world.fake.wait_for_request(
            "PUT", REACTION_PUT.format(message=in_active["id"]), within=20
        )
        await eventually(lambda: story.platform.backfills >= 1, within=20)
        await story.app.drain()
        assert await open_ranges(story) == 0
        counts = await stored_once(story, [in_archived["id"], in_active["id"]])
    assert counts == {in_archived["id"]: (1, 1), in_active["id"]: (1, 1)}
