"""Slack ingest benchmark: N message events pushed over Socket Mode through the real bolt app
and the Slack adapter into the dispatcher and SQLite, against a baseline measured in the same
run: the same events, already translated, delivered straight to the dispatcher.

The ratio is what the Slack path (websocket, bolt middleware, translation, acks) costs on top
of storing. Usage: python bench/slack_events.py [N]   (default 3,000)
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import translate as slack_translate
from adapters.slack.platform import SlackPlatform
from bot.app import Application
from bot.config import parse_config
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.core.events import Author
from bot.core.refs import MemberRef
from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    FakeSlack,
    event_callback,
    message_event,
)

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USERS = [f"UMEMBER{i:03d}" for i in range(50)]


def bodies(fake: FakeSlack, count: int) -> list[dict[str, Any]]:
    """Event bodies from 50 members in 2 channels; 30% carry a link."""
    out = []
    for index in range(count):
        text = f"message {index} about learning networks"
        if index % 10 < 3:
            text += f" <https://site{index % 97}.example.org/post/{index}?utm_source=x>"
        channel = ("C0GENERAL", "C0RESOURCE")[index % 2]
        event = message_event(channel, USERS[index % 50], text, fake.next_ts())
        out.append(event_callback(event, event_id=f"Ev{index}"))
    return out


def config(fake: FakeSlack, folder: Path, name: str) -> Config:
    return parse_config(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{folder / name}"},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups while measuring
            "links": {"react": False},
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [{"name": "bench", "slack": {"channels": ["general", "resources"]}}],
        }
    )


async def through_slack(fake: FakeSlack, events: list[dict[str, Any]], folder: Path) -> float:
    settings = config(fake, folder, "slack.db")
    secrets = Secrets(slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN)
    clock = ManualClock(START)
    app = Application(settings, secrets=secrets, clock=clock)
    app._given_platforms = [
        SlackPlatform(settings, secrets, app.directory, app.commands, clock, post_interval=0.0)
    ]
    await app.start()
    await fake.wait_connected()
    began = time.perf_counter()
    envelopes = [await fake.push_envelope("events_api", body) for body in events]
    await fake.wait_for(lambda: all(e in fake.acks for e in envelopes), within=600)
    await app.drain()
    elapsed = time.perf_counter() - began
    await app.stop()
    return elapsed


async def straight(fake: FakeSlack, events: list[dict[str, Any]], folder: Path) -> float:
    settings = config(fake, folder, "direct.db")
    app = Application(settings, secrets=Secrets(), clock=ManualClock(START), platforms=[])
    await app.start()
    platform = SlackPlatform(
        settings,
        Secrets(slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN),
        app.directory,
        app.commands,
        ManualClock(START),
    )
    await platform.start(app.dispatcher)  # binds the channels; no socket traffic is timed
    authors = {
        user: Author(ref=MemberRef("slack", "T0001", user), name=user.lower()) for user in USERS
    }
    translated = [slack_translate.translate_event(body, "T0001", authors) for body in events]
    began = time.perf_counter()
    for event in translated:
        assert event is not None
        await app.dispatcher.deliver(event)
    await app.drain()
    elapsed = time.perf_counter() - began
    await platform.stop()
    await app.stop()
    return elapsed


async def run(count: int) -> tuple[float, float]:
    logging.basicConfig(level=logging.ERROR)
    fake = FakeSlack()
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0RESOURCE", "resources")
    for user in USERS:
        fake.add_user(user, user.lower())
    await fake.start()
    try:
        events = bodies(fake, count)
        with tempfile.TemporaryDirectory() as folder:
            baseline = await straight(fake, events, Path(folder))
            ours = await through_slack(fake, events, Path(folder))
    finally:
        await fake.stop()
    return ours, baseline


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000
    ours, baseline = asyncio.run(run(count))
    rate, base_rate = count / ours, count / baseline
    print(f"slack ingest: {count} message events over Socket Mode into SQLite")
    print(f"  bolt + adapter + dispatcher: {rate:10,.0f} events/s ({ours:.2f} s)")
    print(
        f"  dispatcher alone:            {base_rate:10,.0f} events/s ({baseline:.2f} s)  [baseline]"
    )
    print(f"  ratio (slack/dispatcher):    {rate / base_rate:.2f}")


if __name__ == "__main__":
    main()
