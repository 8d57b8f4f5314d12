"""`facilitator run` with DISCORD_TOKEN set: the real process against the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.helpers import REACTION_PUT, World

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]


def write_config(world: World, tmp_path: Path) -> Path:
    """A config with one community on the fake guild."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"
[web]
enabled = false
[discord]
api_base_url = "{world.fake.api_base}"
[[communities]]
name = "school"
[communities.discord]
guild = "{world.guild}"
channels = ["general"]
""",
        encoding="utf-8",
    )
    return config


async def run(config: Path, token: str) -> asyncio.subprocess.Process:
    """Start `python -m bot run` with this token."""
    env = {**os.environ, "DISCORD_TOKEN": token, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=config.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_with_a_bad_token_exits_non_zero_and_says_why(
    world: World, tmp_path: Path
) -> None:
    process = await run(write_config(world, tmp_path), "not-the-token")
    _, stderr = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 3
    message = stderr.decode()
    assert "DISCORD_TOKEN was refused" in message and "Reset Token" in message
    assert "not-the-token" not in message  # secrets never reach the logs
    assert "Traceback" not in message
    assert world.fake.identifies == []


async def test_run_with_the_token_serves_the_guild_and_stops_cleanly(
    world: World, tmp_path: Path
) -> None:
    process = await run(write_config(world, tmp_path), world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        sent = await world.fake.message(world.general, world.alice, "https://example.org/cli")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]), within=10)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert world.fake.token not in stderr.decode()


async def test_debug_logs_carry_no_token_and_no_members_words(world: World, tmp_path: Path) -> None:
    # discord.py logs every REST call's URL at DEBUG (an interaction's URL holds its token),
    # and the body of every request and response: history read by backfill, and answers that
    # repeat what a member wrote.
    config = write_config(world, tmp_path)
    config.write_text(config.read_text("utf-8") + '[bot]\nlog_level = "DEBUG"\n', "utf-8")
    process = await run(config, world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        said = await world.fake.message(world.general, world.alice, "words-4821 https://x.org/a")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=said["id"]), within=20)
        goal = {"name": "text", "type": 3, "value": "goal-words-7315"}
        sent = await world.fake.interaction(
            world.general, world.alice, "goal", [{"name": "set", "type": 1, "options": [goal]}]
        )
        await world.fake.wait_for_request(
            "POST", rf"/interactions/{sent['id']}/[^/]+/callback", within=20
        )
        [answer] = world.fake.interaction_responses[sent["token"]]
        assert "goal-words-7315" in answer["data"]["content"]  # the answer repeats it
    finally:
        logged = await stop(process)
    assert process.returncode == 0, logged
    assert f"/interactions/{sent['id']}/<withheld>" in logged  # the line is kept, blanked
    assert sent["token"] not in logged
    assert world.fake.token not in logged
    assert "words-4821" not in logged and "goal-words-7315" not in logged

    # The next start reads what was missed: the history it reads is not logged either.
    missed = world.fake.post(world.general, world.alice, "missed-words-5502 https://x.org/b")
    process = await run(config, world.fake.token)
    try:
        await world.fake.wait_for_request(
            "PUT", REACTION_PUT.format(message=missed["id"]), within=30
        )
    finally:
        logged = await stop(process)
    assert process.returncode == 0, logged
    assert "has received <withheld>" in logged
    assert "missed-words-5502" not in logged and world.fake.token not in logged


def stored(database: Path, message_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(message rows, share rows) the stopped process stored for each message id."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return {
            message_id: (
                conn.execute(
                    "SELECT count(*) FROM messages WHERE ref LIKE ?", (f"%/{message_id}",)
                ).fetchone()[0],
                conn.execute(
                    "SELECT count(*) FROM shares WHERE message_ref LIKE ?", (f"%/{message_id}",)
                ).fetchone()[0],
            )
            for message_id in message_ids
        }


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM (unless it ended already); the process's stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return stderr.decode()


async def test_a_kill_while_backfill_reads_loses_nothing_sent_while_down(
    world: World, tmp_path: Path
) -> None:
    config = write_config(world, tmp_path)
    history = r"/channels/\d+/messages"
    first = await run(config, world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        seen = await world.fake.message(world.general, world.alice, "https://example.org/seen")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=seen["id"]), within=20)
    finally:
        log = await stop(first)
    assert first.returncode == 0, log

    # While the bot is down: five messages.
    missed = [
        world.fake.post(world.general, world.alice, f"https://example.org/missed-{n}")
        for n in range(5)
    ]
    # It starts with history slowed; a live message commits while backfill still reads...
    world.fake.history_delay = 3.0
    answered = world.fake.history_answered
    reads = len(world.fake.requests_to("GET", history))
    second = await run(config, world.fake.token)
    try:
        await world.fake.wait_for_request("GET", history, count=reads + 1, within=30)
        live = await world.fake.message(world.general, world.fran, "https://example.org/live")
        # The reaction is performed only after the commit that stored the message.
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=live["id"]), within=20)
        assert world.fake.history_answered == answered
        second.kill()  # ...and the process is killed: no clean stop at all.
    finally:
        await stop(second)
    assert second.returncode == -signal.SIGKILL

    world.fake.history_delay = 0.0
    third = await run(config, world.fake.token)
    try:
        for message in missed:
            await world.fake.wait_for_request(
                "PUT", REACTION_PUT.format(message=message["id"]), within=30
            )
    finally:
        log = await stop(third)
    assert third.returncode == 0, log
    ids = [m["id"] for m in [*missed, live]]
    assert stored(tmp_path / "bot.db", ids) == {message_id: (1, 1) for message_id in ids}
    for message in [*missed, live]:
        assert len(world.fake.requests_to("PUT", REACTION_PUT.format(message=message["id"]))) == 1
    with contextlib.closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        assert conn.execute("SELECT count(*) FROM unread_ranges").fetchone()[0] == 0
    assert "backfill resumes 1 unread range(s) left open in 1 channel(s)" in log
    assert "Traceback" not in log and world.fake.token not in log
