"""Charts on a measured axis: values against a reference, and a curve of points.

Where :mod:`.charts` ranks amounts and counts, these place values on a
numeric axis with ticks, so that a reference line (a baseline price, an
overall rate) and an uncertainty interval can be drawn where they belong:

* :func:`comparison_chart` - horizontal bars, each with an optional interval
  (whiskers) and a tone (its colour), against a labelled dashed reference
  line; a bar with no value says why instead;
* :func:`line_chart` - points joined in order of x, on a linear or log x
  axis (chosen automatically when the values span more than a decade and a
  half), with an optional horizontal reference.

Same rules as :mod:`.charts`, whose drawing primitives these share: plain
values in, one well-formed ``<svg>`` string out, every label escaped, a
``<title>`` and a ``<desc>`` that say the numbers in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Mapping, Sequence

from .charts import (CHAR_WIDTH, GRID, HIGHLIGHT, INK, MUTED, BAR, TICK_SIZE, TITLE_SIZE,
                     _empty, _heading, _money_or_number, _n, _svg, _truncate, escape_text)
from .formatting import Amount, to_decimal

__all__ = ["ComparisonBar", "PlotPoint", "TONES", "comparison_chart", "line_chart",
           "linear_ticks", "log_ticks"]

TONES: dict[str, tuple[str, str]] = {
    "good": ("#3f8f5f", "#3f8f5f"),
    "bad": (HIGHLIGHT, HIGHLIGHT),
    "unsure": ("#c5cdd6", MUTED),
    "": (BAR, BAR),
}
"""Bar fill and outline by tone: green for better, orange-red for worse (darker in
greyscale too), pale grey with an outline for "cannot tell", blue for no judgement."""

LOG_SPREAD = 30
"""Largest over smallest x past which :func:`line_chart` draws a log axis on its own."""


@dataclass(frozen=True)
class ComparisonBar:
    """One bar: its value (None: nothing to draw, ``missing`` says why), interval and tone."""

    label: str
    value: Amount | None
    interval: tuple[Amount, Amount] | None = None
    tone: str = ""
    missing: str = "no value"


@dataclass(frozen=True)
class PlotPoint:
    """One point of a curve; ``label`` names it in its tooltip (``Decile 3, 166 traces``)."""

    x: Amount
    y: Amount
    label: str = ""


def linear_ticks(high: float, *, count: int = 5) -> list[float]:
    """Round ticks from 0 up to at least ``high``: steps of 1, 2, 2.5 or 5 times a power of 10.

    >>> linear_ticks(4.6)
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> linear_ticks(0)
    [0.0, 1.0]
    """
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if raw <= f * power * (1 + 1e-9))
    steps = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(steps + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten within [low, high]; with 1, 2 and 5 of each when under three decades.

    >>> log_ticks(0.005, 13)
    [0.01, 0.1, 1.0, 10.0]
    >>> log_ticks(0.3, 9)
    [0.5, 1.0, 2.0, 5.0]
    """
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    factors = (1, 2, 5) if last - first <= 3 else (1,)
    return [round(f * 10.0 ** e, 12) for e in range(first, last + 1) for f in factors
            if low <= f * 10.0 ** e <= high]


def _tick_text(unit: str) -> Callable[[float], str]:
    if unit == "%":
        return lambda value: f"{value * 100:.0f}%"
    label_of = _money_or_number(unit)
    return lambda value: label_of(Decimal(repr(value)))


def _wrap(label: str, limit: int) -> list[str]:
    """A label in at most two lines of ``limit`` characters, broken after commas."""
    if len(label) <= limit:
        return [label]
    lines: list[str] = []
    for piece in label.split(", "):
        if lines and len(lines[-1]) + 2 + len(piece) <= limit:
            lines[-1] += ", " + piece
        else:
            lines.append(piece)
    if len(lines) > 2:
        lines = [lines[0], ", ".join(lines[1:])]
    return [_truncate(line, limit) for line in lines]


def _legend(entries: Sequence[tuple[str, str]], *, y: float) -> str:
    """Swatches left to right: ``(markup of a 12px symbol at 0,0, text)`` each."""
    parts, x = [], 0.0
    for symbol, text in entries:
        parts.append(f'<g transform="translate({_n(x)} {_n(y - 10)})">{symbol}</g>'
                     f'<text x="{_n(x + 18)}" y="{_n(y)}" font-size="{TICK_SIZE}">'
                     f"{escape_text(text)}</text>")
        x += 18 + len(text) * CHAR_WIDTH * 0.84 + 22
    return "".join(parts)


