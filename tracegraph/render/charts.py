"""Charts as inline SVG strings, drawn on the server: no JavaScript, nothing fetched.

A report must open offline, print, and survive being mailed as one file, so
charts are plain SVG text built here rather than by a browser library.  The
builders take plain values (``Decimal`` or decimal strings, as the services
produce them) and return a complete ``<svg>`` element that is also a valid
standalone XML document.

Labels are user data (tool names, workflow names), so every piece of text goes
through :func:`escape_text`; nothing a label contains can open a tag.  Each
chart carries a ``<title>``, a ``<desc>`` with its numbers in words and an
``aria-label``, so a screen reader (or a reader of the printed page) gets what
the picture says.  Colours are chosen to stay apart on a light background and
in greyscale print.

The builders are generic, so the economics report and the web UI draw with
the same ones:

* :func:`bar_chart` - label to amount, largest first;
* :func:`histogram` - counts per bin, some bins highlighted, marker lines;
* :func:`pareto_chart` - cumulative share of spend against share of items.

Charts on a measured axis (bars against a reference line with intervals, a
curve of points on a linear or log scale) are in :mod:`.axis_charts`, drawn
with the primitives here.
"""

from __future__ import annotations

import html
import math
import re
from decimal import Decimal
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from .formatting import (Amount, format_count, format_number, format_share, format_usd,
                         to_decimal)

__all__ = ["HistogramBin", "escape_text", "bar_chart", "histogram", "pareto_chart",
           "share_reaching"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9e2ec"
BAR = "#3d6aa8"
HIGHLIGHT = "#c2410c"
"""Long tail and thresholds: orange-red, darker than BAR in greyscale too."""
AREA = "#dbe7f5"

TITLE_SIZE = 15
TEXT_SIZE = 13
TICK_SIZE = 12
CHAR_WIDTH = 7.4
"""Rough width of one character at TEXT_SIZE, to lay out labels without a browser."""

# XML 1.0 forbids these characters even escaped; a label holding one would
# make the whole SVG unreadable, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class HistogramBin:
    """One bar of a histogram: values in [low, high), how many, and whether to highlight it."""

    low: Amount
    high: Amount
    count: int
    highlighted: bool = False


def escape_text(text: str) -> str:
    """Text safe as SVG/HTML content and as a quoted attribute value."""
    return html.escape(_NOT_XML.sub("", text), quote=True)


def _money_or_number(unit: str) -> Callable[[Amount], str]:
    """How to label an amount: dollars for ``$``, shares for ``%``, else the number and its unit.

    A whole number of something (tokens, traces) shows without decimals.
    """
    if unit == "$":
        return format_usd
    if unit == "%":
        return format_share

    def number(value: Amount) -> str:
        amount = to_decimal(value)
        shown = (format_count(int(amount)) if amount == amount.to_integral_value()
                 else format_number(amount))
        return f"{shown} {unit}".rstrip()
    return number


def _n(value: float) -> str:
    """A coordinate with at most one decimal, no exponent, so the markup stays short."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(width: float, height: float, *, title: str, description: str, body: str) -> str:
    """The outer element every chart shares: size, font, accessible name and description."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'font-family="{escape_text(FONT)}" font-size="{TEXT_SIZE}" fill="{INK}" '
        f'aria-label="{escape_text(title + ". " + description)}">'
        f"<title>{escape_text(title)}</title><desc>{escape_text(description)}</desc>"
        f"{body}</svg>"
    )


def _heading(title: str) -> str:
    return (f'<text x="0" y="{TITLE_SIZE + 2}" font-size="{TITLE_SIZE}" '
            f'font-weight="600">{escape_text(title)}</text>')


def _truncate(text: str, limit: int) -> str:
    """Shorten a label to ``limit`` characters; the full text stays in the tooltip."""
    return text if len(text) <= limit else text[:max(1, limit - 1)] + "\u2026"


