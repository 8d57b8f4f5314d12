"""Prompt schedules written in config.toml: `[[communities.prompts]]`, any number per community."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ConfigSection, ConfigTable, setting


def _own_text(table: ConfigTable, key: str, _default: Any, _: Mapping[str, Any]) -> Any:
    text = table.optional_text(key)
    return text.strip() or None if text else None


@dataclass(frozen=True, slots=True)
class PromptSettings:
    """A prompt schedule from the config: posted in the community's announcements channel
    (else its first watched channel) on every platform it spans."""

    stage: str = setting(choices=("seek", "sense", "share"))  # required
    # the schedule, as `bot.core.schedules.parse_rule` reads it (required)
    when: str = setting(schedule=True)
    text: str | None = setting(None, read=_own_text)  # None: rotate through the prompt library


SECTION = ConfigSection("prompts", PromptSettings, community=True, many=True)
