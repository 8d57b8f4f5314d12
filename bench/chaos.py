"""Kill storms on Discord and on Slack (Socket Mode): the real `facilitator run` process
against the local Discord- or Slack-compatible server, SIGKILLed again and again while members
keep talking.

Traffic: live messages (a third with a link) while the bot is up, and messages stored only
in the server's history while it is down (backfill must find them); a prompt is scheduled
every minute, so posts fall due inside the storm. The storm begins once the bot has connected
for the first time (what was said before it ever ran is not its history to import). After the
storm the bot runs until it has settled, then the figures are read from the server and the
bot's database:

    messages sent / stored / lost / stored twice
    reactions expected / missing              (one bookmark per link message)
    prompt posts due / posted / doubled       (one per minute of the storm; doubles counted by
                                               nonce on Discord, by metadata key on Slack)

Exits non-zero on any loss or duplicate. Then it measures the duplicate window of each effect
no platform can deduplicate (bench/windows.py): how long a kill can fall between the platform
accepting it and the outbox recording it.

Usage: python bench/chaos.py [kills] [seconds] [discord|slack|both|windows]
       (default 50 300 both; `windows` measures only the windows)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.discord_server import FakeDiscord  # noqa: E402
from tests.fakes.slack_server import (  # noqa: E402
    APP_TOKEN,
    FakeSlack,
    event_callback,
    message_event,
)

PROMPT = "What connected for you this minute?"
SETTLE_SECONDS = 20  # after the storm: the last start backfills and takes dead rows over


def write_config(directory: Path, platform_tables: str, community_table: str) -> Path:
    """One community; a prompt every minute; short leases."""
    config = directory / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{directory / "bot.db"}"
[web]
enabled = false
[fetch]
previews = false
[scheduler]
lease_seconds = 5
{platform_tables}
[[communities]]
name = "storm"
timezone = "UTC"
{community_table}
[[communities.prompts]]
stage = "sense"
when = "* * * * *"
text = "{PROMPT}"
""",
        encoding="utf-8",
    )
    return config


