"""Duplicate windows of the effects no platform can deduplicate, measured on the real
`facilitator run` process against the local Discord- and Slack-compatible servers.

A post carries a nonce (Discord) or metadata (Slack), so a resend after a crash finds the post
already made. An interaction answer, a Slack ephemeral or `response_url` answer, a Discord
scheduled-event creation and a file upload carry nothing the platform could match: a process
killed after the platform accepted one and before the outbox recorded it sends it again on the
next start. That window runs from the platform's acceptance (the request's arrival at the
server, which answers at once) to the outbox's confirmation of the row (`done_at`, stamped just
before the confirming transaction commits). A kill at a uniformly random moment repeats an
effect with probability window / time between kills.

Prints, per effect, the samples and the window's p50 / p99 / max in milliseconds.

Usage: python bench/windows.py [samples]   (default 20; also run by bench/chaos.py)
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chaos import start_bot  # noqa: E402
from tests.fakes.discord_server import FakeDiscord, Request  # noqa: E402
from tests.fakes.slack_server import (  # noqa: E402
    APP_TOKEN,
    FakeSlack,
    slash_command,
)

# time.monotonic() is one system-wide clock on Linux; the bot stamps rows with the wall clock.
WALL_MINUS_MONOTONIC = time.time() - time.monotonic()

Windows = dict[str, list[float]]

EVENT = "Discord scheduled-event creation"
ANSWER = "Discord interaction answer"
EDIT = "Discord edit of @original"
FOLLOW_UP = "Discord interaction follow-up"
DM_FILE = "Discord file in a DM (export)"
RESPONSE_URL = "Slack response_url answer"
SLACK_FILE = "Slack file upload (export)"

# What a resend after a kill inside the window does.
ON_RESEND = {
    EVENT: "found: same name and start among the guild's events",
    ANSWER: "found: @original read back and compared",
    EDIT: "idempotent (the same edit again)",
    FOLLOW_UP: "repeats",
    DM_FILE: "found: nonce, then the DM's recent messages",
    RESPONSE_URL: "repeats (no read-back exists)",
    SLACK_FILE: "repeats (a second file)",
}


def config_for(directory: Path, platform_table: str, community_table: str) -> Path:
    """One community with a facilitator; nothing fetched from the internet."""
    config = directory / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{directory / "bot.db"}"
[web]
enabled = false
[fetch]
previews = false
{platform_table}
[[communities]]
name = "windows"
timezone = "UTC"
[communities.members]
welcome = false
{community_table}
""",
        encoding="utf-8",
    )
    return config


Row = tuple[str, str | None, float]  # lane, action (None once a token-holder is done), done_at


def settled_rows(database: Path, since: float) -> list[Row] | None:
    """Rows created since `since` (wall seconds), or None while any row is still pending."""
    with sqlite3.connect(database, timeout=10) as conn:
        rows = conn.execute(
            "SELECT lane, action, status, created_at, done_at FROM outbox ORDER BY id"
        ).fetchall()
    found = []
    for lane, action, status, created_at, done_at in rows:
        if _seconds(created_at) < since:
            continue
        if status == "pending":
            return None
        if status == "done" and done_at is not None:
            found.append((str(lane), action, _seconds(done_at)))
    return found


def _seconds(stamp: object) -> float:
    text = str(stamp).replace(" ", "T")
    parsed = datetime.fromisoformat(text if "+" in text or text.endswith("Z") else text + "+00:00")
    return parsed.timestamp()


