"""Bringing a built application up and down: migrate, start the dispatcher, each feature's
services, the web server and the platforms, then schedule every job; stop in reverse."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.core.clock import Clock
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.config import Config, Secrets
from bot.core.platform import Platform, RunsUntilDone
from bot.fetch.client import SafeFetcher
from bot.fetch.pool import ParserPool
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.feature import Registry
from bot.runtime.housekeeping import housekeeping_job, purge_expired
from bot.runtime.platforms import build_platforms, http_routes
from bot.runtime.scheduler import Scheduler
from bot.storage.database import Database
from bot.web.server import WebServer

log = logging.getLogger(__name__)


class Lifecycle:
    """Start, run and stop what the composition root built."""

    config: Config
    secrets: Secrets
    clock: Clock
    database: Database
    directory: CommunityDirectory
    dispatcher: Dispatcher
    commands: CommandTable
    web: WebServer
    scheduler: Scheduler
    pool: ParserPool
    fetcher: SafeFetcher
    registry: Registry
    platforms: list[Platform]
    _given_platforms: Any

    def build_platforms(self) -> list[Platform]:
        """The platforms this configuration and environment ask for."""
        return build_platforms(self.config, self.secrets, self.directory, self.commands, self.clock)

    async def health(self) -> dict[str, Any]:
        """What `/healthz` reports."""
        try:
            async with self.database.reading() as conn:
                await conn.exec_driver_sql("SELECT 1")
            database = "ok"
        except Exception as error:  # the report must answer even when storage is down
            database = f"error: {type(error).__name__}"
        return {
            "status": "ok" if database == "ok" else "degraded",
            "database": database,
            "platforms": [platform.name for platform in self.platforms],
            "communities": [community.name for community in self.config.communities],
        }

    async def start(self) -> None:
        """Migrate, start the dispatcher, the features, the web server and every platform."""
        await self.database.migrate()
        await purge_expired(self.database, self.config.retention, self.clock.now())
        await self.dispatcher.start()
        await self.fetcher.start()
        for service in self.registry:
            await service.start()
        self.platforms = (
            list(self._given_platforms)
            if self._given_platforms is not None
            else self.build_platforms()
        )
        self.web.add_routes(http_routes(self.config, self.platforms))
        if self.config.web.enabled:
            await self.web.start()
        for platform in self.platforms:
            self.dispatcher.attach(platform)
            await platform.start(self.dispatcher)
        await self.dispatcher.outbox.start()
        self.scheduler.add(housekeeping_job(self.database, self.config.retention))
        for service in self.registry:
            for job in service.jobs():
                self.scheduler.add(job)
        await self.scheduler.start()

    async def wait_done(self) -> None:
        """Return when a platform that can finish (the console) has finished; else never."""
        finishing = [
            asyncio.ensure_future(platform.wait_done())
            for platform in self.platforms
            if isinstance(platform, RunsUntilDone)
        ]
        if not finishing:
            await asyncio.Event().wait()
        await asyncio.wait(finishing, return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        await self.dispatcher.drain()

    async def stop(self) -> None:
        """Stop platforms, finish queued work, close the web server and the database."""
        await self.scheduler.stop()
        try:  # commit what was delivered, and send what is in hand while still connected
            await asyncio.wait_for(self.dispatcher.settle(), 5)
        except TimeoutError:
            log.warning("stopping with events still queued; their platforms deliver them again")
        await self.dispatcher.outbox.stop(within=3, final=False)
        for platform in self.platforms:
            try:
                await platform.stop()
            except Exception:
                log.exception("%s did not stop cleanly", platform.name)
        for service in reversed(self.registry.services):
            try:
                await service.stop()
            except Exception:
                log.exception("%s did not stop cleanly", service.name)
        await self.dispatcher.stop()
        await self.dispatcher.outbox.stop(within=0)
        await self.web.stop()
        await self.fetcher.close()
        self.pool.close()
        await self.database.close()
