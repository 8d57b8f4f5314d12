"""The feeds feature's settings: `[feeds]` in config.toml."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import ConfigSection, setting


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """How member and community feeds are polled."""

    poll_minutes: int = setting(60, minimum=5, maximum=10_080)
    # then the feed is paused and its owner told
    max_failures: int = setting(5, minimum=1, maximum=100)
    concurrency: int = setting(20, minimum=1, maximum=200)


SECTION = ConfigSection("feeds", FeedSettings)
