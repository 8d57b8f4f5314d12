"""The digest's settings: `[digest]` in config.toml (when it posts is per community)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import ConfigSection, setting


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """How the weekly digest picks its links."""

    top_links: int = setting(10, minimum=1, maximum=50)
    per_domain: int = setting(2, minimum=1, maximum=50)  # at most this many links from one site
    per_sharer: int = setting(3, minimum=1, maximum=50)  # at most this many led by one member


SECTION = ConfigSection("digest", DigestSettings)
