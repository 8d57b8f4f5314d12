"""Ingest benchmark: N synthetic messages (30% with links, some repeated) through the real
dispatcher into SQLite, against a baseline measured in the same run: a bare batched
`executemany` of the same rows with the sqlite3 module.

Usage: python bench/ingest.py [N]   (default 20,000)
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import Application
from bot.config import parse_config
from bot.core.clock import ManualClock
from bot.core.communities import Purpose
from bot.core.config import Secrets
from bot.core.events import Author, MessageReceived
from bot.core.refs import ChannelRef, MemberRef, MessageRef
from bot.core.urls import extract_links

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def synthetic(count: int) -> list[MessageReceived]:
    """Messages from 200 members in 4 channels; 30% carry a link, a third of those repeats."""
    rng = random.Random(7)
    channels = [ChannelRef("bench", "g", f"c{i}") for i in range(4)]
    authors = [Author(ref=MemberRef("bench", "", f"m{i}"), name=f"member {i}") for i in range(200)]
    events = []
    for index in range(count):
        text = f"message {index} about learning networks and connectivism"
        if rng.random() < 0.3:
            page = rng.randrange(index // 3 + 1) if rng.random() < 0.33 else index
            text += f" https://site{page % 97}.example.org/post/{page}?utm_source=x"
        channel = channels[index % 4]
        events.append(
            MessageReceived(
                key=f"bench:{index}",
                ref=MessageRef(channel, str(index)),
                author=authors[rng.randrange(200)],
                text=text,
                sent_at=START + timedelta(seconds=index),
                cursor=f"{index:020d}",
            )
        )
    return events


async def through_dispatcher(events: list[MessageReceived], url: str) -> float:
    """Seconds to deliver `events` to the real application on `url` and commit them all."""
    config = parse_config(
        {
            "storage": {"url": url},
            "web": {"enabled": False},
            "links": {"react": False},
            "fetch": {"previews": False},  # previews are background work, measured elsewhere
            "console": {"enabled": False},
            # Welcomes and literacy questions are one-off DMs per member, not ingest work.
            "communities": [
                {"name": "bench", "members": {"welcome": False, "literacy_questions": False}}
            ],
        }
    )
    app = Application(config, secrets=Secrets(), clock=ManualClock(START), platforms=[])
    await app.start()
    for index in range(4):
        app.directory.bind_channel(
            ChannelRef("bench", "g", f"c{index}"), "bench", {Purpose.WATCHED}
        )
    began = time.perf_counter()
    for event in events:
        await app.dispatcher.deliver(event)
    await app.drain()
    elapsed = time.perf_counter() - began
    await app.stop()
    return elapsed


def bare_executemany(events: list[MessageReceived], folder: Path) -> float:
    """The same rows (messages, links, shares) with sqlite3 alone, in batches of 1,000."""
    connection = sqlite3.connect(folder / "bare.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, ref TEXT UNIQUE, channel TEXT,"
        " author TEXT, text TEXT, sent_at TEXT)"
    )
    connection.execute("CREATE TABLE links (id INTEGER PRIMARY KEY, url TEXT UNIQUE)")
    connection.execute(
        "CREATE TABLE shares (id INTEGER PRIMARY KEY, url TEXT, member TEXT, message TEXT,"
        " UNIQUE (url, member, message))"
    )
    began = time.perf_counter()
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO messages (ref, channel, author, text, sent_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (str(e.ref), str(e.ref.channel), str(e.author.ref), e.text, e.sent_at.isoformat())
                for e in chunk
            ],
        )
        found = [(link.canonical, e) for e in chunk for link in extract_links(e.text)]
        connection.executemany(
            "INSERT OR IGNORE INTO links (url) VALUES (?)", [(url,) for url, _ in found]
        )
        connection.executemany(
            "INSERT OR IGNORE INTO shares (url, member, message) VALUES (?, ?, ?)",
            [(url, str(e.author.ref), str(e.ref)) for url, e in found],
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    events = synthetic(count)
    with tempfile.TemporaryDirectory() as folder:
        baseline = bare_executemany(events, Path(folder))
        ours = asyncio.run(through_dispatcher(events, f"sqlite+aiosqlite:///{folder}/bench.db"))
    rate, base_rate = count / ours, count / baseline
    print(f"ingest: {count} messages through the dispatcher into SQLite")
    print(f"  dispatcher:          {rate:10,.0f} messages/s ({ours:.2f} s)")
    print(f"  bare executemany:    {base_rate:10,.0f} messages/s ({baseline:.2f} s)  [baseline]")
    print(f"  ratio (ours/bare):   {rate / base_rate:.2f}")
    print(f"  target >= 10,000 messages/s: {'met' if rate >= 10_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