def _swatch(tone: str) -> str:
    fill, stroke = TONES.get(tone, TONES[""])
    return f'<rect width="12" height="12" rx="2" fill="{fill}" stroke="{stroke}"/>'


_WHISKER = (f'<line x1="0" x2="12" y1="6" y2="6" stroke="{INK}" stroke-width="1.5"/>'
            f'<line x1="0" x2="0" y1="1" y2="11" stroke="{INK}" stroke-width="1.5"/>'
            f'<line x1="12" x2="12" y1="1" y2="11" stroke="{INK}" stroke-width="1.5"/>')




def _on_backing(x: float, y: float, text: str, attributes: str = "") -> str:
    """A label on a white card, so a reference line running behind it never crosses it."""
    width = len(text) * CHAR_WIDTH * 0.9 + 6
    return (f'<rect x="{_n(x - 3)}" y="{_n(y - 9)}" width="{_n(width)}" height="18" '
            f'fill="#fff" fill-opacity="0.9"/><text x="{_n(x)}" y="{_n(y)}" '
            f'dominant-baseline="central" {attributes}>{escape_text(text)}</text>')


_CURVE = (f'<line x1="0" x2="12" y1="6" y2="6" stroke="{BAR}" stroke-width="2"/>'
          f'<circle cx="6" cy="6" r="3.5" fill="{BAR}"/>')
_REFERENCE = (f'<line x1="0" x2="14" y1="6" y2="6" stroke="{HIGHLIGHT}" stroke-width="1.5" '
              f'stroke-dasharray="4 2"/>')


