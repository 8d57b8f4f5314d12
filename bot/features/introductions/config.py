"""The introductions' settings: `[communities.introductions]` in config.toml."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import ConfigSection, setting


@dataclass(frozen=True, slots=True)
class IntroductionSettings:
    """Weekly, opt-in introductions between members who share topics but never met
    (`[communities.introductions]`)."""

    enabled: bool = True
    when: str = setting("wed 10:00", schedule=True)  # when the week's introductions go out
    # topics come from what members shared in this many days
    lookback_days: int = setting(90, minimum=7, maximum=730)


SECTION = ConfigSection("introductions", IntroductionSettings, community=True)
