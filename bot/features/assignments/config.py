"""Rubrics and scales in config.toml: `[[rubrics]]` and `[[scales]]`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ConfigSection, ConfigTable, setting
from bot.features.assignments.rubrics import (
    BUILTIN_SCALES,
    Criterion,
    RubricError,
    check_criteria,
    check_grades,
    number_scale,
)


def _slug(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> str:
    name = table.text(key).strip().casefold()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise table.fail(key, f"{name!r}: a name is 1-64 characters without spaces")
    return name


def _criteria(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> Any:
    found: list[Criterion] = []
    for item in table.tables(key):
        found.append(Criterion(item.text("name"), item.texts("levels")))
        item.finish()
    if not found:
        raise table.fail(key, 'is missing; e.g. criteria = [{ name = "Clarity", levels = [...] }]')
    try:
        return check_criteria(found, table.where(key))
    except RubricError as error:
        raise table.fail(key, str(error).split(": ", 1)[-1]) from None


def _grades(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> Any:
    if key in table.data:
        grades = table.texts(key)
        for other in ("from", "to", "step"):
            if other in table.data:
                raise table.fail(other, f"give either {key} or from/to/step, not both")
    elif "from" in table.data or "to" in table.data:
        start = table.integer("from", 0, minimum=-(10**6), maximum=10**6)
        stop = table.integer("to", 100, minimum=-(10**6), maximum=10**6)
        step = table.integer("step", 1, minimum=1, maximum=10**6)
        try:
            grades = number_scale(start, stop, step)
        except RubricError as error:
            raise table.fail("step", str(error)) from None
    else:
        raise table.fail(key, 'is missing; write grades = ["A", "B", "C"] or from/to/step')
    try:
        return check_grades(grades, table.where(key))
    except RubricError as error:
        raise table.fail(key, str(error).split(": ", 1)[-1]) from None


@dataclass(frozen=True, slots=True)
class RubricSettings:
    """One `[[rubrics]]`: a name and its criteria, each with levels lowest first."""

    name: str = setting(read=_slug)
    criteria: tuple[Criterion, ...] = setting(read=_criteria)


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    """One `[[scales]]`: a name and its grades, best first (or a number range)."""

    name: str = setting(read=_slug)
    grades: tuple[str, ...] = setting(read=_grades)


RUBRICS = ConfigSection("rubrics", RubricSettings, many=True)
SCALES = ConfigSection("scales", ScaleSettings, many=True)


def known_scales(configured: tuple[ScaleSettings, ...]) -> dict[str, tuple[str, ...]]:
    """Every scale by name: the built-in ones, then the configured (which may replace them)."""
    return {**BUILTIN_SCALES, **{scale.name: scale.grades for scale in configured}}
