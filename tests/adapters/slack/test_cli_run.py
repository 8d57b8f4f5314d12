"""`facilitator run` with the Slack tokens set: the real process against the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    message_event,
    slash_command,
)

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]


def write_config(fake: FakeSlack, tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"
[web]
enabled = false
[fetch]
previews = false
[slack]
api_base_url = "{fake.api_url}"
[[communities]]
name = "school"
[communities.slack]
channels = ["general", "missing"]
""",
        encoding="utf-8",
    )
    return config


async def run(
    config: Path, bot_token: str, extra: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }
    env.pop("DISCORD_TOKEN", None)
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


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(
        scopes=("channels:history", "channels:read", "chat:write", "reactions:write")
    )
    server.add_channel("C0GENERAL", "general")
    server.add_user("UALICE", "alice")
    await server.start()
    yield server
    await server.stop()


async def test_a_refused_token_exits_3_and_says_why(fake: FakeSlack, tmp_path: Path) -> None:
    process = await run(write_config(fake, tmp_path), "xoxb-not-the-token")
    _, stderr = await asyncio.wait_for(process.communicate(), 50)
    message = stderr.decode()
    assert process.returncode == 3, message
    assert "SLACK_BOT_TOKEN was refused (invalid_auth)" in message
    assert "xoxb-not-the-token" not in message and "Traceback" not in message
    assert fake.socket_connections == 0


async def test_run_connects_collects_and_stops_cleanly(fake: FakeSlack, tmp_path: Path) -> None:
    process = await run(write_config(fake, tmp_path), BOT_TOKEN)
    try:
        await fake.wait_connected(within=30)
        message = fake.add_message("C0GENERAL", "UALICE", "https://example.org/cli")
        event = message_event("C0GENERAL", "UALICE", message["text"], message["ts"])
        await fake.wait_ack(
            await fake.push_envelope("events_api", event_callback(event, event_id="Ecli"))
        )
        await fake.wait_for(lambda: bool(fake.calls_to("reactions.add")), within=10)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "lacks the scope files:write" in log and "lacks the scope reactions:write" not in log
    assert "users.info UALICE failed: missing_scope" in log  # no users:read: named by id
    assert "channel missing in" in log and "was not found" in log
    assert BOT_TOKEN not in log and APP_TOKEN not in log
    # One Socket Mode URL and one connection for the start (the token check's URL is used).
    assert len(fake.calls_to("apps.connections.open")) == 1 and fake.socket_connections == 1


async def test_a_refused_request_is_logged_without_its_body(
    fake: FakeSlack, tmp_path: Path
) -> None:
    # slack-bolt logs a request with a bad signature at INFO, body and member text included.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(fake, tmp_path)
    text = config.read_text("utf-8").replace("[web]\nenabled = false", f"[web]\nport = {port}")
    config.write_text(text.replace("[slack]\n", '[slack]\nmode = "http"\n'), "utf-8")
    env = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": ""}
    process = await run(config, BOT_TOKEN, env)
    sentinel = "my-private-words-4821"
    event = message_event("C0GENERAL", "UALICE", sentinel, "1.2")
    body = json.dumps(event_callback(event, event_id="Erefused"))
    try:
        async with aiohttp.ClientSession() as session:
            status = None
            for _ in range(300):  # until the web server listens (bounded: about 30 s)
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/slack/events",
                        data=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Slack-Request-Timestamp": str(int(time.time())),
                            "X-Slack-Signature": "v0=" + "0" * 64,
                        },
                    ) as response:
                        status = response.status
                    if status != 503:  # 503: listening, the Slack platform still starting
                        break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            assert status == 401
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert "Invalid request signature" in log and "body: <withheld>" in log
    assert sentinel not in log
    assert BOT_TOKEN not in log and SIGNING_SECRET not in log