def _empty(title: str, width: float, message: str) -> str:
    """A chart with nothing to draw still says so, rather than vanishing."""
    body = (_heading(title) +
            f'<text x="0" y="{TITLE_SIZE + 30}" fill="{MUTED}">{escape_text(message)}</text>')
    return _svg(width, TITLE_SIZE + 44, title=title, description=message, body=body)


def bar_chart(items: Mapping[str, Amount] | Iterable[tuple[str, Amount]], *, title: str,
              unit: str = "$", width: int = 720, max_bars: int = 12,
              sort: bool = True, label_share: float = 0.38, empty: str = "No data") -> str:
    """Horizontal bars, one per label, each with its formatted amount.

    ``items`` maps labels to amounts (or is a sequence of pairs).  With
    ``sort`` the largest comes first; past ``max_bars`` the smallest are
    summed into one "N others" bar so a long list still reads.  ``unit``
    ``$`` labels dollars, ``%`` shares in [0, 1], anything else is appended
    to a plain number.  Negative amounts draw as empty bars.  Labels take
    at most ``label_share`` of the width and are shortened past it (the
    full label stays in the tooltip).  With no items the chart shows
    ``empty`` instead.
    """
    pairs = [(str(label), to_decimal(value)) for label, value in
             (items.items() if isinstance(items, Mapping) else items)]
    if not pairs:
        return _empty(title, width, empty)
    if sort:
        pairs.sort(key=lambda pair: pair[1], reverse=True)
    if len(pairs) > max_bars:
        rest = pairs[max_bars - 1:]
        pairs = pairs[:max_bars - 1] + [(f"{len(rest)} others", sum(
            (value for _, value in rest), Decimal(0)))]
    label_of = _money_or_number(unit)
    values = [label_of(value) for _, value in pairs]

    row, bar_height, top = 30, 20, TITLE_SIZE + 18
    label_chars = max(len(label) for label, _ in pairs)
    label_width = min(CHAR_WIDTH * label_chars + 12, width * label_share)
    value_width = CHAR_WIDTH * max(len(value) for value in values) + 10
    span = max(width - label_width - value_width - 4, 40)
    largest = max((value for _, value in pairs), default=Decimal(0))
    limit = int((label_width - 12) / CHAR_WIDTH)

    parts = [_heading(title)]
    for index, ((label, amount), shown) in enumerate(zip(pairs, values)):
        y = top + index * row
        length = 0.0 if largest <= 0 or amount <= 0 else float(amount / largest) * span
        if amount > 0:
            length = max(length, 1.0)  # a non-zero amount stays visible
        middle = y + bar_height / 2
        parts.append(
            f"<g><title>{escape_text(label)}: {escape_text(shown)}</title>"
            f'<text x="{_n(label_width - 10)}" y="{_n(middle)}" text-anchor="end" '
            f'dominant-baseline="central">{escape_text(_truncate(label, limit))}</text>'
            f'<rect x="{_n(label_width)}" y="{_n(y)}" width="{_n(length)}" '
            f'height="{bar_height}" rx="2" fill="{BAR}"/>'
            f'<text x="{_n(label_width + length + 6)}" y="{_n(middle)}" '
            f'dominant-baseline="central" font-variant-numeric="tabular-nums">'
            f"{escape_text(shown)}</text></g>")
    height = top + len(pairs) * row
    parts.append(f'<line x1="{_n(label_width)}" x2="{_n(label_width)}" y1="{top - 4}" '
                 f'y2="{_n(height - row + bar_height + 4)}" stroke="{MUTED}"/>')
    description = "; ".join(f"{label}: {shown}" for (label, _), shown in zip(pairs, values))
    return _svg(width, height, title=title, description=description, body="".join(parts))


