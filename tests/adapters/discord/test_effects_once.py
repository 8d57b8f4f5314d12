"""Effects reach Discord once, whatever fails: nonces, resends, takeovers, one interaction
owner across processes, and a kill while a reaction waits on a 429 (a real process)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from adapters.discord import translate
from adapters.discord.translate import split_interaction_token
from bot.core.actions import Action, Answer, Content, MirrorGathering, Post
from bot.core.clock import ManualClock
from bot.core.refs import ChannelRef, InteractionRef
from bot.runtime.service import Transaction
from bot.storage.schema import outbox
from tests.adapters.discord.test_cli_run import run, write_config
from tests.helpers import REACTION_PUT, DiscordStory, World, eventually

pytestmark = pytest.mark.timeout(60)

LEASE = timedelta(seconds=30)


def channel(world: World) -> ChannelRef:
    return ChannelRef("discord", world.guild, world.general)


def bot_messages(world: World, text: str) -> list[dict[str, object]]:
    own = str(world.fake.bot_id)
    return [
        m
        for m in world.fake.messages[world.general].values()
        if m["author"]["id"] == own and m["content"] == text  # type: ignore[index]
    ]


async def emit(story: DiscordStory, action: Action) -> None:
    async def work(tx: Transaction) -> list[Action]:
        return [action]

    await story.app.dispatcher.run_in_transaction(work)


async def test_a_repeated_send_with_one_key_creates_one_message(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    async with story_for(world) as story:
        post = Post(channel=channel(world), content=Content(text="once, by nonce"))
        first = await story.platform.perform_once(post, key="k1", resend=False)
        again = await story.platform.perform_once(post, key="k1", resend=True)
        assert first == again
        assert len(bot_messages(world, "once, by nonce")) == 1
        [(nonce, created)] = world.fake.creations_per_nonce.items()
        assert created == 1 and len(nonce) <= 25

        world.fake.nonce_window = 0  # Discord forgot the nonce: the resend compares content
        late = await story.platform.perform_once(post, key="k1", resend=True)
        assert late == first
        assert len(bot_messages(world, "once, by nonce")) == 1


async def test_a_post_accepted_by_discord_before_its_sender_died_is_not_sent_again(
    world: World, story_for: Callable[..., DiscordStory], clock: ManualClock
) -> None:
    stall = world.fake.stall_after_create = asyncio.Event()
    # The dying process's clock stands still: whatever leases it still renews lapse for the heir.
    dying = story_for(world, clock=ManualClock(clock.now()))
    await dying.__aenter__()
    await emit(dying, Post(channel=channel(world), content=Content(text="the prompt")))
    await eventually(lambda: len(world.fake.stalled) == 1, 10)  # created; no answer yet

    heir = story_for(world)
    await heir.__aenter__()
    world.fake.stall_after_create = None
    clock.advance(LEASE + timedelta(seconds=1))
    outbox = heir.app.dispatcher.outbox
    await outbox.take_stale()  # or the heir's own poll took it first: either way it is the heir's
    await eventually_async(lambda: delivered_by(heir, outbox.owner), 10)
    assert len(bot_messages(world, "the prompt")) == 1
    assert list(world.fake.creations_per_nonce.values()) == [1]

    stall.set()  # the dead sender's request is answered at last: it must not send again
    await heir.__aexit__()
    await dying.__aexit__()
    assert len(bot_messages(world, "the prompt")) == 1


async def delivered_by(story: DiscordStory, owner: str) -> bool:
    """Whether every outbox row is delivered, the last claim being `owner`'s."""
    async with story.app.database.reading() as conn:
        found = list(await conn.execute(select(outbox.c.status, outbox.c.claimed_by)))
    return bool(found) and all(r.status == "done" and r.claimed_by == owner for r in found)


