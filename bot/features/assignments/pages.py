"""A rubric as a stepwise form (pure): each criterion a menu of its levels, four a page, with
Back and Next. The self-evaluation and the peer review draw their pages with it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.core.actions import Action, Button, Content, Menu, MenuOption
from bot.core.commands import CommandSpec, Param, ParamKind, command_line
from bot.core.events import ButtonPressed
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.features.assignments.rubrics import Criterion
from bot.runtime.service import Invocation

PER_PAGE = 4  # criteria per page: four menus and a row of buttons fill a Discord message


def step_commands(subject: Param, command: str, key: str) -> tuple[CommandSpec, CommandSpec]:
    """The `level` and `page` subcommands of a stepwise rubric form (`/self-assess`,
    `/review`) about `subject`, e.g. "A1" or "R7" (`key`)."""
    level = CommandSpec(
        name="level",
        help="Choose a level for one criterion",
        example=f"/{command} level {key} 2 3",
        params=(
            subject,
            Param(name="criterion", help="The criterion's number", kind=ParamKind.INTEGER),
            Param(name="level", help="The level's number", kind=ParamKind.INTEGER),
        ),
    )
    page = CommandSpec(
        name="page",
        help="Show another page of criteria",
        example=f"/{command} page {key} 2",
        params=(subject, Param(name="page", help="The page's number", kind=ParamKind.INTEGER)),
    )
    return level, page


def pages_of(criteria: Sequence[Criterion]) -> int:
    """How many pages the criteria fill."""
    return max(1, math.ceil(len(criteria) / PER_PAGE))


def page_of(number: int) -> int:
    """The page criterion `number` (from 1) is on."""
    return (number - 1) // PER_PAGE + 1


def chosen_lines(
    t: Catalog, criteria: Sequence[Criterion], levels: Sequence[int | None]
) -> list[str]:
    """Each criterion with the level chosen for it so far."""
    lines = []
    for number, criterion in enumerate(criteria, 1):
        level = levels[number - 1] if number - 1 < len(levels) else None
        chosen = (
            f"**{escape(criterion.levels[level])}**"
            if level is not None and level < len(criterion.levels)
            else t("assignments.not_chosen")
        )
        lines.append(f"{number}. {escape(criterion.name)}: {chosen}")
    return lines


def level_menus(
    criteria: Sequence[Criterion],
    levels: Sequence[int | None],
    page: int,
    pick: Callable[[int, int], str],
) -> tuple[Menu, ...]:
    """The page's criteria as menus; `pick(criterion, level)` (both from 1) is the command
    line an option runs."""
    first = (page - 1) * PER_PAGE
    menus: list[Menu] = []
    for number in range(first + 1, min(first + PER_PAGE, len(criteria)) + 1):
        criterion = criteria[number - 1]
        current = levels[number - 1] if number - 1 < len(levels) else None
        options = tuple(
            MenuOption(
                label=f"{index + 1}. {name}",
                action=pick(number, index + 1),
                chosen=current == index,
            )
            for index, name in enumerate(criterion.levels)
        )
        menus.append(Menu(placeholder=f"{number}. {criterion.name}", options=options))
    return tuple(menus)


def pager(t: Catalog, page: int, pages: int, turn: Callable[[int], str]) -> list[Button]:
    """Back and Next, where there is a page to go to; `turn(page)` is the command line."""
    buttons: list[Button] = []
    if page > 1:
        buttons.append(Button(label=t("assignments.back"), action=turn(page - 1)))
    if page < pages:
        buttons.append(Button(label=t("assignments.next"), action=turn(page + 1)))
    return buttons


def in_place(call: Invocation, content: Content) -> Action:
    """Redraw the message a button or menu was used on; answer anew to a typed command."""
    answer = call.answer(content.text)
    return replace(answer, content=content, in_place=isinstance(call.event, ButtonPressed))


def level_problem(t: Catalog, criteria: Sequence[Criterion], number: int, level: int) -> str | None:
    """What is wrong with picking level `level` for criterion `number` (both from 1), if
    anything: the answer lists what there is."""
    if not 1 <= number <= len(criteria):
        return t("assignments.no_criterion", number=number, count=len(criteria))
    criterion = criteria[number - 1]
    if not 1 <= level <= len(criterion.levels):
        levels = ", ".join(f"{i}. {escape(n)}" for i, n in enumerate(criterion.levels, 1))
        return t(
            "assignments.no_level",
            number=level,
            criterion=escape(criterion.name),
            levels=levels,
        )
    return None


def step_controls(
    t: Catalog,
    group: CommandSpec,
    subject: str,
    key: str,
    criteria: Sequence[Criterion],
    levels: Sequence[int | None],
    page: int,
) -> tuple[tuple[Menu, ...], list[Button]]:
    """A stepwise rubric form's page controls for `group` (`/self-assess`, `/review`) about
    `key` (its `subject` argument): the page's level menus, Back and Next, and Finish."""
    level_spec = group.subcommand("level")
    assert level_spec is not None

    def pick(number: int, level: int) -> str:
        line = command_line(
            (group.name, "level"),
            level_spec,
            {subject: key, "criterion": number, "level": level},
        )
        assert line is not None
        return line

    buttons = pager(t, page, pages_of(criteria), lambda to: f"{group.name} page {key} {to}")
    buttons.append(
        Button(label=t("assignments.finish"), action=f"{group.name} finish {key}", style="primary")
    )
    return level_menus(criteria, levels, page, pick), buttons