async def confirmed(database: Path, since: float, test: Callable[[str, str | None], bool]) -> float:
    """Wait until a row written since `since` that `test` picks is confirmed and nothing
    else is pending; return its confirmation time (wall seconds)."""
    deadline = time.monotonic() + 30
    while True:
        rows = settled_rows(database, since)
        chosen = [done for lane, action, done in rows or [] if test(lane, action)]
        if chosen:
            return chosen[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no such row confirmed among {rows}")
        await asyncio.sleep(0.02)


def window_ms(accepted_monotonic: float, done_at: float) -> float:
    """Milliseconds from the platform's acceptance to the row's confirmation."""
    return (done_at - (accepted_monotonic + WALL_MINUS_MONOTONIC)) * 1000


def is_mirror(_lane: str, action: str | None) -> bool:
    """A scheduled-event row (its action is kept once done)."""
    return bool(action and "MirrorGathering" in action)


def is_answer(lane: str, action: str | None) -> bool:
    """An interaction answer (it holds a token: its action is cleared once done)."""
    return action is None and not lane.startswith("dm:")


def is_direct(lane: str, _action: str | None) -> bool:
    """A direct message (the export's file)."""
    return lane.startswith("dm:")


async def last_request(fake: FakeDiscord, method: str, pattern: str, after: float) -> Request:
    """The newest matching request the server recorded after `after` (monotonic)."""
    deadline = time.monotonic() + 30
    compiled = re.compile(pattern)
    while True:
        found = [
            r
            for r in fake.requests
            if re.fullmatch(method, r.method) and compiled.fullmatch(r.path) and r.at >= after
        ]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {method} {pattern}")
        await asyncio.sleep(0.01)


async def discord_windows(samples: int) -> Windows:
    """An interaction answer, a scheduled-event creation and an upload (the export file)."""
    fake = FakeDiscord()
    guild = fake.add_guild("Windows")
    general = fake.add_channel(guild, "general")
    fran = fake.add_member(guild, name="fran")
    members = [fake.add_member(guild, name=f"m{n}") for n in range(samples)]
    await fake.start()
    directory = Path(tempfile.mkdtemp(prefix="windows-discord-"))
    community = (
        f'[communities.discord]\nguild = "{guild}"\nchannels = ["general"]\n'
        f'facilitators = ["{fran}"]'
    )
    config = config_for(directory, f'[discord]\napi_base_url = "{fake.api_base}"', community)
    database = directory / "bot.db"
    bot = await start_bot(config, {"DISCORD_TOKEN": fake.token})
    windows: Windows = defaultdict(list)
    try:
        await fake.wait_identified(within=60)
        await fake.wait_for_request("PUT", r"/applications/\d+/guilds/\d+/commands", within=60)
        # Opening a DM takes longer than the bot waits before deferring: the export's answer
        # comes as a follow-up to the deferral.
        fake.slow("POST", r"/users/@me/channels", 2.0)
        for n, member in enumerate(members):
            since, began = time.time(), time.monotonic()
            create = [
                {"type": 1, "name": "create", "options": [
                    {"type": 3, "name": name, "value": value}
                    for name, value in {
                        "title": f"Session {n}",
                        "when": f"2027-02-{n % 27 + 1:02d} 17:00",
                        "where": "https://meet.example.org/w",
                        "duration": "60m",
                        "confirm": "yes",
                    }.items()
                ]}
            ]  # fmt: skip
            hosted = await fake.interaction(general, fran, "host", create)
            created = await last_request(fake, "POST", rf"/guilds/{guild}/scheduled-events", began)
            done = await confirmed(database, since, is_mirror)
            windows[EVENT].append(window_ms(created.at, done))
            callback = rf"/interactions/{hosted['id']}/[^/]+/callback"
            answered = await last_request(fake, "POST", callback, began)
            done = await confirmed(database, since, is_answer)
            windows[ANSWER].append(window_ms(answered.at, done))

            since, began = time.time(), time.monotonic()
            asked = await fake.interaction(general, member, "export")
            upload = await last_request(fake, "POST", r"/channels/\d+/messages", began)
            done = await confirmed(database, since, is_direct)
            windows[DM_FILE].append(window_ms(upload.at, done))
            # Told in the same row, once the file is sent (a PATCH of @original would be
            # idempotent; a follow-up is not).
            answer = rf"/webhooks/\d+/{asked['token']}(/messages/@original)?"
            told = await last_request(fake, "POST|PATCH", answer, began)
            windows[FOLLOW_UP if told.method == "POST" else EDIT].append(window_ms(told.at, done))
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
    return windows


async def slack_windows(samples: int) -> Windows:
    """A slash command's ephemeral answer through `response_url`."""
    fake = FakeSlack()
    fake.add_channel("C0WINDOW", "general")
    members = [f"UW{n:02d}" for n in range(samples)]
    for member in members:
        fake.add_user(member, member.lower())
    await fake.start()
    directory = Path(tempfile.mkdtemp(prefix="windows-slack-"))
    community = '[communities.slack]\nchannels = ["general"]'
    config = config_for(directory, f'[slack]\napi_base_url = "{fake.api_url}"', community)
    database = directory / "bot.db"
    tokens = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": APP_TOKEN}
    bot = await start_bot(config, tokens)
    windows: Windows = defaultdict(list)
    try:
        await fake.wait_connected(within=60)
        for member in members:
            since = time.time()
            url = fake.new_response_url()
            form = slash_command(
                "/facilitator", "help", user=member, channel="C0WINDOW", response_url=url
            )
            await fake.wait_ack(await fake.push_envelope("slash_commands", form), within=30)
            rid = url.rsplit("/", 1)[1]
            await fake.wait_for(lambda rid=rid: bool(fake.response_times.get(rid)), within=30)
            done = await confirmed(database, since, is_answer)
            windows[RESPONSE_URL].append(window_ms(fake.response_times[rid][-1], done))

            since, began = time.time(), time.monotonic()
            form = slash_command(
                "/facilitator", "export", user=member, channel="C0WINDOW", response_url=url
            )
            await fake.wait_ack(await fake.push_envelope("slash_commands", form), within=30)
            await fake.wait_for(lambda began=began: bool(uploads_since(fake, began)), within=30)
            done = await confirmed(database, since, is_direct)
            windows[SLACK_FILE].append(window_ms(uploads_since(fake, began)[-1], done))
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
    return windows


def uploads_since(fake: FakeSlack, began: float) -> list[float]:
    """When each upload completed (`files.completeUploadExternal`) since `began`."""
    return [c.at for c in fake.calls_to("files.completeUploadExternal") if c.at >= began]


def report(windows: Windows) -> None:
    """One line per effect: samples, p50, p99, max."""
    print("duplicate windows (platform accepted -> outbox confirmed), ms; and on a resend:")
    for name, values in windows.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        print(
            f"  {name:<34} n={len(ordered):<3} p50 {statistics.median(ordered):5.1f}  "
            f"p99 {p99:5.1f}  max {ordered[-1]:5.1f}  {ON_RESEND[name]}"
        )


async def measure(samples: int) -> None:
    """Measure both platforms and print the windows."""
    windows = await discord_windows(samples)
    windows.update(await slack_windows(samples))
    report(windows)


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
