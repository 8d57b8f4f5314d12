"""The links feature's settings: `[links]` in config.toml."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import ConfigSection


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Link capture."""

    react: bool = True
    reaction: str = "bookmark"


SECTION = ConfigSection("links", LinkSettings)
