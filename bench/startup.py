"""Start-up benchmark: process start to the first reaction, for `facilitator run` on SQLite
with its migrations current and its commands already registered (a restart), against a bare
discord.py bot started the same way in the same run, both on the local Discord-compatible
server.

From the moment the process is spawned, the bench waits for its IDENTIFY, then a member posts a
link every 50 ms until the first bookmark reaction arrives; the figure is spawn to that
reaction. Each side runs `runs` times (after one warm-up start each, which also migrates the
database and registers the commands); the median is shown with every run.

Usage: python bench/startup.py [runs]   (default 3)
  BENCH_PROFILE=out.prof   cProfile the bot's starts (the last one is kept)
  BENCH_NO_BYTECODE=1      keep PYTHONDONTWRITEBYTECODE (by default both sides get a
                           bytecode cache in a temporary folder, as an installed copy has)
  BENCH_BEFORE=/a/checkout also measure the bot of another checkout (an export of an older
                           commit, say) in the same run, against the same database

       python bench/startup.py --bare   (the baseline bot; reads DISCORD_TOKEN, BENCH_API_BASE)
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fakes.discord_server import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bare() -> None:
    """The baseline: discord.py alone, reacting in on_message (no database, no commands)."""
    import discord
    from discord.http import Route

    Route.BASE = os.environ["BENCH_API_BASE"]
    wanted = discord.Intents.none()
    wanted.guilds = wanted.guild_messages = wanted.message_content = True
    client = discord.AutoShardedClient(intents=wanted, chunk_guilds_at_startup=False)

    @client.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await message.add_reaction("🔖")

    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def first_reaction(
    command: list[str], env: dict[str, str], fake: FakeDiscord
) -> tuple[float, float]:
    """Spawn `command`, post links once it identifies; seconds from spawn to first reaction,
    and the CPU seconds the process had used by then (less noisy on a shared machine)."""
    channel = next(iter(fake.channels))
    member = next(u for u in fake.users if u != str(fake.bot_user["id"]))
    identified = len(fake.identifies)
    already = len(fake.requests)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=env["PYTHONPATH"],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = started + 60
        while len(fake.identifies) == identified:
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError(f"{command[-1]} never identified")
            await asyncio.sleep(0.005)
        next_post = 0.0
        while True:
            now = time.monotonic()
            reacted = [
                r.at
                for r in fake.requests[already:]
                if r.method == "PUT" and "/reactions/" in r.path
            ]
            if reacted:
                return min(reacted) - started, cpu_seconds(process.pid)
            if now > deadline:
                raise RuntimeError("no reaction within 60 s")
            if now >= next_post:
                await fake.message(channel, member, f"see https://example.org/{now}")
                next_post = now + 0.05
            await asyncio.sleep(0.005)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        if process.returncode not in (0, -signal.SIGTERM):
            sys.stderr.write(stderr.decode())


async def main(runs: int) -> None:
    """Warm up each side once, then measure each `runs` times, alternating."""
    # Imported here: this file is also the bare bot, which must not pay for the fake's imports.
    from tests.fakes.discord_server import FakeDiscord

    fake = FakeDiscord(zlib_stream=True)
    guild = fake.add_guild("Bench")
    channel = fake.add_channel(guild, "resources")
    fake.add_member(guild, name="alice")
    await fake.start()
    print(
        f"process start to first reaction, {runs} runs each "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        + (", sources compiled at every start" if os.environ.get("BENCH_NO_BYTECODE") else "")
        + ")"
    )
    try:
        with tempfile.TemporaryDirectory() as directory:
            config = Path(directory) / "config.toml"
            config.write_text(
                f"""
[storage]
url = "sqlite+aiosqlite:///{Path(directory) / "bench.db"}"
[web]
enabled = false
[fetch]
previews = false
[console]
enabled = false
[discord]
api_base_url = "{fake.api_base}"
[[communities]]
name = "bench"
[communities.discord]
guild = "{guild}"
channels = ["resources"]
""",
                encoding="utf-8",
            )
            assert fake.channels[channel]["name"] == "resources"
            env = {
                **os.environ,
                "DISCORD_TOKEN": fake.token,
                "BENCH_API_BASE": fake.api_base,
                "PYTHONPATH": str(ROOT),
            }
            cached = not os.environ.get("BENCH_NO_BYTECODE")
            if cached:  # as installed: compiled once (here, by the warm-up), not at every start
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                env["PYTHONPYCACHEPREFIX"] = str(Path(directory) / "pycache")
            # BENCH_PROFILE=file.prof: cProfile the bot's measured starts (the last one is kept).
            target = os.environ.get("BENCH_PROFILE")
            profile = ["-m", "cProfile", "-o", target] if target else []
            sides = {
                "bare": [sys.executable, str(Path(__file__).resolve()), "--bare"],
                "bot": [sys.executable, *profile, "-m", "bot", "run", "--config", str(config)],
            }
            if before := os.environ.get("BENCH_BEFORE"):
                sides["before"] = [sys.executable, "-m", "bot", "run", "--config", str(config)]
            figures: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
            paths = {"before": before} if before else {}
            for name, command in sides.items():  # warm-up: migrations, commands
                await first_reaction(
                    command, {**env, "PYTHONPATH": paths.get(name, str(ROOT))}, fake
                )
            for _ in range(runs):
                for name, command in sides.items():
                    side_env = {**env, "PYTHONPATH": paths.get(name, str(ROOT))}
                    figures[name].append(await first_reaction(command, side_env, fake))
    finally:
        await fake.stop()
    for name, runs_of in figures.items():
        wall = [w for w, _ in runs_of]
        cpu = [c for _, c in runs_of]
        print(
            f"{name:>5}: median {statistics.median(wall):.2f} s "
            f"({', '.join(f'{w:.2f}' for w in wall)}); CPU by then, median "
            f"{statistics.median(cpu):.2f} s ({', '.join(f'{c:.2f}' for c in cpu)})"
        )
    verdict = "meets" if statistics.median(w for w, _ in figures["bot"]) < 1.5 else "misses"
    print(f"target: the bot under 1.5 s: {verdict}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare"]:
        bare()
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
