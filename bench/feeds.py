"""Feed polling benchmark: event-loop lag while polling N feeds from a local server.

The server runs in a separate process, so the measured loop only does what the bot does.
Our way: `SafeFetcher` + `FeedReader` (parsing in the forkserver `ParserPool`). Baseline,
measured in the same run: the same fetches, then `feedparser.parse` on the loop with its
defaults, as naive code would. A ticker wakes every 5 ms and records how late it wakes.

Usage: python bench/feeds.py [N] [BASELINE_N]   (defaults 500 and 500)
Target: max lag under 50 ms for our way.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser
from aiohttp import web

from bot.fetch.addresses import AddressPolicy
from bot.fetch.client import FetchLimits, SafeFetcher, StaticResolver
from bot.fetch.feeds import FEED_TYPES, FeedReader
from bot.fetch.pool import ParserPool

HOSTS = 50
CONCURRENCY = 16
TICK = 0.005
WORDS = (
    "learning", "network", "connectivism", "community", "practice", "reflection", "open", "course",
    "cohort", "share", "blog", "post", "week", "notes", "reading", "question",
    "answer", "mentor", "peer", "feedback", "idea",
)  # fmt: skip


def feed_body(index: int) -> bytes:
    """An RSS feed of 10-20 posts with full HTML content (~60-200 KB), like a real blog."""
    rng = random.Random(index)
    items = []
    for post in range(rng.randint(10, 20)):
        paragraphs = "".join(
            f"<p>{' '.join(rng.choices(WORDS, k=rng.randint(40, 120)))} "
            f'<a href="/p/{post}/{p}">link</a> <em>emphasis</em> <code>x = {p}</code></p>'
            for p in range(rng.randint(6, 16))
        )
        content = (
            f'{paragraphs}<img src="/img/{post}.png" alt="figure" width="640">'
            f'<img src="https://feeds.feedburner.com/~r/b{index}/~4/{post}" width="1" height="1">'
            "<script>track()</script>"
        )
        items.append(
            f"<item><title>Post {post} of blog {index}</title>"
            f"<link>https://blog{index}.example/p/{post}</link><guid>blog{index}-{post}</guid>"
            f"<pubDate>Mon, {1 + post % 28:02d} Nov 2026 10:00:00 +0000</pubDate>"
            f"<description><![CDATA[{paragraphs[:400]}]]></description>"
            f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Blog {index}</title><link>https://blog{index}.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve(count: int) -> None:
    """The feed server (child process): prints its port, serves until stdin closes."""
    bodies = [feed_body(i) for i in range(count)]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bodies[int(request.match_info["n"])],
                            content_type="application/rss+xml")  # fmt: skip

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


class LagMeter:
    """Wakes every TICK seconds and records how late each wake-up is."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.busy: list[float] = []  # CPU the loop thread itself used during each tick
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(TICK)
            self.lags.append(max(0.0, loop.time() - started - TICK))
            self.busy.append(time.thread_time() - cpu)

    def __enter__(self) -> LagMeter:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def figures(self) -> tuple[float, float, float]:
        """(p99, max, max loop-thread CPU in one tick) in milliseconds.

        On a shared machine a late tick can be the OS running someone else; the CPU the loop
        thread spent in that tick is the part that blocking code on the loop is to blame for.
        """
        ordered = sorted(self.lags)
        p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98]
        return p99 * 1000, ordered[-1] * 1000, max(self.busy) * 1000


async def poll_all(
    urls: list[str], one: Callable[[str], Awaitable[int]]
) -> tuple[int, int, float, LagMeter]:
    """Poll `urls` CONCURRENCY at a time; (feeds, entries, seconds, lag)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def guarded(url: str) -> int:
        async with gate:
            return await one(url)

    started = time.perf_counter()
    with LagMeter() as meter:
        await asyncio.sleep(0.05)  # let the meter settle
        counts = await asyncio.gather(*(guarded(url) for url in urls))
    return len(counts), sum(counts), time.perf_counter() - started, meter


async def bench(port: int, count: int, baseline_count: int) -> None:
    resolver = StaticResolver({f"blog{h}.test": ["127.0.0.1"] for h in range(HOSTS)})
    settings = FetchLimits(
        policy=AddressPolicy.allowing("127.0.0.1/32"), extra_ports=frozenset({port})
    )
    urls = [f"http://blog{i % HOSTS}.test:{port}/feed/{i}.xml" for i in range(count)]
    pool = ParserPool(timeout=30)
    try:
        async with SafeFetcher(settings, resolver=resolver) as fetcher:
            reader = FeedReader(fetcher, pool)
            await reader.read(urls[0])  # start the workers before measuring

            async def ours(url: str) -> int:
                read = await reader.read(url)
                return len(read.feed.entries) if read.feed else 0

            async def naive(url: str) -> int:
                result = await fetcher.fetch(url, accept=FEED_TYPES)
                return len(feedparser.parse(io.BytesIO(result.body)).entries)

            size = sum(len(feed_body(i)) for i in range(min(count, 50))) / min(count, 50)
            print(
                f"{count} feeds of ~{size / 1024:.0f} KB from a local server, "
                f"{CONCURRENCY} at a time, {HOSTS} host names, {os.cpu_count()} cores, "
                f"{pool.workers} parser process(es), load average {os.getloadavg()[0]:.1f}"
            )
            results = {}
            for name, one, n in (("pool", ours, count), ("baseline", naive, baseline_count)):
                feeds, entries, seconds, meter = await poll_all(urls[:n], one)
                p99, worst, busy = meter.figures()
                results[name] = worst
                label = (
                    "ours: SafeFetcher + FeedReader (forkserver pool)"
                    if name == "pool"
                    else "baseline: feedparser.parse on the loop"
                )
                print(
                    f"{label:<50} {feeds:>4} feeds {entries:>6} entries {seconds:6.2f} s  "
                    f"lag p99 {p99:7.1f} ms  max {worst:7.1f} ms  "
                    f"(loop busy at most {busy:6.1f} ms of a tick)"
                )
            ratio = results["baseline"] / results["pool"] if results["pool"] else float("inf")
            verdict = "met" if results["pool"] < 50 else "MISSED"
            print(f"max lag: ours {results['pool']:.1f} ms vs baseline {results['baseline']:.1f} ms"
                  f" ({ratio:.0f}x lower); target < 50 ms {verdict}")  # fmt: skip
    finally:
        pool.close()


def main() -> None:
    """Start the server process, run both rounds, stop the server."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    baseline_count = int(sys.argv[2]) if len(sys.argv) > 2 else count
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(max(count, baseline_count))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        asyncio.run(bench(port, count, baseline_count))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
