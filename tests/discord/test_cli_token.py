"""A refused Discord token stops `facilitator run` with a clear message and a non-zero exit."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.discord.conftest import World

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]


async def test_run_with_a_bad_token_exits_non_zero_and_says_why(
    world: World, tmp_path: Path
) -> None:
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
    env = {**os.environ, "DISCORD_TOKEN": "not-the-token", "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 3
    message = stderr.decode()
    assert "DISCORD_TOKEN was refused" in message and "Reset Token" in message
    assert "not-the-token" not in message  # secrets never reach the logs
    assert "Traceback" not in message
    assert world.fake.identifies == []