def _nice_step(largest: int, ticks: int = 4) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) for a count axis."""
    if largest <= ticks:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return int(factor * power)
    return int(10 * power)


def _position(value: Decimal, edges: Sequence[tuple[Decimal, Decimal]]) -> float:
    """Where ``value`` falls, in bins, when each bin gets an equal slot.

    Slots rather than a linear axis: cost distributions are heavy-tailed and
    the service may bin them unevenly, and a linear axis would crush every
    bin but the last into one pixel.
    """
    for index, (low, high) in enumerate(edges):
        if value <= high or index == len(edges) - 1:
            if value <= low:
                return float(index)
            fraction = Decimal("0.5") if high == low else min((value - low) / (high - low), Decimal(1))
            return index + float(fraction)
    return 0.0


def _label_rows(spans: Sequence[tuple[float, float]]) -> list[int]:
    """Stack labels into rows so that neighbours (p90 next to p99) never overlap."""
    ends: list[float] = []
    rows = []
    for start, end in spans:
        for row, last in enumerate(ends):
            if start > last + 8:
                ends[row] = end
                rows.append(row)
                break
        else:
            ends.append(end)
            rows.append(len(ends) - 1)
    return rows


def histogram(bins: Sequence[HistogramBin], *, title: str,
              markers: Mapping[str, Amount] | None = None, unit: str = "$",
              x_label: str = "Cost per trace", y_label: str = "Traces",
              highlight_label: str = "Long tail", width: int = 720,
              empty: str = "No data") -> str:
    """Counts per bin, highlighted bins in a second colour, and labelled marker lines.

    Every bin gets an equal slot whatever its width (see :func:`_position`);
    the x axis is labelled with the bin edges.  ``markers`` (for example
    ``{"p50": "0.12", "p90": "0.80"}``) draw a dashed line at their value,
    placed within the bin that holds it.
    """
    if not bins:
        return _empty(title, width, empty)
    label_of = _money_or_number(unit)
    edges = [(to_decimal(b.low), to_decimal(b.high)) for b in bins]
    marks = sorted(((name, to_decimal(value)) for name, value in (markers or {}).items()),
                   key=lambda mark: mark[1])
    edge_values = [low for low, _ in edges] + [edges[-1][1]]
    widest = max(len(label_of(value)) for value in edge_values) * CHAR_WIDTH * 0.92 + 8
    left, right = 60.0, max(16.0, widest / 2)  # room for the last edge's label
    slot = (width - left - right) / len(bins)
    mark_texts = [f"{name} {label_of(value)}" for name, value in marks]
    mark_xs = [left + _position(value, edges) * slot for _, value in marks]
    spans = [(x - len(text) * CHAR_WIDTH * 0.92 / 2, x + len(text) * CHAR_WIDTH * 0.92 / 2)
             for x, text in zip(mark_xs, mark_texts)]
    rows = _label_rows(spans)
    label_rows = max(rows, default=-1) + 1
    top = TITLE_SIZE + 22 + label_rows * 16
    plot = 200.0
    bottom = top + plot
    height = bottom + 52
    largest = max(b.count for b in bins)
    step = _nice_step(largest)
    ceiling = max(step * math.ceil(largest / step), 1)

    parts = [_heading(title)]
    if any(b.highlighted for b in bins):
        legend_x = width - right - CHAR_WIDTH * len(highlight_label) - 18
        parts.append(f'<rect x="{_n(legend_x)}" y="5" width="12" height="12" '
                     f'fill="{HIGHLIGHT}"/><text x="{_n(legend_x + 18)}" y="15" '
                     f'font-size="{TICK_SIZE}">{escape_text(highlight_label)}</text>')
    for tick in range(0, ceiling + 1, step):
        y = bottom - tick / ceiling * plot
        parts.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(y)}" '
                     f'y2="{_n(y)}" stroke="{GRID}"/><text x="{_n(left - 6)}" y="{_n(y)}" '
                     f'text-anchor="end" dominant-baseline="central" font-size="{TICK_SIZE}" '
                     f'fill="{MUTED}">{tick:,}</text>')
    for index, (b, (low, high)) in enumerate(zip(bins, edges)):
        bar = b.count / ceiling * plot
        x = left + index * slot
        note = f" ({highlight_label.lower()})" if b.highlighted else ""
        parts.append(
            f"<g><title>{escape_text(f'{label_of(low)} to {label_of(high)}: {b.count:,}')}"
            f" {escape_text(y_label.lower() + note)}</title>"
            f'<rect x="{_n(x + 1)}" y="{_n(bottom - bar)}" width="{_n(max(slot - 2, 1))}" '
            f'height="{_n(bar)}" fill="{HIGHLIGHT if b.highlighted else BAR}"/></g>')
    every = max(1, math.ceil(widest / slot))
    for index in range(0, len(edge_values), every):
        x = left + index * slot
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(bottom)}" y2="{_n(bottom + 4)}" '
                     f'stroke="{MUTED}"/><text x="{_n(x)}" y="{_n(bottom + 17)}" '
                     f'text-anchor="middle" font-size="{TICK_SIZE}" fill="{MUTED}">'
                     f"{escape_text(label_of(edge_values[index]))}</text>")
    parts.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(bottom)}" '
                 f'y2="{_n(bottom)}" stroke="{MUTED}"/>')
    for (name, _), text, x, row in zip(marks, mark_texts, mark_xs, rows):
        label_y = top - 8 - (label_rows - 1 - row) * 16
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(label_y + 4)}" '
                     f'y2="{_n(bottom)}" stroke="{INK}" stroke-width="1.5" '
                     f'stroke-dasharray="5 3"/><text x="{_n(x)}" y="{_n(label_y)}" '
                     f'text-anchor="middle" font-size="{TICK_SIZE}" font-weight="600">'
                     f"{escape_text(text)}</text>")
    parts.append(f'<text x="{_n(left + (width - left - right) / 2)}" y="{_n(height - 8)}" '
                 f'text-anchor="middle" fill="{MUTED}">{escape_text(x_label)}</text>'
                 f'<text transform="translate(14 {_n(top + plot / 2)}) rotate(-90)" '
                 f'text-anchor="middle" fill="{MUTED}">{escape_text(y_label)}</text>')
    total = sum(b.count for b in bins)
    highlighted = sum(b.count for b in bins if b.highlighted)
    description = (f"{total:,} {y_label.lower()} in {len(bins)} bin{'' if len(bins) == 1 else 's'} from "
                   f"{label_of(edge_values[0])} to {label_of(edge_values[-1])}"
                   + (f"; {highlighted:,} in the {highlight_label.lower()}" if highlighted else "")
                   + "".join(f"; {text}" for text in mark_texts))
    return _svg(width, height, title=title, description=description, body="".join(parts))


def share_reaching(points: Sequence[tuple[Amount, Amount]], threshold: Amount) -> Decimal | None:
    """The x at which a rising curve first reaches ``threshold``, interpolated.

    For a Pareto curve: the share of items (costliest first) that makes
    ``threshold`` of the spend.  None when the curve never gets there.

    >>> share_reaching([("0", "0"), ("0.1", "0.5"), ("0.2", "0.9"), ("1", "1")], "0.8")
    Decimal('0.175')
    """
    goal = to_decimal(threshold)
    previous: tuple[Decimal, Decimal] | None = None
    for raw_x, raw_y in points:
        x, y = to_decimal(raw_x), to_decimal(raw_y)
        if y >= goal:
            if previous is None or y == previous[1]:
                return x
            px, py = previous
            return px + (x - px) * (goal - py) / (y - py)
        previous = (x, y)
    return None


def _round_percent(share: Decimal) -> str:
    """A threshold such as 0.8 as ``80%``: a round number chosen by people reads as one."""
    return format_share(share).replace(".0%", "%")


def pareto_chart(points: Sequence[tuple[Amount, Amount]], *, title: str,
                 threshold: Amount = "0.8", items: str = "traces",
                 x_label: str = "Share of traces, costliest first",
                 y_label: str = "Share of spend", width: int = 720,
                 empty: str = "No data") -> str:
    """A Pareto curve: cumulative share of spend (y) against share of items (x).

    Points are ``(x, y)`` shares in [0, 1], rising.  The dashed diagonal is an
    even spread; the horizontal line marks ``threshold`` of spend and the dot
    where the curve reaches it, labelled "X% of ``items`` make 80% of spend".
    """
    if not points:
        return _empty(title, width, empty)
    goal = to_decimal(threshold)
    left, right, top, plot = 60.0, 24.0, TITLE_SIZE + 22.0, 240.0
    span = width - left - right
    bottom = top + plot
    height = bottom + 48

    def place(x: Decimal, y: Decimal) -> tuple[float, float]:
        return left + float(x) * span, bottom - float(y) * plot

    coordinates = [place(to_decimal(x), to_decimal(y)) for x, y in points]
    parts = [_heading(title)]
    for tick in range(0, 101, 20):
        x, y = place(Decimal(tick) / 100, Decimal(tick) / 100)
        parts.append(f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(y)}" '
                     f'y2="{_n(y)}" stroke="{GRID}"/><line x1="{_n(x)}" x2="{_n(x)}" '
                     f'y1="{_n(top)}" y2="{_n(bottom)}" stroke="{GRID}"/>'
                     f'<text x="{_n(left - 6)}" y="{_n(y)}" text-anchor="end" '
                     f'dominant-baseline="central" font-size="{TICK_SIZE}" fill="{MUTED}">'
                     f'{tick}%</text><text x="{_n(x)}" y="{_n(bottom + 17)}" '
                     f'text-anchor="middle" font-size="{TICK_SIZE}" fill="{MUTED}">{tick}%</text>')
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in coordinates)
    area = f"{_n(coordinates[0][0])},{_n(bottom)} {line} {_n(coordinates[-1][0])},{_n(bottom)}"
    goal_y = place(Decimal(0), goal)[1]
    parts.append(
        f'<polygon points="{area}" fill="{AREA}"/>'
        f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(width - right)}" y2="{_n(top)}" '
        f'stroke="{MUTED}" stroke-dasharray="3 4"><title>Even spread</title></line>'
        f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(goal_y)}" y2="{_n(goal_y)}" '
        f'stroke="{HIGHLIGHT}" stroke-width="1.5" stroke-dasharray="6 3"/>'
        f'<text x="{_n(width - right - 4)}" y="{_n(goal_y + 16)}" text-anchor="end" '
        f'font-size="{TICK_SIZE}" fill="{HIGHLIGHT}" font-weight="600">'
        f"{escape_text(_round_percent(goal))} of spend</text>"
        f'<polyline points="{line}" fill="none" stroke="{BAR}" stroke-width="2.5" '
        f'stroke-linejoin="round"/>'
        f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(bottom)}" '
        f'stroke="{MUTED}"/><line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(bottom)}" '
        f'y2="{_n(bottom)}" stroke="{MUTED}"/>')
    reached = share_reaching(points, goal)
    if reached is None:
        summary = f"the curve does not reach {_round_percent(goal)} of spend"
    else:
        summary = f"{format_share(reached)} of {items} make {_round_percent(goal)} of spend"
        x, y = place(reached, goal)
        parts.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y)}" y2="{_n(bottom)}" '
            f'stroke="{HIGHLIGHT}" stroke-dasharray="2 3"/>'
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="5" fill="{HIGHLIGHT}" stroke="#fff" '
            f'stroke-width="1.5"/><text x="{_n(x + 10)}" y="{_n(y + 18)}" '
            f'font-size="{TICK_SIZE}" font-weight="600">{escape_text(summary)}</text>')
    parts.append(f'<text x="{_n(left + span / 2)}" y="{_n(height - 8)}" text-anchor="middle" '
                 f'fill="{MUTED}">{escape_text(x_label)}</text>'
                 f'<text transform="translate(14 {_n(top + plot / 2)}) rotate(-90)" '
                 f'text-anchor="middle" fill="{MUTED}">{escape_text(y_label)}</text>')
    return _svg(width, height, title=title, description=summary[0].upper() + summary[1:],
                body="".join(parts))
