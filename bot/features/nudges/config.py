"""The nudges' settings: `[communities.nudges]` in config.toml, one per community."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.config import WALL, ConfigSection, ConfigTable, FieldReader, setting


def _quiet_bound(index: int) -> FieldReader:
    def read(table: ConfigTable, _key: str, _default: str, _: Mapping[str, Any]) -> str:
        quiet = table.text("quiet_hours", "21:00-08:00")
        bounds = [part.strip() for part in quiet.split("-")]
        if len(bounds) != 2 or not all(WALL.match(bound) for bound in bounds):
            raise table.fail(
                "quiet_hours", f'{quiet!r} is not a range of times; write e.g. "21:00-08:00"'
            )
        return bounds[index]

    return read


def _library_file(table: ConfigTable, key: str, _default: Any, _: Mapping[str, Any]) -> Any:
    library = table.optional_text(key)
    if library is not None and not Path(library).is_file():
        raise table.fail(key, f"{library!r} is not a file; give the path of a TOML nudge library")
    return library


@dataclass(frozen=True, slots=True)
class NudgeSettings:
    """Gentle direct messages to members drifting away (`[communities.nudges]`)."""

    enabled: bool = True
    # activity is judged over this many days
    inactive_days: int = setting(14, minimum=1, maximum=90)
    joined_days: int = setting(7, maximum=365)  # nobody is nudged in their first days
    # at most one nudge per member in this many days
    every_days: int = setting(7, minimum=1, maximum=90)
    # no nudges from quiet_start to quiet_end in the member's own zone (key: quiet_hours)
    quiet_start: str = setting("21:00", read=_quiet_bound(0))
    quiet_end: str = setting("08:00", read=_quiet_bound(1))
    # direct messages per community and hour, at most
    hourly_cap: int = setting(20, minimum=1, maximum=1000)
    # unanswered nudges in a row, then no more until they are back
    give_up_after: int = setting(3, minimum=1, maximum=10)
    # any own action this soon after a nudge answers it
    answer_days: int = setting(7, minimum=1, maximum=30)
    # a TOML file with the texts (default: the shipped library)
    library: str | None = setting(None, read=_library_file)


SECTION = ConfigSection("nudges", NudgeSettings, community=True)
