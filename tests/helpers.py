"""Drive the real application through the console adapter, line by line."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from adapters.console.platform import ConsolePlatform
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.features import FEATURES
from bot.fetch.client import StaticResolver
from bot.runtime.feature import Feature


async def _no_input() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


class ConsoleStory:
    """A running bot with a console; `say()` returns what the bot printed in answer."""

    def __init__(
        self,
        config: Config,
        clock: ManualClock,
        export_dir: Path,
        hosts: Mapping[str, Sequence[str]] | None = None,
        features: Sequence[Feature] = FEATURES,
    ) -> None:
        self.out = io.StringIO()
        # Name resolution is a table: no test ever asks real DNS.
        resolver = StaticResolver(hosts or {})
        self.app = Application(
            config, secrets=Secrets(), clock=clock, resolver=resolver, features=features
        )
        self.console = ConsolePlatform(
            config,
            self.app.directory,
            self.app.commands,
            clock,
            lines=_no_input(),
            out=self.out,
            export_dir=export_dir,
        )
        self.app._given_platforms = [self.console]
        self.clock = clock
        self._seen = 0

    async def __aenter__(self) -> ConsoleStory:
        await self.app.start()
        await self.console.wait_done()  # the empty script: only the banner
        self.output()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.app.stop()

    def output(self) -> str:
        """What was printed since the last call."""
        text = self.out.getvalue()
        new, self._seen = text[self._seen :], len(text)
        return new

    async def tick(self, when: datetime) -> str:
        """Move the clock, let the scheduler run what is due; return what was printed."""
        self.clock.set(when)
        self.app.scheduler.poke()
        await self.app.scheduler.idle()
        await self.app.drain()
        return self.output()

    async def say(self, line: str) -> str:
        """Type one line; return everything printed because of it."""
        await self.console.handle_line(line)
        await self.app.drain()
        return self.output()