def comparison_chart(bars: Sequence[ComparisonBar], *, title: str,
                     reference: Amount | None = None, reference_label: str = "",
                     unit: str = "$", x_label: str = "",
                     legend: Mapping[str, str] | None = None,
                     interval_label: str = "95% interval", width: int = 720,
                     empty: str = "No data") -> str:
    """Bars on a shared axis from zero, whiskers for intervals, a dashed reference line.

    Bars keep their given order.  ``legend`` names the tones (``{"good":
    "Cheaper than the baseline"}``); only tones in use are listed.  The
    reference line is labelled ``reference_label`` and its value (``BPO
    contract $1.20``); without a reference none is drawn.  Negative values
    draw as empty bars.
    """
    if not bars:
        return _empty(title, width, empty)
    label_of = _money_or_number(unit)
    limit = int((width * 0.4 - 14) / CHAR_WIDTH)
    wrapped = [_wrap(bar.label, limit) for bar in bars]
    label_width = max(len(line) for lines in wrapped for line in lines) * CHAR_WIDTH + 14
    values = [None if bar.value is None else to_decimal(bar.value) for bar in bars]
    intervals = [None if bar.interval is None else (to_decimal(bar.interval[0]),
                                                    to_decimal(bar.interval[1]))
                 for bar in bars]
    shown = [bar.missing if value is None else label_of(value)
             for bar, value in zip(bars, values)]
    value_width = max([len(text) * CHAR_WIDTH * 0.95 + 14
                       for text, value in zip(shown, values) if value is not None] + [40])
    level = None if reference is None else to_decimal(reference)
    highest = max([v for v in values if v is not None]
                  + [high for pair in intervals if pair for high in pair]
                  + ([level] if level is not None else []) + [Decimal(0)])
    ticks = linear_ticks(float(highest))
    left, span = label_width, max(width - label_width - value_width, 60)

    def place(value: Decimal) -> float:
        return left + max(float(value), 0.0) / ticks[-1] * span

    names = legend or {}
    tones = [tone for tone in names if any(bar.tone == tone for bar in bars)]
    entries = [(_swatch(tone), names[tone]) for tone in tones]
    if any(intervals):
        entries.append((_WHISKER, interval_label))
    y = TITLE_SIZE + 2.0
    legend_y = y + 24 if entries else y
    reference_y = legend_y + 22 if level is not None else legend_y
    top = reference_y + 10
    row = 30.0 if all(len(lines) == 1 for lines in wrapped) else 42.0
    bottom = top + row * len(bars)
    height = bottom + (46 if x_label else 28)
    tick_text = _tick_text(unit)

    parts = [_heading(title)]
    if entries:
        parts.append(_legend(entries, y=legend_y))
    for tick in ticks:
        x = left + tick / ticks[-1] * span
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top)}" y2="{_n(bottom)}" '
                     f'stroke="{GRID}"/><text x="{_n(x)}" y="{_n(bottom + 17)}" '
                     f'text-anchor="middle" font-size="{TICK_SIZE}" fill="{MUTED}">'
                     f"{escape_text(tick_text(tick))}</text>")
    figures: list[str] = []  # drawn last, over the reference line
    for index, (bar, lines, value, pair, text) in enumerate(
            zip(bars, wrapped, values, intervals, shown)):
        middle = top + index * row + row / 2
        first = middle - (len(lines) - 1) * 8
        label = "".join(f'<tspan x="{_n(left - 10)}" y="{_n(first + i * 16)}">'
                        f"{escape_text(line)}</tspan>" for i, line in enumerate(lines))
        tip = f"{bar.label}: {text}"
        if pair:
            tip += f" ({interval_label} {label_of(pair[0])} to {label_of(pair[1])})"
        if bar.tone in names:
            tip += f"; {names[bar.tone]}"
        parts.append(f"<g><title>{escape_text(tip)}</title><text text-anchor=\"end\" "
                     f'dominant-baseline="central">{label}</text>')
        if value is None:
            parts.append("</g>")
            figures.append(_on_backing(left + 8, middle, text,
                                       f'fill="{MUTED}" font-style="italic"'))
            continue
        fill, stroke = TONES.get(bar.tone, TONES[""])
        end = place(value)
        parts.append(f'<rect x="{_n(left)}" y="{_n(middle - 9)}" width="{_n(max(end - left, 1))}" '
                     f'height="18" rx="2" fill="{fill}" stroke="{stroke}"/>')
        reach = end
        if pair:
            low, high = place(pair[0]), place(pair[1])
            reach = max(end, high)
            parts.append(f'<path d="M{_n(low)} {_n(middle)}H{_n(high)}M{_n(low)} '
                         f'{_n(middle - 6)}V{_n(middle + 6)}M{_n(high)} {_n(middle - 6)}'
                         f'V{_n(middle + 6)}" stroke="{INK}" stroke-width="1.5" fill="none"/>')
        parts.append("</g>")
        figures.append(_on_backing(reach + 6, middle, text,
                                   'font-variant-numeric="tabular-nums"'))
    parts.append(f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(bottom)}" '
                 f'stroke="{MUTED}"/><line x1="{_n(left)}" x2="{_n(left + span)}" '
                 f'y1="{_n(bottom)}" y2="{_n(bottom)}" stroke="{MUTED}"/>')
    description = "; ".join(
        f"{bar.label}: {text}" + (f" ({label_of(pair[0])} to {label_of(pair[1])})" if pair
                                  else "")
        for bar, text, pair in zip(bars, shown, intervals))
    if level is not None:
        caption = f"{reference_label} {label_of(level)}".strip()
        x = place(level)
        half = len(caption) * CHAR_WIDTH * 0.92 / 2
        text_x = min(max(x, half), width - half)
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(reference_y + 4)}" '
                     f'y2="{_n(bottom)}" stroke="{INK}" stroke-width="1.5" '
                     f'stroke-dasharray="6 4"/><text x="{_n(text_x)}" y="{_n(reference_y)}" '
                     f'text-anchor="middle" font-size="{TICK_SIZE}" font-weight="600">'
                     f"{escape_text(caption)}</text>")
        description += f". Reference: {caption}"
    parts.extend(figures)
    if x_label:
        parts.append(f'<text x="{_n(left + span / 2)}" y="{_n(height - 8)}" '
                     f'text-anchor="middle" fill="{MUTED}">{escape_text(x_label)}</text>')
    return _svg(width, height, title=title, description=description, body="".join(parts))


