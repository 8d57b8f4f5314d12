"""The built-in web server (aiohttp): `/healthz` now; archive, calendars and Slack's HTTP
endpoint mount their routes here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.core.config import WebSettings

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


class WebServerError(Exception):
    """The server could not listen; the message says what to change."""


class WebServer:
    """One aiohttp application, started and stopped with the bot."""

    def __init__(self, settings: WebSettings, health: HealthCheck) -> None:
        self.settings = settings
        self._health = health
        self.app = web.Application(client_max_size=2 * 1024 * 1024)
        self.app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Mount more routes (before `start`)."""
        self.app.router.add_routes(list(routes))

    async def _healthz(self, _request: web.Request) -> web.Response:
        report = await self._health()
        status = 200 if report.get("status") == "ok" else 503
        return web.json_response(report, status=status)

    async def start(self) -> None:
        """Listen on the configured address."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._runner = None
            raise WebServerError(
                f"web: cannot listen on {self.settings.host}:{self.settings.port} "
                f"({error.strerror}); change [web] port, or set [web] enabled = false"
            ) from None
        self.port = self.settings.port
        for address in self._runner.addresses:  # the real port when 0 was asked for
            self.port = int(address[1])
            break
        log.info("web server listening on http://%s:%s", self.settings.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
