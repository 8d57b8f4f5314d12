"""The built-in web server."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets


async def test_healthz_reports_the_database_and_platforms(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for(web={"enabled": True, "host": "127.0.0.1", "port": 0})
    app = Application(config, secrets=Secrets(), clock=clock, platforms=[])
    await app.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{app.web.port}/healthz") as response:
                assert response.status == 200
                report = await response.json()
        assert report["status"] == "ok" and report["database"] == "ok"
        assert report["communities"] == ["demo"]
    finally:
        await app.stop()