async def eventually_async(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Poll until `await check()` holds, failing after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_two_processes_on_one_database_answer_an_interaction_once(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    first, second = story_for(world, defer_after=0.2), story_for(world, defer_after=0.2)
    async with first, second:
        await eventually(lambda: len(world.fake.connections) == 2, 10)
        sent = await world.fake.interaction(world.general, world.alice, "help")
        token = sent["token"]
        await eventually(lambda: bool(world.fake.interaction_responses.get(token)), 10)
        await first.app.drain()
        await second.app.drain()
        await asyncio.sleep(0)  # nothing else is scheduled: a second callback would be queued
    callbacks = world.fake.requests_to("POST", rf"/interactions/{sent['id']}/[^/]+/callback")
    assert len(callbacks) == 1


def storm_config(world: World, tmp_path: Path) -> Path:
    """The `facilitator run` config of test_cli_run, with a short lease (a quick takeover)."""
    config = write_config(world, tmp_path)
    config.write_text(config.read_text("utf-8") + "[scheduler]\nlease_seconds = 3\n", "utf-8")
    return config


async def test_a_reaction_waiting_on_a_429_when_the_process_is_killed_comes_after_restart(
    world: World, tmp_path: Path
) -> None:
    config = storm_config(world, tmp_path)
    process = await run(config, world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        world.fake.rate_limit("PUT", r"/channels/\d+/messages/\d+/reactions/.+", retry_after=30)
        sent = await world.fake.message(world.general, world.alice, "https://example.org/429")
        reaction = REACTION_PUT.format(message=sent["id"])
        await world.fake.wait_for_request("PUT", reaction, within=20)  # answered 429
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert world.fake.reactions.get((world.general, sent["id"]), set()) == set()

        process = await run(config, world.fake.token)
        deadline = asyncio.get_running_loop().time() + 40
        while not world.fake.reactions.get((world.general, sent["id"])):
            assert asyncio.get_running_loop().time() < deadline, "the reaction never came"
            await asyncio.sleep(0.1)
        assert len(world.fake.reactions[(world.general, sent["id"])]) == 1
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 30)


async def test_a_digest_post_waiting_on_a_429_when_the_process_is_killed_is_posted_once(
    world: World, tmp_path: Path
) -> None:
    """`/digest post` writes the post as an outbox row; killed while Discord answers it 429,
    the next start posts it, once, and only then is the week posted."""
    config = digest_config(world, tmp_path)
    digest_posts = rf"/channels/{world.resources}/messages"
    process = await run(config, world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        world.fake.rate_limit("POST", digest_posts, retry_after=30)
        post = [{"type": 1, "name": "post", "options": []}]
        await world.fake.interaction(world.general, world.fran, "digest", post)
        await world.fake.wait_for_request("POST", digest_posts, within=20)  # answered 429
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert not own_posts(world, world.resources)

        process = await run(config, world.fake.token)
        deadline = asyncio.get_running_loop().time() + 40
        while not own_posts(world, world.resources):
            assert asyncio.get_running_loop().time() < deadline, "the digest never came"
            await asyncio.sleep(0.1)
        # (The first /digest post's answer may never come: killed before answering, its
        # interaction expired, as it would on Discord. The post is what must not be lost.)
        again = await world.fake.interaction(world.general, world.fran, "digest", post)
        await world.fake.wait_for_request(
            "POST", rf"/interactions/{again['id']}/[^/]+/callback", within=20
        )
        answer = str(world.fake.interaction_responses[again["token"]])
        # Posted (or its confirmation still being recorded): either way, nothing to send.
        assert "already posted" in answer or "on its way" in answer, answer
        assert len(own_posts(world, world.resources)) == 1
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 30)


def digest_config(world: World, tmp_path: Path) -> Path:
    """storm_config with a digest channel (#resources) and fran facilitating."""
    config = storm_config(world, tmp_path)
    text = config.read_text("utf-8").replace(
        'channels = ["general"]\n',
        f'channels = ["general"]\ndigest = "resources"\nfacilitators = ["{world.fran}"]\n',
    )
    config.write_text(text, "utf-8")
    return config


def own_posts(world: World, channel_id: str) -> list[dict[str, object]]:
    own = str(world.fake.bot_id)
    return [
        m
        for m in world.fake.messages[channel_id].values()
        if m["author"]["id"] == own  # type: ignore[index]
    ]


@pytest.mark.timeout(120)
async def test_a_sender_stopped_past_its_lease_and_superseded_sends_nothing_when_resumed(
    world: World, tmp_path: Path
) -> None:
    """A real process holds a digest post waiting out a 429 and is SIGSTOPped; a second
    process takes the post over and sends it; resumed, the first finds it is no longer its
    own and sends nothing (fencing, not the nonce: Discord would have forgotten it)."""
    config = digest_config(world, tmp_path)
    digest_posts = rf"/channels/{world.resources}/messages"
    world.fake.nonce_window = 0
    stopped = await run(config, world.fake.token)
    heir: asyncio.subprocess.Process | None = None
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        # Over discord.py's 30 s: the outbox, not discord.py, waits it out.
        world.fake.rate_limit("POST", digest_posts, retry_after=31)
        post = [{"type": 1, "name": "post", "options": []}]
        await world.fake.interaction(world.general, world.fran, "digest", post)
        await world.fake.wait_for_request("POST", digest_posts, within=20)  # answered 429
        database = tmp_path / "bot.db"
        await eventually(lambda: retry_recorded(database), 20)
        await stop_outside_a_write(stopped, database)

        heir = await run(config, world.fake.token)
        deadline = asyncio.get_running_loop().time() + 70
        while not own_posts(world, world.resources):  # once the row is due and unrenewed
            assert asyncio.get_running_loop().time() < deadline, "the heir never posted"
            await asyncio.sleep(0.1)

        stopped.send_signal(signal.SIGCONT)
        assert stopped.stderr is not None
        words = "outbox: Post was taken over by another process; not sending"
        await asyncio.wait_for(read_until(stopped.stderr, words), 30)
        assert len(own_posts(world, world.resources)) == 1
        assert len(world.fake.requests_to("POST", digest_posts)) == 2  # the 429'd one, the heir's
    finally:
        for process in (stopped, heir):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.communicate(), 30)


def retry_recorded(database: Path) -> bool:
    """Whether a post's failed attempt (the 429) is committed."""
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        found = conn.execute("SELECT 1 FROM outbox WHERE attempts > 0 AND status = 'pending'")
        return found.fetchone() is not None


async def stop_outside_a_write(process: asyncio.subprocess.Process, database: Path) -> None:
    """SIGSTOP `process` at a moment it holds no SQLite write lock (a process paused inside a
    write holds every other writer until it resumes; PostgreSQL locks only the rows)."""
    for _ in range(200):
        process.send_signal(signal.SIGSTOP)
        with closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # locked: let it finish its write and try again
                process.send_signal(signal.SIGCONT)
                await asyncio.sleep(0.05)
                continue
            conn.execute("ROLLBACK")
            return
    raise AssertionError("the process never left its writes")


async def read_until(stream: asyncio.StreamReader, words: str) -> str:
    """Read log lines until one holds `words`; return it."""
    while True:
        line = (await stream.readline()).decode("utf-8", "replace")
        assert line, f"the process ended without logging {words!r}"
        if words in line:
            return line


async def answered_by_the_dead(world: World, first_response: dict[str, object]) -> InteractionRef:
    """An interaction the process that died had answered (`first_response`), at the wire."""
    asked = await world.fake.interaction(world.general, world.alice, "help")  # nobody connected
    route = f"{world.fake.api_base}/interactions/{asked['id']}/{asked['token']}/callback"
    async with aiohttp.ClientSession() as session, session.post(route, json=first_response):
        pass
    return translate.interaction_ref(asked, channel(world))


async def test_an_answer_discord_took_before_its_sender_died_is_not_given_twice(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    answered = {"type": 4, "data": {"content": "Your goal is set.", "flags": 64}}
    to = await answered_by_the_dead(world, answered)
    async with story_for(world) as heir:
        answer = Answer(to=to, content=Content(text="Your goal is set."), ephemeral=True)
        await heir.platform.perform_once(answer, key="a1", resend=True)
        changed = Answer(to=to, content=Content(text="Something else"), ephemeral=True)
        await heir.platform.perform_once(changed, key="a2", resend=True)
    token = split_interaction_token(to)[1]
    kinds = [r["kind"] for r in world.fake.interaction_responses[token]]
    assert kinds == ["callback", "followup"]  # the same answer once; another one follows up


async def test_an_answer_resent_after_its_sender_deferred_and_died_fills_the_deferral(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    to = await answered_by_the_dead(world, {"type": 5, "data": {"flags": 64}})
    async with story_for(world) as heir:
        answer = Answer(to=to, content=Content(text="Here are your links."), ephemeral=True)
        await heir.platform.perform_once(answer, key="a1", resend=True)
    token = split_interaction_token(to)[1]
    responses = world.fake.interaction_responses[token]
    assert [r["kind"] for r in responses] == ["callback", "edit_original"]  # not "thinking…"
    shown = world.fake.original_response(token) or {}
    assert shown["content"] == "Here are your links." and shown["flags"] == 64


async def test_a_scheduled_event_created_before_its_sender_died_is_adopted_on_resend(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    starts = datetime(2027, 1, 14, 17, 0, tzinfo=UTC)
    mirror = MirrorGathering(
        platform="discord",
        space=world.guild,
        mirror_id=None,
        title="Guest talk",
        description="2 going",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        location="Online",
    )
    async with story_for(world) as story:
        first = await story.platform.perform_once(mirror, key="mirror:1", resend=False)
        again = await story.platform.perform_once(mirror, key="mirror:1", resend=True)
        assert again == first  # the event the dead attempt made, not a second one
        assert len(world.fake.scheduled_events[world.guild]) == 1
        later = replace(mirror, starts_at=starts + timedelta(days=7))
        await story.platform.perform_once(later, key="mirror:2", resend=True)
        assert len(world.fake.scheduled_events[world.guild]) == 2  # another start: its own
