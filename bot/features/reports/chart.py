"""A PNG line chart of weekly activity by stage, drawn with Pillow.

Deterministic: the same figures give the same bytes (no timestamps or metadata in the file,
the font is Pillow's bundled default). Each stage has its own colour (Okabe-Ito, readable
with colour-blindness) and its own marker shape, so the chart never relies on colour alone;
the same figures always go out as a text table beside it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.features.engagement import STAGES
from bot.features.reports.model import WeekStages

if TYPE_CHECKING:  # Pillow is imported when a chart is drawn, not at every start
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 450
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 24, 70, 70
_COLOURS = {
    "seek": (0, 114, 178),
    "sense": (230, 159, 0),
    "share": (0, 158, 115),
    "presence": (204, 121, 167),
}
_INK = (34, 34, 34)
_GRID = (225, 225, 225)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size)


def _marker(draw: ImageDraw.ImageDraw, stage: str, x: float, y: float, r: float = 5) -> None:
    colour = _COLOURS[stage]
    if stage == "seek":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif stage == "sense":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
    elif stage == "share":
        draw.polygon([(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)], fill=colour)
    else:
        draw.polygon([(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill=colour)


def _nice_top(value: int) -> tuple[int, int]:
    """An axis maximum at or above `value` and a tick step giving at most ~6 ticks."""
    top = max(value, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= 6:
            return -(-top // step) * step, step
    step = 10 ** len(str(top))
    return -(-top // step) * step, step


def chart_png(
    history: Sequence[WeekStages],
    title: str,
    x_label: str = "ISO week",
    y_label: str = "active members",
) -> bytes:
    """Active members per stage and week as a line chart, with legend and axis labels."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    small, normal = _font(12), _font(15)
    draw.text((_LEFT, 14), title, fill=_INK, font=normal)
    plot_left, plot_right = _LEFT, WIDTH - _RIGHT
    plot_top, plot_bottom = _TOP, HEIGHT - _BOTTOM
    peak = max((row.active.get(stage, 0) for row in history for stage in STAGES), default=0)
    top, step = _nice_top(peak)

    def y_of(value: int) -> float:
        return plot_bottom - (plot_bottom - plot_top) * value / top

    count = max(len(history), 1)
    span = plot_right - plot_left

    def x_of(index: int) -> float:
        return plot_left + span * (index + 0.5) / count

    for tick in range(0, top + 1, step):
        y = y_of(tick)
        draw.line((plot_left, y, plot_right, y), fill=_GRID, width=1)
        label = str(tick)
        width = draw.textlength(label, font=small)
        draw.text((plot_left - 8 - width, y - 7), label, fill=_INK, font=small)
    draw.line((plot_left, plot_top, plot_left, plot_bottom), fill=_INK, width=1)
    draw.line((plot_left, plot_bottom, plot_right, plot_bottom), fill=_INK, width=1)
    for index, row in enumerate(history):
        x = x_of(index)
        draw.line((x, plot_bottom, x, plot_bottom + 4), fill=_INK, width=1)
        label = row.week.split("-", 1)[-1] if "-" in row.week else row.week
        width = draw.textlength(label, font=small)
        draw.text((x - width / 2, plot_bottom + 8), label, fill=_INK, font=small)
    years = sorted({row.week[:4] for row in history})
    axis_x = f"{x_label} ({'–'.join(years)})" if years else x_label
    width = draw.textlength(axis_x, font=normal)
    draw.text(((plot_left + plot_right - width) / 2, HEIGHT - 28), axis_x, fill=_INK, font=normal)
    axis_y = Image.new("RGB", (int(plot_bottom - plot_top), 20), (255, 255, 255))
    ImageDraw.Draw(axis_y).text((0, 2), y_label, fill=_INK, font=normal)
    rotated = axis_y.rotate(90, expand=True)
    image.paste(rotated, (6, int(plot_top)))
    for stage in STAGES:
        points = [(x_of(i), y_of(row.active.get(stage, 0))) for i, row in enumerate(history)]
        if len(points) > 1:
            draw.line(points, fill=_COLOURS[stage], width=3, joint="curve")
        for x, y in points:
            _marker(draw, stage, x, y)
    legend_x = plot_left
    for stage in STAGES:
        _marker(draw, stage, legend_x + 6, 48)
        draw.line((legend_x - 4, 48, legend_x + 16, 48), fill=_COLOURS[stage], width=3)
        draw.text((legend_x + 22, 40), stage, fill=_INK, font=normal)
        legend_x += 30 + int(draw.textlength(stage, font=normal)) + 24
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
