"""The digest's settings: `[digest]` in config.toml (when it posts is per community)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ConfigSection, ConfigTable, setting


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """How the weekly digest picks its links."""

    top_links: int = setting(10, minimum=1, maximum=50)
    per_domain: int = setting(2, minimum=1, maximum=50)  # at most this many links from one site
    per_sharer: int = setting(3, minimum=1, maximum=50)  # at most this many led by one member


SECTION = ConfigSection("digest", DigestSettings)


def _when(table: ConfigTable, key: str, _default: Any, _: Mapping[str, Any]) -> Any:
    return table.schedule(key)  # a [communities.digest] table must say when


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When one community's digest is posted (`[communities.digest] when`)."""

    when: str | None = setting(None, read=_when)  # e.g. "mon 09:00"; None: only on demand


SCHEDULE = ConfigSection("digest", DigestSchedule, community=True)
