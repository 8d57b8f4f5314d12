"""Digest benchmark: a synthetic community (10k members; per year ~1M messages, ~200k links)
and the time to build the latest week's digest, for one year and for three years of history.
The digest's cost should follow the week, not the history: target ratio 3y/1y <= 1.5 and
under 1 s per digest.

Usage: python bench/digest.py [years...]   (default: 1 3)
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

from bot.config import parse_config
from bot.core.i18n import Catalog
from bot.core.weeks import last_complete_week
from bot.features.digest.builder import build_digest, default_providers
from bot.features.digest.config import DigestSettings
from bot.storage.database import Database
from bot.storage.sql import url_key

MEMBERS = 10_000
MESSAGES_PER_YEAR = 1_000_000
LINKS_PER_YEAR = 200_000
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def populate(path: Path, years: int) -> None:
    """Fill the database with `years` of history ending now (bare sqlite3: fast set-up)."""
    rng = random.Random(years)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO members (ref, platform, display_name, first_seen_at, last_seen_at,"
        " link_reactions, digest_dm) VALUES (?, 'bench', ?, ?, ?, 1, 0)",
        [
            (
                f"bench:/m{i}",
                f"member {i}",
                iso(NOW - timedelta(days=365 * years)),
                iso(NOW),
            )
            for i in range(MEMBERS)
        ],
    )
    # Four in five members allow being named and quoted (the consents the digest reads).
    db.executemany(
        "INSERT INTO consents (member_ref, consent, given, answered_at) VALUES (?, ?, 1, ?)",
        [
            (f"bench:/m{i}", consent, iso(NOW))
            for i in range(MEMBERS)
            if rng.random() < 0.8
            for consent in ("quotes", "named")
        ],
    )
    start = NOW - timedelta(days=365 * years)
    total = MESSAGES_PER_YEAR * years
    step = (NOW - start) / total
    link_every = MESSAGES_PER_YEAR // LINKS_PER_YEAR
    batch_messages, batch_links, batch_shares, batch_reactions = [], [], [], []
    link_id = 0
    for index in range(total):
        sent = start + step * index
        author = f"bench:/m{rng.randrange(MEMBERS)}"
        ref = f"bench:g/c{index % 8}/{index}"
        thread = str(index - rng.randrange(1, 50)) if rng.random() < 0.2 and index > 50 else None
        batch_messages.append(
            ("bench", ref, f"bench:g/c{index % 8}", thread, author, f"message {index}", iso(sent))
        )
        if index % link_every == 0:
            link_id += 1
            url = f"https://site{rng.randrange(2000)}.example.org/p/{link_id}"
            batch_links.append((link_id, "bench", url, url_key(url), url, iso(sent)))
            batch_shares.append(
                (
                    link_id,
                    "bench",
                    author,
                    ref,
                    f"bench:g/c{index % 8}",
                    url,
                    "a note about why this matters to the course",
                    iso(sent),
                )
            )
        if rng.random() < 0.3:
            batch_reactions.append(
                (
                    "bench",
                    f"bench:g/c{index % 8}/{max(0, index - rng.randrange(20))}",
                    f"bench:/m{rng.randrange(MEMBERS)}",
                    "heart",
                    iso(sent),
                )
            )
        if len(batch_messages) >= 50_000:
            flush(db, batch_messages, batch_links, batch_shares, batch_reactions)
    flush(db, batch_messages, batch_links, batch_shares, batch_reactions)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def flush(
    db: sqlite3.Connection, messages: list, links: list, shares: list, reactions: list
) -> None:  # type: ignore[type-arg]
    db.executemany(
        "INSERT INTO messages (community, ref, channel, thread, author_ref, text, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    db.executemany(
        "INSERT INTO links (id, community, canonical_url, url_key, url, first_shared_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        links,
    )
    db.executemany(
        "INSERT INTO shares (link_id, community, member_ref, message_ref, channel, url, context,"
        " shared_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        shares,
    )
    db.executemany(
        "INSERT OR IGNORE INTO reactions (community, message_ref, member_ref, emoji, reacted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        reactions,
    )
    for batch in (messages, links, shares, reactions):
        batch.clear()


async def time_digest(path: Path, runs: int = 5) -> tuple[float, int]:
    """Median seconds to build the latest week's digest, and its entry count."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    community = parse_config({"communities": [{"name": "bench", "timezone": "Europe/Berlin"}]})
    settings = community.communities[0]
    week = last_complete_week(NOW, settings.zone)
    timings = []
    entries = 0
    for _ in range(runs):
        began = time.perf_counter()
        async with database.reading() as conn:
            digest = await build_digest(
                conn,
                settings,
                week,
                texts=Catalog("en"),
                now=NOW,
                providers=default_providers(DigestSettings(), lambda _channel: True),
            )
        timings.append(time.perf_counter() - began)
        entries = digest.entry_count()
    await database.close()
    timings.sort()
    return timings[len(timings) // 2], entries


async def migrate(path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.migrate()
    await database.close()


def main() -> None:
    years_list = [int(arg) for arg in sys.argv[1:]] or [1, 3]
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for years in years_list:
            path = Path(folder) / f"digest-{years}y.db"
            asyncio.run(migrate(path))
            began = time.perf_counter()
            populate(path, years)
            filled = time.perf_counter() - began
            seconds, entries = asyncio.run(time_digest(path))
            results[years] = seconds
            print(
                f"digest: {years} year(s) of history ({MESSAGES_PER_YEAR * years:,} messages, "
                f"{LINKS_PER_YEAR * years:,} links; set-up {filled:.0f} s): latest week's digest "
                f"in {seconds * 1000:.0f} ms ({entries} entries)"
            )
    if 1 in results:
        for years, seconds in results.items():
            if years != 1:
                print(
                    f"  ratio {years}y / 1y [baseline]: {seconds / results[1]:.2f} (target <= 1.5)"
                )
    print(f"  target < 1 s per digest: {'met' if max(results.values()) < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
