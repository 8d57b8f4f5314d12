"""The outbox: effects written with their cause, delivered once, taken over, parked, dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.core.actions import Action, Answer, Content, Post, React, SendDirect
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.core.platform import Capability, EventSink, PlatformError, PlatformUnavailable
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef
from bot.runtime.actions import ActionPerformer
from bot.runtime.ledger import LeaseLost, Ledger
from bot.runtime.outbox import Effect, Outbox
from bot.runtime.scheduler import RunContext
from bot.runtime.service import Transaction
from bot.storage.member_data import erase_member
from bot.storage.schema import outbox
from tests.helpers import START, eventually

pytestmark = [pytest.mark.both_backends, pytest.mark.timeout(60)]

GENERAL = ChannelRef("test", "space", "general")
LEASE = timedelta(seconds=30)  # the shipped default (`[scheduler] lease_seconds`)


class Wire:
    """A platform that records what reached it, and can be told to fail or to hang."""

    def __init__(self) -> None:
        self.name = "test"
        self.capabilities = frozenset({Capability.REACTIONS})
        self.performed: list[tuple[Action, str | None, bool]] = []
        self.fail: Exception | None = None
        self.fail_for: Callable[[Action], Exception | None] = lambda _: None
        self.attempts = 0

    async def start(self, sink: EventSink) -> None:
        return None

    async def perform(self, action: Action) -> MessageRef | None:
        return await self.perform_once(action, key="", resend=False)

    async def perform_once(self, action: Action, *, key: str, resend: bool) -> MessageRef | None:
        self.attempts += 1
        failure = self.fail or self.fail_for(action)
        if failure is not None:
            raise failure
        self.performed.append((action, key, resend))
        return MessageRef(GENERAL, f"m{len(self.performed)}")

    async def stop(self) -> None:
        return None

    def texts(self) -> list[str]:
        return [a.content.text for a, _, _ in self.performed if isinstance(a, Post)]


async def up(config: Config, clock: ManualClock, wire: Wire) -> Application:
    app = Application(config, secrets=Secrets(), clock=clock, platforms=[wire])
    await app.start()
    return app


def post(text: str) -> Post:
    return Post(channel=GENERAL, content=Content(text=text))


async def write(app: Application, *effects: Effect | Action) -> None:
    async def work(tx: Transaction) -> list[Action]:
        for effect in effects:
            tx.emit(effect)
        return []

    await app.dispatcher.run_in_transaction(work)


async def rows(app: Application) -> list[tuple[str, str, int]]:
    async with app.database.reading() as conn:
        found = await conn.execute(
            select(outbox.c.key, outbox.c.status, outbox.c.claim).order_by(outbox.c.id)
        )
        return [(row.key, row.status, row.claim) for row in found]


async def test_an_effect_is_delivered_once_with_its_key_and_marked_done(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    wire = Wire()
    app = await up(config_for(), clock, wire)
    await write(app, Effect(action=post("hello"), key="greeting"))
    await write(app, Effect(action=post("hello"), key="greeting"))  # the same key: nothing new
    await app.drain()
    assert [(key, resend) for _, key, resend in wire.performed] == [("greeting", False)]
    assert await rows(app) == [("greeting", "done", 1)]
    await app.stop()


async def test_a_process_that_died_before_delivering_is_taken_over_after_its_lease(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for()
    wire = Wire()
    heir = await up(config, clock, wire)
    # The dead process: it committed its effect (held by it, with a lease) and then died,
    # before its first delivery attempt and without renewing anything.
    dead = Outbox(heir.database, clock, ActionPerformer(), owner="dead", lease=LEASE)
    async with heir.database.transaction() as conn:
        await dead.write(conn, [post("posted once")], clock.now())
    clock.advance(LEASE - timedelta(seconds=1))
    assert await heir.dispatcher.outbox.take_stale() == 0  # still the dead one's lease
    clock.advance(timedelta(seconds=2))
    assert await heir.dispatcher.outbox.take_stale() == 1
    await heir.drain()
    assert wire.texts() == ["posted once"]
    assert wire.performed[0][2] is True  # a resend: the platform checks for the first try
    [(_, status, claim)] = await rows(heir)
    assert (status, claim) == ("done", 2)
    await heir.stop()


async def test_a_holder_whose_row_was_taken_over_does_not_send_it(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for()
    wire = Wire()
    app = await up(config, clock, wire)
    paused = Outbox(app.database, clock, app.dispatcher._actions, owner="paused", lease=LEASE)
    async with app.database.transaction() as conn:
        held = await paused.write(conn, [post("once")], clock.now())
    clock.advance(LEASE + timedelta(seconds=1))  # paused (SIGSTOP) past its lease
    assert await app.dispatcher.outbox.take_stale() == 1
    await app.drain()
    paused.hand_over(held)  # it resumes, with the row still in memory
    await paused.start()
    await paused.drain()
    assert wire.texts() == ["once"]
    await paused.stop()
    await app.stop()


async def test_a_clean_stop_leaves_undelivered_effects_to_the_next_start_at_once(
    config_for: Callable[..., Config], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for()
    wire = Wire()
    wire.fail = PlatformUnavailable("429")
    first = await up(config, clock, wire)
    await write(first, post("after the restart"))
    await eventually(lambda: wire.attempts >= 1)
    with caplog.at_level(logging.INFO, logger="bot.runtime.outbox"):
        await first.stop()
    left = [r for r in caplog.records if "left for the next start" in r.getMessage()]
    assert [r.getMessage() for r in left] == [
        "outbox: 1 undelivered effect(s) left for the next start"
    ]  # said once, though the stop lets go twice (before and after the last batch)

    wire.fail = None
    second = await up(config, clock, wire)  # same time: no lease to wait out
    await eventually(lambda: wire.texts() == ["after the restart"])
    await second.drain()
    assert [status for _, status, _ in await rows(second)] == ["done"]
    await second.stop()


async def test_a_permanent_failure_parks_the_row_tells_whoever_asked_and_keeps_the_lane_going(
    config_for: Callable[..., Config], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    wire = Wire()
    wire.fail_for = lambda a: PlatformError("missing access") if _says(a, "refused") else None
    app = await up(config_for(), clock, wire)
    fran = MemberRef("test", "", "fran")
    notice = SendDirect(member=fran, content=Content(text="The digest could not be posted"))
    await write(app, Effect(action=post("refused"), on_park=notice), post("next in the lane"))
    await app.drain()
    assert wire.texts() == ["next in the lane"]
    assert [a.member for a, _, _ in wire.performed if isinstance(a, SendDirect)] == [fran]
    assert [status for _, status, _ in await rows(app)] == ["parked", "done", "done"]
    assert "parked a Post that failed for good: missing access" in caplog.text
    await app.stop()


def _says(action: Action, words: str) -> bool:
    return isinstance(action, Post) and action.content.text == words


async def test_an_answer_that_can_no_longer_be_given_is_dropped_with_a_log_line(
    config_for: Callable[..., Config], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for()
    wire = Wire()
    wire.fail = PlatformUnavailable("down")
    first = await up(config, clock, wire)
    answer = Answer(to=InteractionRef("test", "i:token", GENERAL), content=Content(text="ok"))
    await write(first, answer)
    await eventually(lambda: wire.attempts >= 1)
    await first.stop()
    clock.advance(timedelta(minutes=16))  # past an interaction's 15 minutes
    wire.fail = None
    second = await up(config, clock, wire)
    await eventually(lambda: "no longer be answered" in caplog.text)
    await second.drain()
    assert wire.performed == []
    assert [status for _, status, _ in await rows(second)] == ["dropped"]
    await second.stop()


async def test_forget_me_purges_the_members_undelivered_effects(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    wire = Wire()
    wire.fail = PlatformUnavailable("down")
    app = await up(config_for(), clock, wire)
    alice = MemberRef("test", "", "alice")
    await write(app, SendDirect(member=alice, content=Content(text="your words")), post("other"))
    await eventually(lambda: wire.attempts >= 1)
    async with app.database.transaction() as conn:
        await erase_member(conn, str(alice), clock.now(), set())
    assert len(await rows(app)) == 1  # only the post that holds nobody's words
    await app.stop()


async def test_a_reaction_from_a_message_is_an_outbox_row_written_with_the_message(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    from tests.runtime.test_dispatcher import message

    wire = Wire()
    app = await up(config_for(), clock, wire)
    from bot.core.communities import Purpose

    app.directory.bind_channel(GENERAL, "demo", {Purpose.WATCHED})
    await app.dispatcher.deliver(message("m1", "https://example.org/x", clock=clock))
    await app.drain()
    reactions = [a for a, _, _ in wire.performed if isinstance(a, React)]
    assert len(reactions) == 1
    assert "done" in {status for _, status, _ in await rows(app)}
    await app.stop()


async def test_a_runner_that_lost_its_claim_writes_no_part(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    wire = Wire()
    app = await up(config_for(), clock, wire)
    ledger = Ledger(app.database, clock)
    paused = await ledger.claim("job", START, "paused", LEASE)
    assert paused is not None
    clock.advance(LEASE + timedelta(seconds=1))  # SIGSTOPped past its lease
    heir = await ledger.claim("job", START, "heir", LEASE)
    assert heir is not None and heir.attempt == 2
    outbox_ = app.dispatcher.outbox
    old = RunContext(ledger, paused, LEASE, database=app.database, outbox=outbox_)
    new = RunContext(ledger, heir, LEASE, database=app.database, outbox=outbox_)
    await new.emit("post:general", post("the run's post"))
    with pytest.raises(LeaseLost):
        await old.emit("post:general", post("the run's post"))
    with pytest.raises(LeaseLost):
        await old.emit("post:other", post("another part"))
    await new.emit("post:general", post("the run's post"))  # a resumed run: nothing new
    await app.drain()
    assert wire.texts() == ["the run's post"]
    assert len(await rows(app)) == 1
    await app.stop()


async def test_a_run_lease_is_renewed_while_it_works(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    from bot.core.schedules import parse_rule
    from bot.runtime.scheduler import Job, Scheduler

    wire = Wire()
    app = await up(config_for(), clock, wire)
    working = asyncio.Event()
    finish = asyncio.Event()

    async def slow(context: RunContext) -> None:
        working.set()
        await finish.wait()

    scheduler = Scheduler(clock, app.database, lease=timedelta(seconds=0.3), owner="worker")
    scheduler.add(Job("slow", parse_rule("* * * * *"), "UTC", slow))
    running = asyncio.create_task(scheduler.run_due(START + timedelta(minutes=1)))
    await working.wait()
    [run] = await scheduler.ledger.history("slow")
    first_lease = run.lease_until
    clock.advance(timedelta(seconds=1))  # the lease would have run out without renewals

    async def renewed() -> bool:
        [now] = await scheduler.ledger.history("slow")
        return now.lease_until > first_lease

    for _ in range(100):
        if await renewed():
            break
        await asyncio.sleep(0.05)
    assert await renewed()
    other = Ledger(app.database, clock)
    assert await other.claim("slow", run.due_at, "thief", timedelta(seconds=30)) is None
    finish.set()
    await running
    await app.stop()