def line_chart(points: Sequence[PlotPoint], *, title: str, x_label: str, y_label: str,
               x_unit: str = "$", y_unit: str = "%", log_x: bool | None = None,
               reference: Amount | None = None, reference_label: str = "",
               series_label: str = "", width: int = 720, empty: str = "No data") -> str:
    """Points joined in order of x, each with a tooltip; y from zero (0-100% for shares).

    ``log_x`` None chooses a log axis when every x is positive and the
    largest is more than :data:`LOG_SPREAD` times the smallest; the x axis
    label then says "(log scale)".  ``reference`` draws a dashed horizontal
    line at that y; it and the curve (``series_label``) are named in a
    legend above the plot, where no point can hide them.
    """
    if not points:
        return _empty(title, width, empty)
    x_of, y_of = _money_or_number(x_unit), _money_or_number(y_unit)
    ordered = sorted(((to_decimal(p.x), to_decimal(p.y), p.label) for p in points),
                     key=lambda point: point[0])
    xs = [float(x) for x, _, _ in ordered]
    positive = xs[0] > 0
    logarithmic = (positive and xs[-1] / xs[0] > LOG_SPREAD) if log_x is None \
        else (log_x and positive)
    level = None if reference is None else to_decimal(reference)
    entries = [(_CURVE, series_label)] if series_label else []
    if level is not None:
        entries.append((_REFERENCE, f"{reference_label} {y_of(level)}".strip()))
    left, right, plot = 60.0, 28.0, 220.0
    top = TITLE_SIZE + 22.0 + (24 if entries else 0)
    span, bottom = width - left - right, top + plot
    height = bottom + 48
    if logarithmic:
        low, high = xs[0] / 1.4, xs[-1] * 1.4
        x_ticks = log_ticks(low, high)

        def along(value: float) -> float:
            return left + (math.log10(value) - math.log10(low)) / \
                (math.log10(high) - math.log10(low)) * span
    else:
        x_ticks = linear_ticks(max(xs[-1], 0.0))

        def along(value: float) -> float:
            return left + max(value, 0.0) / x_ticks[-1] * span
    highest = max([float(y) for _, y, _ in ordered] + ([float(level)] if level else []))
    y_ticks = [i / 5 for i in range(6)] if y_unit == "%" and highest <= 1 \
        else linear_ticks(highest)

    def up(value: float) -> float:
        return bottom - max(value, 0.0) / y_ticks[-1] * plot

    x_text, y_text = _tick_text(x_unit), _tick_text(y_unit)
    parts = [_heading(title)]
    if entries:
        parts.append(_legend(entries, y=TITLE_SIZE + 26.0))
    for tick in y_ticks:
        parts.append(f'<line x1="{_n(left)}" x2="{_n(left + span)}" y1="{_n(up(tick))}" '
                     f'y2="{_n(up(tick))}" stroke="{GRID}"/><text x="{_n(left - 6)}" '
                     f'y="{_n(up(tick))}" text-anchor="end" dominant-baseline="central" '
                     f'font-size="{TICK_SIZE}" fill="{MUTED}">{escape_text(y_text(tick))}</text>')
    for tick in x_ticks:
        parts.append(f'<line x1="{_n(along(tick))}" x2="{_n(along(tick))}" y1="{_n(top)}" '
                     f'y2="{_n(bottom)}" stroke="{GRID}"/><text x="{_n(along(tick))}" '
                     f'y="{_n(bottom + 17)}" text-anchor="middle" font-size="{TICK_SIZE}" '
                     f'fill="{MUTED}">{escape_text(x_text(tick))}</text>')
    if level is not None:
        parts.append(f'<line x1="{_n(left)}" x2="{_n(left + span)}" y1="{_n(up(float(level)))}" '
                     f'y2="{_n(up(float(level)))}" stroke="{HIGHLIGHT}" stroke-width="1.5" '
                     f'stroke-dasharray="6 3"/>')
    coordinates = [(along(float(x)), up(float(y))) for x, y, _ in ordered]
    parts.append(f'<polyline points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in coordinates)}" '
                 f'fill="none" stroke="{BAR}" stroke-width="2" stroke-linejoin="round"/>')
    for (x, y, name), (cx, cy) in zip(ordered, coordinates):
        tip = f"{name + ': ' if name else ''}{x_of(x)}, {y_of(y)}"
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="4.5" fill="{BAR}" stroke="#fff" '
                     f'stroke-width="1.5"><title>{escape_text(tip)}</title></circle>')
    axis = x_label + (" (log scale)" if logarithmic else "")
    parts.append(f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(bottom)}" '
                 f'stroke="{MUTED}"/><line x1="{_n(left)}" x2="{_n(left + span)}" '
                 f'y1="{_n(bottom)}" y2="{_n(bottom)}" stroke="{MUTED}"/>'
                 f'<text x="{_n(left + span / 2)}" y="{_n(height - 8)}" text-anchor="middle" '
                 f'fill="{MUTED}">{escape_text(axis)}</text>'
                 f'<text transform="translate(14 {_n(top + plot / 2)}) rotate(-90)" '
                 f'text-anchor="middle" fill="{MUTED}">{escape_text(y_label)}</text>')
    description = "; ".join(f"{name + ': ' if name else ''}{x_of(x)}, {y_of(y)}"
                            for x, y, name in ordered)
    if level is not None:
        description += f". Reference: {reference_label} {y_of(level)}".rstrip()
    return _svg(width, height, title=title, description=description, body="".join(parts))
