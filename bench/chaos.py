"""Kill storm on Discord: the real `facilitator run` process against the local
Discord-compatible server, SIGKILLed again and again while members keep talking.

Traffic: live messages (a third with a link) while the bot is up, and messages stored only
in the server's history while it is down (backfill must find them); a prompt is scheduled
every minute, so posts fall due inside the storm. After the storm the bot runs until it has
settled, then the figures are read from the server and the bot's database:

    messages sent / stored / lost / stored twice
    reactions expected / missing / doubled   (one bookmark per link message)
    prompt posts due / missing / doubled      (one per minute of the storm, by nonce)

Exits non-zero on any loss or duplicate.

Usage: python bench/chaos.py [kills] [seconds]   (default 50 300)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.discord_server import FakeDiscord  # noqa: E402


def write_config(fake: FakeDiscord, guild: str, directory: Path) -> Path:
    """One community on the fake guild; a prompt every minute; short leases."""
    config = directory / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{directory / "bot.db"}"
[web]
enabled = false
[scheduler]
lease_seconds = 5
[discord]
api_base_url = "{fake.api_base}"
[[communities]]
name = "storm"
timezone = "UTC"
[communities.discord]
guild = "{guild}"
channels = ["general"]
announcements = "general"
[[communities.prompts]]
stage = "sense"
when = "* * * * *"
text = "What connected for you this minute?"
""",
        encoding="utf-8",
    )
    return config


async def start_bot(config: Path, token: str) -> asyncio.subprocess.Process:
    """`python -m bot run` with the token, logging to a file beside the config."""
    env = {**os.environ, "DISCORD_TOKEN": token, "PYTHONPATH": str(ROOT)}
    log = open(config.parent / "bot.log", "ab")  # noqa: SIM115 - handed to the child
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=config.parent,
        env=env,
        stdout=log,
        stderr=log,
    )


def stored_messages(database: Path) -> Counter[str]:
    """How often each message id is stored (the messages table keeps one row per ref)."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT ref FROM messages").fetchall()
    return Counter(str(ref).rsplit("/", 1)[-1] for (ref,) in rows)


async def storm(kills: int, seconds: float) -> int:
    """Run the storm; return the process exit code (0: nothing lost or doubled)."""
    fake = FakeDiscord()
    guild = fake.add_guild("Storm")
    general = fake.add_channel(guild, "general")
    members = [fake.add_member(guild, name=f"m{n}") for n in range(20)]
    await fake.start()
    directory = Path(tempfile.mkdtemp(prefix="chaos-"))
    config = write_config(fake, guild, directory)
    sent: list[tuple[str, bool]] = []  # (message id, has a link)
    live_ids: set[str] = set()  # sent while the bot ran (else only into history)
    cycle_of: dict[str, int] = {}  # message id -> how many kills came before it
    cycle = 0
    random.seed(831)

    async def talk(live: bool) -> None:
        author = random.choice(members)
        link = random.random() < 1 / 3
        text = f"note {len(sent)}" + (f" https://example.org/{len(sent)}" if link else "")
        if live:
            payload = await fake.message(general, author, text)
        else:
            payload = fake.post(general, author, text)
        sent.append((str(payload["id"]), link))
        cycle_of[str(payload["id"])] = cycle
        if live:
            live_ids.add(str(payload["id"]))

    bot = await start_bot(config, fake.token)
    # The storm begins once the bot has connected for the first time: what was said before
    # it ever ran is not its history to import.
    probes: list[str] = []
    while not any(fake.reactions.get((general, probe)) for probe in probes):
        sent_probe = await fake.message(general, members[0], "https://example.org/probe")
        probes.append(str(sent_probe["id"]))
        await asyncio.sleep(0.2)
    began = time.monotonic()
    gap = seconds / max(kills, 1)
    try:
        for _ in range(kills):
            up_until = time.monotonic() + random.uniform(0.4, 1.6) * gap * 0.8
            while time.monotonic() < up_until:
                await talk(live=True)
                await asyncio.sleep(0.02)
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            cycle += 1
            for _ in range(random.randint(0, 10)):  # said while the bot was down
                await talk(live=False)
            bot = await start_bot(config, fake.token)
        storm_seconds = time.monotonic() - began
        # Let the last start backfill, deliver and take every dead process's rows over.
        await asyncio.sleep(20)
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()

    stored = stored_messages(directory / "bot.db")
    own = str(fake.bot_id)
    lost = [m for m, _ in sent if stored[m] == 0]
    twice = [m for m, _ in sent if stored[m] > 1]
    links = [m for m, link in sent if link]
    missing = [m for m in links if not fake.reactions.get((general, m))]
    reaction_puts = Counter(
        r.path.split("/")[4] for r in fake.requests if r.method == "PUT" and "/reactions/" in r.path
    )
    prompts = [
        m
        for m in fake.messages[general].values()
        if m["author"]["id"] == own and "connected for you this minute" in m["content"]
    ]
    minutes = int(storm_seconds // 60)
    nonces = Counter(str(m.get("nonce")) for m in prompts)
    doubled_posts = sum(count - 1 for count in nonces.values() if count > 1)
    print(f"kill storm on Discord: {kills} kills in {storm_seconds:.0f} s")
    print(
        f"messages sent {len(sent)} / stored {len(sent) - len(lost)} / lost {len(lost)} / "
        f"stored twice {len(twice)}"
    )
    if lost:
        lost_live = sum(1 for m in lost if m in live_ids)
        cycles = Counter(cycle_of[m] for m in lost)
        print(
            f"  lost: {lost_live} sent live, {len(lost) - lost_live} only into history; "
            f"in {len(cycles)} of {kills + 1} runs (most: {cycles.most_common(3)})"
        )
    print(
        f"reactions expected {len(links)} / missing {len(missing)} / "
        f"doubled 0 (the platform keeps one per user; {sum(reaction_puts.values())} PUTs)"
    )
    print(f"prompt posts due >= {minutes} / posted {len(prompts)} / doubled {doubled_posts}")
    failed = bool(lost or twice or missing or doubled_posts or len(prompts) < minutes)
    print("verdict:", "nothing lost or doubled" if not failed else "LOSS OR DUPLICATE")
    return 1 if failed else 0


if __name__ == "__main__":
    arguments = [float(a) for a in sys.argv[1:3]]
    kills, seconds = (arguments + [50.0, 300.0][len(arguments) :])[:2]
    sys.exit(asyncio.run(storm(int(kills), seconds)))
