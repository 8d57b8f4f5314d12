"""Link previews: after a link is first shared, its page's title, description and site name
are fetched in the background (safely, see `bot.fetch`) and cached per canonical URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.core.actions import Action
from bot.features.links import preview_store as store
from bot.fetch.client import FetchError, SafeFetcher
from bot.fetch.pages import fetch_preview
from bot.fetch.pool import ParseFailed, ParserPool
from bot.runtime.service import Runner, Service, Transaction

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = timedelta(days=7)
CONCURRENT = 4  # previews are a nicety: never let them crowd out the conversation
BACKLOG = 1000  # beyond this, new links wait for their first digest without a title


class PreviewService(Service):
    """Describes newly shared links without ever holding up the conversation."""

    name = "previews"

    def __init__(self, fetcher: SafeFetcher, pool: ParserPool, runner: Runner) -> None:
        self._fetcher = fetcher
        self._pool = pool
        self._run = runner
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT)

    def schedule(self, canonical_urls: Sequence[str]) -> None:
        """Describe these links in the background (once each, however often they are shared)."""
        for url in dict.fromkeys(canonical_urls):
            if len(self._tasks) >= BACKLOG:
                log.warning("preview backlog full: %s stays untitled for now", url)
                continue
            if url not in self._tasks:
                task = asyncio.create_task(self._describe(url), name=f"preview {url}")
                self._tasks[url] = task
                task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        for url, running in list(self._tasks.items()):
            if running is task:
                del self._tasks[url]

    async def settle(self) -> None:
        """Wait for every preview under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        """Stop describing links (what is untitled stays so until a later share)."""
        await self.close()

    async def close(self) -> None:
        """Abandon previews under way."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _describe(self, url: str) -> None:
        async with self._slots:
            await self._describe_now(url)

    async def _describe_now(self, url: str) -> None:
        fresh: list[bool] = []

        async def cached(tx: Transaction) -> list[Action]:
            since = tx.now - RETRY_FAILED_AFTER
            fresh.append(await store.recently_described(tx.conn, url, since))
            return []

        await self._run(cached)
        if fresh[0]:
            return
        try:
            preview = await fetch_preview(url, fetcher=self._fetcher, pool=self._pool)
        except (FetchError, ParseFailed) as error:
            log.info("no preview for %s: %s", url, error)
            failure = str(error)[:500]
            await self._run(lambda tx: _store_failure(tx, url, failure))
            return
        except Exception:
            log.exception("preview of %s failed unexpectedly", url)
            return

        async def save(tx: Transaction) -> list[Action]:
            await store.save_preview(
                tx.conn,
                url,
                title=preview.title,
                description=preview.description,
                site_name=preview.site_name,
                now=tx.now,
            )
            return []

        await self._run(save)


async def _store_failure(tx: Transaction, url: str, error: str) -> list[Action]:
    await store.save_failure(tx.conn, url, error, tx.now)
    return []
