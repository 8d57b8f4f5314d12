"""Rubrics and grading scales: what a self-evaluation answers and what a grade may be.

A rubric is named criteria, each with named levels, lowest first. A scale is the list of grades
an assignment may receive, best first: configured (`[[scales]]`), built in (`letter`, `pass`,
`percent`), or written inline when an assignment is created (`A,B,C,D,F`, `0-100/5`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_CRITERIA = 12  # three pages of four menus
MAX_LEVELS = 25  # one menu's options
MAX_NAME = 80
MAX_GRADES = 201
MAX_GRADE = 32  # characters of one grade


class RubricError(ValueError):
    """A rubric, a scale or a grade cannot be read; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Criterion:
    """One thing a submission is judged on, with its levels, lowest first."""

    name: str
    levels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rubric:
    """Named criteria (none: the self-evaluation asks only strengths, improvements, grade)."""

    name: str | None
    criteria: tuple[Criterion, ...]

    def to_json(self) -> str:
        """The criteria as an assignment keeps them."""
        return json.dumps([{"name": c.name, "levels": list(c.levels)} for c in self.criteria])

    @classmethod
    def from_json(cls, name: str | None, text: str) -> Rubric:
        """The rubric an assignment kept."""
        return cls(name, tuple(Criterion(c["name"], tuple(c["levels"])) for c in json.loads(text)))


@dataclass(frozen=True, slots=True)
class Scale:
    """The grades an assignment may receive, best first."""

    name: str | None
    grades: tuple[str, ...]

    def to_json(self) -> str:
        """The grades as an assignment keeps them."""
        return json.dumps(list(self.grades))

    @classmethod
    def from_json(cls, name: str | None, text: str) -> Scale:
        """The scale an assignment kept."""
        return cls(name, tuple(json.loads(text)))

    def grade(self, typed: str) -> str:
        """The scale's own spelling of `typed` (case and spaces aside); raise `RubricError`
        listing the grades."""
        wanted = " ".join(typed.split()).casefold()
        for grade in self.grades:
            if grade.casefold() == wanted:
                return grade
        raise RubricError(f"{typed.strip()[:MAX_GRADE]!r} is not a grade here; {self.listing()}")

    def listing(self) -> str:
        """ "grades are A, B, C" (a long number range as "0 to 100 in steps of 5")."""
        if len(self.grades) > 12 and all(_is_number(g) for g in self.grades):
            first, second, last = self.grades[0], self.grades[1], self.grades[-1]
            step = abs(float(second) - float(first))
            return f"grades are {last} to {first} in steps of {_number(step)}"
        return "grades are " + ", ".join(self.grades)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def number_scale(start: float, stop: float, step: float) -> tuple[str, ...]:
    """The grades from `stop` down to `start` in steps of `step` (best first)."""
    if step <= 0:
        raise RubricError("a number scale's step must be above 0, e.g. 0-100/5")
    if stop <= start:
        raise RubricError("a number scale goes from a lower to a higher number, e.g. 0-100/5")
    count = round((stop - start) / step)
    if count + 1 > MAX_GRADES or abs(start + count * step - stop) > 1e-9:
        raise RubricError(
            f"{_number(start)}-{_number(stop)}/{_number(step)}: the step must divide the "
            f"range into at most {MAX_GRADES - 1} steps"
        )
    return tuple(_number(stop - index * step) for index in range(count + 1))


_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?))?\s*$")

BUILTIN_SCALES: Mapping[str, tuple[str, ...]] = {
    "letter": ("A", "B", "C", "D", "F"),
    "pass": ("distinction", "merit", "pass", "fail"),
    "percent": number_scale(0, 100, 1),
}
INLINE_SCALE_EXAMPLE = '"A,B,C,D,F" or "0-100/5"'
INLINE_RUBRIC_EXAMPLE = '"Connections: beginning|developing|proficient; Clarity: low|high"'


def check_grades(grades: Sequence[str], where: str) -> tuple[str, ...]:
    """Grades as a scale keeps them: stripped, unique, each 1-32 characters."""
    cleaned = tuple(" ".join(g.split()) for g in grades)
    if not cleaned or len(cleaned) > MAX_GRADES:
        raise RubricError(f"{where}: a scale has 1 to {MAX_GRADES} grades")
    for grade in cleaned:
        if not 1 <= len(grade) <= MAX_GRADE:
            raise RubricError(f"{where}: each grade is 1 to {MAX_GRADE} characters")
    folded = [g.casefold() for g in cleaned]
    if len(set(folded)) != len(folded):
        raise RubricError(f"{where}: a grade is listed twice")
    return cleaned


def parse_scale(text: str, known: Mapping[str, tuple[str, ...]]) -> Scale:
    """A scale named (configured or built in) or written inline; raise `RubricError`."""
    name = text.strip()
    if name.casefold() in known:
        return Scale(name.casefold(), known[name.casefold()])
    match = _RANGE.match(name)
    if match:
        start, stop = float(match.group(1)), float(match.group(2))
        return Scale(None, number_scale(start, stop, float(match.group(3) or 1)))
    parts = [part for part in re.split(r"[,|]", name) if part.strip()]
    if len(parts) < 2:
        names = ", ".join(sorted(known))
        raise RubricError(
            f"{name[:40]!r} is not a scale: name one ({names}) or write one, e.g. "
            f"{INLINE_SCALE_EXAMPLE}"
        )
    return Scale(None, check_grades(parts, "scale"))


def check_criteria(criteria: Sequence[Criterion], where: str) -> tuple[Criterion, ...]:
    """Criteria as a rubric keeps them, checked: names unique, 2-25 levels each."""
    if len(criteria) > MAX_CRITERIA:
        raise RubricError(f"{where}: a rubric has at most {MAX_CRITERIA} criteria")
    names: set[str] = set()
    kept: list[Criterion] = []
    for criterion in criteria:
        name = " ".join(criterion.name.split())
        if not 1 <= len(name) <= MAX_NAME:
            raise RubricError(f"{where}: a criterion's name is 1 to {MAX_NAME} characters")
        if name.casefold() in names:
            raise RubricError(f"{where}: the criterion {name!r} is listed twice")
        names.add(name.casefold())
        levels = tuple(" ".join(level.split()) for level in criterion.levels if level.strip())
        if not 2 <= len(levels) <= MAX_LEVELS:
            raise RubricError(f"{where}: {name!r} needs 2 to {MAX_LEVELS} levels")
        if any(len(level) > MAX_NAME for level in levels):
            raise RubricError(f"{where}: {name!r}: a level is at most {MAX_NAME} characters")
        if len({level.casefold() for level in levels}) != len(levels):
            raise RubricError(f"{where}: {name!r} lists a level twice")
        kept.append(Criterion(name, levels))
    return tuple(kept)


def parse_rubric(text: str, known: Mapping[str, Rubric]) -> Rubric:
    """A configured rubric by name, or criteria written inline; raise `RubricError`."""
    name = text.strip()
    if name.casefold() in known:
        return known[name.casefold()]
    if ":" not in name:
        names = ", ".join(sorted(known)) or "none configured"
        raise RubricError(
            f"{name[:40]!r} is not a rubric: name one ({names}) or write one, e.g. "
            f"{INLINE_RUBRIC_EXAMPLE}"
        )
    criteria: list[Criterion] = []
    for part in name.split(";"):
        if not part.strip():
            continue
        title, _, levels = part.partition(":")
        criteria.append(Criterion(title, tuple(re.split(r"[|,]", levels))))
    return Rubric(None, check_criteria(criteria, "rubric"))