async def start_bot(config: Path, tokens: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m bot run` with these tokens, logging to a file beside the config."""
    env = {**os.environ, **tokens, "PYTHONPATH": str(ROOT)}
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


@dataclass
class Ledger:
    """What the storm sent: message ids, which had a link, which went out live, and when."""

    sent: list[tuple[str, bool]] = field(default_factory=list)
    live: set[str] = field(default_factory=set)
    run_of: dict[str, int] = field(default_factory=dict)  # message id -> kills before it
    run: int = 0

    def note(self, message_id: str, link: bool, live: bool) -> None:
        """Record one message."""
        self.sent.append((message_id, link))
        self.run_of[message_id] = self.run
        if live:
            self.live.add(message_id)

    def text(self) -> tuple[str, bool]:
        """The next message's text and whether it carries a link."""
        link = random.random() < 1 / 3
        n = len(self.sent)
        return f"note {n}" + (f" https://example.org/{n}" if link else ""), link


class DiscordTarget:
    """The storm's side of the fake Discord."""

    name = "Discord"

    def __init__(self) -> None:
        self.fake = FakeDiscord()
        self.guild = self.fake.add_guild("Storm")
        self.channel = self.fake.add_channel(self.guild, "general")
        self.members = [self.fake.add_member(self.guild, name=f"m{n}") for n in range(20)]

    async def start(self, directory: Path) -> Path:
        """Serve, and write the bot's config."""
        await self.fake.start()
        community = f'[communities.discord]\nguild = "{self.guild}"\nchannels = ["general"]\n'
        community += 'announcements = "general"'
        platform = f'[discord]\napi_base_url = "{self.fake.api_base}"'
        return write_config(directory, platform, community)

    def tokens(self) -> dict[str, str]:
        """The environment the bot runs with."""
        return {"DISCORD_TOKEN": self.fake.token}

    async def say(self, text: str, *, live: bool) -> str:
        """A member says `text` (live: sent on the gateway too); returns its id."""
        author = random.choice(self.members)
        if live:
            return str((await self.fake.message(self.channel, author, text))["id"])
        return str(self.fake.post(self.channel, author, text)["id"])

    def reacted(self, message_id: str) -> bool:
        """Whether the bot's bookmark is on the message."""
        return bool(self.fake.reactions.get((self.channel, message_id)))

    def prompt_keys(self) -> list[str]:
        """One entry per prompt post the server holds: the nonce it was made with."""
        own = str(self.fake.bot_id)
        return [
            str(m.get("nonce"))
            for m in self.fake.messages[self.channel].values()
            if m["author"]["id"] == own and PROMPT in m["content"]
        ]

    async def stop(self) -> None:
        """Stop serving."""
        await self.fake.stop()


class SlackTarget:
    """The storm's side of the fake Slack (Socket Mode)."""

    name = "Slack"

    def __init__(self) -> None:
        self.fake = FakeSlack()
        self.fake.add_channel("C0STORM", "general")
        self.members = [f"UM{n:02d}" for n in range(20)]
        for member in self.members:
            self.fake.add_user(member, member.lower())
        self._events = itertools.count()

    async def start(self, directory: Path) -> Path:
        """Serve, and write the bot's config."""
        await self.fake.start()
        community = '[communities.slack]\nchannels = ["general"]\nannouncements = "general"'
        platform = f'[slack]\napi_base_url = "{self.fake.api_url}"'
        return write_config(directory, platform, community)

    def tokens(self) -> dict[str, str]:
        """The environment the bot runs with."""
        return {"SLACK_BOT_TOKEN": self.fake.bot_token, "SLACK_APP_TOKEN": APP_TOKEN}

    async def say(self, text: str, *, live: bool) -> str:
        """A member says `text` (live: pushed over Socket Mode too); returns its ts."""
        author = random.choice(self.members)
        message = self.fake.add_message("C0STORM", author, text)
        if live:
            event = message_event("C0STORM", author, text, message["ts"])
            body = event_callback(event, event_id=f"Estorm{next(self._events)}")
            # Not connected (yet): the message is in the history only.
            with contextlib.suppress(RuntimeError, ConnectionError):
                await self.fake.push_envelope("events_api", body)
        return str(message["ts"])

    def reacted(self, message_id: str) -> bool:
        """Whether the bot's bookmark is on the message."""
        message = next(
            (m for m in self.fake.channels["C0STORM"].messages if m.get("ts") == message_id), {}
        )
        return any(self.fake.bot_user in r["users"] for r in message.get("reactions") or [])

    def prompt_keys(self) -> list[str]:
        """One entry per prompt post the server holds: the outbox key in its metadata."""
        keys = []
        for args in self.fake.posted("C0STORM"):
            if PROMPT not in str(args.get("text") or args.get("blocks") or ""):
                continue
            metadata = args.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            keys.append(str(((metadata or {}).get("event_payload") or {}).get("key")))
        return keys

    async def stop(self) -> None:
        """Stop serving."""
        await self.fake.stop()


Target = DiscordTarget | SlackTarget


async def storm(target: Target, kills: int, seconds: float) -> int:
    """Run one storm; print its figures; return 0 when nothing was lost or doubled."""
    directory = Path(tempfile.mkdtemp(prefix="chaos-"))
    config = await target.start(directory)
    ledger = Ledger()
    random.seed(831)

    async def talk(live: bool) -> None:
        text, link = ledger.text()
        ledger.note(await target.say(text, live=live), link, live)

    bot = await start_bot(config, target.tokens())
    probes: list[str] = []
    while not any(target.reacted(probe) for probe in probes):
        probes.append(await target.say("https://example.org/probe", live=True))
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
            ledger.run += 1
            for _ in range(random.randint(0, 10)):  # said while the bot was down
                await talk(live=False)
            bot = await start_bot(config, target.tokens())
        storm_seconds = time.monotonic() - began
        await asyncio.sleep(SETTLE_SECONDS)
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
        await target.stop()
    return report(target, ledger, directory, kills, storm_seconds)


def report(target: Target, ledger: Ledger, directory: Path, kills: int, seconds: float) -> int:
    """Print the storm's figures; 1 on any loss or duplicate."""
    stored = stored_messages(directory / "bot.db")
    lost = [m for m, _ in ledger.sent if stored[m] == 0]
    twice = [m for m, _ in ledger.sent if stored[m] > 1]
    links = [m for m, link in ledger.sent if link]
    missing = [m for m in links if not target.reacted(m)]
    prompts = target.prompt_keys()
    doubled_posts = sum(count - 1 for count in Counter(prompts).values() if count > 1)
    minutes = int(seconds // 60)
    print(f"kill storm on {target.name}: {kills} kills in {seconds:.0f} s")
    print(
        f"messages sent {len(ledger.sent)} / stored {len(ledger.sent) - len(lost)} / "
        f"lost {len(lost)} / stored twice {len(twice)}"
    )
    if lost:
        lost_live = sum(1 for m in lost if m in ledger.live)
        runs = Counter(ledger.run_of[m] for m in lost)
        print(
            f"  lost: {lost_live} sent live, {len(lost) - lost_live} only into history; "
            f"in {len(runs)} of {kills + 1} runs (most: {runs.most_common(3)})"
        )
    print(
        f"reactions expected {len(links)} / missing {len(missing)} "
        "(the platform keeps one per user: none can double)"
    )
    print(f"prompt posts due >= {minutes} / posted {len(prompts)} / doubled {doubled_posts}")
    failed = bool(lost or twice or missing or doubled_posts or len(prompts) < minutes)
    print("verdict:", "nothing lost or doubled" if not failed else "LOSS OR DUPLICATE")
    return 1 if failed else 0


async def main(kills: int, seconds: float, which: str) -> int:
    """Run the storms asked for, one after the other."""
    from bench import windows  # it starts the bot as the storms do

    targets: list[Target] = []
    if which in ("discord", "both"):
        targets.append(DiscordTarget())
    if which in ("slack", "both"):
        targets.append(SlackTarget())
    if not targets and which != "windows":
        print("say discord, slack, both or windows", file=sys.stderr)
        return 2
    codes = [await storm(target, kills, seconds) for target in targets]
    await windows.measure(20)
    return max(codes, default=0)


if __name__ == "__main__":
    numbers = [float(a) for a in sys.argv[1:3]]
    kills, seconds = (numbers + [50.0, 300.0][len(numbers) :])[:2]
    which = sys.argv[3] if len(sys.argv) > 3 else "both"
    sys.exit(asyncio.run(main(int(kills), seconds, which)))
