"""Unread ranges in the dispatcher: what backfill has not read stays recorded until read
through, and no live message moves a cursor over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.core.events import Author, MessageReceived
from bot.core.refs import ChannelRef, MemberRef, MessageRef
from bot.storage.schema import messages
from tests.runtime.test_dispatcher import started as start_recorded

pytestmark = pytest.mark.both_backends

GENERAL = ChannelRef("test", "space", "general")
RESOURCES = ChannelRef("test", "space", "resources")


def said(
    position: int, clock: ManualClock, *, channel: ChannelRef = GENERAL, backfilled: bool = False
) -> MessageReceived:
    return MessageReceived(
        key=f"m{position}",
        ref=MessageRef(channel, f"m{position}"),
        author=Author(ref=MemberRef("test", "", "alice"), name="alice"),
        text=f"message {position}",
        sent_at=clock.now(),
        cursor=f"{position:08d}",
        backfilled=backfilled,
    )


async def started(config: Config, clock: ManualClock) -> Application:
    app, _ = await start_recorded(config, clock)  # #general and #resources of "demo", watched
    return app


async def test_a_live_message_during_backfill_leaves_the_unread_range_open(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app = await started(config_for(), clock)
    sink = app.dispatcher
    await sink.deliver(said(10, clock))  # seen live before the outage
    await app.drain()
    [unread] = await sink.open_backfill([GENERAL])
    assert (unread.after, unread.until, unread.resumed) == ("00000010", None, False)

    await sink.deliver(said(50, clock))  # live, while backfill has read nothing yet
    await sink.deliver(said(11, clock, backfilled=True))
    await sink.advance_backfill(unread, after="00000011")
    await app.drain()
    assert await sink.cursor(GENERAL) == "00000050"  # live messages move the cursor...

    # ...but the range stays: the next start reads from where backfill got to.
    [left] = await sink.open_backfill([GENERAL])  # it covers everything after 11: no other
    assert (left.id, left.after, left.until, left.resumed) == (unread.id, "00000011", None, True)
    await app.stop()


async def test_opening_again_adds_a_range_only_where_none_reaches_back_far_enough(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app = await started(config_for(), clock)
    sink = app.dispatcher
    assert await sink.open_backfill([GENERAL, RESOURCES]) == []  # a first start reads nothing
    await sink.deliver(said(10, clock))
    await app.drain()
    # A channel never seen reads from the oldest cursor of the others, when asked to.
    assert [r.channel for r in await sink.open_backfill([RESOURCES])] == []
    first = await sink.open_backfill([GENERAL, RESOURCES], unseen_from_oldest=True)
    assert [(r.channel, r.after) for r in first] == [(GENERAL, "00000010"), (RESOURCES, "00000010")]
    again = await sink.open_backfill([GENERAL, RESOURCES], unseen_from_oldest=True)
    assert [r.id for r in again] == [r.id for r in first] and all(r.resumed for r in again)

    # Once bounded (by the first live message), a range no longer covers what comes after.
    general = first[0]
    await sink.advance_backfill(general, until="00000020")
    await sink.deliver(said(20, clock))
    await app.drain()
    ranges = await sink.open_backfill([GENERAL])
    assert [(r.after, r.until, r.resumed) for r in ranges] == [
        ("00000010", "00000020", True),
        ("00000020", None, False),
    ]
    await app.stop()


async def test_bounds_only_narrow_and_a_range_read_through_moves_the_cursor(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    app = await started(config_for(), clock)
    sink = app.dispatcher
    await sink.deliver(said(10, clock))
    await app.drain()
    [unread] = await sink.open_backfill([GENERAL])
    await sink.advance_backfill(unread, after="00000030", until="00000040")
    await sink.advance_backfill(unread, after="00000020", until="00000045")  # never back
    await app.drain()
    # Bounded, it no longer reaches back to the cursor: a range from the cursor joins it.
    narrowed, wide = await sink.open_backfill([GENERAL])
    assert (narrowed.after, narrowed.until, wide.after, wide.until) == (
        "00000030",
        "00000040",
        "00000010",
        None,
    )
    for position in (31, 32):
        await sink.deliver(said(position, clock, backfilled=True))
    await app.drain()
    assert await sink.cursor(GENERAL) == "00000010"  # backfill alone never moves it
    await sink.close_backfill(unread, read_to="00000032")
    await sink.close_backfill(wide)
    await app.drain()
    assert await sink.cursor(GENERAL) == "00000032"
    ranges = await sink.open_backfill([GENERAL])
    assert [(r.after, r.until, r.resumed) for r in ranges] == [("00000032", None, False)]
    async with app.database.reading() as conn:
        stored = (await conn.execute(messages.select())).all()
    assert len(stored) == 3
    await app.stop()
