"""Ingest benchmark on PostgreSQL: the synthetic messages of bench/ingest.py through the real
dispatcher into a throwaway local server (tests/postgres.py: fsync off, as in the tests),
against a baseline measured in the same run on the same server: a bare asyncpg `executemany`
of the same rows in batches of 1,000.

Usage: python bench/ingest_postgres.py [N]   (default 20,000; skipped without PostgreSQL)
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from bench.ingest import synthetic, through_dispatcher
from bot.core.events import MessageReceived
from bot.core.urls import extract_links
from tests.postgres import PostgresServer, find_bin, start_server, stop_server


async def bare_executemany(events: list[MessageReceived], server: PostgresServer) -> float:
    """The same rows (messages, links, shares) with asyncpg alone, in batches of 1,000."""
    conn = await asyncpg.connect(
        host="127.0.0.1", port=server.port, user="postgres", database="facilitator_tests"
    )
    await conn.execute(
        "CREATE TABLE messages (id serial PRIMARY KEY, ref text UNIQUE, channel text,"
        " author text, text text, sent_at timestamptz);"
        "CREATE TABLE links (id serial PRIMARY KEY, url text UNIQUE);"
        "CREATE TABLE shares (id serial PRIMARY KEY, url text, member text, message text,"
        " UNIQUE (url, member, message))"
    )
    began = time.perf_counter()
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO messages (ref, channel, author, text, sent_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                [
                    (str(e.ref), str(e.ref.channel), str(e.author.ref), e.text, e.sent_at)
                    for e in chunk
                ],
            )
            found = [(link.canonical, e) for e in chunk for link in extract_links(e.text)]
            await conn.executemany(
                "INSERT INTO links (url) VALUES ($1) ON CONFLICT DO NOTHING",
                [(url,) for url, _ in found],
            )
            await conn.executemany(
                "INSERT INTO shares (url, member, message) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(url, str(e.author.ref), str(e.ref)) for url, e in found],
            )
    elapsed = time.perf_counter() - began
    await conn.close()
    return elapsed


async def measure(events: list[MessageReceived], server: PostgresServer) -> tuple[float, float]:
    baseline = await bare_executemany(events, server)
    ours = await through_dispatcher(events, await server.create_database())
    return baseline, ours


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bin_dir = find_bin()
    if bin_dir is None:
        print("ingest on PostgreSQL: skipped, no /usr/lib/postgresql/*/bin/pg_ctl")
        return
    events = synthetic(count)
    server = start_server(bin_dir)
    try:
        baseline, ours = asyncio.run(measure(events, server))
    finally:
        stop_server(server, bin_dir)
    rate, base_rate = count / ours, count / baseline
    print(f"ingest: {count} messages through the dispatcher into PostgreSQL")
    print(f"  dispatcher:          {rate:10,.0f} messages/s ({ours:.2f} s)")
    print(f"  bare executemany:    {base_rate:10,.0f} messages/s ({baseline:.2f} s)  [baseline]")
    print(f"  ratio (ours/bare):   {rate / base_rate:.2f}")


if __name__ == "__main__":
    main()
