"""`facilitator run` with DISCORD_TOKEN set: the real process against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import signal
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


async def test_debug_logs_carry_no_interaction_token(world: World, tmp_path: Path) -> None:
    # discord.py logs every REST call's URL at DEBUG; an interaction's URL holds its token.
    config = write_config(world, tmp_path)
    config.write_text(config.read_text("utf-8") + '[bot]\nlog_level = "DEBUG"\n', "utf-8")
    process = await run(config, world.fake.token)
    try:
        await world.fake.wait_identified(within=30)
        await world.fake.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands", within=30
        )
        sent = await world.fake.interaction(world.general, world.alice, "help")
        await world.fake.wait_for_request(
            "POST", rf"/interactions/{sent['id']}/[^/]+/callback", within=20
        )
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    logged = stderr.decode()
    assert process.returncode == 0, logged
    assert f"/interactions/{sent['id']}/<withheld>" in logged  # the line is kept, blanked
    assert sent["token"] not in logged
    assert world.fake.token not in logged
