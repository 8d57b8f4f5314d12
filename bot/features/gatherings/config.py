"""Live sessions' settings: `[gatherings]` in config.toml."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ConfigSection, ConfigTable, setting, wall_time

_OFFSET = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,3})h)?(?:(\d{1,4})m)?$")


def _reminders(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> Any:
    if key not in table.data:
        return default
    minutes: list[int] = []
    for text in table.texts(key):
        match = _OFFSET.match(text.strip().lower())
        if not text.strip() or match is None or not any(match.groups()):
            example = '["24h", "1h", "15m", "2d"]'
            raise table.fail(key, f"{text!r} is not an offset; write e.g. {example}")
        days, hours, mins = (int(part or 0) for part in match.groups())
        total = days * 1440 + hours * 60 + mins
        if not 1 <= total <= 30 * 1440:
            raise table.fail(key, f"{text!r} must be between 1 minute and 30 days")
        minutes.append(total)
    return tuple(sorted(set(minutes), reverse=True))


def _waking_end(table: ConfigTable, key: str, default: str, values: Mapping[str, Any]) -> str:
    end = wall_time(table, key, default, values)
    if end == values["waking_start"]:
        raise table.fail(key, "must differ from waking_start")
    return end


def _slot(table: ConfigTable, key: str, default: int, _: Mapping[str, Any]) -> int:
    slot = table.integer(key, default, minimum=5, maximum=240)
    if 1440 % slot:
        raise table.fail(key, f"{slot} must divide a day (15, 30, 60...)")
    return slot


@dataclass(frozen=True, slots=True)
class GatheringSettings:
    """Live sessions: reminders and what counts as a fair time."""

    # minutes before the start, DMs to those going
    reminders: tuple[int, ...] = setting((24 * 60, 60), read=_reminders)
    # local waking hours for /host suggest-times
    waking_start: str = setting("08:00", read=wall_time)
    waking_end: str = setting("21:00", read=_waking_end)
    # how far ahead /host suggest-times looks by default
    suggest_days: int = setting(7, minimum=1, maximum=28)
    slot_minutes: int = setting(30, read=_slot)  # candidate slots start on this grid (UTC)
    takeaways: bool = True  # open a takeaways thread when a session ends


SECTION = ConfigSection("gatherings", GatheringSettings)