async def test_debug_logs_carry_no_token_and_no_members_words(
    fake: FakeSlack, tmp_path: Path
) -> None:
    # At DEBUG slack-sdk logs every Socket Mode envelope (members' messages and commands) and
    # every Web API and response_url payload (answers that repeat what a member wrote).
    config = write_config(fake, tmp_path)
    config.write_text(config.read_text("utf-8") + '[bot]\nlog_level = "DEBUG"\n', "utf-8")
    process = await run(config, BOT_TOKEN)
    try:
        await fake.wait_connected(within=30)
        await live_message(fake, "words-4821 https://example.org/said", "Esaid")
        response_url = fake.new_response_url()
        command = slash_command(
            "/facilitator",
            "goal set goal-words-7315",
            user="UALICE",
            channel="C0GENERAL",
            response_url=response_url,
        )
        await fake.wait_ack(await fake.push_envelope("slash_commands", command))
        answers = fake.responses[response_url.rsplit("/", 1)[1]]
        await fake.wait_for(lambda: bool(answers), within=20)
        assert "goal-words-7315" in json.dumps(answers)  # the answer repeats it
    finally:
        log = await stop(process)
    assert process.returncode == 0, log
    assert "Received message (type: TEXT, data: <withheld>" in log  # kept, blanked
    assert "words-4821" not in log and "goal-words-7315" not in log
    assert BOT_TOKEN not in log and APP_TOKEN not in log


def stored(database: Path, stamps: list[str]) -> dict[str, tuple[int, int]]:
    """(message rows, share rows) the stopped process stored for each message timestamp."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return {
            ts: (
                conn.execute(
                    "SELECT count(*) FROM messages WHERE ref LIKE ?", (f"%/{ts}",)
                ).fetchone()[0],
                conn.execute(
                    "SELECT count(*) FROM shares WHERE message_ref LIKE ?", (f"%/{ts}",)
                ).fetchone()[0],
            )
            for ts in stamps
        }


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM (unless it ended already); the process's stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return stderr.decode()


async def live_message(fake: FakeSlack, text: str, event_id: str) -> dict[str, Any]:
    """A member posts while the bot listens; returns once its reaction (sent after the
    commit that stored it) arrived."""
    message = fake.add_message("C0GENERAL", "UALICE", text)
    event = message_event("C0GENERAL", "UALICE", message["text"], message["ts"])
    await fake.wait_ack(
        await fake.push_envelope("events_api", event_callback(event, event_id=event_id))
    )
    await fake.wait_for(
        lambda: any(
            c.args.get("timestamp") == message["ts"] for c in fake.calls_to("reactions.add")
        ),
        within=20,
    )
    return message


def reactions_to(fake: FakeSlack, ts: str) -> int:
    return sum(
        c.args.get("timestamp") == ts and c.args["_ok"] for c in fake.calls_to("reactions.add")
    )


async def test_a_kill_while_backfill_reads_loses_nothing_sent_while_down(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = write_config(fake, tmp_path)
    first = await run(config, BOT_TOKEN)
    try:
        await fake.wait_connected(within=30)
        await live_message(fake, "https://example.org/seen", "Eseen")
    finally:
        log = await stop(first)
    assert first.returncode == 0, log

    # While the bot is down: five messages.
    missed = [
        fake.add_message("C0GENERAL", "UALICE", f"https://example.org/missed-{n}") for n in range(5)
    ]
    # It starts with history slowed; a live message commits while backfill still reads...
    fake.history_delay = 3.0
    answered = fake.history_answered
    reads, connections = len(fake.calls_to("conversations.history")), fake.socket_connections
    second = await run(config, BOT_TOKEN)
    try:
        await fake.wait_for(lambda: fake.socket_connections > connections, within=30)
        await fake.wait_for(lambda: len(fake.calls_to("conversations.history")) > reads, within=30)
        live = await live_message(fake, "https://example.org/live", "Elive")
        assert fake.history_answered == answered
        second.kill()  # ...and the process is killed: no clean stop at all.
    finally:
        await stop(second)
    assert second.returncode == -signal.SIGKILL

    fake.history_delay = 0.0
    connections = fake.socket_connections
    third = await run(config, BOT_TOKEN)
    try:
        await fake.wait_for(lambda: fake.socket_connections > connections, within=30)
        await fake.wait_for(lambda: all(reactions_to(fake, m["ts"]) for m in missed), within=30)
    finally:
        log = await stop(third)
    assert third.returncode == 0, log
    stamps = [m["ts"] for m in [*missed, live]]
    assert stored(tmp_path / "bot.db", stamps) == {ts: (1, 1) for ts in stamps}
    assert [reactions_to(fake, ts) for ts in stamps] == [1] * len(stamps)
    with contextlib.closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        assert conn.execute("SELECT count(*) FROM unread_ranges").fetchone()[0] == 0
    assert "backfill resumes 1 unread range(s) left open in 1 channel(s)" in log
    assert "Traceback" not in log and BOT_TOKEN not in log
