"""A small web site on loopback for outbound-HTTP tests: pages, feeds and bad behaviour."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeSite:
    """An aiohttp server on `host`, port 0; add routes with `route`, read `hits`."""

    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    hits: list[str] = field(default_factory=list)
    requests: list[web.Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # frees handlers that hang
    handlers: dict[str, Handler] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0

    def route(self, path: str, handler: Handler) -> None:
        """Serve GET `path` with `handler` (routes may be added while running)."""
        self.handlers[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path_qs)
        self.requests.append(request)
        handler = self.handlers.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    def page(self, path: str, body: str | bytes, content_type: str = "text/html") -> None:
        """Serve a fixed body."""

        async def handler(request: web.Request) -> web.StreamResponse:
            data = body.encode() if isinstance(body, str) else body
            return web.Response(body=data, headers={"Content-Type": content_type})

        self.route(path, handler)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer `path` with a redirect to `location`."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.route(path, handler)

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of `path`, optionally under another host name that resolves here."""
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{name}:{self.port}{path}"

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Free hanging handlers and stop."""
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()
